r"""Morris-Lecar (1981) neuron: a calcium and a potassium conductance, no reset.

No reset: a spike is an upward crossing of :math:`V_{th}` (``update`` returns it;
``get_spike()`` is the level :math:`V \ge V_{th}`), as for the other conductance-based
models (``hh.py``).  Exponential Euler takes the membrane's slope with the gates at their
old values and the input at the old potential; the gate ``W`` relaxes to its steady state
at the old potential.
"""

from __future__ import annotations

import quantities as pq

from refsim import environ, fmath
from refsim.init import Constant, Uniform
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import ContinuousNeuron

__all__ = [
    "MorrisLecar",
    "morris_lecar_step_scalar",
    "morris_lecar_derivatives_scalar",
]


class MorrisLecar(ContinuousNeuron):
    r"""Morris-Lecar (1981) neuron.

    .. math::

        C \frac{dV}{dt} = -g_{Ca} M_\infty (V - V_{Ca}) - g_K W (V - V_K)
                          - g_{leak} (V - V_{leak}) + I, \qquad
        \frac{dW}{dt} = \frac{W_\infty - W}{\tau_W}

    :math:`M_\infty = (1 + \tanh((V - V_1)/V_2))/2`, :math:`W_\infty = (1 + \tanh((V -
    V_3)/V_4))/2`, :math:`\tau_W = 1/(\phi \cosh((V - V_3)/(2 V_4)))`, all at the old
    potential.

    Parameters
    ----------
    in_size : int or tuple of int
    V_Ca, V_K, V_leak : quantity, voltage, defaults 130, -84, -60 mV
    g_Ca, g_K, g_leak : quantity, conductance, defaults 4.4, 8, 2 mS
    C : quantity, capacitance, default 20 uF
    V1, V2, V3, V4 : quantity, voltage, defaults -1.2, 18, 2, 30 mV
    phi : quantity, rate, default 0.04 / ms
    V_th : quantity, voltage, default 10 mV
    V_initializer : initializer, default ``Uniform(-70, -60) mV``
    W_initializer : initializer, default ``Constant(0.02)``
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).
    """

    def __init__(
        self,
        in_size,
        V_Ca=130.0 * pq.mV,
        g_Ca=4.4 * pq.mS,
        V_K=-84.0 * pq.mV,
        g_K=8.0 * pq.mS,
        V_leak=-60.0 * pq.mV,
        g_leak=2.0 * pq.mS,
        C=20.0 * pq.uF,
        V1=-1.2 * pq.mV,
        V2=18.0 * pq.mV,
        V3=2.0 * pq.mV,
        V4=30.0 * pq.mV,
        phi=0.04 / pq.ms,
        V_th=10.0 * pq.mV,
        V_initializer=None,
        W_initializer=Constant(0.02),
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        for key, value, unit in (
            ("V_Ca", V_Ca, pq.mV),
            ("g_Ca", g_Ca, pq.mS),
            ("V_K", V_K, pq.mV),
            ("g_K", g_K, pq.mS),
            ("V_leak", V_leak, pq.mV),
            ("g_leak", g_leak, pq.mS),
            ("V1", V1, pq.mV),
            ("V2", V2, pq.mV),
            ("V3", V3, pq.mV),
            ("V4", V4, pq.mV),
            ("phi", phi, 1 / pq.ms),
            ("V_th", V_th, pq.mV),
        ):
            # conductances (g_*) >= 0; V2, V4 (slopes) and phi are divisors: > 0
            self._param(
                key,
                value,
                unit,
                positive=key in ("V2", "V4", "phi"),
                nonnegative=key.startswith("g_"),
            )
        self._param("C", C, pq.uF, positive=True)
        self._require_positive_threshold()
        self.V_initializer = V_initializer or Uniform(-70.0, -60.0, unit=pq.mV)
        self.W_initializer = W_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.W = self._new_state("W", self.W_initializer, None, batch_size)

    def steady_states(self, V):
        """:math:`M_\\infty, W_\\infty, \\tau_W` at potential V."""
        p = self.p
        return (
            0.5 * (1.0 + fmath.tanh((V - p.V1) / p.V2)),  # the same bits in Numba
            0.5 * (1.0 + fmath.tanh((V - p.V3) / p.V4)),
            1.0 / (p.phi * fmath.cosh((V - p.V3) / (2.0 * p.V4))),
        )

    def derivatives(self, y, current):
        """The Morris-Lecar equations at state ``y`` (V, W)."""
        p = self.p
        V, W = y["V"], y["W"]
        M_inf, W_inf, tau_W = self.steady_states(V)
        dV = (
            -p.g_Ca * M_inf * (V - p.V_Ca)
            - p.g_K * W * (V - p.V_K)
            - p.g_leak * (V - p.V_leak)
            + current(V)[0]
        ) / p.C
        return {"V": dV, "W": (W_inf - W) / tau_W}

    def update(self, x=None):
        p = self.p
        dt = environ.dt_ms()
        V_old, W = self.V.data, self.W.data
        if self.method != "exp_euler":
            y = self.explicit({"V": V_old, "W": W}, self._external(x))
            self.W.data = y["W"]
            self.V.data = V = self.sum_delta_inputs(y["V"])
            return self.crossing(V_old, V)
        M_inf, W_inf, tau_W = self.steady_states(V_old)
        current, _ = self.sum_current_inputs(self._external(x), V_old)
        drift = (
            -p.g_Ca * M_inf * (V_old - p.V_Ca)
            - p.g_K * W * (V_old - p.V_K)
            - p.g_leak * (V_old - p.V_leak)
            + current
        ) / p.C
        jacobian = -(p.g_Ca * M_inf + p.g_K * W + p.g_leak) / p.C
        V = self.sum_delta_inputs(exp_euler(V_old, drift, jacobian, dt))
        self.W.data = exp_euler(W, (W_inf - W) / tau_W, -1.0 / tau_W, dt)
        self.V.data = V
        return self.crossing(V_old, V)


# -- compiled twins (numba backend; tests/models/test_twins.py checks them bit for bit) --------


def morris_lecar_steady_scalar(
    V: float, V1: float, V2: float, V3: float, V4: float, phi: float
) -> tuple[float, float, float]:
    """:meth:`MorrisLecar.steady_states` of one neuron: ``M_inf, W_inf, tau_W`` (ms)."""
    return (
        0.5 * (1.0 + fmath.tanh_scalar((V - V1) / V2)),
        0.5 * (1.0 + fmath.tanh_scalar((V - V3) / V4)),
        1.0 / (phi * fmath.cosh_scalar((V - V3) / (2.0 * V4))),
    )


def morris_lecar_step_scalar(
    V: float,
    W: float,
    current: float,
    V_Ca: float,
    V_K: float,
    V_leak: float,
    g_Ca: float,
    g_K: float,
    g_leak: float,
    C: float,
    V1: float,
    V2: float,
    V3: float,
    V4: float,
    phi: float,
    dt: float,
) -> tuple[float, float]:
    """One step of :meth:`MorrisLecar.update` for one neuron: new ``V`` (mV) and ``W``."""
    M_inf, W_inf, tau_W = morris_lecar_steady_scalar(V, V1, V2, V3, V4, phi)
    drift = (-g_Ca * M_inf * (V - V_Ca) - g_K * W * (V - V_K) - g_leak * (V - V_leak) + current) / C
    jacobian = -(g_Ca * M_inf + g_K * W + g_leak) / C
    V_new = exp_euler_scalar(V, drift, fmath.exprel_scalar(dt * jacobian), dt)
    W_new = exp_euler_scalar(W, (W_inf - W) / tau_W, fmath.exprel_scalar(dt * (-1.0 / tau_W)), dt)
    return V_new, W_new


def morris_lecar_derivatives_scalar(
    V: float,
    W: float,
    current: float,
    V_Ca: float,
    V_K: float,
    V_leak: float,
    g_Ca: float,
    g_K: float,
    g_leak: float,
    C: float,
    V1: float,
    V2: float,
    V3: float,
    V4: float,
    phi: float,
) -> tuple[float, float]:
    """:meth:`MorrisLecar.derivatives` of one neuron: ``dV/dt`` (mV/ms), ``dW/dt`` (1/ms)."""
    M_inf, W_inf, tau_W = morris_lecar_steady_scalar(V, V1, V2, V3, V4, phi)
    dV = (-g_Ca * M_inf * (V - V_Ca) - g_K * W * (V - V_K) - g_leak * (V - V_leak) + current) / C
    return dV, (W_inf - W) / tau_W
