"""Recordings streamed to disk (refsim.run(..., record_to=folder)) hold what a run in
memory holds, bit for bit, on every backend, and read back as the same RunResult."""

import json

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim import recording
from refsim.validation.networks import COBANet

numba = pytest.importorskip("numba", reason="the compiled runs stream too")


def _network():
    refsim.random.seed(1)
    net = COBANet(400, 1, 40.0)
    refsim.init_all_states(net)
    net.kick_start(1)
    return net


def _monitors(net):
    return {
        "V": refsim.StateMonitor(net.pop.V, indices=[0, 7, 99], every=3),
        "g": net.E.syn.g,
        "spikes": net.pop,
        "some": refsim.SpikeMonitor(net.pop, indices=[250, 3, 100]),
    }


def _same(a, b):
    for name in ("V", "g"):
        np.testing.assert_array_equal(a[name].magnitude, b[name].magnitude)
        assert a[name].units == b[name].units
    for name in ("spikes", "some"):
        np.testing.assert_array_equal(a[name].steps, b[name].steps)
        np.testing.assert_array_equal(a[name].indices_fired, b[name].indices_fired)
        assert a[name].count == b[name].count > 0


@pytest.mark.parametrize("backend", ["numpy", "numba", "cupy-host"])
def test_a_run_streamed_to_disk_equals_a_run_in_memory(backend, tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "_PENDING_SPIKES", 50)  # append to the file many times
    import host_cupy

    with host_cupy.backend(backend) as backend:  # (cupy-host: the cupy engine)
        net = _network()
        memory = refsim.run(net, 60 * pq.ms, monitors=_monitors(net), progress=False)
        net = _network()
        disk = refsim.run(
            net, 60 * pq.ms, monitors=_monitors(net), progress=False, record_to=tmp_path / "rec"
        )
    assert memory.engine == disk.engine == backend
    _same(memory, disk)
    assert isinstance(disk.monitors["g"].data, np.memmap)  # on disk, read in parts
    assert disk.monitors["spikes"]._written > 0  # the spikes went to the file as they came
    loaded = refsim.load_result(tmp_path / "rec")
    _same(memory, loaded)
    assert (loaded.n_steps, loaded.first_step, loaded.engine) == (600, 0, backend)
    np.testing.assert_array_equal(
        loaded["spikes"].times().magnitude, memory["spikes"].times().magnitude
    )
    files = sorted(p.name for p in (tmp_path / "rec").iterdir())
    assert files == ["V.npy", "g.npy", "run.json", "some.spikes.npy", "spikes.spikes.npy"]
    # the files are plain NumPy arrays, for any other tool
    pairs = np.load(tmp_path / "rec" / "spikes.spikes.npy")
    np.testing.assert_array_equal(pairs[:, 0], memory["spikes"].steps)
    assert np.load(tmp_path / "rec" / "V.npy").shape == (200, 3)


def test_a_full_numba_spike_buffer_goes_to_the_monitors(tmp_path, monkeypatch):
    """The compiled loop hands its spike buffer over whenever it is full (in memory, or
    appended to the file of a streamed run) and goes on."""
    from refsim.backends.numba import driver

    net = _network()
    whole = refsim.run(net, 300 * pq.ms, monitors={"s": net.pop}, progress=False)
    monkeypatch.setattr(driver, "_FIRST_SPIKES", 1)  # a buffer of 4 x 400 pairs
    for record_to in (None, tmp_path / "rec"):
        net = _network()
        parts = refsim.run(
            net, 300 * pq.ms, monitors={"s": net.pop}, progress=False, record_to=record_to
        )
        np.testing.assert_array_equal(parts["s"].steps, whole["s"].steps)
        np.testing.assert_array_equal(parts["s"].indices_fired, whole["s"].indices_fired)
    assert whole["s"].count > 4 * 400


def test_a_run_that_stops_keeps_a_readable_folder(tmp_path):
    with refsim.environ.context(dt=0.5 * pq.ms):
        refsim.random.seed(0)
        net = refsim.Network()
        pop = net.population(refsim.HH(4, method="euler"), current=10 * pq.uA)
        refsim.init_all_states(net)
        with pytest.raises(refsim.NumericalInstability) as stop:
            refsim.run(net, 200 * pq.ms, monitors={"V": pop.V}, record_to=tmp_path / "r")
    loaded = refsim.load_result(tmp_path / "r")
    assert loaded.n_steps == stop.value.result.n_steps == 100
    np.testing.assert_array_equal(loaded["V"].magnitude, stop.value.result["V"].magnitude)


def test_disk_space_and_folders_are_checked_before_the_run(tmp_path):
    net = _network()
    V = net.pop.V.data.copy()
    with pytest.raises(
        refsim.ResourceError, match=r"record_to=.*state monitors need .*TiB on disk, .* free"
    ):
        refsim.run(net, 1e8 * pq.ms, monitors={"V": net.pop.V}, record_to=tmp_path / "big")
    np.testing.assert_array_equal(net.pop.V.data, V)  # nothing ran
    refsim.run(net, 1 * pq.ms, monitors={"V": net.pop.V}, record_to=tmp_path / "once")
    with pytest.raises(ValueError, match="holds a recording already"):
        refsim.run(net, 1 * pq.ms, monitors={"V": net.pop.V}, record_to=tmp_path / "once")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        refsim.run(net, 1 * pq.ms, record_to=tmp_path / "file")
    with pytest.raises(ValueError, match="cannot name a file"):
        refsim.run(net, 1 * pq.ms, monitors={"a/b": net.pop.V}, record_to=tmp_path / "x")
    with pytest.raises(ValueError, match="holds no refsim recording"):
        refsim.load_result(tmp_path / "x")
    manifest = json.loads((tmp_path / "once" / "run.json").read_text())
    assert manifest["monitors"]["V"] == {
        "kind": "state",
        "file": "V.npy",
        "records": 10,
        "first_step": 0,
        "every": 1,
        "unit": "mV",
    }
