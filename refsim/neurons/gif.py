r"""Generalized integrate-and-fire neurons (Mihalas & Niebur 2009): Gif, GifRef.

.. math::

    \frac{dI_1}{dt} = -k_1 I_1, \qquad \frac{dI_2}{dt} = -k_2 I_2, \qquad
    \frac{dV_{th}}{dt} = a (V - V_{rest}) - b (V_{th} - V_{th,\infty}), \\
    \tau \frac{dV}{dt} = -(V - V_{rest}) + R (I_1 + I_2 + I)

On a spike (tested against the *state* threshold :math:`V_{th}`): :math:`V` resets,
:math:`I_1 \leftarrow R_1 I_1 + A_1`, :math:`I_2 \leftarrow R_2 I_2 + A_2`,
:math:`V_{th} \leftarrow \max(V_{th,reset}, V_{th})`.

brainpy.state order: :math:`I_1, I_2, V_{th}` are integrated first, :math:`V_{th}` with the
post-reset :math:`V`; then :math:`V`, which in ``Gif`` sees the already-decayed
:math:`I_1, I_2` and in ``GifRef`` the post-reset ones (spec, section 1).
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.fmath import exprel_scalar
from refsim.init import Constant
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import Refractory, SpikingNeuron

__all__ = ["Gif", "GifRef", "gif_reset_scalar", "gif_step_scalar"]


class Gif(SpikingNeuron):
    r"""Generalized integrate-and-fire neuron with two spike-triggered currents.

    Parameters
    ----------
    in_size : int or tuple of int
    R : quantity, resistance, default 20 ohm
    tau : quantity, time, default 20 ms
    V_rest, V_reset : quantity, voltage, default -70 mV
    V_th_inf : quantity, voltage, default -50 mV
        Resting value of the moving threshold.
    V_th_reset : quantity, voltage, default -60 mV
        Lower bound of the threshold after a spike.
    V_th_initializer : initializer, default ``Constant(-50 mV)``
    a : quantity, rate, default 0 / ms
        Coupling of the threshold to the potential.
    b : quantity, rate, default 0.01 / ms
        Relaxation rate of the threshold.
    k1, k2 : quantity, rate, defaults 0.2 / ms and 0.02 / ms
        Decay rates of the spike-triggered currents.
    R1, R2 : float, defaults 0 and 1
        Fractions of the currents kept at a spike.
    A1, A2 : quantity, current, default 0 mA
        Currents added at a spike.
    V_initializer : initializer, default ``Constant(-70 mV)``
    I1_initializer, I2_initializer : initializer, default ``Constant(0 mA)``
    spk_reset : {'soft', 'hard'}, default 'soft'
    """

    def __init__(
        self,
        in_size,
        R=20.0 * pq.ohm,
        tau=20.0 * pq.ms,
        V_rest=-70.0 * pq.mV,
        V_reset=-70.0 * pq.mV,
        V_th_inf=-50.0 * pq.mV,
        V_th_reset=-60.0 * pq.mV,
        V_th_initializer=Constant(-50.0 * pq.mV),
        a=0.0 / pq.ms,
        b=0.01 / pq.ms,
        k1=0.2 / pq.ms,
        k2=0.02 / pq.ms,
        R1=0.0,
        R2=1.0,
        A1=0.0 * pq.mA,
        A2=0.0 * pq.mA,
        V_initializer=Constant(-70.0 * pq.mV),
        I1_initializer=Constant(0.0 * pq.mA),
        I2_initializer=Constant(0.0 * pq.mA),
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_rest", V_rest, pq.mV)
        self._param("V_reset", V_reset, pq.mV)
        self._param("V_th_inf", V_th_inf, pq.mV)
        self._param("V_th_reset", V_th_reset, pq.mV)
        self._param("a", a, 1 / pq.ms)
        self._param("b", b, 1 / pq.ms)
        self._param("k1", k1, 1 / pq.ms)
        self._param("k2", k2, 1 / pq.ms)
        self._param("R1", R1, None)
        self._param("R2", R2, None)
        self._param("A1", A1, pq.mA)
        self._param("A2", A2, pq.mA)
        self._require(
            "V_reset < V_th_inf",
            self.p.V_reset < self.p.V_th_inf,
            "the spike test (V - V_th) / (V_th - V_reset) divides by V_th - V_reset, and "
            "the threshold V_th relaxes to V_th_inf",
            "V_reset",
            "V_th_inf",
        )
        self.V_initializer = V_initializer
        self.V_th_initializer = V_th_initializer
        self.I1_initializer = I1_initializer
        self.I2_initializer = I2_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.I1 = self._new_state("I1", self.I1_initializer, pq.mA, batch_size)
        self.I2 = self._new_state("I2", self.I2_initializer, pq.mA, batch_size)
        self.V_th = self._new_state("V_th", self.V_th_initializer, pq.mV, batch_size)

    def scaled_potential(self, V):
        return (V - self.V_th.data) / (self.V_th.data - self.p.V_reset)

    def _reset_all(self):
        """Post-spike values of V, I1, I2 and V_th."""
        p = self.p
        spike = self.get_spike()
        fired = spike != 0
        V_th = self.V_th.data
        V_th_eff = V_th if self.spk_reset == "soft" else self.V.data
        V_r = self.V.data - (V_th_eff - p.V_reset) * spike
        I1_r = np.where(fired, p.R1 * self.I1.data + p.A1, self.I1.data)
        I2_r = np.where(fired, p.R2 * self.I2.data + p.A2, self.I2.data)
        V_th_r = np.where(fired, np.maximum(p.V_th_reset, V_th), V_th)
        return V_r, I1_r, I2_r, V_th_r

    def _integrate(self, x, V_r, I1_r, I2_r, V_th_r, decayed_currents_drive_V: bool):
        p = self.p
        dt = environ.dt_ms()
        I1 = exp_euler(I1_r, -p.k1 * I1_r, -p.k1, dt)
        I2 = exp_euler(I2_r, -p.k2 * I2_r, -p.k2, dt)
        V_th = exp_euler(V_th_r, p.a * (V_r - p.V_rest) - p.b * (V_th_r - p.V_th_inf), -p.b, dt)
        drive = I1 + I2 if decayed_currents_drive_V else I1_r + I2_r
        V = self.integrate_membrane(V_r, x, lambda v: (-(v - p.V_rest) + p.R * drive, -1.0))
        return self.sum_delta_inputs(V), I1, I2, V_th

    def update(self, x=None):
        resets = self._reset_all()
        V, I1, I2, V_th = self._integrate(self._external(x), *resets, True)
        self.V.data, self.I1.data, self.I2.data, self.V_th.data = V, I1, I2, V_th
        return self.get_spike()


class GifRef(Refractory, Gif):
    r"""Gif with an absolute refractory period: V, I1, I2 and V_th are held at their reset values.

    Parameters
    ----------
    (as :class:`Gif`)
    tau_ref : quantity, time, default 1.7 ms
    ref_var : bool, default False
    """

    def __init__(self, in_size, *args, tau_ref=1.7 * pq.ms, ref_var: bool = False, **kwargs):
        super().__init__(in_size, *args, **kwargs)
        self._init_refractory(tau_ref, ref_var)

    def update(self, x=None):
        t, refractory = self._refractory_now()
        resets = self._reset_all()
        candidates = self._integrate(self._external(x), *resets, False)
        V, I1, I2, V_th = (
            np.where(refractory, r, c) for r, c in zip(resets, candidates, strict=True)
        )
        self._note_spikes(t, V, V_th, refractory)
        self.V.data, self.I1.data, self.I2.data, self.V_th.data = V, I1, I2, V_th
        return self.get_spike()


# -- compiled twins (numba backend; tests/backends/test_backends.py checks them bit for bit) -----


def gif_reset_scalar(
    V: float,
    I1: float,
    I2: float,
    V_th: float,
    spike: bool,
    V_reset: float,
    V_th_reset: float,
    R1: float,
    R2: float,
    A1: float,
    A2: float,
    hard: bool,
) -> tuple[float, float, float, float]:
    """:meth:`Gif._reset_all` of one neuron: post-spike ``V``, ``I1``, ``I2``, ``V_th``."""
    V_r = V - ((V if hard else V_th) - V_reset) * (1.0 if spike else 0.0)
    if not spike:
        return V_r, I1, I2, V_th
    V_th_r = V_th_reset if V_th_reset > V_th else V_th  # np.maximum, keeping a NaN V_th
    return V_r, R1 * I1 + A1, R2 * I2 + A2, V_th_r


def gif_step_scalar(
    V_r: float,
    I1_r: float,
    I2_r: float,
    V_th_r: float,
    current: float,
    slope: float,
    decayed_drive: bool,
    R: float,
    tau: float,
    V_rest: float,
    V_th_inf: float,
    a: float,
    b: float,
    k1: float,
    k2: float,
    dt: float,
) -> tuple[float, float, float, float]:
    """:meth:`Gif._integrate` of one neuron from its post-spike values: new ``V``, ``I1``,
    ``I2``, ``V_th``; ``decayed_drive`` (Gif) drives V with the decayed currents, else
    (GifRef) with the post-spike ones."""
    I1 = exp_euler_scalar(I1_r, -k1 * I1_r, exprel_scalar(dt * -k1), dt)
    I2 = exp_euler_scalar(I2_r, -k2 * I2_r, exprel_scalar(dt * -k2), dt)
    V_th = exp_euler_scalar(
        V_th_r, a * (V_r - V_rest) - b * (V_th_r - V_th_inf), exprel_scalar(dt * -b), dt
    )
    drive = I1 + I2 if decayed_drive else I1_r + I2_r
    rate = 1.0 / tau
    drift = (-(V_r - V_rest) + R * drive + R * current) * rate
    V = exp_euler_scalar(V_r, drift, exprel_scalar(dt * ((-1.0 + R * slope) * rate)), dt)
    return V, I1, I2, V_th
