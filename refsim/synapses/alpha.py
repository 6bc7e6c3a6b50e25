r"""Alpha synapse.

.. math::

    \tau \frac{dg}{dt} = -g + h, \qquad \tau \frac{dh}{dt} = -h, \qquad
    h \leftarrow h + w \text{ per event}

brainpy.state order: :math:`h` decays, :math:`g` takes one exponential-Euler step
driven by the *old* :math:`h` (Jacobian :math:`-1/\tau` only), then :math:`h` receives
this step's events.  An event at step :math:`k` first shows in :math:`g` at step
:math:`k+1`; after one event of weight :math:`w` at step 0,
:math:`g_k = k (1 - a) a^{k-1} w` with :math:`a = e^{-\Delta t/\tau}`, which
approaches the continuous kernel :math:`w (t/\tau) e^{-t/\tau}` as :math:`\Delta t \to 0`.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ, fmath
from refsim.init import Constant, unit_of
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.module import Synapse

__all__ = ["Alpha"]


class Alpha(Synapse):
    r"""Alpha-function synapse (two coupled decays).

    Not linear-mergeable in brainpy's sense (its output lags its input by one step and
    brainpy does not mark it AlignPost): use it with :class:`refsim.AlignPreProj`.

    Parameters
    ----------
    in_size : int or tuple of int
    tau : quantity, time, default 8 ms
    g_initializer : initializer, default ``Constant(0 mS)``
        Initial value of both ``g`` and ``h``; its unit is the unit of both.

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> syn = refsim.init_all_states(refsim.Alpha(1, tau=8 * pq.ms))
    >>> float(syn(1 * pq.mS)[0]), float(syn()[0]) > 0
    (0.0, True)
    """

    def __init__(
        self, in_size, tau=8.0 * pq.ms, g_initializer=Constant(0.0 * pq.mS), name: str | None = None
    ):
        super().__init__(in_size, name=name)
        self._param("tau", tau, pq.ms, positive=True)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)

    def init_state(self, batch_size: int | None = None) -> None:
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)
        self.h = self._new_state("h", self.g_initializer, self.g_unit, batch_size)

    def step(self, x: np.ndarray | None = None) -> np.ndarray:
        p = self.p
        dt = environ.dt_ms()
        g, h = self.g.data, self.h.data
        h_new = exp_euler(h, -h / p.tau, -1.0 / p.tau, dt)
        self.g.data = exp_euler(g, -g / p.tau + h / p.tau, -1.0 / p.tau, dt)
        h_new = self.sum_delta_inputs(h_new)
        self.h.data = h_new if x is None else h_new + x
        return self.g.data


# -- compiled twin (numba backend; checked against Alpha.step) ----------------------------


def alpha_step_scalar(g: float, h: float, x: float, tau: float, dt: float) -> tuple[float, float]:
    """:meth:`Alpha.step` of one element given this step's input ``x``: new ``g``, ``h``."""
    e = fmath.exprel_scalar(dt * (-1.0 / tau))
    h_new = exp_euler_scalar(h, -h / tau, e, dt)
    g_new = exp_euler_scalar(g, -g / tau + h / tau, e, dt)  # driven by the old h
    return g_new, h_new + x
