r"""Inputs: spike sources and current waveforms (mirroring brainpy.state's inputs).

Spike sources are populations (:class:`PoissonSpike`, :class:`SpikeTime`) whose
``update()`` returns this step's spikes, so they feed projections like neurons do.
:class:`PoissonInput` drives a population directly with Poisson-distributed jumps.
Waveforms are callables returning the value at the current time, to pass as a
neuron's input: ``neuron(ramp())``.  "Now" is ``i * dt`` when the step index ``i`` is
in the context (``refsim.run`` sets it), else ``t``.  Every random input draws from its
own ``seed`` or from :func:`refsim.random.default_rng`.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ, philox
from refsim import random as _random
from refsim.compiled import NeuronTwins
from refsim.module import Dynamics, Neuron
from refsim.parameters import count
from refsim.units import require_sign, to_internal, to_quantity

__all__ = [
    "SpikeSource",
    "PoissonSpike",
    "PoissonEncoder",
    "PoissonInput",
    "SpikeTime",
    "ConstantInput",
    "SectionInput",
    "StepInput",
    "RampInput",
    "SinusoidalInput",
    "SampledInput",
    "WienerProcessInput",
    "OUProcessInput",
]


def _now_ms() -> float:
    i = environ.get("i", None)
    return i * environ.dt_ms() if i is not None else environ.t_ms("this input")


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed) if seed is not None else _random.default_rng()


def _stream_seed(seed) -> int:
    """The 64-bit key of a counter-based input: its ``seed``, or one drawn from
    :func:`refsim.random.default_rng` (so that ``refsim.random.seed`` sets it)."""
    if seed is not None:
        return int(seed) % 2**64
    return int(_random.default_rng().integers(0, 2**63))


def _spike_probability(freqs_per_ms, dt: float):
    """Probability of at least one event in a step: ``1 - exp(-f dt)`` (not ``f dt``)."""
    return -np.expm1(-freqs_per_ms * dt)


def source_step_scalar(current: float) -> float:
    """A spike source's compiled step: what it emits this step is its input row, which a
    compiled run fills with the source's own spikes (:meth:`SpikeSource.spikes_at`)."""
    return current


def source_spike_scalar(V: float) -> bool:
    """A spike source's spike: a value emitted this step."""
    return V != 0.0


class SpikeSource(Neuron):
    """A population whose spikes are given or drawn, never driven: ``PoissonSpike``,
    ``PoissonEncoder``, ``SpikeTime``.

    Compiled runs take a source's spikes of each step, computed a chunk of steps ahead from
    the source itself (:meth:`spikes_at`, which changes nothing) as the input row of a
    declared model that emits that row (:data:`compiled`); after the run the source is
    stepped over the steps done at once (:meth:`skip`): the state its NumPy updates would
    have left."""

    compiled = NeuronTwins(states=(), params=(), step=source_step_scalar, spike=source_spike_scalar)
    input_unit = None
    takes_current_inputs = takes_delta_inputs = False  # its spikes are given, not driven

    def init_state(self, batch_size=None):
        shape = self.varshape if batch_size is None else (batch_size, *self.varshape)
        self.spike = self._new_state("spike", np.zeros(shape), None, batch_size)

    def get_spike(self, V=None):
        return self.spike.data.copy()

    def spikes_at(self, k: int, step: int, x=None) -> np.ndarray:  # pragma: no cover
        """The spikes of its ``k``-th update from now (0: the next), made at the global
        step ``step`` with input ``x``, without changing the source."""
        raise NotImplementedError

    def skip(self, k: int, step: int, x=None) -> None:
        """Its state after ``k`` updates, the last at global step ``step`` with input ``x``."""
        self.spike.data = self.spikes_at(k - 1, step, x)


