r"""Exponential integrate-and-fire neurons: ExpIF, ExpIFRef, AdExIF, AdExIFRef.

.. math::

    \tau \frac{dV}{dt} = -(V - V_{rest}) + \Delta_T\, e^{\min((V - V_T)/\Delta_T,\, 20)}
                         - R w + R I

(:math:`w = 0` without adaptation).  Exponential Euler uses the Jacobian of the whole
drift, :math:`(-1 + e^{(V - V_T)/\Delta_T} + R\, dI/dV)/\tau`, at the post-reset value.
With a soft reset, an upswing can take one step from about -33 mV to about 5.6e9 mV
(``dt J`` near 21): brainpy does exactly this, and so does refsim.
"""

from __future__ import annotations

import math

import numpy as np
import quantities as pq

from refsim import fmath
from refsim.init import Constant
from refsim.integrators import exp_euler_scalar
from refsim.neurons.adaptive import (
    Adaptation,
    AdaptationRefractory,
    adaptation_derivative_scalar,
    adaptation_step_scalar,
)
from refsim.neurons.base import Refractory, SpikingNeuron

__all__ = [
    "ExpIF",
    "ExpIFRef",
    "AdExIF",
    "AdExIFRef",
    "expif_step_scalar",
    "expif_derivatives_scalar",
]


class ExpIF(SpikingNeuron):
    r"""Exponential integrate-and-fire neuron.

    .. math::

        \tau \frac{dV}{dt} = -(V - V_{rest}) + \Delta_T e^{(V - V_T)/\Delta_T} + R I

    Parameters
    ----------
    in_size : int or tuple of int
    R : quantity, resistance, default 1 ohm
    tau : quantity, time, default 10 ms
    V_th : quantity, voltage, default -30 mV
        Spike threshold (the numerical cut-off of the upswing).
    V_reset : quantity, voltage, default -68 mV
    V_rest : quantity, voltage, default -65 mV
    V_T : quantity, voltage, default -59.9 mV
        Threshold of the exponential term.
    delta_T : quantity, voltage, default 3.48 mV
        Sharpness of the exponential term.
    V_initializer : initializer, default ``Constant(-65 mV)``
    spk_reset : {'soft', 'hard'}, default 'soft'
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> n = refsim.init_all_states(refsim.ExpIF(1, spk_reset="hard"))
    >>> res = refsim.run(lambda: n(10 * pq.mA), 100 * pq.ms, monitors={"spikes": n})
    >>> res["spikes"].count
    6
    """

    #: below -1000 mV the membrane has diverged: NEST's aeif models stop there with a
    #: NumericalInstability, and so does a run of these (:mod:`refsim.stability`); no upper
    #: bound: brainpy.state stores the supra-threshold value of a spiking step, which the
    #: exponential term makes as large as 5.6e9 mV in the golden traces
    state_bounds = {"V": (-1e3, math.inf)}

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        V_th=-30.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_T=-59.9 * pq.mV,
        delta_T=3.48 * pq.mV,
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
        self._param("V_T", V_T, pq.mV)
        self._param("delta_T", delta_T, pq.mV, positive=True)
        self._require_reset_below_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)

    def leak_and_spike_current(self, V):
        r""":math:`-(V - V_{rest}) + \Delta_T e^{\min(x, 20)}` with :math:`x = (V - V_T)/\Delta_T`,
        and its slope :math:`-1 + e^{x}` (0 where the exponent is clipped)."""
        p = self.p
        x = (V - p.V_T) / p.delta_T
        expo = fmath.exp(np.minimum(x, 20.0))
        return -(V - p.V_rest) + p.delta_T * expo, -1.0 + np.where(x < 20.0, expo, 0.0)

    def derivatives(self, y, current):
        r""":math:`dV/dt` (and :math:`dw/dt` with adaptation) at state ``y``."""
        p = self.p
        V = y["V"]
        g, _ = self.leak_and_spike_current(V)
        drive = p.R * current(V)[0] - (p.R * y["w"] if "w" in y else 0.0)
        return {"V": (g + drive) / p.tau}

    def _membrane(self, V_r, x, w=None):
        if self.method != "exp_euler":
            return self.explicit({"V": V_r}, x)["V"]
        if w is None:
            return self.integrate_membrane(V_r, x, self.leak_and_spike_current)

        def with_adaptation(v):
            g, slope = self.leak_and_spike_current(v)
            return g - self.p.R * w, slope

        return self.integrate_membrane(V_r, x, with_adaptation)

    def update(self, x=None):
        V_r = self.reset_potential(self.V.data, self.get_spike())
        self.V.data = self.sum_delta_inputs(self._membrane(V_r, self._external(x)))
        return self.get_spike()


