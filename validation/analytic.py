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


@case(
    "analytic/lif_subthreshold",
    "analytic",
    "LIF under constant current below threshold vs V_inf + (V0 - V_inf) exp(-t/tau)",
)
def lif_subthreshold():
    tau, R, I, V_rest, V0 = 20.0, 100.0, 0.09, -60.0, -70.0  # ms, MOhm, nA, mV, mV
    n = refsim.LIF(
        1,
        R=R * pq.MOhm,
        tau=tau * pq.ms,
        V_rest=V_rest * pq.mV,
        V_th=-50 * pq.mV,
        V_reset=-60 * pq.mV,
        V_initializer=refsim.init.Constant(V0 * pq.mV),
    )
    refsim.init_all_states(n)
    with refsim.environ.context(dt=DT * pq.ms):
        res = refsim.run(lambda: n(I * pq.nA), 200 * pq.ms, monitors={"V": n.V})
    V = res["V"].magnitude[:, 0]
    t_after = (np.arange(V.size) + 1) * DT  # row k holds V after the step that started at k*dt
    V_inf = V_rest + R * I
    exact = V_inf + (V0 - V_inf) * np.exp(-t_after / tau)
    return [
        Metric(
            "V: max |error| (mV)",
            max_abs(V, exact),
            1e-10,
            "exponential Euler is exact here; 2000 steps of float64 rounding",
        )
    ], [Curve("LIF subthreshold", t_after, exact, V, ylabel="V (mV)")]


def discrete_period_steps(tau, tau_ref, V_inf, V_reset, V_th, dt=DT) -> int:
    """Exact period in steps of the hard-reset LIFRef under constant drive (module docstring)."""
    free = tau / dt * math.log((V_inf - V_reset) / (V_inf - V_th))
    if abs(free - round(free)) < 1e-6 or abs(tau_ref / dt - round(tau_ref / dt)) < 1e-6:
        raise ValueError("a crossing lands within rounding of a step boundary: pick other values")
    return math.ceil(tau_ref / dt) - 1 + math.ceil(free)


@case(
    "analytic/lif_fI_refractory",
    "analytic",
    "LIFRef f-I sweep: periods equal the exact discrete-time count; continuous within one dt",
)
def lif_fi_curve():
    tau, tau_ref, R, V_rest, V_th, V_reset = 20.0, 2.05, 100.0, -60.0, -50.0, -60.0
    currents = np.linspace(0.11, 0.6, 12)  # nA; rheobase is 0.1 nA
    n = refsim.LIFRef(
        currents.size,
        R=R * pq.MOhm,
        tau=tau * pq.ms,
        tau_ref=tau_ref * pq.ms,
        V_rest=V_rest * pq.mV,
        V_th=V_th * pq.mV,
        V_reset=V_reset * pq.mV,
        V_initializer=refsim.init.Constant(V_reset * pq.mV),
        spk_reset="hard",
    )
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
        Metric(
            "inter-spike intervals (steps) differing from the exact count",
            wrong_isis,
            0,
            "the discrete-time period is exact: every interval must equal it",
        ),
        Metric(
            "max |P*dt - T_continuous| (ms)",
            max_abs(predicted * DT, continuous),
            DT,
            "the grid delays each threshold crossing and the end of refractoriness by < dt",
        ),
    ], [
        Curve(
            "f-I curve (rate in Hz)",
            currents,
            1000 / continuous,
            1000 / (measured * DT),
            xlabel="I (nA)",
            ylabel="rate (Hz): continuous vs refsim",
        )
    ]