class PoissonSpike(SpikeSource):
    r"""Independent Poisson spike trains: a spike in a step with probability
    :math:`1 - e^{-f\,\Delta t}`.

    Parameters
    ----------
    in_size : int or tuple of int
    freqs : quantity, rate
        One rate for all, or one per source (e.g. ``20 * pq.Hz``).
    seed : int, optional

    Examples
    --------
    >>> import quantities as pq, refsim
    >>> src = refsim.init_all_states(refsim.PoissonSpike(1000, 50 * pq.Hz, seed=0))
    >>> res = refsim.run(src, 1000 * pq.ms, monitors={"spikes": src})
    >>> 45 < res["spikes"].count / 1000 < 55
    True
    """

    #: the key and the count of steps drawn: the next numbers (refsim.philox)
    checkpointed = ("_stream_seed", "_draws")

    def __init__(self, in_size, freqs, seed: int | None = None, name: str | None = None):
        super().__init__(in_size, name=name)
        self._param("freqs", freqs, pq.Hz, nonnegative=True)
        self.seed = seed

    def init_state(self, batch_size=None):
        super().init_state(batch_size)
        self._stream_seed, self._draws = _stream_seed(self.seed), 0

    def update(self, x=None):
        """Element ``j`` spikes where its uniform number of this step (``refsim.philox``,
        stream 0) is below ``p_j``."""
        self.spike.data = self._drawn(self._draws, self.p.freqs)
        self._draws += 1
        return self.spike.data

    def _drawn(self, draw: int, freqs) -> np.ndarray:
        """The spikes of the ``draw``-th step drawn, at rates ``freqs`` (internal units)."""
        p = _spike_probability(freqs, environ.dt_ms())
        index = np.arange(self.spike.data.size).reshape(self.spike.shape)
        u = philox.uniform(index, draw, 0, *philox.key_of(self._stream_seed))
        return (u < p).astype(self.spike.data.dtype)

    def spikes_at(self, k: int, step: int, x=None) -> np.ndarray:
        return self._drawn(self._draws + k, self.p.freqs)

    def skip(self, k: int, step: int, x=None) -> None:
        super().skip(k, step, x)
        self._draws += k


class PoissonEncoder(PoissonSpike):
    """Poisson spikes whose rates are given at each step: ``update(freqs)``."""

    checkpointed = ("_stream_seed", "_draws", "p.freqs")  # the last rates: used until new ones

    def __init__(self, in_size, seed: int | None = None, name: str | None = None):
        super().__init__(in_size, 0.0 * pq.Hz, seed=seed, name=name)

    def update(self, freqs=None):
        if freqs is not None:
            self.p.freqs = _checked(freqs, "freqs", pq.Hz)
        return super().update()

    def spikes_at(self, k: int, step: int, freqs=None) -> np.ndarray:
        rates = self.p.freqs if freqs is None else _checked(freqs, "freqs", pq.Hz)
        return self._drawn(self._draws + k, rates)

    def skip(self, k: int, step: int, freqs=None) -> None:
        super().skip(k, step, freqs)
        if freqs is not None:
            self.p.freqs = _checked(freqs, "freqs", pq.Hz)


