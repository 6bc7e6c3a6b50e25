r"""Quadratic integrate-and-fire neurons: QuaIF, AdQuaIF, AdQuaIFRef.

.. math::

    \tau \frac{dV}{dt} = c (V - V_{rest})(V - V_c) - R w + R I

(:math:`w = 0` without adaptation).  Exponential Euler uses the Jacobian
:math:`(c(2V - V_{rest} - V_c) + R\, dI/dV)/\tau` at the post-reset value.
"""

from __future__ import annotations

import quantities as pq

from refsim.fmath import exprel_scalar
from refsim.init import Constant
from refsim.integrators import exp_euler_scalar
from refsim.neurons.adaptive import (
    Adaptation,
    AdaptationRefractory,
    adaptation_derivative_scalar,
    adaptation_step_scalar,
)
from refsim.neurons.base import Refractory, SpikingNeuron

__all__ = ["QuaIF", "AdQuaIF", "AdQuaIFRef", "quaif_step_scalar", "quaif_derivatives_scalar"]


class QuaIF(SpikingNeuron):
    r"""Quadratic integrate-and-fire neuron.

    .. math:: \tau \frac{dV}{dt} = c (V - V_{rest})(V - V_c) + R I

    Parameters
    ----------
    in_size : int or tuple of int
    R : quantity, resistance, default 1 ohm
    tau : quantity, time, default 10 ms
    V_th : quantity, voltage, default -30 mV
    V_reset : quantity, voltage, default -68 mV
    V_rest : quantity, voltage, default -65 mV
    V_c : quantity, voltage, default -50 mV
        Critical potential (unstable fixed point).
    c : quantity, 1/voltage, default 0.07 / mV
    V_initializer : initializer, default ``Constant(-65 mV)``
    spk_reset : {'soft', 'hard'}, default 'soft'
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        V_th=-30.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_c=-50.0 * pq.mV,
        c=0.07 / pq.mV,
        V_initializer=Constant(-65.0 * pq.mV),
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_th", V_th, pq.mV)
        self._param("V_reset", V_reset, pq.mV)
        self._param("V_rest", V_rest, pq.mV)
        self._param("V_c", V_c, pq.mV)
        self._param("c", c, 1 / pq.mV)
        self._require_reset_below_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)

    def quadratic(self, V):
        """:math:`c (V - V_{rest})(V - V_c)` and its slope."""
        p = self.p
        return (p.c * (V - p.V_rest) * (V - p.V_c), p.c * ((V - p.V_c) + (V - p.V_rest)))

    def derivatives(self, y, current):
        """:math:`dV/dt` (with ``-R w`` when ``y`` holds an adaptation current)."""
        p = self.p
        V = y["V"]
        drive = p.R * current(V)[0] - (p.R * y["w"] if "w" in y else 0.0)
        return {"V": (self.quadratic(V)[0] + drive) / p.tau}

    def update(self, x=None):
        V_r = self.reset_potential(self.V.data, self.get_spike())
        if self.method != "exp_euler":
            self.V.data = self.sum_delta_inputs(self.explicit({"V": V_r}, self._external(x))["V"])
            return self.get_spike()
        V = self.integrate_membrane(V_r, self._external(x), self.quadratic)
        self.V.data = self.sum_delta_inputs(V)
        return self.get_spike()


class AdQuaIF(Adaptation, QuaIF):
    r"""Adaptive quadratic integrate-and-fire neuron.

    .. math::

        \tau \frac{dV}{dt} &= c (V - V_{rest})(V - V_c) - R w + R I \\
        \tau_w \frac{dw}{dt} &= a (V - V_{rest}) - w, \qquad w \leftarrow w + b \text{ on a spike}

    Parameters
    ----------
    in_size, R, tau, V_th, V_reset, V_rest, V_c, c, V_initializer, spk_reset, name
        As for :class:`QuaIF`.
    tau_w : quantity, time, default 10 ms
    a : quantity, conductance, default 1 S
    b : quantity, current, default 0.1 mA
    w_initializer : initializer, default ``Constant(0 mA)``
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        tau_w=10.0 * pq.ms,
        V_th=-30.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_c=-50.0 * pq.mV,
        c=0.07 / pq.mV,
        a=1.0 * pq.S,
        b=0.1 * pq.mA,
        V_initializer=Constant(-65.0 * pq.mV),
        w_initializer=None,
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            R=R,
            tau=tau,
            V_th=V_th,
            V_reset=V_reset,
            V_rest=V_rest,
            V_c=V_c,
            c=c,
            V_initializer=V_initializer,
            spk_reset=spk_reset,
            method=method,
            name=name,
        )
        self._init_adaptation(tau_w, a, b, w_initializer)

    def init_state(self, batch_size=None):
        super().init_state(batch_size)
        self._init_adaptation_state(batch_size)

    def _membrane(self, V_r, x, w):
        """Exponential Euler of the membrane from ``V_r`` with the adaptation current ``w``."""

        def quadratic_minus_w(v):
            g, slope = self.quadratic(v)
            return g - self.p.R * w, slope

        return self.integrate_membrane(V_r, x, quadratic_minus_w)