class ExpIFRef(Refractory, ExpIF):
    r"""ExpIF with an absolute refractory period (see :class:`refsim.LIFRef`).

    Parameters
    ----------
    in_size, R, tau, V_th, V_reset, V_rest, V_T, delta_T, V_initializer, spk_reset, name
        As for :class:`ExpIF`.
    tau_ref : quantity, time, default 1.7 ms
    ref_var : bool, default False
        Also keep a boolean ``refractory`` state.
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        tau_ref=1.7 * pq.ms,
        V_th=-30.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_T=-59.9 * pq.mV,
        delta_T=3.48 * pq.mV,
        V_initializer=Constant(-65.0 * pq.mV),
        spk_reset: str = "soft",
        ref_var: bool = False,
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
            V_T=V_T,
            delta_T=delta_T,
            V_initializer=V_initializer,
            spk_reset=spk_reset,
            method=method,
            name=name,
        )
        self._init_refractory(tau_ref, ref_var)

    def update(self, x=None):
        t, refractory = self._refractory_now()
        V_r = self.reset_potential(self.V.data, self.get_spike())
        V = self.sum_delta_inputs(self._membrane(V_r, self._external(x)))
        V = np.where(refractory, V_r, V)
        self._note_spikes(t, V, self.p.V_th, refractory)
        self.V.data = V
        return self.get_spike()


class AdExIF(Adaptation, ExpIF):
    r"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    .. math::

        \tau \frac{dV}{dt} &= -(V - V_{rest}) + \Delta_T e^{(V - V_T)/\Delta_T} - R w + R I \\
        \tau_w \frac{dw}{dt} &= a (V - V_{rest}) - w, \qquad w \leftarrow w + b \text{ on a spike}

    Parameters
    ----------
    in_size, R, tau, V_reset, V_rest, V_T, delta_T, V_initializer, spk_reset, name
        As for :class:`ExpIF`.
    V_th : quantity, voltage, default -55 mV
    tau_w : quantity, time, default 30 ms
    a : quantity, conductance, default 1 S
    b : quantity, current, default 1 mA
    w_initializer : initializer, default ``Constant(0 mA)``
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        tau_w=30.0 * pq.ms,
        V_th=-55.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_T=-59.9 * pq.mV,
        delta_T=3.48 * pq.mV,
        a=1.0 * pq.S,
        b=1.0 * pq.mA,
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
            V_T=V_T,
            delta_T=delta_T,
            V_initializer=V_initializer,
            spk_reset=spk_reset,
            method=method,
            name=name,
        )
        self._init_adaptation(tau_w, a, b, w_initializer)

    def init_state(self, batch_size=None):
        super().init_state(batch_size)
        self._init_adaptation_state(batch_size)


class AdExIFRef(Refractory, AdaptationRefractory, AdExIF):
    r"""AdExIF with an absolute refractory period: V and w are held at their reset values.

    Parameters
    ----------
    in_size, R, tau, tau_w, V_th, V_reset, V_rest, V_T, delta_T, a, b,
    V_initializer, w_initializer, spk_reset, name
        As for :class:`AdExIF`.
    tau_ref : quantity, time, default 1.7 ms
    ref_var : bool, default False
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        tau_w=30.0 * pq.ms,
        tau_ref=1.7 * pq.ms,
        V_th=-55.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_rest=-65.0 * pq.mV,
        V_T=-59.9 * pq.mV,
        delta_T=3.48 * pq.mV,
        a=1.0 * pq.S,
        b=1.0 * pq.mA,
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
            V_T=V_T,
            delta_T=delta_T,
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


def expif_step_scalar(
    V_r: float,
    w_r: float,
    current: float,
    slope: float,
    adaptive: bool,
    R: float,
    tau: float,
    V_rest: float,
    V_T: float,
    delta_T: float,
    tau_w: float,
    a: float,
    dt: float,
) -> tuple[float, float]:
    """One exponential-Euler step of ExpIF (``adaptive`` False, ``w`` unused) or AdExIF
    from the post-reset ``V_r`` and the jumped ``w_r = w + b s``: the new ``V`` (mV) and
    ``w`` (mA), in the order of :meth:`ExpIF.leak_and_spike_current` and
    :meth:`~refsim.neurons.adaptive.Adaptation.integrate_adaptation`."""
    x = (V_r - V_T) / delta_T
    expo = fmath.exp_scalar(20.0 if x > 20.0 else x)  # min(x, 20), keeping a NaN
    g = -(V_r - V_rest) + delta_T * expo
    dg = -1.0 + (expo if x < 20.0 else 0.0)
    if adaptive:
        g = g - R * w_r
    rate = 1.0 / tau
    drift = (g + R * current) * rate
    jacobian = (dg + R * slope) * rate
    V = exp_euler_scalar(V_r, drift, fmath.exprel_scalar(dt * jacobian), dt)
    if not adaptive:
        return V, w_r
    return V, adaptation_step_scalar(w_r, V, V_rest, tau_w, a, dt)


def expif_derivatives_scalar(
    V: float,
    w: float,
    current: float,
    adaptive: bool,
    R: float,
    tau: float,
    V_rest: float,
    V_T: float,
    delta_T: float,
    tau_w: float,
    a: float,
) -> tuple[float, float]:
    """:meth:`ExpIF.derivatives` of one neuron at ``V`` (mV), ``w`` (mA, AdExIF's
    adaptation when ``adaptive``) and the input ``current`` there: ``dV/dt`` (mV/ms) and
    ``dw/dt`` (mA/ms; 0 without adaptation)."""
    x = (V - V_T) / delta_T
    g = -(V - V_rest) + delta_T * fmath.exp_scalar(20.0 if x > 20.0 else x)
    drive = R * current - (R * w if adaptive else 0.0)
    if not adaptive:
        return (g + drive) / tau, 0.0
    return (g + drive) / tau, adaptation_derivative_scalar(V, w, V_rest, tau_w, a)
