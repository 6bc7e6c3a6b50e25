import io
import json

import numpy as np
import pytest

from refsim import cli
from refsim.validation.compare import compare, spike_pairs, van_rossum


def _recording(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(500) * 0.1
    V = -65 + np.cumsum(rng.standard_normal((500, 3)), axis=0) * 0.1
    steps = np.array([10, 50, 120, 30, 400])
    idx = np.array([0, 0, 0, 2, 1])
    return {"t_ms": t, "V_mV": V, "spike_steps": steps, "spike_indices": idx, "dt_ms": 0.1}


def test_a_known_perturbation_is_reported_exactly(tmp_path, capsys):
    ref = _recording()
    cand = {k: np.copy(v) for k, v in ref.items()}
    cand["V_mV"][123, 1] += 2.5e-6
    np.savez(tmp_path / "ref.npz", **ref)
    np.savez(tmp_path / "cand.npz", **cand)
    result = compare(ref, cand, rtol=0, atol=1e-6)
    trace = result.metrics[0]
    assert trace.error == abs((ref["V_mV"][123, 1] + 2.5e-6) - ref["V_mV"][123, 1])
    assert abs(trace.error - 2.5e-6) < 1e-13 and not trace.passed
    rc = cli.main(
        [
            "compare",
            str(tmp_path / "ref.npz"),
            str(tmp_path / "cand.npz"),
            "--rtol",
            "0",
            "--atol",
            "1e-6",
            "--json",
            str(tmp_path / "c.json"),
        ]
    )
    assert rc == 1 and "FAIL" in capsys.readouterr().out
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["cases"][0]["metrics"][0]["error"] == trace.error


def test_spike_offsets_and_count_differences():
    ref = _recording()
    cand = {**ref, "spike_steps": ref["spike_steps"] + np.array([0, 2, 0, -1, 0])}
    result = compare(ref, cand, max_step_offset=2)
    by = {m.quantity: m for m in result.metrics}
    assert by["largest step offset between matched spikes"].error == 2.0
    assert by["spike counts: sum over neurons of |difference|"].error == 0
    assert result.passed
    extra = {
        **ref,
        "spike_steps": np.append(ref["spike_steps"], 200),
        "spike_indices": np.append(ref["spike_indices"], 2),
    }
    result = compare(ref, extra, van_rossum_tau_ms=5.0)
    by = {m.quantity: m for m in result.metrics}
    assert by["spike counts: sum over neurons of |difference|"].error == 1
    assert by["van Rossum distance (tau 5.0 ms), worst neuron"].error == pytest.approx(
        np.sqrt(0.5), rel=1e-2
    )  # one isolated extra spike; 1%: its overlap with step 30


def test_spike_formats_agree():
    pairs = spike_pairs({"spike_steps": np.array([3, 1]), "spike_indices": np.array([1, 1])})
    times = spike_pairs(
        {"spike_times_ms": np.array([0.3, 0.1]), "spike_indices": np.array([1, 1]), "dt_ms": 0.1}
    )
    raster = np.zeros((5, 2))
    raster[[1, 3], 1] = 1
    np.testing.assert_array_equal(pairs[0], times[0])
    np.testing.assert_array_equal(pairs[0], spike_pairs({"spikes": raster})[0])
    assert van_rossum(np.array([5]), np.array([5]), 10.0) == 0.0


def test_nothing_to_compare_is_an_error(tmp_path, capsys):
    # a reference with neither traces nor spikes (t_ms is the time axis, not a trace)
    with pytest.raises(ValueError, match="nothing to compare"):
        compare({"t_ms": np.zeros(3)}, {"b": np.zeros(3)})
    np.savez(tmp_path / "ref.npz", t_ms=np.zeros(3))
    np.savez(tmp_path / "cand.npz", b=np.zeros(3))
    assert cli.main(["compare", str(tmp_path / "ref.npz"), str(tmp_path / "cand.npz")]) == 2
    assert "refsim compare: nothing to compare" in capsys.readouterr().err
    # traces of different names: the reference's is missing from the candidate
    result = compare({"a": np.zeros(3)}, {"b": np.zeros(3)})
    assert [m.quantity for m in result.metrics] == ["a: in the reference only"]


def test_a_trace_of_the_reference_missing_from_the_candidate_fails():
    ref = _recording()
    cand = {k: v for k, v in ref.items() if k != "V_mV"}
    cand["extra_mV"] = np.zeros(500)  # the candidate's other arrays are not read
    result = compare(ref, cand)
    by = {m.quantity: m for m in result.metrics}
    assert by["V_mV: in the reference only"].error == float("inf")
    assert not by["V_mV: in the reference only"].passed
    assert not any("extra_mV" in q for q in by)
    assert by["spike counts: sum over neurons of |difference|"].passed
    assert not result.passed


def _npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content,reason",
    [
        (None, "no such file"),
        (b"hello", "it is not an .npz archive (np.savez writes one)"),
        (_npy_bytes(), "it is not an .npz archive (np.savez writes one)"),  # one .npy array
    ],
)
def test_a_file_that_is_not_an_npz_archive_is_refused_with_status_2(
    tmp_path, capsys, content, reason
):
    np.savez(tmp_path / "ref.npz", **_recording())
    cand = tmp_path / "cand.npz"
    if content is not None:
        cand.write_bytes(content)
    rc = cli.main(["compare", str(tmp_path / "ref.npz"), str(cand)])
    assert rc == 2
    assert capsys.readouterr().err.strip() == (
        f"refsim compare: cannot read {cand} as an .npz file: {reason}"
    )
