r"""Integrate-and-fire neurons: IF, LIF, LIFRef, ALIF, CubaLIF, CobaLIF.

One LIF step, in this order (brainpy.state semantics, spec sections 0.3-0.6):

1. spike of the stored potential: :math:`s = H\big((V - V_{th}) / (V_{th} - V_{reset})\big)`;
2. reset from it: soft :math:`V_r = V - (V_{th} - V_{reset})\,s`,
   hard :math:`V_r = V - (V - V_{reset})\,s`;
3. exponential Euler on :math:`\tau\,dV/dt = -(V - V_{rest}) + R\,I(V)` from :math:`V_r`, where
   :math:`I(V)` is the direct input plus every registered current and their slope enters the
   Jacobian (a COBA output contributes :math:`-R g/\tau`);
4. delta inputs (voltage jumps) are added;
5. refractory models hold every state at its post-reset value while :math:`t - t_{spike} <
   \tau_{ref}`, then set :math:`t_{spike} = t` wherever :math:`V \ge V_{th}`.

The stored potential of a spiking step is the supra-threshold value; the reset shows
in the next step.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ
from refsim.fmath import exprel_scalar
from refsim.init import Constant
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import Refractory, SpikingNeuron

__all__ = [
    "IF",
    "LIF",
    "LIFRef",
    "ALIF",
    "CubaLIF",
    "CobaLIF",
    "lif_drift_scalar",
    "alif_step_scalar",
    "alif_spike_scalar",
    "if_reset_scalar",
    "if_step_scalar",
    "lif_synapse_step_scalar",
]


class IF(SpikingNeuron):
    r"""Integrate-and-fire neuron with a leak to 0 mV.

    .. math:: \tau \frac{dV}{dt} = -V + R\,I(t), \qquad \text{spike when } (V - V_{th})/V_{th} \ge 0

    Soft reset subtracts :math:`V_{th}`; hard reset sets 0 mV.

    Parameters
    ----------
    in_size : int or tuple of int
    R : quantity, resistance, default 1 ohm
    tau : quantity, time, default 5 ms
    V_th : quantity, voltage, default 1 mV
    V_initializer : initializer, default ``Constant(0 mV)``
    spk_reset : {'soft', 'hard'}, default 'soft'

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> n = refsim.init_all_states(refsim.IF(1, tau=10 * pq.ms, V_th=10 * pq.mV))
    >>> float(n(15 * pq.mA)[0])
    0.0
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=5.0 * pq.ms,
        V_th=1.0 * pq.mV,
        V_initializer=Constant(0.0 * pq.mV),
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_th", V_th, pq.mV)
        self._require_positive_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)

    def scaled_potential(self, V):
        return (V - self.p.V_th) / self.p.V_th

    def update(self, x=None):
        V = self.V.data
        spike = self.get_spike()
        V_r = V - (self.p.V_th if self.spk_reset == "soft" else V) * spike
        V = self.integrate_membrane(V_r, self._external(x), lambda v: (-v, -1.0))
        self.V.data = self.sum_delta_inputs(V)
        return self.get_spike()


class LIF(SpikingNeuron):
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
    >>> round(float(n.V.value[0]), 8)
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
        super().__init__(in_size, spk_reset, name)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_th", V_th, pq.mV)
        self._param("V_reset", V_reset, pq.mV)
        self._param("V_rest", V_rest, pq.mV)
        self._require_reset_below_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)

    def leak(self, V):
        """Drift numerator without the input, and its slope: :math:`-(V - V_{rest})`."""
        return -V + self.p.V_rest, -1.0

    def update(self, x=None):
        """Advance one step with direct input ``x`` (a current); return the spikes."""
        V_r = self.reset_potential(self.V.data, self.get_spike())
        V = self.integrate_membrane(V_r, self._external(x), self.leak)
        self.V.data = self.sum_delta_inputs(V)
        return self.get_spike()


