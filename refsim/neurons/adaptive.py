r"""The adaptation current shared by AdExIF and AdQuaIF.

.. math::

    \tau_w \frac{dw}{dt} = a (V - V_{rest}) - w, \qquad w \leftarrow w + b \text{ on a spike}

brainpy.state order: the jump :math:`b` is added at the start of the step (with the
reset), the membrane integrates with the jumped :math:`w`, then :math:`w` is integrated
with the *new* membrane potential.
"""

from __future__ import annotations

import quantities as pq

from refsim import environ
from refsim.init import Constant
from refsim.integrators import exp_euler

__all__ = ["Adaptation"]


class Adaptation:
    """Mixin: parameters ``tau_w``, ``a``, ``b`` and the state ``w`` (a current)."""

    def _init_adaptation(self, tau_w, a, b, w_initializer) -> None:
        self.tau_w = self._param("tau_w", tau_w, pq.ms)
        self.a = self._param("a", a, pq.S)
        self.b = self._param("b", b, pq.mA)
        self.w_initializer = Constant(0.0 * pq.mA) if w_initializer is None else w_initializer

    def _init_adaptation_state(self, batch_size) -> None:
        self.w = self._new_state("w", self.w_initializer, pq.mA, batch_size)

    def derivatives(self, y, current):
        """The membrane's derivatives plus :math:`dw/dt = (a (V - V_{rest}) - w) / \\tau_w`."""
        out = super().derivatives(y, current)
        out["w"] = (self.a * (y["V"] - self.V_rest) - y["w"]) / self.tau_w
        return out

    def integrate_adaptation(self, w, V):
        """One exponential-Euler step of ``w`` (from ``w``) given the membrane potential ``V``."""
        drift = (self.a * (V - self.V_rest) - w) / self.tau_w
        return exp_euler(w, drift, -1.0 / self.tau_w, environ.dt_ms())
