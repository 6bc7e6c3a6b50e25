r"""Analytic cases: refsim against closed-form solutions (float64).

* LIF below threshold under a constant current:
  :math:`V(t) = V_\infty + (V_0 - V_\infty)\,e^{-t/\tau}`, :math:`V_\infty = V_{rest} + R I`.
  Exponential Euler is exact for this linear equation, so only rounding remains.
* LIF firing period with refractoriness (hard reset, LIFRef).  In discrete
  time the period in steps is exactly

  .. math:: P = m + \left\lceil \frac{\tau}{\Delta t}
            \ln\frac{V_\infty - V_{reset}}{V_\infty - V_{th}} \right\rceil,
            \qquad m = \lceil \tau_{ref}/\Delta t \rceil - 1,

  where :math:`m` counts the clamped steps after a spike (those with
  :math:`t - t_{spike} < \tau_{ref}`) and the ceiling counts the free steps
  until :math:`V \ge V_{th}`.  The continuous period
  :math:`T = \tau_{ref} + \tau \ln\frac{V_\infty - V_{reset}}{V_\infty - V_{th}}`
  is matched within one step.
* Expon kernel: :math:`g_k = \sum_{e \le k} w\, e^{-(k - e)\Delta t/\tau}` for
  events at steps :math:`e` (one event, and an irregular train).
"""

from __future__ import annotations

import math

import numpy as np
import quantities as pq

import refsim
from refsim.validation import Curve, Metric, case, max_abs, max_rel

DT = 0.1  # ms


@case("analytic/lif_subthreshold", "analytic",
      "LIF under constant current below threshold vs V_inf + (V0 - V_inf) exp(-t/tau)")
def lif_subthreshold():
    tau, R, I, V_rest, V0 = 20.0, 100.0, 0.09, -60.0, -70.0  # ms, MOhm, nA, mV, mV
    n = refsim.LIF(1, R=R * pq.MOhm, tau=tau * pq.ms, V_rest=V_rest * pq.mV, V_th=-50 * pq.mV,
                   V_reset=-60 * pq.mV, V_initializer=refsim.init.Constant(V0 * pq.mV))
    refsim.init_all_states(n)
    with refsim.environ.context(dt=DT * pq.ms):
        res = refsim.run(lambda: n(I * pq.nA), 200 * pq.ms, monitors={"V": n.V})
    V = res["V"].magnitude[:, 0]
    t_after = (np.arange(V.size) + 1) * DT  # row k holds V after the step that started at k*dt
    V_inf = V_rest + R * I
    exact = V_inf + (V0 - V_inf) * np.exp(-t_after / tau)
    return [Metric("V: max |error| (mV)", max_abs(V, exact), 1e-10,
                   "exponential Euler is exact here; 2000 steps of float64 rounding")], [
        Curve("LIF subthreshold", t_after, exact, V, ylabel="V (mV)")]


def discrete_period_steps(tau, tau_ref, V_inf, V_reset, V_th, dt=DT) -> int:
    """Exact period in steps of the hard-reset LIFRef under constant drive (module docstring)."""
    free = tau / dt * math.log((V_inf - V_reset) / (V_inf - V_th))
    if abs(free - round(free)) < 1e-6 or abs(tau_ref / dt - round(tau_ref / dt)) < 1e-6:
        raise ValueError("a crossing lands within rounding of a step boundary: pick other values")
    return math.ceil(tau_ref / dt) - 1 + math.ceil(free)


@case("analytic/lif_fI_refractory", "analytic",
      "LIFRef f-I sweep: periods equal the exact discrete-time count; continuous within one dt")
def lif_fi_curve():
    tau, tau_ref, R, V_rest, V_th, V_reset = 20.0, 2.05, 100.0, -60.0, -50.0, -60.0
    currents = np.linspace(0.11, 0.6, 12)  # nA; rheobase is 0.1 nA
    n = refsim.LIFRef(currents.size, R=R * pq.MOhm, tau=tau * pq.ms, tau_ref=tau_ref * pq.ms,
                      V_rest=V_rest * pq.mV, V_th=V_th * pq.mV, V_reset=V_reset * pq.mV,
                      V_initializer=refsim.init.Constant(V_reset * pq.mV), spk_reset="hard")
    refsim.init_all_states(n)
    with refsim.environ.context(dt=DT * pq.ms):
        res = refsim.run(lambda: n(currents * pq.nA), 600 * pq.ms, monitors={"spikes": n})
    spikes = res["spikes"]
    V_inf = V_rest + R * currents
    predicted = np.array([discrete_period_steps(tau, tau_ref, v, V_reset, V_th) for v in V_inf])
    continuous = tau_ref + tau * np.log((V_inf - V_reset) / (V_inf - V_th))
    wrong_isis, measured = 0, np.zeros(currents.size)
    for k in range(currents.size):
        steps = spikes.steps[spikes.indices_fired == k]
        isis = np.diff(steps)[1:]  # the first interval starts without refractoriness
        wrong_isis += int(np.count_nonzero(isis != predicted[k])) + int(isis.size == 0)
        measured[k] = np.median(isis) if isis.size else np.nan
    return [
        Metric("inter-spike intervals (steps) differing from the exact count", wrong_isis, 0,
               "the discrete-time period is exact: every interval must equal it"),
        Metric("max |P*dt - T_continuous| (ms)", max_abs(predicted * DT, continuous), DT,
               "the grid delays each threshold crossing and the end of refractoriness by < dt"),
    ], [Curve("f-I curve (rate in Hz)", currents, 1000 / continuous, 1000 / (measured * DT),
              xlabel="I (nA)", ylabel="rate (Hz): continuous vs refsim")]


def _expon_against_kernel(event_steps: list[int], n_steps: int, title: str):
    tau, w = 5.0, 2.0  # ms, nS
    syn = refsim.init_all_states(refsim.Expon(1, tau=tau * pq.ms,
                                              g_initializer=refsim.init.Constant(0 * pq.nS)))
    spikes = np.zeros(n_steps)
    spikes[event_steps] = 1.0
    with refsim.environ.context(dt=DT * pq.ms):
        g = np.array([syn(s * w * pq.nS).rescale(pq.nS).magnitude[0] for s in spikes])
    k = np.arange(n_steps)
    exact = sum(w * np.exp(-(k - e) * DT / tau) * (k >= e) for e in event_steps)
    return [Metric("g: max |error| / max |g|", max_rel(g, exact), 1e-12,
                   "one multiply-add per step, a few ulp each over 1000 steps")], [
        Curve(title, k * DT, exact, g, ylabel="g (nS)")]


@case("analytic/expon_single", "analytic", "Expon after one event vs w exp(-t/tau)")
def expon_single():
    return _expon_against_kernel([0], 1000, "Expon: one event")


@case("analytic/expon_train", "analytic", "Expon under an irregular train vs the summed kernels")
def expon_train():
    return _expon_against_kernel([0, 37, 40, 41, 200, 555, 556, 900], 1000, "Expon: a train")
