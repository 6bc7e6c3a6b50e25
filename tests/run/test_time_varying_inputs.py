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


def _noise_run(backend: str, noise_of):
    """The network with noise processes as direct inputs (``noise_of(tag)`` makes one),
    run 60 ms and continued 40 ms; the runs' records and the processes."""
    with host_cupy.backend(backend):
        wiener, ou = noise_of("wiener"), noise_of("ou")
        net, pops = _network(drive_b=wiener)
        net.currents[2] = ou
        monitors = {"V b": pops[1].V, "V c": pops[2].V, "spikes a": pops[0]}
        first = refsim.run(net, 60 * pq.ms, monitors=monitors, progress=False)
        then = refsim.run(net, 40 * pq.ms, monitors=monitors, t_start=first.next_t)
    return (first, then), (wiener, ou)


def _noises(tag):
    if tag == "wiener":
        return refsim.WienerProcessInput(sigma=20.0 * pq.mA, duration=80 * pq.ms, size=100, seed=1)
    return refsim.OUProcessInput(
        mean=14.0 * pq.mA, sigma=6.0 * pq.mA, tau=10 * pq.ms, duration=200 * pq.ms, size=50,
        seed=2,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_noise_processes_compile_bit_for_bit_and_go_on_drawing(backend):
    """A copy of each process computes the rows ahead; after the run the process draws the
    steps done itself: the NumPy run's numbers, and its next draws."""
    (o_runs, o_noises), (runs, noises) = _noise_run("numpy", _noises), _noise_run(backend, _noises)
    for o_res, res in zip(o_runs, runs, strict=True):
        assert res.engine == backend.split("-")[0]
        for name in ("V b", "V c"):
            np.testing.assert_array_equal(np.asarray(res[name]), np.asarray(o_res[name]))
        np.testing.assert_array_equal(res["spikes a"].steps, o_res["spikes a"].steps)
    assert np.ptp(np.asarray(o_runs[0]["V b"])) > 1.0  # the noise moves V
    for o, c in zip(o_noises, noises, strict=True):  # the streams stand where NumPy's do
        assert o.rng.standard_normal() == c.rng.standard_normal()
    np.testing.assert_array_equal(noises[1].x, o_noises[1].x)


def test_a_noise_process_driving_two_populations_does_not_compile_and_says_why():
    """One process drawing in turn for two populations: each step's second draw is the
    other population's, which a copy per population would not give."""
    noise = refsim.WienerProcessInput(sigma=1.0 * pq.mA, duration=100 * pq.ms, size=1, seed=1)
    net, _ = _network(drive_b=noise)
    net.currents[0] = noise
    with (
        refsim.use_backend("numba"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"its direct input WienerProcessInput drives another population too",
        ),
    ):
        res = refsim.run(net, 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy (numba could not compile")