def _expon_against_kernel(event_steps: list[int], n_steps: int, title: str):
    tau, w = 5.0, 2.0  # ms, nS
    syn = refsim.init_all_states(
        refsim.Expon(1, tau=tau * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS))
    )
    spikes = np.zeros(n_steps)
    spikes[event_steps] = 1.0
    with refsim.environ.context(dt=DT * pq.ms):
        g = np.array([syn(s * w * pq.nS).rescale(pq.nS).magnitude[0] for s in spikes])
    k = np.arange(n_steps)
    exact = sum(w * np.exp(-(k - e) * DT / tau) * (k >= e) for e in event_steps)
    return [
        Metric(
            "g: max |error| / max |g|",
            max_rel(g, exact),
            1e-12,
            "one multiply-add per step, a few ulp each over 1000 steps",
        )
    ], [Curve(title, k * DT, exact, g, ylabel="g (nS)")]


@case("analytic/expon_single", "analytic", "Expon after one event vs w exp(-t/tau)")
def expon_single():
    return _expon_against_kernel([0], 1000, "Expon: one event")


@case("analytic/expon_train", "analytic", "Expon under an irregular train vs the summed kernels")
def expon_train():
    return _expon_against_kernel([0, 37, 40, 41, 200, 555, 556, 900], 1000, "Expon: a train")


def _drive_synapse(syn, event_steps, n_steps, w):
    spikes = np.zeros(n_steps)
    spikes[event_steps] = 1.0
    unit = syn.g_unit
    with refsim.environ.context(dt=DT * pq.ms):
        return np.array(
            [float(np.asarray(syn(s * w * unit).rescale(unit).magnitude)[0]) for s in spikes]
        )


@case(
    "analytic/alpha_kernel",
    "analytic",
    "Alpha: the exact discrete recursion, and the continuous kernel within one step",
)
def alpha_kernel():
    tau, w, n = 8.0, 2.0, 1500
    syn = refsim.init_all_states(
        refsim.Alpha(1, tau=tau * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS))
    )
    g = _drive_synapse(syn, [0], n, w)
    k = np.arange(n)
    a = np.exp(-DT / tau)
    discrete = k * (1 - a) * a ** (k - 1.0) * w  # brainpy's order: h feeds g one step later
    t = k * DT
    continuous = w * (t / tau) * np.exp(-t / tau)
    slope = np.max(np.abs(np.gradient(continuous, DT)))
    return [
        Metric(
            "g vs k (1-a) a^(k-1) w: max |error| / max |g|",
            max_rel(g, discrete),
            1e-12,
            "the recursion is linear: a few ulp per step",
        ),
        Metric(
            "g vs w (t/tau) exp(-t/tau): max |error| (nS)",
            max_abs(g, continuous),
            DT * slope,
            "h drives g with its value at the step's start: a lag below one step",
        ),
    ], [Curve("Alpha kernel", t, continuous, g, ylabel="g (nS)")]


def _dual_expon_case(tau_rise: float, tau_decay: float, title: str):
    w, n = 2.0, 1500
    syn = refsim.init_all_states(
        refsim.DualExpon(
            1,
            tau_rise=tau_rise * pq.ms,
            tau_decay=tau_decay * pq.ms,
            g_initializer=refsim.init.Constant(0 * pq.nS),
        )
    )
    g = _drive_synapse(syn, [0, 400], n, w)
    t = np.arange(n) * DT

    def kernel(s):
        s = np.maximum(s, 0.0)
        if tau_rise == tau_decay:
            return np.e * (s / tau_decay) * np.exp(-s / tau_decay)
        A = (
            tau_decay
            / (tau_decay - tau_rise)
            * (tau_rise / tau_decay) ** (tau_rise / (tau_rise - tau_decay))
        )
        return A * (np.exp(-s / tau_decay) - np.exp(-s / tau_rise))

    exact = w * (kernel(t) + kernel(t - 400 * DT) * (t >= 400 * DT))
    return [
        Metric(
            "g vs the normalised kernel sampled on the grid: max |error| / max |g|",
            max_rel(g, exact),
            1e-12,
            "each state decays exactly; only rounding remains",
        )
    ], [Curve(title, t, exact, g, ylabel="g (nS)")]


