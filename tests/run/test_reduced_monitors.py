"""A state monitor that reduces what it reads (``reduce='mean'`` or ``'sum'``) compiles:
the loop copies the selected elements, each chunk of steps is reduced afterwards as the
NumPy path reduces the state, and the records are the same, bit for bit."""

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.validation.networks import COBANet

pytest.importorskip("numba", reason="the compiled side of the comparison")


def _run(backend: str, precision: int = 64, steps_ms: float = 200.0):
    with host_cupy.backend(backend), refsim.environ.context(precision=precision):
        refsim.random.seed(7)  # the initial potentials
        net = COBANet(2000, 2, 80.0)
        refsim.init_all_states(net)
        net.kick_start(2)  # random initial conductances: the network's activity
        g = net.E.syn.g  # the excitatory synapses' conductance
        some = np.arange(0, 2000, 3)
        monitors = {
            "mean V": refsim.StateMonitor(net.pop.V, reduce="mean"),
            "sum V": refsim.StateMonitor(net.pop.V, indices=some, every=3, reduce="sum"),
            "sum g": refsim.StateMonitor(g, indices=some, every=3, reduce="sum"),
            "V": net.pop.V,
            "some V": refsim.StateMonitor(net.pop.V, indices=some, every=3),
            "spikes": net.pop,
        }
        return refsim.run(net, steps_ms * pq.ms, monitors=monitors, progress=False)


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_reducing_monitors_compile_and_record_the_numpy_bits(backend):
    oracle, compiled = _run("numpy"), _run(backend)
    assert compiled.engine == backend.split("-")[0]  # compiled, not a fallback
    assert oracle["spikes"].count > 100
    for name, records in (("mean V", 2000), ("sum V", 667), ("sum g", 667)):
        assert compiled[name].shape == oracle[name].shape == (records,)
        np.testing.assert_array_equal(compiled[name].magnitude, oracle[name].magnitude)
    assert np.count_nonzero(oracle["sum g"].magnitude) > 500  # the synapses were fed
    # and each record is the reduction of the plain monitor's row of the same step
    np.testing.assert_array_equal(
        compiled["mean V"].magnitude, [np.mean(row) for row in compiled["V"].magnitude]
    )
    np.testing.assert_array_equal(
        compiled["sum V"].magnitude, [np.sum(row) for row in compiled["some V"].magnitude]
    )


@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
def test_reducing_monitors_in_float32_reduce_in_float32_on_numba_and_the_kernels():
    """A float32 network's states are float32 values: reduced in float32, as NumPy reduces
    a float32 state."""
    numba_run, cupy_run = _run("numba", precision=32), _run("cupy-host", precision=32)
    assert numba_run.engine == "numba" and cupy_run.engine == "cupy"
    np.testing.assert_array_equal(numba_run["mean V"].magnitude, cupy_run["mean V"].magnitude)
    np.testing.assert_array_equal(numba_run["sum g"].magnitude, cupy_run["sum g"].magnitude)
    np.testing.assert_array_equal(numba_run["sum V"].magnitude, cupy_run["sum V"].magnitude)
    rows = numba_run["V"].magnitude.astype(np.float32)
    expected = [np.float64(np.mean(row)) for row in rows]
    np.testing.assert_array_equal(numba_run["mean V"].magnitude, expected)
    assert expected != [np.mean(row) for row in numba_run["V"].magnitude]  # not float64's


def test_a_long_reduced_recording_takes_a_chunk_of_memory_not_the_run():
    """Without a progress bar the loop still runs in chunks when a monitor reduces: its
    scratch holds one chunk of rows (1000 steps), whatever the run's length."""
    from refsim.backends.numba import driver

    seen = []
    original = driver._StateRecords.__init__

    def spy(self, readers, chunk, single):
        original(self, readers, chunk, single)
        seen.append([b.shape for b in self.buffers])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(driver._StateRecords, "__init__", spy)
        res = _run("numba", steps_ms=500.0)
    assert res["mean V"].shape == (5000,)
    assert seen[-1][:3] == [(1001, 2000), (335, 667), (335, 667)]  # a chunk each
