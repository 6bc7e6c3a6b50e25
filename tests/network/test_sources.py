"""Spike sources compile: PoissonSpike, PoissonEncoder and SpikeTime run in the compiled
loop as declared models that emit their input row, which the run fills a chunk ahead with
the source's own spikes (drawn from refsim.philox, or looked up); afterwards each source
is stepped over the steps done at once.  Bit for bit the NumPy run, continued runs too."""

import warnings

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.backends import BackendFallbackWarning

pytest.importorskip("numba", reason="the compiled side of the comparison")


def sources_net():
    """A Poisson source, an encoder driven by a staircase of rates and a weighted spike
    train feeding a LIF population through AlignPost (CUBA) and DeltaProj."""
    refsim.random.seed(3)
    net = refsim.Network()
    poisson = net.population(refsim.PoissonSpike(200, 40 * pq.Hz, seed=5))
    rates = refsim.StepInput([10.0 * pq.Hz, 80.0 * pq.Hz], [0.0, 15.0] * pq.ms)
    encoder = net.population(refsim.PoissonEncoder(60, seed=6), current=rates)
    times = np.tile([1.0, 7.3, 20.0, 33.0], 50) * pq.ms
    train = net.population(refsim.SpikeTime(50, np.arange(50).repeat(4), times, weights=2.0))
    pop = net.population(
        refsim.LIF(100, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-65 * pq.mV,
                   V_rest=-65 * pq.mV, R=1 * pq.ohm)
    )  # fmt: skip
    for source, seed in ((poisson, 1), (encoder, 2)):
        net.project(
            refsim.AlignPostProj(
                comm=refsim.EventFixedProb(source.num, 100, 0.2, 3 * pq.mS, seed=seed),
                syn=refsim.Expon.desc(100, tau=5 * pq.ms),
                out=refsim.CUBA.desc(),
                post=pop,
            ),
            source,
        )
    delta = refsim.EventFixedProb(50, 100, 0.3, 2 * pq.mV, seed=4)
    net.project(refsim.DeltaProj(comm=delta, post=pop), train)
    refsim.init_all_states(net)
    return net, (poisson, encoder, train, pop)


def _run(backend):
    with host_cupy.backend(backend), warnings.catch_warnings():
        warnings.simplefilter("error", BackendFallbackWarning)  # compiled, or it fails
        net, pops = sources_net()
        mons = {f"p{k}": p for k, p in enumerate(pops)} | {"V": pops[-1].V}
        first = refsim.run(net, 30 * pq.ms, monitors=mons, progress=False)
        then = refsim.run(net, 10 * pq.ms, monitors=mons, t_start=first.next_t, progress=False)
    return first, then, pops


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_spike_sources_compile_bit_for_bit_across_runs(backend):
    (o_first, o_then, o_pops), (first, then, pops) = _run("numpy"), _run(backend)
    assert first.engine == then.engine == backend.split("-")[0]
    for o_res, res in ((o_first, first), (o_then, then)):
        for k in range(4):
            np.testing.assert_array_equal(res[f"p{k}"].steps, o_res[f"p{k}"].steps)
            np.testing.assert_array_equal(res[f"p{k}"].indices_fired, o_res[f"p{k}"].indices_fired)
        np.testing.assert_array_equal(np.asarray(res["V"]), np.asarray(o_res["V"]))
    counts = [o_first[f"p{k}"].count for k in range(4)]
    assert counts[0] > 150 and counts[1] > 30 and counts[2] == 150  # (3 times of 4 by 30 ms)
    assert o_then["p2"].count == 50 and o_first["p3"].count > 100
    poisson, encoder, train, _ = pops
    assert poisson._draws == encoder._draws == 400  # 300 + 100 steps drawn, as NumPy's
    assert float(encoder.p.freqs) == pytest.approx(0.08)  # the last rate, in 1/ms
    for o, c in zip(o_pops[:3], pops[:3], strict=True):  # the last step's spikes
        np.testing.assert_array_equal(c.spike.data, o.spike.data)
    assert train.spike.data.sum() == 0.0 and o_pops[2].get_spike().dtype == np.float64