@case(
    "analytic/dualexpon_kernel",
    "analytic",
    "DualExpon (tau_rise 1 ms, tau_decay 10 ms): two events vs the closed form; peak = w",
)
def dualexpon_kernel():
    return _dual_expon_case(1.0, 10.0, "DualExpon, 1 / 10 ms")


@case(
    "analytic/dualexpon_equal_taus",
    "analytic",
    "DualExpon with tau_rise == tau_decay: the alpha-function limit, no division by zero",
)
def dualexpon_equal():
    return _dual_expon_case(5.0, 5.0, "DualExpon, 5 / 5 ms")


def _lif_exp_current_case(tau_m: float, tau_s: float):
    R, w, V_rest = 100.0, 0.5, -65.0  # MOhm, nA, mV
    post = refsim.LIF(
        1,
        R=R * pq.MOhm,
        tau=tau_m * pq.ms,
        V_rest=V_rest * pq.mV,
        V_reset=-70 * pq.mV,
        V_th=0 * pq.mV,
        V_initializer=refsim.init.Constant(V_rest * pq.mV),
    )
    proj = refsim.AlignPostProj(
        comm=refsim.SparseLinear(np.array([[w]]) * pq.nA),
        syn=refsim.Expon.desc(1, tau=tau_s * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nA)),
        out=refsim.CUBA.desc(scale=1.0),
        post=post,
    )
    refsim.init_all_states(post)
    n = 1500
    with refsim.environ.context(dt=DT * pq.ms):
        res = refsim.run(
            lambda: (proj(np.array([refsim.environ.get("i") == 0])), post()),
            n * DT * pq.ms,
            monitors={"V": post.V},
        )
    V = res["V"].magnitude[:, 0] - V_rest
    k = np.arange(n)
    a_m, a_s = np.exp(-DT / tau_m), np.exp(-DT / tau_s)
    if tau_m == tau_s:
        discrete = (1 - a_m) * R * w * (k + 1) * a_m**k
        t = (k + 1) * DT
        continuous = R * w * (t / tau_m) * np.exp(-t / tau_m)
    else:
        discrete = (1 - a_m) * R * w * (a_m ** (k + 1) - a_s ** (k + 1)) / (a_m - a_s)
        t = (k + 1) * DT
        continuous = R * w * tau_s / (tau_s - tau_m) * (np.exp(-t / tau_s) - np.exp(-t / tau_m))
    slope = np.max(np.abs(np.gradient(continuous, DT)))
    return [
        Metric(
            "V - V_rest vs the exact discrete recursion: max |error| (mV)",
            max_abs(V, discrete),
            1e-10,
            "linear recursions: rounding only",
        ),
        Metric(
            "V - V_rest vs the continuous solution: max |error| (mV)",
            max_abs(V, continuous),
            DT * slope,
            "the current is held at its end-of-step value: less than one step of lag or lead",
        ),
    ], [
        Curve(
            f"LIF + Expon current, tau_m {tau_m}, tau_syn {tau_s}",
            t,
            continuous,
            V,
            ylabel="V - V_rest (mV)",
        )
    ]


@case(
    "analytic/lif_exponential_current",
    "analytic",
    "LIF driven by an Expon synaptic current (CUBA), tau_m 20 ms, tau_syn 5 ms",
)
def lif_exp_current():
    return _lif_exp_current_case(20.0, 5.0)


@case(
    "analytic/lif_exponential_current_equal_taus",
    "analytic",
    "LIF driven by an Expon synaptic current with tau_m == tau_syn (10 ms)",
)
def lif_exp_current_equal():
    return _lif_exp_current_case(10.0, 10.0)