class PoissonInput(Dynamics):
    r"""Poisson input onto a population: each step, target ``j`` jumps by ``weight * k_j``
    with :math:`k_j \sim \mathrm{Binomial}(n, 1 - e^{-f \Delta t})` (``n`` sources at rate ``f``).

    It registers itself as a before-update of ``target``, so the jumps are queued before
    every step of the target; the weight must carry the unit of the target's jumps (mV
    for a neuron's potential; a current for CubaLIF).  brainpy switches to a normal
    approximation for large counts; refsim draws the exact binomial, by inversion from
    a counter-based generator (:mod:`refsim.philox`): the same numbers on every backend.

    Parameters
    ----------
    target : Dynamics
    num_input : int
        Number of independent sources per target neuron.
    freq : quantity, rate
    weight : quantity
    seed : int, optional
    """

    checkpointed = ("_stream_seed", "_draws")  # the key and the steps drawn (refsim.philox)
    takes_current_inputs = takes_delta_inputs = False  # a source, stepped by its target

    def __init__(
        self,
        target: Dynamics,
        num_input: int,
        freq,
        weight,
        seed: int | None = None,
        name: str | None = None,
    ):
        if not isinstance(target, Dynamics):
            raise TypeError(
                f"PoissonInput: target must be a refsim population or synapse, "
                f"got {type(target).__name__}"
            )
        target.require_inputs("delta", "PoissonInput")
        super().__init__(target.in_size, name=name)
        self.target = target
        self.num_input = count("num_input", num_input, least=0)
        self._param("freq", freq, pq.Hz, nonnegative=True)
        self._param("weight", weight, target.delta_unit)
        self.seed = seed
        target.before_updates[("PoissonInput", self.name)] = self

    def init_state(self, batch_size=None):
        self._stream_seed, self._draws = _stream_seed(self.seed), 0

    def binomial_table(self, dt_ms: float) -> philox.BinomialTable:
        """The draw of one step: ``num_input`` trials of probability :math:`1 - e^{-f dt}`."""
        return philox.binomial_table(self.num_input, float(_spike_probability(self.p.freq, dt_ms)))

    def __call__(self):
        table = self.binomial_table(environ.dt_ms())
        index = np.arange(self.target.num).reshape(self.target.varshape)
        counts = philox.binomial(index, self._draws, table, *philox.key_of(self._stream_seed))
        self._draws += 1
        self.target._push_delta(self.name, self.p.weight * counts)


class SpikeTime(SpikeSource):
    """Spikes at given times: source ``indices[k]`` fires at ``times[k]``.

    Times are turned into steps by ``round`` (default), ``floor`` or ``ceil`` of
    ``t / dt``; ``weights`` (default 1) is the value emitted.

    Parameters
    ----------
    in_size : int
    indices : array of int
    times : quantity, time, same length as ``indices``
    weights : float or array, default 1.0
    time_as_step : {'round', 'floor', 'ceil'}
    """

    def __init__(
        self,
        in_size,
        indices,
        times,
        weights=1.0,
        time_as_step: str = "round",
        name: str | None = None,
    ):
        super().__init__(in_size, name=name)
        given = np.asarray(indices)
        self.indices = given.astype(np.int64)
        if given.size and not np.array_equal(self.indices, given):  # 1.5 is not truncated
            raise ValueError(
                f"parameter 'indices' must hold integers, got {given.dtype} "
                f"values such as {given.flat[np.argmax(self.indices != given)]}"
            )
        # finite, checked by to_internal: a NaN time would become a step no run reaches
        self.times_ms = np.asarray(to_internal(times, "times", pq.ms), dtype=np.float64)
        if self.indices.shape != self.times_ms.shape:
            raise ValueError(
                f"indices and times differ in length: {self.indices.size} and {self.times_ms.size}"
            )
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= self.num):
            raise ValueError(f"spike indices must lie in [0, {self.num})")
        if time_as_step not in ("round", "floor", "ceil"):
            raise ValueError(
                f"time_as_step must be 'round', 'floor' or 'ceil', got {time_as_step!r}"
            )
        self.weights = np.broadcast_to(np.asarray(weights, dtype=np.float64), self.indices.shape)
        self.time_as_step = time_as_step

    def init_state(self, batch_size=None):
        steps = getattr(np, self.time_as_step)(self.times_ms / environ.dt_ms()).astype(np.int64)
        order = np.argsort(steps, kind="stable")
        self._steps, self._idx = steps[order], self.indices[order]
        self._w = self.weights[order].astype(self.dtype)
        super().init_state(batch_size)

    def update(self, x=None):
        i = environ.get("i", None)
        step = i if i is not None else int(round(environ.t_ms("SpikeTime") / environ.dt_ms()))
        self.spike.data = self.spikes_at(0, step)
        return self.spike.data

    def spikes_at(self, k: int, step: int, x=None) -> np.ndarray:
        lo, hi = np.searchsorted(self._steps, [step, step + 1])
        out = np.zeros(self.num, dtype=self._w.dtype)
        np.add.at(out, self._idx[lo:hi], self._w[lo:hi])
        return out.reshape(self.varshape)


