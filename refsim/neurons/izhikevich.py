r"""Izhikevich neurons: Izhikevich, IzhikevichRef.

.. math::

    \frac{dV}{dt} = p_1 V^2 + p_2 V + p_3 - u + I, \qquad
    \frac{du}{dt} = a (b V - u), \qquad
    V \ge V_{th} \Rightarrow V \leftarrow c,\; u \leftarrow u + d

The input :math:`I` is in mV/ms.  The reset is always hard.  brainpy.state order: reset
(:math:`V_r`, :math:`u_r = u + d\,s`), exponential Euler on :math:`V` with Jacobian
:math:`2 p_1 V + p_2`, delta inputs, then :math:`u` with the *new* :math:`V`.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.fmath import exprel_scalar
from refsim.init import Constant
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import Refractory, SpikingNeuron

__all__ = [
    "Izhikevich",
    "IzhikevichRef",
    "izhikevich_reset_scalar",
    "izhikevich_step_scalar",
    "izhikevich_derivatives_scalar",
]


class Izhikevich(SpikingNeuron):
    r"""Izhikevich (2003) neuron.

    Parameters
    ----------
    in_size : int or tuple of int
    a : quantity, rate, default 0.02 / ms
    b : quantity, rate, default 0.2 / ms
    c : quantity, voltage, default -65 mV
        Reset potential.
    d : quantity, voltage/time, default 8 mV/ms
        Jump of :math:`u` at a spike.
    V_th : quantity, voltage, default 30 mV
    p1 : quantity, default 0.04 / (ms mV)
    p2 : quantity, rate, default 5 / ms
    p3 : quantity, voltage/time, default 140 mV/ms
    V_initializer : initializer, default ``Constant(-65 mV)``
    u_initializer : initializer, default ``Constant(0 mV/ms)``
    spk_reset : str
        Accepted for compatibility; the reset is always to :math:`c`.
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).
    """

    input_unit = pq.mV / pq.ms

    def __init__(
        self,
        in_size,
        a=0.02 / pq.ms,
        b=0.2 / pq.ms,
        c=-65.0 * pq.mV,
        d=8.0 * pq.mV / pq.ms,
        V_th=30.0 * pq.mV,
        p1=0.04 / (pq.ms * pq.mV),
        p2=5.0 / pq.ms,
        p3=140.0 * pq.mV / pq.ms,
        V_initializer=Constant(-65.0 * pq.mV),
        u_initializer=Constant(0.0 * pq.mV / pq.ms),
        spk_reset: str = "hard",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        self._param("a", a, 1 / pq.ms)
        self._param("b", b, 1 / pq.ms)
        self._param("c", c, pq.mV)
        self._param("d", d, pq.mV / pq.ms)
        self._param("V_th", V_th, pq.mV)
        self._param("p1", p1, 1 / (pq.ms * pq.mV))
        self._param("p2", p2, 1 / pq.ms)
        self._param("p3", p3, pq.mV / pq.ms)
        self._require_positive_threshold()
        self._require(
            "c < V_th",
            self.p.c < self.p.V_th,
            "a neuron reset to c at or above the threshold fires again at once, every step",
            "c",
            "V_th",
        )
        self.V_initializer = V_initializer
        self.u_initializer = u_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.u = self._new_state("u", self.u_initializer, pq.mV / pq.ms, batch_size)

    def scaled_potential(self, V):
        return (V - self.p.V_th) / self.p.V_th

    def derivatives(self, y, current):
        """:math:`dV/dt = p_1 V^2 + p_2 V + p_3 - u + I`, :math:`du/dt = a (b V - u)`."""
        p = self.p
        V, u = y["V"], y["u"]
        return {"V": p.p1 * V * V + p.p2 * V + p.p3 - u + current(V)[0], "u": p.a * (p.b * V - u)}

    def _step(self, x):
        p = self.p
        dt = environ.dt_ms()
        spike = self.get_spike()
        V_r = np.where(spike != 0, p.c, self.V.data)
        u_r = self.u.data + p.d * spike
        if self.method != "exp_euler":
            y = self.explicit({"V": V_r, "u": u_r}, x)
            return V_r, u_r, self.sum_delta_inputs(y["V"]), y["u"]
        current, slope = self.sum_current_inputs(x, V_r)
        drift = p.p1 * V_r * V_r + p.p2 * V_r + p.p3 - u_r + current
        V = self.sum_delta_inputs(exp_euler(V_r, drift, 2 * p.p1 * V_r + p.p2 + slope, dt))
        u = exp_euler(u_r, p.a * (p.b * V - u_r), -p.a, dt)
        return V_r, u_r, V, u

    def update(self, x=None):
        _, _, self.V.data, self.u.data = self._step(self._external(x))
        return self.get_spike()


class IzhikevichRef(Refractory, Izhikevich):
    r"""Izhikevich neuron with an absolute refractory period (default 0 ms: never refractory).

    Parameters
    ----------
    (as :class:`Izhikevich`)
    tau_ref : quantity, time, default 0 ms
    ref_var : bool, default False
    """

    def __init__(self, in_size, *args, tau_ref=0.0 * pq.ms, ref_var: bool = False, **kwargs):
        super().__init__(in_size, *args, **kwargs)
        self._init_refractory(tau_ref, ref_var)

    def update(self, x=None):
        t, refractory = self._refractory_now()
        V_r, u_r, V, u = self._step(self._external(x))
        V = np.where(refractory, V_r, V)
        self.u.data = np.where(refractory, u_r, u)
        self._note_spikes(t, V, self.p.V_th, refractory)
        self.V.data = V
        return self.get_spike()


# -- compiled twins (numba backend; tests/backends/test_backends.py checks them bit for bit) -----


def izhikevich_reset_scalar(
    V: float, u: float, spike: bool, c: float, d: float
) -> tuple[float, float]:
    """Post-reset ``V_r`` (mV) and ``u_r = u + d s`` (mV/ms) of one neuron."""
    return (c if spike else V), u + d * (1.0 if spike else 0.0)


def izhikevich_step_scalar(
    V_r: float,
    u_r: float,
    current: float,
    slope: float,
    a: float,
    b: float,
    p1: float,
    p2: float,
    p3: float,
    dt: float,
) -> tuple[float, float]:
    """One step of :meth:`Izhikevich._step` from the post-reset values: new ``V``, ``u``."""
    drift = p1 * V_r * V_r + p2 * V_r + p3 - u_r + current
    jacobian = 2.0 * p1 * V_r + p2 + slope
    V = exp_euler_scalar(V_r, drift, exprel_scalar(dt * jacobian), dt)
    return V, izhikevich_recovery_scalar(u_r, V, a, b, dt)


def izhikevich_recovery_scalar(u_r: float, V: float, a: float, b: float, dt: float) -> float:
    """``u`` one step on from ``u_r`` given the new (and jumped) potential ``V``."""
    return exp_euler_scalar(u_r, a * (b * V - u_r), exprel_scalar(dt * -a), dt)


def izhikevich_derivatives_scalar(
    V: float, u: float, current: float, a: float, b: float, p1: float, p2: float, p3: float
) -> tuple[float, float]:
    """:meth:`Izhikevich.derivatives` of one neuron: ``dV/dt`` (mV/ms) and ``du/dt``
    (mV/ms^2) at ``V``, ``u`` and the input ``current`` there."""
    return p1 * V * V + p2 * V + p3 - u + current, a * (b * V - u)