class LIFRef(Refractory, LIF):
    r"""Leaky integrate-and-fire neuron with an absolute refractory period.

    As :class:`LIF`; for every step whose time satisfies :math:`t - t_{spike} < \tau_{ref}`
    (strict) the potential is held at its post-reset value, and :math:`t_{spike}` becomes
    :math:`t` whenever the new potential reaches :math:`V_{th}`.  Steps need ``t`` in the
    context (``refsim.run`` sets it).

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
    >>> res = refsim.run(lambda: n(25 * pq.mA), 200 * pq.ms, monitors={"spikes": n})
    >>> res["spikes"].count
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
        ref_var: bool = False,
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            R=R,
            tau=tau,
            V_th=V_th,
            V_reset=V_reset,
            V_rest=V_rest,
            V_initializer=V_initializer,
            spk_reset=spk_reset,
            name=name,
        )
        self._init_refractory(tau_ref, ref_var)

    def update(self, x=None):
        t, refractory = self._refractory_now()
        V_r = self.reset_potential(self.V.data, self.get_spike())
        V = self.sum_delta_inputs(self.integrate_membrane(V_r, self._external(x), self.leak))
        V = np.where(refractory, V_r, V)
        self._note_spikes(t, V, self.p.V_th, refractory)
        self.V.data = V
        return self.get_spike()


class ALIF(LIF):
    r"""Adaptive LIF: the threshold rises by :math:`\beta a` after each spike.

    .. math::

        \tau \frac{dV}{dt} = -(V - V_{rest}) + R I, \qquad
        \tau_a \frac{da}{dt} = -a, \qquad
        \text{spike when } V \ge V_{th} + \beta a, \text{ then } a \leftarrow a + 1

    Parameters
    ----------
    in_size, R, tau, V_th, V_reset, V_rest, V_initializer, spk_reset, name
        As for :class:`LIF`.
    tau_a : quantity, time, default 100 ms
        Adaptation time constant.
    beta : quantity, voltage, default 0.1 mV
        Threshold increase per unit of adaptation.
    a_initializer : initializer, default ``Constant(0.)``
        Initial adaptation (a pure number).
    """

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=5.0 * pq.ms,
        tau_a=100.0 * pq.ms,
        V_th=1.0 * pq.mV,
        V_reset=0.0 * pq.mV,
        V_rest=0.0 * pq.mV,
        beta=0.1 * pq.mV,
        V_initializer=Constant(0.0 * pq.mV),
        a_initializer=Constant(0.0),
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            R=R,
            tau=tau,
            V_th=V_th,
            V_reset=V_reset,
            V_rest=V_rest,
            V_initializer=V_initializer,
            spk_reset=spk_reset,
            name=name,
        )
        self._param("tau_a", tau_a, pq.ms, positive=True)
        self._param("beta", beta, pq.mV)
        self.a_initializer = a_initializer

    def init_state(self, batch_size=None):
        super().init_state(batch_size)
        self.a = self._new_state("a", self.a_initializer, None, batch_size)

    def scaled_potential(self, V):
        p = self.p
        return (V - p.V_th - p.beta * self.a.data) / (p.V_th - p.V_reset)

    def update(self, x=None):
        spike = self.get_spike()
        V_r = self.reset_potential(self.V.data, spike)
        a = self.a.data + spike
        V = self.integrate_membrane(V_r, self._external(x), self.leak)
        self.a.data = exp_euler(a, -a / self.p.tau_a, -1.0 / self.p.tau_a, environ.dt_ms())
        self.V.data = self.sum_delta_inputs(V)
        return self.get_spike()


class CubaLIF(LIF):
    r"""LIF with a built-in exponential synaptic current :math:`g`.

    .. math::

        \tau_{syn} \frac{dg}{dt} = -g, \qquad
        \tau \frac{dV}{dt} = -(V - V_{rest}) + R\,(g + I)

    Delta inputs (synaptic events, a current) jump :math:`g`, not :math:`V`; :math:`g`
    decays first and the membrane sees the new :math:`g`.

    Parameters
    ----------
    in_size, R, tau, V_th, V_reset, V_rest, V_initializer, spk_reset, name
        As for :class:`LIF`.
    tau_syn : quantity, time, default 5 ms
    g_initializer : initializer, default ``Constant(0 mA)``
    """

    g_unit = pq.mA

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=5.0 * pq.ms,
        tau_syn=5.0 * pq.ms,
        V_th=1.0 * pq.mV,
        V_reset=0.0 * pq.mV,
        V_rest=0.0 * pq.mV,
        V_initializer=Constant(0.0 * pq.mV),
        g_initializer=None,
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            R=R,
            tau=tau,
            V_th=V_th,
            V_reset=V_reset,
            V_rest=V_rest,
            V_initializer=V_initializer,
            spk_reset=spk_reset,
            name=name,
        )
        self._param("tau_syn", tau_syn, pq.ms, positive=True)
        self.g_initializer = g_initializer or Constant(0.0 * self.g_unit)

    @property
    def delta_unit(self):
        return self.g_unit

    def init_state(self, batch_size=None):
        super().init_state(batch_size)
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)

    def synaptic_drive(self, g, V):
        """Synaptic current and its slope in V: :math:`g` (CUBA)."""
        return g, 0.0

    def update(self, x=None):
        p = self.p
        V_r = self.reset_potential(self.V.data, self.get_spike())
        g = self.g.data
        g = self.sum_delta_inputs(exp_euler(g, -g / p.tau_syn, -1.0 / p.tau_syn, environ.dt_ms()))

        def leak_and_synapse(v):
            I_syn, slope = self.synaptic_drive(g, v)
            return -v + p.V_rest + p.R * I_syn, -1.0 + p.R * slope

        self.V.data = self.integrate_membrane(V_r, self._external(x), leak_and_synapse)
        self.g.data = g
        return self.get_spike()


class CobaLIF(CubaLIF):
    r"""LIF with a built-in exponential conductance :math:`g` and reversal potential :math:`E`.

    .. math::

        \tau_{syn} \frac{dg}{dt} = -g, \qquad
        \tau \frac{dV}{dt} = -(V - V_{rest}) + R\,(g (E - V) + I)

    Parameters
    ----------
    in_size, R, tau, tau_syn, V_th, V_reset, V_rest, V_initializer, spk_reset, name
        As for :class:`CubaLIF`.
    E : quantity, voltage, default 0 mV
        Synaptic reversal potential.
    g_initializer : initializer, default ``Constant(0 S)``
    """

    g_unit = pq.S

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=5.0 * pq.ms,
        tau_syn=5.0 * pq.ms,
        E=0.0 * pq.mV,
        V_th=1.0 * pq.mV,
        V_reset=0.0 * pq.mV,
        V_rest=0.0 * pq.mV,
        V_initializer=Constant(0.0 * pq.mV),
        g_initializer=None,
        spk_reset: str = "soft",
        name: str | None = None,
    ):
        super().__init__(
            in_size,
            R=R,
            tau=tau,
            tau_syn=tau_syn,
            V_th=V_th,
            V_reset=V_reset,
            V_rest=V_rest,
            V_initializer=V_initializer,
            g_initializer=g_initializer,
            spk_reset=spk_reset,
            name=name,
        )
        self._param("E", E, pq.mV)

    def synaptic_drive(self, g, V):
        return g * (self.p.E - V), -g


# -- compiled twin ---------------------------------------------------------------------
# The numba backend compiles this scalar form of LIF.leak + integrate_membrane into its
# network loop; tests/backends/test_backends.py checks it bit for bit against update() above.


def lif_drift_scalar(
    V_r: float, current: float, slope: float, R: float, tau: float, V_rest: float
) -> tuple[float, float]:
    """Drift and Jacobian of ``tau dV/dt = -(V - V_rest) + R I(V)`` at ``V_r`` (1/ms).

    The step is then ``exp_euler_scalar(V_r, drift, exprel(dt * jacobian), dt)``.
    """
    rate = 1.0 / tau  # integrate_membrane's product by 1 / tau
    return (-V_r + V_rest + R * current) * rate, (-1.0 + R * slope) * rate


def alif_step_scalar(
    V_r: float,
    a_r: float,
    current: float,
    slope: float,
    R: float,
    tau: float,
    V_rest: float,
    tau_a: float,
    dt: float,
) -> tuple[float, float]:
    """One ALIF step (:meth:`ALIF.update`) from the post-reset ``V_r`` and the jumped
    ``a_r = a + s``: the new ``V`` (mV) and ``a``."""
    drift, jacobian = lif_drift_scalar(V_r, current, slope, R, tau, V_rest)
    V = exp_euler_scalar(V_r, drift, exprel_scalar(dt * jacobian), dt)
    a = exp_euler_scalar(a_r, -a_r / tau_a, exprel_scalar(dt * (-1.0 / tau_a)), dt)
    return V, a


def alif_spike_scalar(V: float, a: float, V_th: float, V_reset: float, beta: float) -> bool:
    """Spike of one ALIF neuron: ``(V - V_th - beta a) / (V_th - V_reset) >= 0``."""
    return (V - V_th - beta * a) / (V_th - V_reset) >= 0.0


def if_reset_scalar(V: float, spike: bool, V_th: float, hard: bool) -> float:
    """Post-reset potential of one :class:`IF` neuron (soft: ``- V_th``, hard: to 0)."""
    return V - (V if hard else V_th) * (1.0 if spike else 0.0)


def if_step_scalar(
    V_r: float, current: float, slope: float, R: float, tau: float, dt: float
) -> float:
    """One :class:`IF` step from the post-reset ``V_r`` (``tau dV/dt = -V + R I``)."""
    rate = 1.0 / tau
    drift = (-V_r + R * current) * rate
    return exp_euler_scalar(V_r, drift, exprel_scalar(dt * ((-1.0 + R * slope) * rate)), dt)


def lif_synapse_step_scalar(
    V_r: float,
    g: float,
    current: float,
    slope: float,
    coba: bool,
    R: float,
    tau: float,
    V_rest: float,
    tau_syn: float,
    E: float,
    dt: float,
) -> tuple[float, float]:
    """One step of :class:`CubaLIF` (``coba`` False) or :class:`CobaLIF` from the post-reset
    ``V_r``: the built-in synapse decays first, the membrane sees the new ``g``
    (:func:`lif_synapse_decay_scalar`, then :func:`lif_synapse_membrane_scalar`; a
    population with jumps adds them to ``g`` between the two)."""
    g = lif_synapse_decay_scalar(g, tau_syn, dt)
    return lif_synapse_membrane_scalar(V_r, g, current, slope, coba, R, tau, V_rest, E, dt), g


def lif_synapse_decay_scalar(g: float, tau_syn: float, dt: float) -> float:
    """The built-in synapse of :class:`CubaLIF` and :class:`CobaLIF` one step on."""
    return g + dt * exprel_scalar(dt * (-1.0 / tau_syn)) * (-g / tau_syn)


def lif_synapse_membrane_scalar(
    V_r: float,
    g: float,
    current: float,
    slope: float,
    coba: bool,
    R: float,
    tau: float,
    V_rest: float,
    E: float,
    dt: float,
) -> float:
    """The membrane of :class:`CubaLIF` or :class:`CobaLIF` one step on from ``V_r``,
    driven by the synapse's new (and jumped) ``g``."""
    I_syn, dI_syn = (g * (E - V_r), -g) if coba else (g, 0.0)
    rate = 1.0 / tau
    drift = (-V_r + V_rest + R * I_syn + R * current) * rate
    jacobian = (-1.0 + R * dI_syn + R * slope) * rate
    return exp_euler_scalar(V_r, drift, exprel_scalar(dt * jacobian), dt)
