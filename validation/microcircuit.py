"""The Potjans & Diesmann (2014) cortical microcircuit: its parameters and derived numbers.

The model NEST and PyNN ship as their reference example: eight populations (excitatory and
inhibitory cells of layers 2/3, 4, 5 and 6; 77169 neurons at full scale, about 0.3 billion
synapses), current-based LIF neurons with exponential synaptic currents, connected with a
fixed total number of synapses per pair of populations, normal weights and delays, and a
Poisson background. The numbers below are NEST's example's (``pynest/examples/Potjans_2014``
of NEST 3: ``network_params.py``, ``helpers.py``; ``docs/performance.md`` lists them).

Scaled down (``N_scaling`` neurons, ``K_scaling`` in-degrees), the weights grow by
``1/sqrt(K_scaling)`` and a DC current makes up for the mean input lost, as NEST's example
does, so that the rates stay near the full model's.

This module imports NumPy only: refsim's network
(:class:`refsim.validation.networks.MicrocircuitNet`) and the peers' script
(``validation/peers_microcircuit.py``, run in a Python of its own) build from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
FULL_NUM_NEURONS = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
#: connection probabilities, target (row) by source (column)
CONN_PROBS = np.array(
    [
        [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
        [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
        [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
        [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
        [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
        [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
        [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
        [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
    ]
)
#: external (Poisson) in-degrees, and the full model's rates (1/s) that the DC makes up for
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
FULL_MEAN_RATES = np.array([0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523])
#: the initial potentials (mV): normal, per population ("optimized" in NEST's example)
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_STD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
#: ms, mV, pF, Hz; weights from PSP amplitudes (mV), delays relative to their means
PARAMS = dict(
    C_m=250.0,
    tau_m=10.0,
    tau_syn=0.5,
    t_ref=2.0,
    E_L=-65.0,
    V_th=-50.0,
    V_reset=-65.0,
    bg_rate=8.0,
    PSP_exc_mean=0.15,
    weight_rel_std=0.1,
    g=-4.0,
    delay_exc_mean=1.5,
    delay_inh_mean=0.75,
    delay_rel_std=0.5,
)


def psc_over_psp(C_m: float, tau_m: float, tau_syn: float) -> float:
    """pA per mV: the amplitude of an exponential current whose PSP peaks at 1 mV."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / C_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac**tau_m - frac**tau_syn))


def full_num_synapses() -> np.ndarray:
    """Synapses per pair of populations (target, source) at full scale: the number of
    draws with repeats that leaves a pair unconnected with probability ``1 - p``."""
    prod = np.outer(FULL_NUM_NEURONS, FULL_NUM_NEURONS).astype(float)
    return np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)


@dataclass(frozen=True)
class Scaled:
    """The microcircuit at ``N_scaling`` neurons and ``K_scaling`` in-degrees."""

    num_neurons: np.ndarray  # per population
    num_synapses: np.ndarray  # (target, source)
    ext_indegrees: np.ndarray  # Poisson sources per neuron, per population
    weight_mean: np.ndarray  # pA, (target, source)
    weight_ext: float  # pA
    dc: np.ndarray  # pA, per population
    delay_mean: np.ndarray  # ms, (target, source)


def scaled(N_scaling: float = 0.1, K_scaling: float = 0.1) -> Scaled:
    """The numbers of the network at that scale (NEST's example's defaults: 0.1, 0.1)."""
    q = PARAMS
    full = full_num_synapses()
    psp = np.full((8, 8), q["PSP_exc_mean"])
    psp[:, 1::2] *= q["g"]
    psp[0, 2] *= 2.0  # L4E -> L23E doubled
    per_mV = psc_over_psp(q["C_m"], q["tau_m"], q["tau_syn"])
    weight, weight_ext = psp * per_mV, q["PSP_exc_mean"] * per_mV
    dc = np.zeros(8)
    if K_scaling != 1:  # stronger weights, and a DC for the mean input the lost ones gave
        lost = 0.001 * q["tau_syn"] * (1.0 - np.sqrt(K_scaling))
        rec = np.sum(weight * full / FULL_NUM_NEURONS[:, None] * FULL_MEAN_RATES, axis=1)
        dc = lost * (rec + weight_ext * K_EXT * q["bg_rate"])
        weight, weight_ext = weight / np.sqrt(K_scaling), weight_ext / np.sqrt(K_scaling)
    delay = np.full((8, 8), q["delay_exc_mean"])
    delay[:, 1::2] = q["delay_inh_mean"]
    return Scaled(
        num_neurons=np.round(FULL_NUM_NEURONS * N_scaling).astype(int),
        num_synapses=np.round(full * N_scaling * K_scaling).astype(int),
        ext_indegrees=np.round(K_EXT * K_scaling).astype(int),
        weight_mean=weight,
        weight_ext=float(weight_ext),
        dc=dc,
        delay_mean=delay,
    )


def _redrawn(rng: np.random.Generator, mean: float, std: float, n: int, keep) -> np.ndarray:
    """``n`` normal values, those outside ``keep`` drawn again until none is."""
    x = rng.normal(mean, std, n)
    bad = ~keep(x)
    while bad.any():
        x[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = ~keep(x)
    return x


def draw_weights(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    """``n`` weights (pA): normal around ``mean``, relative sd ``weight_rel_std``, of the
    sign of ``mean`` (NEST: ``redraw`` of a normal at 0)."""
    std = abs(mean) * PARAMS["weight_rel_std"]
    return _redrawn(rng, mean, std, n, (lambda x: x >= 0) if mean >= 0 else (lambda x: x <= 0))


def draw_delays(rng: np.random.Generator, mean: float, n: int, dt: float) -> np.ndarray:
    """``n`` delays (ms): normal around ``mean``, relative sd ``delay_rel_std``, none below
    ``dt / 2`` (so that each rounds to at least one step)."""
    std = mean * PARAMS["delay_rel_std"]
    return _redrawn(rng, mean, std, n, lambda x: x >= 0.5 * dt)


def spike_statistics(
    times_ms: np.ndarray, senders: np.ndarray, n: int, t_from: float, t_to: float
) -> dict:
    """A population's firing over ``[t_from, t_to)`` ms, as the microcircuit's papers report
    it: the mean rate (spikes per neuron and second, silent neurons included) and the mean
    coefficient of variation of the inter-spike intervals over the neurons with at least
    three spikes (NaN if none); ``senders`` index the population's ``n`` neurons from 0."""
    times_ms, senders = np.asarray(times_ms, dtype=float), np.asarray(senders, dtype=np.int64)
    kept = (times_ms >= t_from) & (times_ms < t_to)
    times_ms, senders = times_ms[kept], senders[kept]
    order = np.lexsort((times_ms, senders))  # by neuron, then in time
    times_ms, senders = times_ms[order], senders[order]
    cvs = []
    for train in np.split(times_ms, np.flatnonzero(np.diff(senders)) + 1):  # one per neuron
        if train.size >= 3:
            intervals = np.diff(train)
            cvs.append(intervals.std() / intervals.mean())
    rate = times_ms.size / n / ((t_to - t_from) / 1000.0)
    return dict(rate_hz=float(rate), cv_isi=float(np.mean(cvs)) if cvs else float("nan"))
