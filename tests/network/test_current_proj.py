"""A CurrentProj (each step's weighted spikes bound to an output, no synaptic dynamics)
runs compiled: its output is a synaptic row of its target that holds this step's
``comm(x)``, summed as the NumPy path sums it; the same bits on numpy, numba and the cupy
kernels on the host."""

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim

pytest.importorskip("numba", reason="the compiled side of the comparison")


def _run(backend: str, precision: int = 64):
    with host_cupy.backend(backend), refsim.environ.context(precision=precision):
        refsim.random.seed(2)
        n, n_e = 400, 320
        net = refsim.Network()
        pop = net.population(
            refsim.LIFRef(
                n,
                V_rest=-65 * pq.mV,
                V_reset=-68 * pq.mV,
                V_th=-50 * pq.mV,
                tau_ref=2 * pq.ms,
                V_initializer=refsim.init.Uniform(-68.0, -50.0, unit=pq.mV),
            ),
            current=16.0 * pq.mA,
        )
        net.project(
            refsim.CurrentProj(
                comm=refsim.EventFixedProb(n_e, n, 0.1, 0.05 * pq.mS, seed=1),
                out=refsim.COBA(E=0 * pq.mV),
                post=pop,
            ),
            pop,
            0,
            n_e,
        )
        net.project(
            refsim.CurrentProj(
                comm=refsim.EventFixedProb(n - n_e, n, 0.1, -2.0 * pq.mA, seed=2),
                out=refsim.CUBA(scale=1.0),
                post=pop,
            ),
            pop,
            n_e,
            n,
        )
        refsim.init_all_states(net)
        res = refsim.run(net, 100 * pq.ms, monitors={"spikes": pop, "V": pop.V}, progress=False)
    return res, pop


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_current_projections_compile_bit_for_bit(backend):
    (oracle, oracle_pop), (compiled, pop) = _run("numpy"), _run(backend)
    assert compiled.engine == backend.split("-")[0]  # compiled, not a fallback
    assert oracle["spikes"].count > 100
    np.testing.assert_array_equal(compiled["spikes"].steps, oracle["spikes"].steps)
    np.testing.assert_array_equal(compiled["spikes"].indices_fired, oracle["spikes"].indices_fired)
    np.testing.assert_array_equal(compiled["V"].magnitude, oracle["V"].magnitude)
    np.testing.assert_array_equal(pop.V.data, oracle_pop.V.data)


def test_the_currents_change_the_run():
    """The projections matter: without them the same population fires otherwise."""
    res, _ = _run("numba")
    with refsim.use_backend("numba"):
        refsim.random.seed(2)
        alone = refsim.Network()
        pop = alone.population(
            refsim.LIFRef(
                400,
                V_rest=-65 * pq.mV,
                V_reset=-68 * pq.mV,
                V_th=-50 * pq.mV,
                tau_ref=2 * pq.ms,
                V_initializer=refsim.init.Uniform(-68.0, -50.0, unit=pq.mV),
            ),
            current=16.0 * pq.mA,
        )
        refsim.init_all_states(alone)
        quiet = refsim.run(alone, 100 * pq.ms, monitors={"spikes": pop}, progress=False)
    assert quiet["spikes"].count != res["spikes"].count