class _Waveform:
    """A callable returning the input at the current time, as a quantity."""

    unit = None

    def __call__(self):
        return (
            to_quantity(self.at(_now_ms()), self.unit)
            if self.unit is not None
            else self.at(_now_ms())
        )

    def at(self, t_ms: float):  # pragma: no cover - abstract
        raise NotImplementedError


def _value(value, name):
    """``value`` in internal units, and the unit to report it in (that of ``value``, or of
    its first element for a list of quantities)."""
    first = value[0] if isinstance(value, list | tuple) and value else value
    unit = first.units if isinstance(first, pq.Quantity) else None
    return to_internal(value, name, unit), unit


def _checked(value, name: str, expected, strict: bool = False):
    """``value`` in internal units, every element ``>= 0`` (``> 0`` where ``strict``)."""
    data = to_internal(value, name, expected)
    require_sign(name, value, data, expected, strict=strict)
    return data


class ConstantInput(_Waveform):
    """``value`` while ``t < duration``, then 0."""

    def __init__(self, value, duration):
        self.value, self.unit = _value(value, "value")
        self.duration = float(_checked(duration, "duration", pq.ms))

    def at(self, t_ms):
        return self.value if t_ms < self.duration else 0.0 * self.value


class SectionInput(_Waveform):
    """Piecewise constant: ``values[k]`` for ``durations[k]``, one after another; 0 after."""

    def __init__(self, values, durations):
        self.values, self.unit = _value(values, "values")
        self.ends = np.cumsum(_checked(durations, "durations", pq.ms))
        if self.values.shape[:1] != self.ends.shape:
            raise ValueError(f"{len(self.values)} values for {len(self.ends)} durations")

    def at(self, t_ms):
        k = int(np.searchsorted(self.ends, t_ms, side="right"))
        return self.values[k] if k < len(self.ends) else 0.0 * self.values[0]


class StepInput(_Waveform):
    """The amplitude of the last ``step_times[k] <= t`` (0 before the first)."""

    def __init__(self, amplitudes, step_times):
        self.amplitudes, self.unit = _value(amplitudes, "amplitudes")
        self.times = np.asarray(to_internal(step_times, "step_times", pq.ms))

    def at(self, t_ms):
        k = int(np.searchsorted(self.times, t_ms, side="right")) - 1
        return self.amplitudes[k] if k >= 0 else 0.0 * self.amplitudes[0]


class RampInput(_Waveform):
    """Linear from ``c_start`` to ``c_end`` over ``[t_start, t_start + duration)``; 0 outside."""

    def __init__(self, c_start, c_end, duration, t_start=0.0 * pq.ms):
        self.c_start, self.unit = _value(c_start, "c_start")
        self.c_end = to_internal(c_end, "c_end", self.unit)
        self.duration = float(_checked(duration, "duration", pq.ms))
        self.t_start = float(to_internal(t_start, "t_start", pq.ms))

    def at(self, t_ms):
        s = t_ms - self.t_start
        if not 0.0 <= s < self.duration:
            return 0.0 * self.c_start
        return self.c_start + (self.c_end - self.c_start) * s / self.duration


class SinusoidalInput(_Waveform):
    r""":math:`A \sin(2\pi f t) + \text{bias}` on ``[0, duration)``; 0 after."""

    def __init__(self, amplitude, frequency, duration, bias=None):
        self.amplitude, self.unit = _value(amplitude, "amplitude")
        self.frequency = float(to_internal(frequency, "frequency", pq.Hz))
        self.duration = float(_checked(duration, "duration", pq.ms))
        self.bias = 0.0 if bias is None else to_internal(bias, "bias", self.unit)

    def at(self, t_ms):
        if t_ms >= self.duration:
            return 0.0 * self.amplitude
        return self.amplitude * np.sin(2 * np.pi * self.frequency * t_ms) + self.bias


