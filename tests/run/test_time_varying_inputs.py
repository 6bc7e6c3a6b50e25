"""A population's direct input that varies in time (``Network.population(pop,
current=refsim.StepInput(...))``) runs compiled: the driver computes each step's value as
the NumPy path's update takes it and the loop writes it into the population's input row
before the step; the same bits on numpy, numba and the cupy kernels on the host."""

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim

pytest.importorskip("numba", reason="the compiled side of the comparison")


ZERO = refsim.init.Constant(0.0 * pq.mA)  # a current: CUBA's scale is a number


def _network(drive_b=None):
    """A LIF population under a step current, an AdExIF one under a sine whose amplitude
    differs per neuron (its exponential-Euler pass), a LIF one under a constant current,
    the first feeding the others through Expon synapses."""
    refsim.random.seed(3)
    net = refsim.Network()
    start = refsim.init.Uniform(-65.0, -55.0, unit=pq.mV)
    a = net.population(
        refsim.LIF(
            200, V_rest=-65 * pq.mV, V_reset=-68 * pq.mV, V_th=-50 * pq.mV, V_initializer=start
        ),
        current=refsim.StepInput([18.0, 30.0, 5.0] * pq.mA, [0.0, 40.0, 90.0] * pq.ms),
    )
    b = net.population(
        refsim.AdExIF(100, V_initializer=start),
        current=drive_b
        or refsim.SinusoidalInput(
            np.linspace(5.0, 30.0, 100) * pq.mA, 20 * pq.Hz, 120 * pq.ms, bias=12.0 * pq.mA
        ),
    )
    c = net.population(
        refsim.LIF(
            50, V_rest=-65 * pq.mV, V_reset=-68 * pq.mV, V_th=-50 * pq.mV, V_initializer=start
        ),
        current=14.0 * pq.mA,
    )
    for post in (b, c):
        net.project(
            refsim.AlignPostProj(
                comm=refsim.EventFixedProb(200, post.num, 0.1, 0.5 * pq.mA, seed=post.num),
                syn=refsim.Expon.desc(post.num, tau=5 * pq.ms, g_initializer=ZERO),
                out=refsim.CUBA.desc(scale=1.0),
                post=post,
            ),
            a,
        )  # fmt: skip
    refsim.init_all_states(net)
    return net, (a, b, c)


def _run(backend: str):
    with host_cupy.backend(backend):
        net, pops = _network()
        monitors = {f"spikes {k}": pop for k, pop in zip("abc", pops, strict=True)}
        monitors["V b"] = refsim.StateMonitor(pops[1].V, indices=[0, 50, 99])
        return refsim.run(net, 150 * pq.ms, monitors=monitors, progress=False), pops


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_waveform_currents_compile_bit_for_bit(backend):
    (oracle, oracle_pops), (compiled, pops) = _run("numpy"), _run(backend)
    assert compiled.engine == backend.split("-")[0]  # compiled, not a fallback
    for k in "abc":
        assert oracle[f"spikes {k}"].count > 20, k
        np.testing.assert_array_equal(
            compiled[f"spikes {k}"].indices_fired, oracle[f"spikes {k}"].indices_fired
        )
        np.testing.assert_array_equal(compiled[f"spikes {k}"].steps, oracle[f"spikes {k}"].steps)
    np.testing.assert_array_equal(compiled["V b"].magnitude, oracle["V b"].magnitude)
    for pop, oracle_pop in zip(pops, oracle_pops, strict=True):
        np.testing.assert_array_equal(pop.V.data, oracle_pop.V.data)
    # the step current's three levels show in the first population's rate
    steps = oracle["spikes a"].steps
    rates = [np.count_nonzero((steps >= lo) & (steps < hi)) / (hi - lo) for lo, hi in
             ((0, 400), (400, 900), (900, 1500))]  # fmt: skip
    assert rates[1] > rates[0] > rates[2] == 0.0  # 30 mA, 18 mA, 5 mA (below threshold)


def test_a_stateful_input_does_not_compile_and_says_why():
    """A noise process draws as it is called: its values cannot be computed ahead."""
    noise = refsim.WienerProcessInput(sigma=1.0 * pq.mA, duration=100 * pq.ms, size=100, seed=1)
    net, _ = _network(drive_b=noise)
    with (
        refsim.use_backend("numba"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"its direct input WienerProcessInput is called in Python at each step "
            r"\(the compiled loops take refsim's deterministic waveforms: ConstantInput, "
            r"SectionInput, StepInput, RampInput, SinusoidalInput, SampledInput\)",
        ),
    ):
        res = refsim.run(net, 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy (numba could not compile")
