r"""Leaky integrate-and-fire neurons: LIF and LIFRef.

One step, in this order (brainpy.state semantics, spec sections 0.3-0.6):

1. spike of the stored potential: :math:`s = H\big((V - V_{th}) / (V_{th} - V_{reset})\big)`,
   with :math:`H(x) = 1` for :math:`x \ge 0`;
2. reset from it, at the start of the step:
   soft :math:`V_r = V - (V_{th} - V_{reset})\,s`, hard :math:`V_r = V - (V - V_{reset})\,s`;
3. exponential Euler on :math:`\tau\,dV/dt = -(V - V_{rest}) + R\,I(V)` from :math:`V_r`,
   where :math:`I(V)` is the direct input plus every registered current and its
   slope :math:`dI/dV` enters the Jacobian (a COBA output contributes :math:`-R g/\tau`);
4. delta inputs (voltage jumps) are added;
5. LIFRef only: while :math:`t - t_{spike} < \tau_{ref}` the potential is held
   at :math:`V_r`, then :math:`t_{spike} \leftarrow t` wherever :math:`V \ge V_{th}`.

The stored potential of a spiking step is the supra-threshold value; the reset
shows in the next step.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.init import Constant
from refsim.integrators import exp_euler
from refsim.module import Neuron
from refsim.units import to_internal

__all__ = ["LIF", "LIFRef"]


def threshold_spike(scaled: np.ndarray) -> np.ndarray:
    """Heaviside of the scaled potential, inclusive at zero, as float 0/1."""
    return (scaled >= 0.0).astype(np.float64)


class LIF(Neuron):
    r"""Leaky integrate-and-fire neuron.

    .. math::

        \tau \frac{dV}{dt} = -(V - V_{rest}) + R\, I(t), \qquad
        V \ge V_{th} \Rightarrow \text{spike, reset at the next step}

    Parameters
    ----------
    in_size : int or tuple of int
        Population shape.
    R : quantity, resistance, default 1 ohm
        Membrane resistance.
    tau : quantity, time, default 5 ms
        Membrane time constant.
    V_th : quantity, voltage, default 1 mV
        Spike threshold.
    V_reset : quantity, voltage, default 0 mV
        Reset potential.
    V_rest : quantity, voltage, default 0 mV
        Resting potential.
    V_initializer : initializer or quantity, default ``Constant(0 mV)``
        Initial membrane potential.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Soft reset subtracts :math:`V_{th} - V_{reset}`; hard sets :math:`V_{reset}`.
    name : str, optional

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> n = refsim.LIF(4, R=1 * pq.ohm, tau=10 * pq.ms, V_th=-50 * pq.mV,
    ...                V_reset=-60 * pq.mV, V_rest=-52 * pq.mV,
    ...                V_initializer=refsim.init.Constant(-60 * pq.mV))
    >>> _ = refsim.init_all_states(n)
    >>> with refsim.environ.context(dt=0.1 * pq.ms, t=0 * pq.ms):
    ...     spikes = n(8 * pq.mA)
    >>> round(float(n.V.value[0]), 9)
    -59.84079734
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=5.0 * pq.ms,
        V_th=1.0 * pq.mV,
        V_reset=0.0 * pq.mV,
        V_rest=0.0 * pq.mV,
        V_initializer=Constant(0.0 * pq.mV),
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(in_size, name=name)
        self.R = self._param("R", R, pq.ohm)
        self.tau = self._param("tau", tau, pq.ms)
        self.V_th = self._param("V_th", V_th, pq.mV)
        self.V_reset = self._param("V_reset", V_reset, pq.mV)
        self.V_rest = self._param("V_rest", V_rest, pq.mV)
        if spk_reset not in ("soft", "hard"):
            raise ValueError(f"spk_reset must be 'soft' or 'hard', got {spk_reset!r}")
        self.spk_reset = spk_reset
        self.V_initializer = V_initializer

    def init_state(self, batch_size: int | None = None) -> None:
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)

    def get_spike(self, V=None) -> np.ndarray:
        """Spikes (float 0/1) of ``V`` (a quantity; default: the stored potential)."""
        V = self.V.data if V is None else to_internal(V, "V", pq.mV)
        return threshold_spike((V - self.V_th) / (self.V_th - self.V_reset))

    def _reset(self, V: np.ndarray) -> np.ndarray:
        """Post-reset potential :math:`V_r` from the spike of ``V``."""
        spike = threshold_spike((V - self.V_th) / (self.V_th - self.V_reset))
        V_th_eff = self.V_th if self.spk_reset == "soft" else V
        return V - (V_th_eff - self.V_reset) * spike

    def _integrate(self, V: np.ndarray, x) -> np.ndarray:
        """One exponential-Euler step of the membrane equation from ``V``."""
        current, slope = self.sum_current_inputs(x, V)
        drift = (-V + self.V_rest + self.R * current) / self.tau
        jacobian = (-1.0 + self.R * slope) / self.tau
        return exp_euler(V, drift, jacobian, environ.dt_ms())

    def update(self, x=None) -> np.ndarray:
        """Advance one step with direct input ``x`` (a current); return the spikes."""
        V_r = self._reset(self.V.data)
        V = self.sum_delta_inputs(self._integrate(V_r, self._external(x)))
        self.V.data = V
        return self.get_spike()