@case(
    "analytic/lif_first_spike_time",
    "analytic",
    "LIF from rest under constant currents: first spike step exact, time within one step",
)
def lif_first_spike():
    tau, R, V_rest, V_th = 20.0, 100.0, -60.0, -50.0
    currents = np.linspace(0.11, 0.6, 12)  # nA
    n = refsim.LIF(
        currents.size,
        R=R * pq.MOhm,
        tau=tau * pq.ms,
        V_rest=V_rest * pq.mV,
        V_th=V_th * pq.mV,
        V_reset=V_rest * pq.mV,
        V_initializer=refsim.init.Constant(V_rest * pq.mV),
    )
    refsim.init_all_states(n)
    with refsim.environ.context(dt=DT * pq.ms):
        res = refsim.run(lambda: n(currents * pq.nA), 200 * pq.ms, monitors={"spikes": n})
    spikes = res["spikes"]
    V_inf = V_rest + R * currents
    t_star = tau * np.log((V_inf - V_rest) / (V_inf - V_th))
    first = np.array([spikes.steps[spikes.indices_fired == k].min() for k in range(currents.size)])
    predicted = np.ceil(t_star / DT) - 1  # row k holds V at (k + 1) dt
    return [
        Metric(
            "first-spike steps differing from ceil(t*/dt) - 1",
            float(np.count_nonzero(first != predicted)),
            0,
            "V_k is exact on the grid: the first k with V_k >= V_th",
        ),
        Metric(
            "max |(k + 1) dt - t*| (ms)",
            max_abs((first + 1) * DT, t_star),
            DT,
            "the crossing is seen at the end of the step it falls in",
        ),
    ], [
        Curve(
            "LIF first-spike time",
            currents,
            t_star,
            (first + 1) * DT,
            xlabel="I (nA)",
            ylabel="first spike (ms)",
        )
    ]


@case(
    "analytic/coba_single_synapse",
    "analytic",
    "LIF + one COBA Expon event against solve_ivp (rtol 1e-11); first order in dt",
)
def coba_single_synapse():
    from scipy.integrate import solve_ivp

    tau, R, V_rest, E, tau_s, w = 20.0, 100.0, -65.0, 0.0, 5.0, 0.01  # ms MOhm mV mV ms uS

    def simulate(dt):
        post = refsim.LIF(
            1,
            R=R * pq.MOhm,
            tau=tau * pq.ms,
            V_rest=V_rest * pq.mV,
            V_th=0 * pq.mV,
            V_reset=V_rest * pq.mV,
            V_initializer=refsim.init.Constant(V_rest * pq.mV),
        )
        proj = refsim.AlignPostProj(
            comm=refsim.SparseLinear(np.array([[w]]) * pq.uS),
            syn=refsim.Expon.desc(1, tau=tau_s * pq.ms),
            out=refsim.COBA.desc(E=E * pq.mV),
            post=post,
        )
        refsim.init_all_states(proj)
        with refsim.environ.context(dt=dt * pq.ms):
            res = refsim.run(
                lambda: (proj(np.array([refsim.environ.get("i") == 0])), post()),
                40 * pq.ms,
                monitors={"V": post.V},
            )
        return res["V"].magnitude[:, 0]

    def rhs(t, V):
        return (-(V - V_rest) + R * w * np.exp(-t / tau_s) * (E - V)) / tau

    t = (np.arange(400) + 1) * DT
    ref = solve_ivp(
        rhs,
        (0, 40.0),
        [V_rest],
        method="DOP853",
        rtol=1e-11,
        atol=1e-12,
        t_eval=t,
        dense_output=False,
    ).y[0]
    V = simulate(DT)
    e1 = max_abs(V, ref)
    e2 = max_abs(simulate(DT / 2)[1::2], ref)
    slope = np.max(np.abs(np.gradient(ref, DT)))
    return [
        Metric(
            "V vs solve_ivp: max |error| (mV)",
            e1,
            DT * slope,
            "the conductance is held at its start-of-step value: less than one step of lead",
        ),
        Metric(
            "error(dt) / error(dt/2): |ratio - 2|",
            abs(e1 / e2 - 2.0),
            0.15,
            "first order in dt, as the hold predicts",
        ),
    ], [Curve("COBA single synapse", t, ref, V, ylabel="V (mV)")]
