import numpy as np
import pytest
import quantities as pq

import refsim

Z99 = 2.576  # two-sided 99% normal quantile


def test_poisson_rate_and_fano_factor_within_their_99_percent_intervals():
    n, T, dt, rate = 2000, 5000.0, 0.1, 20.0  # sources, ms, ms, Hz
    src = refsim.init_all_states(refsim.PoissonSpike(n, rate * pq.Hz, seed=12))
    res = refsim.run(src, T * pq.ms, monitors={"spikes": src})
    counts = np.bincount(res["spikes"].indices_fired, minlength=n)
    steps = int(T / dt)
    p = -np.expm1(-rate * 1e-3 * dt)  # per-step probability 1 - exp(-f dt)
    mean_expected = steps * p
    sd_of_mean = np.sqrt(steps * p * (1 - p) / n)
    assert abs(counts.mean() - mean_expected) <= Z99 * sd_of_mean
    fano = counts.var(ddof=1) / counts.mean()
    # Bernoulli counts have Fano 1 - p; the sample variance's sd is about sqrt(2 / (n - 1))
    assert abs(fano - (1 - p)) <= Z99 * np.sqrt(2 / (n - 1))


def test_poisson_sources_are_seeded():
    def draw(seed):
        src = refsim.init_all_states(refsim.PoissonSpike(50, 100 * pq.Hz, seed=seed))
        return refsim.run(src, 20 * pq.ms, monitors={"s": src})["s"].indices_fired

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


def test_poisson_input_adds_weight_times_binomial_counts():
    n = refsim.LIF(400, tau=1e9 * pq.ms, V_th=1e9 * pq.mV)  # no leak: V sums the jumps
    refsim.PoissonInput(n, num_input=100, freq=50 * pq.Hz, weight=0.2 * pq.mV, seed=5)
    refsim.init_all_states(n)
    refsim.run(lambda: n(), 100 * pq.ms)
    p = -np.expm1(-0.05 * 0.1)
    expected = 0.2 * 100 * p * 1000  # mV after 1000 steps
    sd = 0.2 * np.sqrt(100 * p * (1 - p) * 1000 / 400)
    assert abs(n.V.data.mean() - expected) <= Z99 * sd


def test_poisson_input_weight_must_match_the_jumped_variable():
    with pytest.raises(refsim.UnitError, match="parameter 'weight' expects a voltage"):
        refsim.PoissonInput(refsim.LIF(3), 10, 10 * pq.Hz, 1 * pq.nA)


def test_spike_times_fire_on_the_rounded_steps():
    st = refsim.init_all_states(refsim.SpikeTime(3, [0, 2, 1, 1], [1.0, 0.26, 0.94, 0.31] * pq.ms))
    res = refsim.run(st, 2 * pq.ms, monitors={"s": st})
    assert list(zip(res["s"].steps, res["s"].indices_fired, strict=True)) == [
        (3, 1),
        (3, 2),
        (9, 1),
        (10, 0),
    ]
    with pytest.raises(ValueError, match="time_as_step must be"):
        refsim.SpikeTime(2, [0], [1] * pq.ms, time_as_step="nearest")


@pytest.mark.parametrize(
    "waveform, expected",
    [
        (refsim.ConstantInput(2 * pq.nA, 0.3 * pq.ms), [2, 2, 2, 0, 0]),
        (refsim.SectionInput([1, 3] * pq.nA, [0.2, 0.2] * pq.ms), [1, 1, 3, 3, 0]),
        (refsim.StepInput([1, 4] * pq.nA, [0.1, 0.3] * pq.ms), [0, 1, 1, 4, 4]),
        (refsim.RampInput(0 * pq.nA, 4 * pq.nA, 0.4 * pq.ms), [0, 1, 2, 3, 0]),
    ],
)
def test_waveforms_on_the_grid(waveform, expected):
    res = refsim.run(
        lambda: None, 0.5 * pq.ms, monitors={"I": waveform}, check_every=None
    )  # no model to check
    assert res["I"].units == pq.nA
    np.testing.assert_allclose(res["I"].magnitude.ravel(), expected, rtol=1e-12, atol=1e-12)


def test_sinusoid_and_ou_statistics():
    sine = refsim.SinusoidalInput(1 * pq.nA, 100 * pq.Hz, 20 * pq.ms, bias=0.5 * pq.nA)
    res = refsim.run(lambda: None, 10 * pq.ms, monitors={"I": sine}, check_every=None)
    t = np.arange(100) * 0.1
    np.testing.assert_allclose(
        res["I"].magnitude.ravel(), np.sin(2 * np.pi * 0.1 * t) + 0.5, atol=1e-12
    )
    ou = refsim.OUProcessInput(1 * pq.nA, 0.2 * pq.nA, 5 * pq.ms, 500 * pq.ms, size=2000, seed=1)
    res = refsim.run(lambda: None, 200 * pq.ms, monitors={"I": ou}, check_every=None)
    last = res["I"].magnitude[-1]
    sd = 0.2 * np.sqrt(5 / 2)  # stationary sd sigma sqrt(tau / 2)
    assert abs(last.mean() - 1.0) <= Z99 * sd / np.sqrt(2000)
    assert abs(last.std() - sd) <= 0.05 * sd  # 5%: Euler-Maruyama bias and sampling
