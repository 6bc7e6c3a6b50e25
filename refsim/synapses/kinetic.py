r"""Receptor-kinetics synapses driven by a transmitter pulse: AMPA, GABAa, BioNMDA.

A presynaptic spike at time :math:`t_s` releases transmitter of concentration
:math:`T` for :math:`T_{dur}`: :math:`[T](t) = T` while :math:`t - t_s < T_{dur}`
(strict, on the context time), else 0.  Then (exponential Euler, nonlinear in the
input, so these synapses are aligned *pre*-synaptically):

.. math::

    \text{AMPA, GABAa:}\quad \frac{dg}{dt} = \alpha [T] (1 - g) - \beta g

    \text{BioNMDA:}\quad \frac{dx}{dt} = \alpha_2 [T] (1 - x) - \beta_2 x, \qquad
    \frac{dg}{dt} = \alpha_1 x (1 - g) - \beta_1 g \;\; (\text{with the new } x)

The saturation level "1" is one unit of ``g``'s unit (1 mS by default).  ``update``
takes the presynaptic spikes (bool or 0/1) and needs ``t`` in the context.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ, fmath
from refsim.init import Constant, unit_of
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.module import Synapse
from refsim.units import to_internal

__all__ = ["AMPA", "GABAa", "BioNMDA"]


class _TransmitterPulse(Synapse):
    """Shared: the spike-arrival time state and the transmitter concentration."""

    input_unit = None
    delta_unit = None
    takes_delta_inputs = False  # driven by spikes (update's argument), not by jumps
    reads_clock = True  # spike_arrival_time holds absolute times

    def __init__(self, in_size, T, T_dur, g_initializer, name):
        super().__init__(in_size, name=name)
        self._param("T", T, pq.mM, nonnegative=True)
        # T_dur in float64, as the clock
        self._param("T_dur", T_dur, pq.ms, dtype=np.float64, nonnegative=True)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)
        self.g_max = (
            float(to_internal(pq.Quantity(1.0, self.g_unit), "g", self.g_unit))
            if self.g_unit is not None
            else 1.0
        )

    @property
    def output_unit(self):
        return self.g_unit

    def _init_pulse_states(self, batch_size):
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)
        self.spike_arrival_time = self._new_state(  # float64 as the clock, at any precision
            "spike_arrival_time", Constant(-1e7 * pq.ms), pq.ms, batch_size, dtype=np.float64
        )

    def transmitter(self, pre_spike) -> np.ndarray:
        """Record this step's arrivals; the concentration [T] (internal mM) now."""
        t = self._now()
        spiking = np.asarray(pre_spike) > 0 if pre_spike is not None else False
        self.spike_arrival_time.data = np.where(spiking, t, self.spike_arrival_time.data)
        return np.where((t - self.spike_arrival_time.data) < self.p.T_dur, self.p.T, 0.0)


class AMPA(_TransmitterPulse):
    r"""AMPA receptor: :math:`dg/dt = \alpha [T](1 - g) - \beta g`.

    Parameters
    ----------
    in_size : int or tuple of int
    alpha : quantity, 1/(ms mM), default 0.98
    beta : quantity, rate, default 0.18 / ms
    T : quantity, concentration, default 0.5 mM
    T_dur : quantity, time, default 0.5 ms
    g_initializer : initializer, default ``Constant(0 mS)``
    """

    def __init__(
        self,
        in_size,
        alpha=0.98 / (pq.ms * pq.mM),
        beta=0.18 / pq.ms,
        T=0.5 * pq.mM,
        T_dur=0.5 * pq.ms,
        g_initializer=Constant(0.0 * pq.mS),
        name: str | None = None,
    ):
        super().__init__(in_size, T, T_dur, g_initializer, name)
        self._param("alpha", alpha, 1 / (pq.ms * pq.mM), nonnegative=True)
        self._param("beta", beta, 1 / pq.ms, nonnegative=True)

    def init_state(self, batch_size: int | None = None) -> None:
        self._init_pulse_states(batch_size)

    def step(self, pre_spike=None) -> np.ndarray:
        p = self.p
        TT = self.transmitter(pre_spike)
        g = self.g.data
        drift = p.alpha * TT * (self.g_max - g) - p.beta * g
        self.g.data = exp_euler(g, drift, -p.alpha * TT - p.beta, environ.dt_ms())
        return self.g.data