class SampledInput(_Waveform):
    """One value per step: ``values[k]`` at the ``k``-th step from ``t_start`` (what a
    brainpy script hands ``for_loop`` beside its times, ``for_loop(step, times, inputs)``).

    The value is returned as given (``values[k]``, unconverted), so a population driven by
    it takes the same numbers as one called with ``values[k]`` directly.  A step outside
    the samples raises ``ValueError``.

    Parameters
    ----------
    values : quantity or array, one row per step
    t_start : quantity, time
        The time of ``values[0]``, on the grid of ``dt``.
    """

    def __init__(self, values, t_start=0.0 * pq.ms):
        if np.ndim(values) == 0:
            raise ValueError("SampledInput: values must hold one row per step, got a scalar")
        self.values = values
        self.t_start = float(to_internal(t_start, "t_start", pq.ms))

    def __call__(self):
        dt = environ.dt_ms()
        i = environ.get("i", None)
        step = i if i is not None else round(environ.t_ms("SampledInput") / dt)
        k = step - round(self.t_start / dt)
        if not 0 <= k < len(self.values):
            raise ValueError(
                f"SampledInput holds {len(self.values)} steps from {self.t_start} ms; "
                f"step {step} of dt = {dt} ms is outside them"
            )
        return self.values[k]


class WienerProcessInput(_Waveform):
    r"""White noise increments :math:`\sigma \sqrt{\Delta t}\, \xi`, one draw per call,
    for ``t < duration`` (0 after).

    Parameters
    ----------
    sigma : quantity
        Noise amplitude, in the unit of the input (read per sqrt(ms)).
    duration : quantity, time
    size : int or tuple, default 1
    seed : int, optional
    """

    def __init__(self, sigma, duration, size=1, seed: int | None = None):
        self.sigma, self.unit = _value(sigma, "sigma")
        require_sign("sigma", sigma, self.sigma, self.unit, strict=False)
        self.duration = float(_checked(duration, "duration", pq.ms))
        self.size, self.rng = size, _rng(seed)

    def at(self, t_ms):
        if t_ms >= self.duration:
            return np.zeros(self.size)
        return self.sigma * np.sqrt(environ.dt_ms()) * self.rng.standard_normal(self.size)


class OUProcessInput(_Waveform):
    r"""Ornstein-Uhlenbeck noise by Euler-Maruyama:
    :math:`x \leftarrow x + (\mu - x)\Delta t/\tau + \sigma\sqrt{\Delta t}\,\xi`, starting at
    :math:`\mu`; one step per call, for ``t < duration`` (0 after).

    Parameters
    ----------
    mean, sigma : quantity
        Mean and noise amplitude, in the same unit (``sigma`` is read per sqrt(ms)).
    tau : quantity, time
    duration : quantity, time
    size : int or tuple, default 1
    seed : int, optional
    """

    def __init__(self, mean, sigma, tau, duration, size=1, seed: int | None = None):
        self.mean, self.unit = _value(mean, "mean")
        self.sigma = _checked(sigma, "sigma", self.unit)
        self.tau = float(_checked(tau, "tau", pq.ms, strict=True))
        self.duration = float(_checked(duration, "duration", pq.ms))
        self.rng = _rng(seed)
        self.x = np.broadcast_to(self.mean, size).astype(np.float64)

    def at(self, t_ms):
        if t_ms >= self.duration:
            return np.zeros_like(self.x)
        dt = environ.dt_ms()
        noise = self.rng.standard_normal(self.x.shape)
        self.x = self.x + (self.mean - self.x) * dt / self.tau + self.sigma * np.sqrt(dt) * noise
        return self.x
