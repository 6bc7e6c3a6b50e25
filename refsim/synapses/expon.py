r"""Exponential synapse.

.. math::

    \tau \frac{dg}{dt} = -g, \qquad g \leftarrow g + w \text{ on each event}

One step (brainpy.state): decay by exponential Euler (exact for this linear
drift), then add this step's input: :math:`g_k = g_{k-1} e^{-\Delta t/\tau} + x_k`.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ, fmath
from refsim.init import Constant, unit_of
from refsim.integrators import exp_euler
from refsim.module import Synapse

__all__ = [
    "Expon",
    "DualExpon",
    "expon_decay_scalar",
    "expon_factor_scalar",
    "dual_expon_step_scalar",
]


class Expon(Synapse):
    r"""Exponentially decaying conductance (or current).

    .. math:: \tau \frac{dg}{dt} = -g + \sum_k w_k\,\delta(t - t_k)

    Linear in its input, so it can be merged on the postsynaptic side
    (:class:`refsim.AlignPostProj`): one state per target neuron.

    Parameters
    ----------
    in_size : int or tuple of int
        Number of synaptic states.
    tau : quantity, time, default 8 ms
        Decay time constant.
    g_initializer : initializer or quantity, default ``Constant(0 mS)``
        Initial value; its unit sets the unit of ``g`` (a conductance by
        default; a current or a pure number also work).
    name : str, optional

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> syn = refsim.Expon(1, tau=5 * pq.ms)
    >>> _ = refsim.init_all_states(syn)
    >>> g = syn(1 * pq.mS)          # an event of 1 mS at the first step
    >>> g = syn()                   # one step of decay
    >>> round(float(g[0]), 11)       # in mS: exp(-0.1/5)
    0.98019867331
    """

    align_post = True

    def __init__(
        self, in_size, tau=8.0 * pq.ms, g_initializer=Constant(0.0 * pq.mS), name: str | None = None
    ):
        super().__init__(in_size, name=name)
        self._param("tau", tau, pq.ms, positive=True)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)

    def init_state(self, batch_size: int | None = None) -> None:
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)

    def step(self, x: np.ndarray | None = None) -> np.ndarray:
        """Decay one step, add queued events and ``x`` (internal units); return ``g`` data."""
        g = self.g.data
        drift, _ = self.sum_current_inputs(-g, g)
        rate = 1.0 / self.p.tau  # a product by 1 / tau, as integrate_membrane's
        g = exp_euler(g, drift * rate, -rate, environ.dt_ms())
        g = self.sum_delta_inputs(g)
        if x is not None:
            g = g + x
        self.g.data = g
        return g


class DualExpon(Synapse):
    r"""Difference of two exponentials (rise and decay).

    .. math::

        \tau_r \frac{dg_r}{dt} = -g_r, \quad \tau_d \frac{dg_d}{dt} = -g_d, \quad
        g_{r,d} \leftarrow g_{r,d} + w \text{ per event}, \qquad
        \text{output} = A\, \text{amplitude}\, (g_d - g_r)

    With ``normalize`` (default) :math:`A = \frac{\tau_d}{\tau_d - \tau_r}
    (\tau_r/\tau_d)^{\tau_r/(\tau_r - \tau_d)}`, so the peak of one event's response is
    ``amplitude`` times its weight; otherwise :math:`A = 1`.  Both states decay exactly
    (exponential Euler of a linear decay), then receive this step's events.

    For :math:`\tau_r = \tau_d` (the limit where the formula divides by zero) the
    normalised kernel is the alpha function :math:`e\,(t/\tau)\,e^{-t/\tau}`; refsim
    then keeps :math:`h` (the events, decaying with :math:`\tau`) and :math:`g` with
    :math:`\tau\,dg/dt = -g + h`, advanced by its exact propagator
    :math:`g \leftarrow e^{-\Delta t/\tau}(g + h \Delta t/\tau)`, and reports
    ``amplitude * e * g`` (``g_rise`` holds :math:`g`, ``g_decay`` holds :math:`h`).
    brainpy.state cannot run this case.

    Parameters
    ----------
    in_size : int or tuple of int
    tau_decay : quantity, time, default 10 ms
    tau_rise : quantity, time, default 1 ms
    amplitude : float, default 1.0
    normalize : bool, default True
    g_initializer : initializer, default ``Constant(0 mS)``
    """

    align_post = True

    def __init__(
        self,
        in_size,
        tau_decay=10.0 * pq.ms,
        tau_rise=1.0 * pq.ms,
        amplitude=1.0,
        normalize: bool = True,
        g_initializer=Constant(0.0 * pq.mS),
        name: str | None = None,
    ):
        super().__init__(in_size, name=name)
        p = self.p
        self._param("tau_decay", tau_decay, pq.ms, positive=True)
        self._param("tau_rise", tau_rise, pq.ms, positive=True)
        self._param("amplitude", amplitude, None)
        self.normalize = bool(normalize)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)
        td, tr = p.tau_decay, p.tau_rise
        self.equal_taus = bool(np.all(np.abs(td - tr) <= 1e-12 * np.abs(td)))
        if not normalize:
            self.factor = p.amplitude
        elif self.equal_taus:
            self.factor = p.amplitude * np.e
        else:
            self.factor = p.amplitude * td / (td - tr) * (tr / td) ** (tr / (tr - td))

    def init_state(self, batch_size: int | None = None) -> None:
        self.g_rise = self._new_state("g_rise", self.g_initializer, self.g_unit, batch_size)
        self.g_decay = self._new_state("g_decay", self.g_initializer, self.g_unit, batch_size)

    def step(self, x: np.ndarray | None = None) -> np.ndarray:
        p = self.p
        dt = environ.dt_ms()
        rise, decay = self.g_rise.data, self.g_decay.data
        # each decay a product by 1 / tau, as Expon's (expon_decay_scalar)
        rate_rise, rate_decay = 1.0 / p.tau_rise, 1.0 / p.tau_decay
        if self.equal_taus and self.normalize:
            tau = p.tau_decay
            rise = fmath.exp(-dt / tau) * (rise + decay * dt / tau)  # g, driven by the old h
            decay = exp_euler(decay, -decay * rate_decay, -rate_decay, dt)
        else:
            rise = exp_euler(rise, -rise * rate_rise, -rate_rise, dt)
            decay = exp_euler(decay, -decay * rate_decay, -rate_decay, dt)
        events = self.sum_delta_inputs(0.0)
        if x is not None:
            events = events + x
        if self.equal_taus and self.normalize:
            self.g_rise.data, self.g_decay.data = rise, decay + events
            return self.factor * self.g_rise.data
        self.g_rise.data, self.g_decay.data = rise + events, decay + events
        return self.factor * (self.g_decay.data - self.g_rise.data)


# -- compiled twin (numba backend; checked against Expon.step) ---------------------------


def expon_factor_scalar(tau: float, dt: float) -> float:
    """``dt * exprel(-dt / tau)``: the constant of one decay step (computed once per run)."""
    return dt * fmath.exprel_scalar(dt * (-1.0 / tau))


def expon_decay_scalar(g: float, tau: float, factor: float) -> float:
    """One exponential-Euler decay of one exponential synapse (before its events)."""
    return g + factor * (-g * (1.0 / tau))


def dual_expon_step_scalar(
    rise: float,
    decay: float,
    events: float,
    tau_rise: float,
    tau_decay: float,
    f_rise: float,
    f_decay: float,
    factor: float,
    alpha: bool,
    e_step: float,
    dt: float,
) -> tuple[float, float, float]:
    """:meth:`DualExpon.step` of one element given this step's summed ``events``: new
    ``g_rise``, ``g_decay`` and the output.  ``f_rise``/``f_decay`` are the
    :func:`expon_factor_scalar` of each time constant; ``alpha`` marks the normalised
    equal-tau case, whose propagator is ``e_step = exp(-dt / tau_decay)``."""
    if alpha:
        rise = e_step * (rise + decay * dt / tau_decay)  # driven by the old decay state
        decay = expon_decay_scalar(decay, tau_decay, f_decay) + events
        return rise, decay, factor * rise
    rise = expon_decay_scalar(rise, tau_rise, f_rise) + events
    decay = expon_decay_scalar(decay, tau_decay, f_decay) + events
    return rise, decay, factor * (decay - rise)
