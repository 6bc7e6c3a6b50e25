r"""Convergence cases: the order of each integrator, measured.

For HH, AdExIF and Izhikevich below threshold (no spike, so no reset), each method
(``euler``, ``exp_euler``, ``rk2``, ``rk4``) runs at ``dt, dt/2, dt/4, dt/8``; its error is
the largest :math:`|V - V_{ref}|` on the coarsest grid over 20 ms, against the model's own
ODE system (``derivatives()``) solved by scipy's ``solve_ivp`` (Radau, rtol 1e-12, atol
1e-14; it agrees with RK4 at dt = 0.001 ms to 3e-14 mV).  The order is the slope of
:math:`\log e` against :math:`\log dt` (least squares) and must lie within 0.15 of theory.

Theory: euler 1, rk2 2, rk4 4.  brainpy's exponential Euler advances the variables one
after another (V with the old slow variable, then the slow variable with the new V); each
update alone is an exponential Rosenbrock step (second order), and the sequential coupling
makes the method first order.  For a slow variable entering linearly, the first-order
error of V is a decaying mode excited by the slow variable's initial derivative: it
vanishes when that variable starts at equilibrium (AdEx from rest with w = 0 converges
at second order).  The cases start the slow variables away from equilibrium, so the
first-order term shows.  The base dt of each pair is chosen inside the asymptotic range
and above the reference's accuracy.
"""

from __future__ import annotations

import numpy as np
import quantities as pq
from scipy.integrate import solve_ivp

import refsim
from refsim.units import to_internal
from refsim.validation import Curve, Metric, case

T_MS = 20.0
THEORY = {"euler": 1, "exp_euler": 1, "rk2": 2, "rk4": 4}
ORDER_TOL = 0.15
ORDER_WHY = "least-squares slope over four halvings inside the asymptotic range"


def _adex(method):
    return refsim.AdExIF(
        1,
        R=100 * pq.MOhm,
        tau=20 * pq.ms,
        tau_w=50 * pq.ms,
        a=4 * pq.nS,
        b=0.08 * pq.nA,
        V_rest=-70 * pq.mV,
        V_T=-50 * pq.mV,
        delta_T=2 * pq.mV,
        V_th=0 * pq.mV,
        V_reset=-58 * pq.mV,
        V_initializer=refsim.init.Constant(-70 * pq.mV),
        w_initializer=refsim.init.Constant(0.05 * pq.nA),
        method=method,
    )


#: model -> (constructor, input, base dt per method in ms)
MODELS = {
    "HH": (
        lambda m: refsim.HH(1, V_initializer=refsim.init.Constant(-65 * pq.mV), method=m),
        2 * pq.uA,
        {"euler": 0.05, "exp_euler": 0.05, "rk2": 0.05, "rk4": 0.05},
    ),
    "AdExIF": (_adex, 0.3 * pq.nA, {"euler": 0.05, "exp_euler": 0.05, "rk2": 0.1, "rk4": 1.0}),
    "Izhikevich": (
        lambda m: refsim.Izhikevich(1, method=m),
        2 * pq.mV / pq.ms,
        {"euler": 0.05, "exp_euler": 0.02, "rk2": 0.1, "rk4": 0.1},
    ),
}


def _state_names(neuron) -> list[str]:
    return [
        k
        for k in ("V", "w", "u", "m", "h", "n")
        if isinstance(getattr(neuron, k, None), refsim.State)
    ]


def reference(model: str, times: np.ndarray) -> np.ndarray:
    """V at ``times`` from solve_ivp on the model's ODE system (constant input)."""
    make, current, _ = MODELS[model]
    neuron = refsim.init_all_states(make("exp_euler"))
    names = _state_names(neuron)
    y0 = np.concatenate([getattr(neuron, k).data for k in names])
    x = to_internal(current, "I", neuron.input_unit)

    def rhs(t, y):
        d = neuron.derivatives(
            {k: y[i : i + 1] for i, k in enumerate(names)}, lambda V: (x + 0.0 * V, 0.0)
        )
        return np.concatenate([d[k] for k in names])

    sol = solve_ivp(rhs, (0.0, T_MS), y0, method="Radau", rtol=1e-12, atol=1e-14, t_eval=times)
    return sol.y[0]


def errors(model: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(dts, max |V - V_ref| on the coarsest grid) for the four step sizes."""
    make, current, bases = MODELS[model]
    base = bases[method]
    times = np.arange(1, int(round(T_MS / base)) + 1) * base
    ref = reference(model, times)
    dts, errs = [], []
    for k in range(4):
        dt = base / 2**k
        with refsim.environ.context(dt=dt * pq.ms):
            neuron = refsim.init_all_states(make(method))
            res = refsim.run(
                lambda n=neuron: n(current),
                T_MS * pq.ms,
                monitors={"V": neuron.V, "spikes": neuron},
            )
        if res["spikes"].count:
            raise RuntimeError(f"{model} spiked: the convergence case must stay subthreshold")
        V = res["V"].magnitude[:, 0][2**k - 1 :: 2**k]  # values at the coarse grid times
        dts.append(dt)
        errs.append(float(np.max(np.abs(V - ref))))
    return np.array(dts), np.array(errs)


def fitted_order(dts, errs) -> float:
    return float(np.polyfit(np.log(dts), np.log(errs), 1)[0])


def _convergence_case(model: str):
    def run():
        metrics, curves = [], []
        for method, theory in THEORY.items():
            dts, errs = errors(model, method)
            order = fitted_order(dts, errs)
            metrics.append(
                Metric(
                    f"{method}: |fitted order {order:.3f} - {theory}|",
                    abs(order - theory),
                    ORDER_TOL,
                    ORDER_WHY,
                )
            )
            curves.append(
                Curve(
                    f"{model} {method}: error vs dt (log-log), slope {order:.2f}",
                    np.log10(dts),
                    np.log10(errs[0]) + theory * np.log10(dts / dts[0]),
                    np.log10(errs),
                    xlabel="log10 dt (ms)",
                    ylabel="log10 max |V error| (mV)",
                )
            )
        return metrics, curves

    return run


for _model in MODELS:
    case(
        f"convergence/{_model}",
        "convergence",
        f"{_model} below threshold: order of euler, exp_euler, rk2, rk4 against solve_ivp",
    )(_convergence_case(_model))