class AdQuaIFRef(Refractory, AdaptationRefractory, AdQuaIF):
    r"""AdQuaIF with an absolute refractory period: V and w are held at their reset values.

    Parameters
    ----------
    in_size, R, tau, tau_w, V_th, V_reset, V_rest, V_c, c, a, b, V_initializer,
    w_initializer, spk_reset, name
        As for :class:`AdQuaIF`.
    tau_ref : quantity, time, default 1.7 ms
    ref_var : bool, default False
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        tau_w=10.0 * pq.ms,
        tau_ref=1.7 * pq.ms,
        V_th=-30.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_c=-50.0 * pq.mV,
        c=0.07 / pq.mV,
        a=1.0 * pq.S,
        b=0.1 * pq.mA,
        V_initializer=Constant(-65.0 * pq.mV),
        w_initializer=None,
        spk_reset: str = "soft",
        ref_var: bool = False,
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            R=R,
            tau=tau,
            tau_w=tau_w,
            V_th=V_th,
            V_reset=V_reset,
            V_rest=V_rest,
            V_c=V_c,
            c=c,
            a=a,
            b=b,
            V_initializer=V_initializer,
            w_initializer=w_initializer,
            spk_reset=spk_reset,
            method=method,
            name=name,
        )
        self._init_refractory(tau_ref, ref_var)


# -- compiled twin (numba backend; tests/backends/test_backends.py checks it bit for bit) --------


def quaif_step_scalar(
    V_r: float,
    w_r: float,
    current: float,
    slope: float,
    adaptive: bool,
    R: float,
    tau: float,
    V_rest: float,
    V_c: float,
    c: float,
    tau_w: float,
    a: float,
    dt: float,
) -> tuple[float, float]:
    """One exponential-Euler step of QuaIF (``adaptive`` False, ``w`` unused) or AdQuaIF
    from the post-reset ``V_r`` and the jumped ``w_r = w + b s``: the new ``V`` (mV) and
    ``w`` (mA), in the order of :meth:`QuaIF.quadratic` and ``integrate_membrane``."""
    g = c * (V_r - V_rest) * (V_r - V_c)
    dg = c * ((V_r - V_c) + (V_r - V_rest))
    if adaptive:
        g = g - R * w_r
    rate = 1.0 / tau
    drift = (g + R * current) * rate
    jacobian = (dg + R * slope) * rate
    V = exp_euler_scalar(V_r, drift, exprel_scalar(dt * jacobian), dt)
    if not adaptive:
        return V, w_r
    return V, adaptation_step_scalar(w_r, V, V_rest, tau_w, a, dt)


def quaif_derivatives_scalar(
    V: float,
    w: float,
    current: float,
    adaptive: bool,
    R: float,
    tau: float,
    V_rest: float,
    V_c: float,
    c: float,
    tau_w: float,
    a: float,
) -> tuple[float, float]:
    """:meth:`QuaIF.derivatives` of one neuron at ``V`` (mV), ``w`` (mA, AdQuaIF's
    adaptation when ``adaptive``) and the input ``current`` there: ``dV/dt`` (mV/ms) and
    ``dw/dt`` (mA/ms; 0 without adaptation)."""
    drive = R * current - (R * w if adaptive else 0.0)
    dV = (c * (V - V_rest) * (V - V_c) + drive) / tau
    if not adaptive:
        return dV, 0.0
    return dV, adaptation_derivative_scalar(V, w, V_rest, tau_w, a)