class GABAa(AMPA):
    r"""GABA_A receptor: AMPA's kinetics, :math:`dg/dt = \alpha [T](1 - g) - \beta g`.

    Parameters
    ----------
    in_size : int or tuple of int
    alpha : quantity, 1/(ms mM), default 0.53
    beta : quantity, rate, default 0.18 / ms
    T : quantity, concentration, default 1 mM
    T_dur : quantity, time, default 1 ms
    g_initializer : initializer, default ``Constant(0 mS)``
    """

    def __init__(
        self,
        in_size,
        alpha=0.53 / (pq.ms * pq.mM),
        beta=0.18 / pq.ms,
        T=1.0 * pq.mM,
        T_dur=1.0 * pq.ms,
        g_initializer=Constant(0.0 * pq.mS),
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            alpha=alpha,
            beta=beta,
            T=T,
            T_dur=T_dur,
            g_initializer=g_initializer,
            name=name,
        )


class BioNMDA(_TransmitterPulse):
    r"""NMDA receptor with a second-order gating variable :math:`x`.

    Parameters
    ----------
    in_size : int or tuple of int
    alpha1 : quantity, rate, default 2 / ms
    beta1 : quantity, rate, default 0.01 / ms
    alpha2 : quantity, 1/(ms mM), default 1
    beta2 : quantity, rate, default 0.5 / ms
    T : quantity, concentration, default 1 mM
    T_dur : quantity, time, default 0.5 ms
    g_initializer : initializer, default ``Constant(0 mS)``
    x_initializer : initializer, default ``Constant(0.)``
    """

    def __init__(
        self,
        in_size,
        alpha1=2.0 / pq.ms,
        beta1=0.01 / pq.ms,
        alpha2=1.0 / (pq.ms * pq.mM),
        beta2=0.5 / pq.ms,
        T=1.0 * pq.mM,
        T_dur=0.5 * pq.ms,
        g_initializer=Constant(0.0 * pq.mS),
        x_initializer=Constant(0.0),
        name: str | None = None,
    ):
        super().__init__(in_size, T, T_dur, g_initializer, name)
        self._param("alpha1", alpha1, 1 / pq.ms, nonnegative=True)
        self._param("beta1", beta1, 1 / pq.ms, nonnegative=True)
        self._param("alpha2", alpha2, 1 / (pq.ms * pq.mM), nonnegative=True)
        self._param("beta2", beta2, 1 / pq.ms, nonnegative=True)
        self.x_initializer = x_initializer

    def init_state(self, batch_size: int | None = None) -> None:
        self._init_pulse_states(batch_size)
        self.x = self._new_state("x", self.x_initializer, None, batch_size)

    def step(self, pre_spike=None) -> np.ndarray:
        p = self.p
        dt = environ.dt_ms()
        TT = self.transmitter(pre_spike)
        x, g = self.x.data, self.g.data
        x = exp_euler(x, p.alpha2 * TT * (1.0 - x) - p.beta2 * x, -p.alpha2 * TT - p.beta2, dt)
        g = exp_euler(g, p.alpha1 * x * (self.g_max - g) - p.beta1 * g, -p.alpha1 * x - p.beta1, dt)
        self.x.data, self.g.data = x, g
        return g


# -- compiled twins (numba backend; checked against the step methods above) ---------------


def transmitter_scalar(
    arrival: float, spike: float, T: float, T_dur: float, t: float
) -> tuple[float, float]:
    """:meth:`_TransmitterPulse.transmitter` of one element: the new spike-arrival time
    (ms) and the concentration now."""
    if spike > 0:
        arrival = t
    return arrival, T if (t - arrival) < T_dur else 0.0


def ampa_step_scalar(
    g: float, TT: float, alpha: float, beta: float, g_max: float, dt: float
) -> float:
    """:meth:`AMPA.step` (and GABAa's) of one element at concentration ``TT``: new ``g``."""
    drift = alpha * TT * (g_max - g) - beta * g
    return exp_euler_scalar(g, drift, fmath.exprel_scalar(dt * (-alpha * TT - beta)), dt)


def bionmda_step_scalar(
    g: float,
    x: float,
    TT: float,
    alpha1: float,
    beta1: float,
    alpha2: float,
    beta2: float,
    g_max: float,
    dt: float,
) -> tuple[float, float]:
    """:meth:`BioNMDA.step` of one element at concentration ``TT``: new ``g`` and ``x``."""
    x = exp_euler_scalar(
        x, alpha2 * TT * (1.0 - x) - beta2 * x, fmath.exprel_scalar(dt * (-alpha2 * TT - beta2)), dt
    )
    g = exp_euler_scalar(
        g, alpha1 * x * (g_max - g) - beta1 * g, fmath.exprel_scalar(dt * (-alpha1 * x - beta1)), dt
    )
    return g, x
