"""The benchmark networks build the published network (timings are not asserted here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import coba  # noqa: E402


def test_coba_network_has_the_published_structure_and_fires():
    result = coba.measure(N=800, duration_s=0.1, seed=1)
    assert result["n_syn"] == 800 * 80  # fixed in-degree 80 on average: out-degree 80 each
    assert result["spikes"] > 0 and 1.0 < result["rate_hz"] < 200.0
    net = coba.COBANet(800, seed=1)
    assert net.n_exc == 640
    assert net.E.comm.conn_num == net.I.comm.conn_num == 80
    assert float(net.pop.R) == 100.0  # 1 / 10 nS in MOhm


import cobahh  # noqa: E402


def test_cobahh_network_is_the_published_one_and_fires():
    result = cobahh.measure(N=800, duration_s=0.05, seed=1)
    assert result["spikes"] > 0
    net = cobahh.COBAHHNet(800, seed=1)
    assert float(net.pop.C) == 0.2  # 1 uF/cm^2 * 20000 um^2 = 200 pF, in nF
    assert float(net.pop.gL) == 0.01  # 5e-5 S/cm^2 * 20000 um^2 = 10 nS, in uS
    assert net.E.comm.conn_num == 80


def test_refsim_bench_reports_each_backend_and_they_agree(tmp_path, capsys):
    import json

    from refsim.validation import bench

    out = tmp_path / "bench.json"
    assert bench.main(["--model", "cuba", "--N", "800", "--duration", "0.05",
                       "--backend", "all", "--peers", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == [
        "model", "N", "backend", "build", "s", "compile", "s", "run", "s/sim-s", "spikes",
        "rate", "Hz", "events/s", "peak", "MiB", "process", "s", "threads", "GPU", "MiB"]
    runs = {r["backend"]: r for r in json.loads(out.read_text())["runs"]}
    assert set(runs) >= {"numpy"}
    for r in runs.values():
        assert r["model"] == "cuba" and r["N"] == 800 and r["n_syn"] == 800 * 80
        assert r["engine"] == r["backend"]
        assert r["run_s"] > 0 and r["peak_mib"] > 0 and r["threads"] >= 1
    for compiled in ("numba", "cupy"):  # the same network gives the same spikes everywhere
        if compiled in runs:
            assert runs[compiled]["spikes"] == runs["numpy"]["spikes"] > 0
    if "cupy" in runs:
        assert runs["cupy"]["device_mib"] > 0
    assert "Brian2: not installed here, not run" in printed or "Brian2: installed" in printed
