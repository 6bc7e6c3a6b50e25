r"""The adaptation current shared by AdExIF and AdQuaIF.

.. math::

    \tau_w \frac{dw}{dt} = a (V - V_{rest}) - w, \qquad w \leftarrow w + b \text{ on a spike}

brainpy.state order: the jump :math:`b` is added at the start of the step (with the
reset), the membrane integrates with the jumped :math:`w`, then :math:`w` is integrated
with the *new* membrane potential.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.fmath import exprel_scalar
from refsim.init import Constant
from refsim.integrators import exp_euler, exp_euler_scalar

__all__ = [
    "Adaptation",
    "AdaptationRefractory",
    "adaptation_step_scalar",
    "adaptation_derivative_scalar",
]


class Adaptation:
    """Mixin: parameters ``tau_w``, ``a``, ``b``, the state ``w`` (a current) and the step.

    The model supplies ``_membrane(V_r, x, w)``: one exponential-Euler step of its membrane
    from ``V_r`` with the adaptation current held at ``w``.
    """

    def _init_adaptation(self, tau_w, a, b, w_initializer) -> None:
        self._param("tau_w", tau_w, pq.ms, positive=True)
        self._param("a", a, pq.S)
        self._param("b", b, pq.mA)
        self.w_initializer = Constant(0.0 * pq.mA) if w_initializer is None else w_initializer

    def _init_adaptation_state(self, batch_size) -> None:
        self.w = self._new_state("w", self.w_initializer, pq.mA, batch_size)

    def derivatives(self, y, current):
        """The membrane's derivatives plus :math:`dw/dt = (a (V - V_{rest}) - w) / \\tau_w`."""
        p = self.p
        out = super().derivatives(y, current)
        out["w"] = (p.a * (y["V"] - p.V_rest) - y["w"]) / p.tau_w
        return out

    def _step(self, x):
        """Reset, jump ``w``, integrate V then ``w`` (with the new V).

        Returns the post-reset values and the candidates: ``V_r, w_r, V, w``.
        """
        spike = self.get_spike()
        V_r = self.reset_potential(self.V.data, spike)
        w_r = self.w.data + self.p.b * spike
        if self.method != "exp_euler":
            y = self.explicit({"V": V_r, "w": w_r}, self._external(x))
            return V_r, w_r, self.sum_delta_inputs(y["V"]), y["w"]
        V = self.sum_delta_inputs(self._membrane(V_r, self._external(x), w_r))
        return V_r, w_r, V, self.integrate_adaptation(w_r, V)

    def update(self, x=None):
        _, _, self.V.data, self.w.data = self._step(x)
        return self.get_spike()

    def integrate_adaptation(self, w, V):
        """One exponential-Euler step of ``w`` (from ``w``) given the membrane potential ``V``."""
        p = self.p
        drift = (p.a * (V - p.V_rest) - w) / p.tau_w
        return exp_euler(w, drift, -1.0 / p.tau_w, environ.dt_ms())


class AdaptationRefractory:
    """Mixin for the refractory adaptive models: V and w held at their reset values."""

    def update(self, x=None):
        t, refractory = self._refractory_now()
        V_r, w_r, V, w = self._step(x)
        V = np.where(refractory, V_r, V)
        self.w.data = np.where(refractory, w_r, w)
        self._note_spikes(t, V, self.p.V_th, refractory)
        self.V.data = V
        return self.get_spike()


# -- compiled twin (numba backend; tests/backends/test_backends.py checks it bit for bit) --------


def adaptation_step_scalar(
    w_r: float, V: float, V_rest: float, tau_w: float, a: float, dt: float
) -> float:
    """:meth:`Adaptation.integrate_adaptation` of one neuron: ``w`` (mA) after one step
    from the jumped ``w_r`` given the new potential ``V`` (mV)."""
    drift = (a * (V - V_rest) - w_r) / tau_w
    return exp_euler_scalar(w_r, drift, exprel_scalar(dt * (-1.0 / tau_w)), dt)


def adaptation_derivative_scalar(
    V: float, w: float, V_rest: float, tau_w: float, a: float
) -> float:
    """:math:`dw/dt` (mA/ms) of one neuron at ``V`` (mV) and ``w`` (mA), as
    :meth:`Adaptation.derivatives` (the explicit methods)."""
    return (a * (V - V_rest) - w) / tau_w
