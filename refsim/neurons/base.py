"""What the spiking neuron models share: threshold, reset, refractoriness, integration.

brainpy.state semantics (spec sections 0.3-0.6):

* a spike is ``H(scaled) `` with ``H(x) = 1`` for ``x >= 0``, where the scaled
  potential is ``(V - V_th) / (V_th - V_reset)`` for the integrate-and-fire
  family and ``(V - V_th) / V_th`` for the others (:func:`threshold_spike`);
* the reset is applied at the start of the next step from the stored spike:
  soft ``V_r = V - (V_th - V_reset) s``, hard ``V_r = V - (V - V_reset) s``;
* refractory models clamp every state at its post-reset value while
  ``t - t_spike < tau_ref`` (strict), then set ``t_spike = t`` where
  ``V >= V_th`` (:class:`Refractory`).
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.environ import to_model
from refsim.init import Constant
from refsim.integrators import METHODS, exp_euler, explicit_step
from refsim.module import Neuron

__all__ = [
    "threshold_spike",
    "SpikingNeuron",
    "Refractory",
    "ContinuousNeuron",
    "reset_scalar",
    "spike_scalar",
    "level_spike_scalar",
]


def threshold_spike(scaled: np.ndarray) -> np.ndarray:
    """Heaviside of the scaled potential, inclusive at zero, as float 0/1 (of the
    potential's float type)."""
    scaled = np.asarray(scaled)
    return (scaled >= 0.0).astype(np.result_type(scaled.dtype, np.float32))


class SpikingNeuron(Neuron):
    """Base of the point neurons: a potential ``V`` and a spike threshold.

    Subclasses set :attr:`V_th` (and :attr:`V_reset` for the integrate-and-fire
    family) and implement :meth:`scaled_potential` and ``update``.
    """

    #: unit of the membrane potential (``None`` for the dimensionless models)
    V_unit = pq.mV

    def __init__(self, in_size, spk_reset: str = "soft", name: str | None = None):
        super().__init__(in_size, name=name)
        if spk_reset not in ("soft", "hard"):
            raise ValueError(f"spk_reset must be 'soft' or 'hard', got {spk_reset!r}")
        self.spk_reset = spk_reset

    def _set_method(self, method: str) -> None:
        """Choose the integrator of the continuous dynamics (nonlinear models)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        self.method = method

    def _require_reset_below_threshold(self) -> None:
        """``V_reset < V_th``: the spike test divides by ``V_th - V_reset``."""
        self._require(
            "V_reset < V_th",
            self.p.V_reset < self.p.V_th,
            "the spike test (V - V_th) / (V_th - V_reset) >= 0 divides by "
            "V_th - V_reset: equal, it gives NaN or inf; reversed, a spike means "
            "V <= V_th and the neuron fires every step",
            "V_reset",
            "V_th",
        )

    def _require_positive_threshold(self) -> None:
        """``V_th > 0``: the spike test of this model divides by ``V_th``."""
        self._require(
            "V_th > 0",
            self.p.V_th > 0,
            "this model's spike test (V - V_th) / V_th >= 0 (brainpy.state's) means "
            "V >= V_th only where V_th > 0: a negative V_th inverts it (a spike "
            "where V <= V_th) and 0 divides by zero",
            "V_th",
        )

    def derivatives(self, y: dict, current) -> dict:  # pragma: no cover - per model
        """Right-hand side of the model's ODE system: ``{name: dy/dt}``.

        ``current(V)`` gives the input current (and its slope) at potential ``V``.
        """
        raise NotImplementedError

    def explicit(self, y0: dict, x) -> dict:
        """Advance the ODE system one step from ``y0`` with the explicit ``self.method``."""
        current = self.current_function(x)
        return explicit_step(
            y0, lambda y: self.derivatives(y, current), environ.dt_ms(), self.method
        )

    def scaled_potential(self, V: np.ndarray) -> np.ndarray:
        """``(V - V_th) / (V_th - V_reset)``: non-negative exactly when the neuron spikes."""
        p = self.p
        return (V - p.V_th) / (p.V_th - p.V_reset)

    def get_spike(self, V=None) -> np.ndarray:
        """Spikes (float 0/1) of ``V`` (a quantity; default: the stored potential)."""
        V = self.V.data if V is None else to_model(V, "V", self.V_unit)
        return threshold_spike(self.scaled_potential(V))

    def reset_potential(self, V: np.ndarray, spike: np.ndarray) -> np.ndarray:
        """Post-reset potential ``V_r`` from the stored ``V`` and its spike."""
        V_th_eff = self.p.V_th if self.spk_reset == "soft" else V
        return V - (V_th_eff - self.p.V_reset) * spike

    def integrate_membrane(self, V: np.ndarray, x, leak_and_more) -> np.ndarray:
        """Exponential Euler of ``dV/dt = (g(V) + R I(V)) / tau`` from ``V``.

        ``leak_and_more(V)`` returns the rest of the drift numerator and its
        slope, e.g. ``(-(V - V_rest), -1)``; the registered currents (and their
        slope) are added here, inside the drift, as brainpy does.  The division by
        ``tau`` is a product by ``1 / tau``, computed once (brainpy divides: the two
        differ by an ulp at most, and a division per neuron and step is the slowest
        operation of a compiled step; ``docs/decisions.md``).
        """
        p = self.p
        current, slope = self.sum_current_inputs(x, V)
        g, dg = leak_and_more(V)
        rate = 1.0 / p.tau
        drift = (g + p.R * current) * rate
        jacobian = (dg + p.R * slope) * rate
        return exp_euler(V, drift, jacobian, environ.dt_ms())


class Refractory:
    """Mixin: absolute refractoriness with a ``last_spike_time`` state.

    Parameters handled: ``tau_ref`` (time) and ``ref_var`` (keep a boolean
    ``refractory`` state as well).
    """

    reads_clock = True  # last_spike_time holds absolute times

    def _init_refractory(self, tau_ref, ref_var: bool = False) -> None:
        # tau_ref in float64, as the clock
        self._param("tau_ref", tau_ref, pq.ms, dtype=np.float64, nonnegative=True)
        self.ref_var = bool(ref_var)

    def init_state(self, batch_size=None) -> None:
        """The model's own states, then ``last_spike_time`` (and ``refractory``)."""
        super().init_state(batch_size)
        self._init_refractory_states(batch_size)

    def _init_refractory_states(self, batch_size) -> None:
        self.last_spike_time = self._new_state(  # float64 as the clock, at any precision
            "last_spike_time", Constant(-1e7 * pq.ms), pq.ms, batch_size, dtype=np.float64
        )
        if self.ref_var:
            self.refractory = self._new_state("refractory", Constant(0.0), None, batch_size)

    def _refractory_now(self) -> tuple[float, np.ndarray]:
        """The current time and where ``t - t_spike < tau_ref`` (previous spike time)."""
        t = self._now()
        return t, (t - self.last_spike_time.data) < self.p.tau_ref

    def _note_spikes(self, t: float, V: np.ndarray, V_th, refractory: np.ndarray) -> None:
        """``t_spike = t`` where ``V >= V_th``; the refractory flag if kept."""
        spiking = V >= V_th
        self.last_spike_time.data = np.where(spiking, t, self.last_spike_time.data)
        if self.ref_var:
            self.refractory.data = np.logical_or(refractory, spiking).astype(self.dtype)


class ContinuousNeuron(SpikingNeuron):
    """Base of the models without a reset (HH family, FitzHugh-Nagumo, Hindmarsh-Rose).

    A spike is ``(V - V_th) / V_th >= 0``; ``get_spike()`` is that level, while
    ``update`` returns the upward crossing ``spike(V_new) * (1 - spike(V_old))``.
    """

    def scaled_potential(self, V):
        return (V - self.p.V_th) / self.p.V_th

    def crossing(self, V_old: np.ndarray, V_new: np.ndarray) -> np.ndarray:
        """1 where the potential crossed the threshold upward during this step."""
        return threshold_spike(self.scaled_potential(V_new)) * (
            1.0 - threshold_spike(self.scaled_potential(V_old))
        )


# -- compiled twin (numba backend; checked against SpikingNeuron.reset_potential) -------


def spike_scalar(V: float, V_th: float, V_reset: float) -> bool:
    """Spike of one integrate-and-fire neuron: ``(V - V_th) / (V_th - V_reset) >= 0``."""
    return (V - V_th) / (V_th - V_reset) >= 0.0


def reset_scalar(V: float, spike: bool, V_th: float, V_reset: float, hard: bool) -> float:
    """Post-reset potential of one integrate-and-fire neuron from its stored ``V``."""
    V_th_eff = V if hard else V_th
    return V - (V_th_eff - V_reset) * (1.0 if spike else 0.0)


def level_spike_scalar(V: float, V_th: float) -> bool:
    """Stored spike of one neuron without reset (:class:`ContinuousNeuron`, Izhikevich):
    ``(V - V_th) / V_th >= 0``."""
    return (V - V_th) / V_th >= 0.0