class LIFRef(LIF):
    r"""Leaky integrate-and-fire neuron with an absolute refractory period.

    As :class:`LIF`; in addition, for every step whose time satisfies
    :math:`t - t_{spike} < \tau_{ref}` (strict) the potential is held at its
    post-reset value :math:`V_r`, and :math:`t_{spike}` becomes :math:`t`
    whenever the new potential reaches :math:`V_{th}`.  The step must run
    inside ``refsim.environ.context(t=...)`` (``refsim.run`` does this).

    Parameters
    ----------
    in_size, R, tau, V_th, V_reset, V_rest, V_initializer, spk_reset, name
        As for :class:`LIF`.
    tau_ref : quantity, time, default 5 ms
        Refractory period.

    Attributes
    ----------
    V : State
        Membrane potential (mV).
    last_spike_time : State
        Time of the last spike (ms); initially -1e7 ms.

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> n = refsim.LIFRef(1, tau=20 * pq.ms, V_rest=-60 * pq.mV, V_th=-50 * pq.mV,
    ...                   V_reset=-60 * pq.mV, tau_ref=5 * pq.ms)
    >>> _ = refsim.init_all_states(n)
    >>> times = refsim.arange(0 * pq.ms, 200 * pq.ms)
    >>> def step(t):
    ...     with refsim.environ.context(t=t):
    ...         n(25 * pq.mA)
    ...         return n.get_spike()
    >>> int(refsim.for_loop(step, times).sum())
    17
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=5.0 * pq.ms,
        tau_ref=5.0 * pq.ms,
        V_th=1.0 * pq.mV,
        V_reset=0.0 * pq.mV,
        V_rest=0.0 * pq.mV,
        V_initializer=Constant(0.0 * pq.mV),
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(
            in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest,
            V_initializer=V_initializer, spk_reset=spk_reset, name=name,
        )
        self.tau_ref = self._param("tau_ref", tau_ref, pq.ms)

    def init_state(self, batch_size: int | None = None) -> None:
        super().init_state(batch_size)
        self.last_spike_time = self._new_state(
            "last_spike_time", Constant(-1e7 * pq.ms), pq.ms, batch_size
        )

    def update(self, x=None) -> np.ndarray:
        t = environ.t_ms(type(self).__name__)
        V_r = self._reset(self.V.data)
        V_candidate = self.sum_delta_inputs(self._integrate(V_r, self._external(x)))
        refractory = (t - self.last_spike_time.data) < self.tau_ref
        V = np.where(refractory, V_r, V_candidate)
        self.last_spike_time.data = np.where(V >= self.V_th, t, self.last_spike_time.data)
        self.V.data = V
        return self.get_spike()
