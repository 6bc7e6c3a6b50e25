r"""Exponential synapse.

.. math::

    \tau \frac{dg}{dt} = -g, \qquad g \leftarrow g + w \text{ on each event}

One step (brainpy.state): decay by exponential Euler (exact for this linear
drift), then add this step's input: :math:`g_k = g_{k-1} e^{-\Delta t/\tau} + x_k`.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.init import Constant, unit_of
from refsim.integrators import exp_euler
from refsim.module import Synapse

__all__ = ["Expon"]


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

    def __init__(self, in_size, tau=8.0 * pq.ms, g_initializer=Constant(0.0 * pq.mS),
                 name: str | None = None):
        super().__init__(in_size, name=name)
        self.tau = self._param("tau", tau, pq.ms)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)

    @property
    def delta_unit(self):
        """Events jump ``g``, so they carry its unit."""
        return self.g_unit

    @property
    def input_unit(self):
        return self.g_unit

    def init_state(self, batch_size: int | None = None) -> None:
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)

    def step(self, x: np.ndarray | None = None) -> np.ndarray:
        """Decay one step, add queued events and ``x`` (internal units); return ``g`` data."""
        g = self.g.data
        drift, _ = self.sum_current_inputs(-g, g)
        g = exp_euler(g, drift / self.tau, -1.0 / self.tau, environ.dt_ms())
        g = self.sum_delta_inputs(g)
        if x is not None:
            g = g + x
        self.g.data = g
        return g
