"""Driving a model over time: ``for_loop``, ``run`` and monitors.

* :func:`for_loop` mirrors ``brainstate.transform.for_loop``: it calls
  ``step`` on each element along the leading axis of its arguments and stacks
  what ``step`` returns (quantities in, quantities out).  It sets no context:
  the step function does (``with refsim.environ.context(t=t): ...``).
* :func:`run` steps a model for a duration on the grid ``t_i = i*dt`` with an
  integer step counter ``i`` (for a run from 0 exactly the values of
  ``arange(0, T, dt)``, and a continued run lands on the same grid), sets ``t`` and ``i``
  in the context, records monitors into buffers allocated up front and shows a
  progress bar when a run lasts more than a couple of seconds.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import quantities as pq

from refsim import backends, environ
from refsim.backends import BackendFallbackWarning
from refsim.module import Neuron, State
from refsim.network import Network
from refsim.units import to_internal, to_quantity

__all__ = ["arange", "for_loop", "run", "StateMonitor", "SpikeMonitor", "RunResult",
           "RunInterrupted"]


def arange(start, stop, step=None) -> pq.Quantity:
    """Time points ``start, start + step, ...`` below ``stop``, in ms (``step`` defaults to dt)."""
    step_ms = environ.dt_ms() if step is None else float(to_internal(step, "step", pq.ms))
    if step_ms == 0 or not np.isfinite(step_ms):
        raise ValueError(f"step must be a finite, non-zero time, got {step}")
    values = np.arange(
        float(to_internal(start, "start", pq.ms)), float(to_internal(stop, "stop", pq.ms)), step_ms
    )
    return pq.Quantity(values, pq.ms)


def _stack(outs: list) -> Any:
    first = outs[0]
    if first is None:
        return None
    if isinstance(first, tuple | list):
        return type(first)(_stack([o[k] for o in outs]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([o[k] for o in outs]) for k in first}
    if isinstance(first, pq.Quantity):
        units = first.dimensionality.string
        mags = [
            o.magnitude if o.dimensionality.string == units else o.rescale(first.units).magnitude
            for o in outs
        ]
        return pq.Quantity(np.stack(mags), first.units)
    return np.stack([np.asarray(o) for o in outs])


def for_loop(step: Callable, *xs, progress: bool | None = False) -> Any:
    """Call ``step(*x[i])`` for every ``i`` along the leading axis and stack the results.

    Parameters
    ----------
    step : callable
        Called once per element; may return an array, a quantity, None, or a
        tuple/list/dict of those.
    *xs : arrays or quantities
        Sequences of equal length (e.g. the times of :func:`arange`).
    progress : bool or None
        Show a progress bar (None: only on a terminal, after 2 s).

    Returns
    -------
    The stacked results, with a leading axis of ``len(xs[0])``.
    """
    if not xs:
        raise ValueError("for_loop needs at least one sequence to iterate over")
    n = len(xs[0])
    for x in xs[1:]:
        if len(x) != n:
            raise ValueError(f"for_loop sequences differ in length: {n} and {len(x)}")
    bar = _progress_bar(n, progress)
    outs = []
    for i in range(n):
        outs.append(step(*(x[i] for x in xs)))
        if bar is not None and (i + 1) % 100 == 0:
            bar.update(100)
    if bar is not None:
        bar.update(n - bar.n)
        bar.close()
    return _stack(outs) if outs else None


def _progress_bar(total: int, progress: bool | None):
    if progress is False:
        return None
    from tqdm.auto import tqdm  # imported lazily: ~50 ms

    return tqdm(
        total=total, unit="step", mininterval=0.5, disable=None if progress is None else False,
        delay=2.0 if progress is None else 0.0,
    )


class StateMonitor:
    """Record a state (or any function returning an array) every ``every`` steps.

    Parameters
    ----------
    target : State or callable
        A state such as ``neuron.V`` (read each step through ``.data``), or a
        callable returning an array (or a quantity) of fixed shape.
    indices : array of int, optional
        Record only these elements (along the last axis).
    every : int
        Record one step in ``every``; the first recorded step is the first of the run.
    unit : quantities unit, optional
        Unit of the result for a callable returning internal-unit arrays.
    reduce : {'mean', 'sum'}, optional
        Record one number per step: the mean or the sum over the (selected) elements,
        e.g. the population-average potential, at the memory of one value per record.
    """

    def __init__(self, target: State | Callable, indices=None, every: int = 1, unit=None,
                 reduce: str | None = None):
        if int(every) < 1:
            raise ValueError(f"every must be a positive number of steps, got {every}")
        if reduce not in (None, "mean", "sum"):
            raise ValueError(f"reduce must be 'mean', 'sum' or None, got {reduce!r}")
        self.target = target
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self.every = int(every)
        self.unit = unit
        self.reduce = reduce
        self._buffer: np.ndarray | None = None
        self._steps: np.ndarray | None = None

    def _read(self) -> np.ndarray:
        if isinstance(self.target, State):
            data = self.target.data
        else:
            data = self.target()
            if isinstance(data, pq.Quantity):
                self.unit = self.unit or data.units
                data = to_internal(data, "monitored value", data.units)
        data = data if self.indices is None else data[..., self.indices]
        if self.reduce == "mean":
            return np.mean(data)
        return np.sum(data) if self.reduce == "sum" else data

    def expected_bytes(self) -> int | None:
        """Size of the buffer this monitor will allocate (None if not known before the run)."""
        if self.reduce is not None:
            return 8 * self._n_records
        if not isinstance(self.target, State):
            return None
        n = self.target.data.size if self.indices is None else self.indices.size * (
            self.target.data.size // self.target.data.shape[-1])
        return 8 * self._n_records * n

    def _start(self, n_steps: int, first_step: int) -> None:
        self._n_records = -(-n_steps // self.every)
        self._steps = first_step + np.arange(self._n_records) * self.every
        self._buffer = None  # allocated at the first record, once the shape is known
        self._n = 0

    def _record(self, i: int) -> None:
        if i % self.every == 0:
            value = self._read()
            if self._buffer is None:
                self._buffer = np.empty((self._n_records, *np.shape(value)), dtype=np.float64)
            self._buffer[self._n] = value
            self._n += 1

    @property
    def steps(self) -> np.ndarray:
        """The global step indices that were recorded."""
        return self._steps[: self._n]

    @property
    def values(self):
        """The recording, shape ``(n_records, ...)``, as a quantity where a unit is known."""
        unit = self.target.unit if isinstance(self.target, State) else self.unit
        if self._buffer is not None:
            data = self._buffer[: self._n]
        else:  # no record: a State's shape is known without one, a callable's is not
            shape = np.shape(self._read()) if isinstance(self.target, State) else ()
            data = np.zeros((0, *shape))
        return data.copy() if unit is None else to_quantity(data, unit)


class SpikeMonitor:
    """Record the spikes of a neuron population as (step, index) pairs.

    Parameters
    ----------
    neuron : Neuron
        Its ``get_spike()`` is read after every step.
    indices : array of int, optional
        Record only these neurons (flat indices).
    """

    def __init__(self, neuron: Neuron, indices=None):
        self.neuron = neuron
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self._chunks_steps: list[np.ndarray] = []
        self._chunks_idx: list[np.ndarray] = []

    def _start(self, n_steps: int, first_step: int) -> None:
        self._first = first_step
        self._chunks_steps, self._chunks_idx = [], []

    def _record(self, i: int) -> None:
        spikes = self.neuron.get_spike().reshape(-1)
        if self.indices is not None:
            spikes = spikes[self.indices]
        fired = np.flatnonzero(spikes)
        if fired.size:
            if self.indices is not None:
                fired = self.indices[fired]
            self._chunks_idx.append(fired)
            self._chunks_steps.append(np.full(fired.size, self._first + i, dtype=np.int64))

    @property
    def steps(self) -> np.ndarray:
        """Global step index of each spike."""
        return np.concatenate(self._chunks_steps) if self._chunks_steps else np.zeros(0, np.int64)

    @property
    def indices_fired(self) -> np.ndarray:
        """Neuron index of each spike."""
        return np.concatenate(self._chunks_idx) if self._chunks_idx else np.zeros(0, np.int64)

    def times(self, dt=None) -> pq.Quantity:
        """Spike times ``step * dt`` in ms."""
        dt_ms = environ.dt_ms() if dt is None else float(to_internal(dt, "dt", pq.ms))
        return pq.Quantity(self.steps * dt_ms, pq.ms)

    @property
    def count(self) -> int:
        """Total number of spikes."""
        return int(sum(c.size for c in self._chunks_idx))

    @property
    def values(self):
        return self


class RunResult(Mapping):
    """What :func:`run` recorded: ``result[name]`` per monitor, plus timing.

    State monitors give quantities of shape ``(n_records, ...)``; spike
    monitors give the :class:`SpikeMonitor` itself (``.steps``, ``.indices_fired``,
    ``.times()``, ``.count``).  Timing, in seconds: ``wall_s`` the steps themselves,
    ``compile_s`` compiling (or loading from the cache) a compiled run's loop, ``plan_s``
    reading the network into the arrays of a compiled run (sorting its connectivity by
    target, on numba); 0.0 where they do not apply.
    """

    def __init__(self, monitors: dict, t: pq.Quantity, next_t: pq.Quantity, wall_s: float,
                 engine: str = "numpy", compile_s: float = 0.0, plan_s: float = 0.0):
        self.monitors = monitors
        self.t = t
        self.next_t = next_t
        self.wall_s = wall_s
        self.engine = engine
        self.compile_s = compile_s
        self.plan_s = plan_s

    def __getitem__(self, name: str):
        return self.monitors[name].values

    def __iter__(self):
        return iter(self.monitors)

    def __len__(self) -> int:
        return len(self.monitors)

    def __repr__(self) -> str:
        return (f"RunResult({len(self.t)} steps, monitors={list(self.monitors)}, "
                f"engine {self.engine}, wall {self.wall_s:.3f} s)")


class RunInterrupted(KeyboardInterrupt):
    """A Ctrl-C stopped :func:`run` between two steps; nothing done is lost.

    A ``KeyboardInterrupt`` (an ``except KeyboardInterrupt`` catches it, and uncaught it
    ends a script as one does), raised once the run has stopped before a step: the model
    holds the state after the last step done, and :attr:`result` is the
    :class:`RunResult` of the steps done (its monitors hold every one of them; continue
    with ``refsim.run(..., t_start=stop.result.next_t)``, which equals one uninterrupted
    run, bit for bit).
    """

    def __init__(self, result: RunResult, n_steps: int):
        done = len(result.t)
        super().__init__(
            f"refsim.run stopped by Ctrl-C after {done} of {n_steps} steps; the model and "
            f"the monitors hold every step done; continue from t_start = "
            f"{float(result.next_t.magnitude):g} ms (this exception's .result.next_t)")
        self.result = result


class CtrlC:
    """Whether a Ctrl-C has asked the run in progress to stop (:attr:`asked`), and what
    a compiled loop does when one comes (:meth:`then`): set the flag it reads."""

    def __init__(self) -> None:
        self.asked = False
        self._actions: list[Callable[[], None]] = []

    def then(self, action: Callable[[], None]) -> None:
        """Call ``action`` when a Ctrl-C comes (at once if one came already)."""
        self._actions.append(action)
        if self.asked:
            action()

    def _come(self, signum, frame) -> None:
        self.asked = True
        for action in self._actions:
            action()


@contextlib.contextmanager
def _ctrl_c_stops_between_steps() -> Iterator[CtrlC]:
    """While a run goes on, a Ctrl-C sets :attr:`CtrlC.asked` (the loops stop before
    their next step) instead of raising in whatever line is running, which could leave a
    step half done.  Only where Python's own handler is in place, in the main thread: a
    handler of the user's, or SIGINT ignored (a process started in the background of a
    shell), stays as it is, and then a Ctrl-C does what it would do anyway."""
    ctrl_c = CtrlC()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield ctrl_c
        return
    signal.signal(signal.SIGINT, ctrl_c._come)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


#: monitors larger than this are announced before the run even without a progress bar
LARGE_RECORDING_BYTES = 100 * 2**20


def _announce_memory(mons: dict, n_steps: int, progress: bool | None) -> None:
    """Print what the state monitors will take, before a run that shows progress or is large."""
    sizes = {name: m.expected_bytes() for name, m in mons.items()
             if isinstance(m, StateMonitor) and m.expected_bytes() is not None}
    total = sum(sizes.values())
    if total and (progress or total >= LARGE_RECORDING_BYTES):
        detail = ", ".join(f"{name} {b / 2**20:.1f} MiB" for name, b in sizes.items())
        print(f"refsim.run: {n_steps} steps; monitors will take {total / 2**20:.1f} MiB "
              f"({detail})", file=sys.stderr)


def _steps_in(span, name: str, dt: float, on_grid: bool = False) -> int:
    """Number of steps of ``dt`` in ``span`` (a time); a partial step counts as one.

    With ``on_grid`` the span must be a whole number of steps (a start time); otherwise
    (a duration) it must not be negative.
    """
    ratio = float(to_internal(span, name, pq.ms)) / dt
    if not np.isfinite(ratio):
        raise ValueError(f"{name} must be a finite time, got {span}")
    if not on_grid and ratio < 0:
        raise ValueError(f"{name} must be non-negative (>= 0), got {span}")
    nearest = round(ratio)
    if abs(ratio - nearest) <= 1e-9 * max(1.0, abs(ratio)):
        return int(nearest)
    if on_grid:
        raise ValueError(f"{name} = {span} is not on the time grid of dt = {dt} ms")
    return int(np.ceil(ratio))


def _check_indices(name: str, mon: StateMonitor | SpikeMonitor) -> None:
    """Raise ``ValueError`` unless ``mon``'s indices lie in ``[0, n)`` for the ``n`` values
    it reads (a State's last axis, a population's neurons; a callable's are unknown)."""
    if mon.indices is None or mon.indices.size == 0:
        return
    if isinstance(mon, SpikeMonitor):
        n = mon.neuron.num
    elif isinstance(mon.target, State):
        n = mon.target.data.shape[-1]
    else:
        return
    outside = mon.indices[(mon.indices < 0) | (mon.indices >= n)]
    if outside.size:
        raise ValueError(f"monitor '{name}': indices must lie in [0, {n}), got {outside[0]}")


def _as_monitor(name: str, target) -> StateMonitor | SpikeMonitor:
    if isinstance(target, StateMonitor | SpikeMonitor):
        return target
    if isinstance(target, Neuron):
        return SpikeMonitor(target)
    if isinstance(target, State) or callable(target):
        return StateMonitor(target)
    raise TypeError(
        f"monitor '{name}': expected a State, a Neuron (spikes), a callable or a monitor, "
        f"got {type(target).__name__}"
    )


def run(
    step: Callable[[], Any],
    duration,
    monitors: dict[str, Any] | None = None,
    t_start=0.0 * pq.ms,
    progress: bool | None = None,
) -> RunResult:
    """Step a model for ``duration`` and record monitors.

    Parameters
    ----------
    step : callable or Network
        Called with no argument once per time step, inside
        ``refsim.environ.context(t=t_i, i=i)``; e.g. ``lambda: net.update(3 * pq.mA)``.
        A :class:`refsim.Network` (or its ``update``) runs as one compiled loop on the
        numba backend when all its components have compiled twins
        (:attr:`RunResult.engine` says what ran; a network that does not compile warns
        with :class:`refsim.backends.BackendFallbackWarning` and runs the NumPy code).
    duration : quantity, time
        Length of the run, finite and non-negative (else ``ValueError``): ``duration /
        dt`` steps (a partial step counts as one).
    monitors : dict, optional
        ``name -> State | Neuron | callable | StateMonitor | SpikeMonitor``.
        A State is recorded every step, a Neuron's spikes as (step, index) pairs.
    t_start : quantity, time
        Time of the first step, on the grid of ``dt``; pass ``result.next_t`` to
        continue a previous run (the two runs then equal one long run, bit for bit).
    progress : bool or None
        Progress bar: None shows it on a terminal once the run has lasted 2 s.

    Returns
    -------
    RunResult

    Raises
    ------
    RunInterrupted
        On a Ctrl-C (where Python's own SIGINT handler is in place, in the main thread),
        once the step in progress is done; its ``result`` holds the steps done.
    """
    dt = environ.dt_ms()
    first_step = _steps_in(t_start, "t_start", dt, on_grid=True)
    n_steps = _steps_in(duration, "duration", dt)
    times = (first_step + np.arange(n_steps)) * dt  # integer steps: no drift across runs
    mons = {name: _as_monitor(name, target) for name, target in (monitors or {}).items()}
    for name, mon in mons.items():
        _check_indices(name, mon)
        mon._start(n_steps, first_step)
    _announce_memory(mons, n_steps, progress)
    planned = time.perf_counter()
    plan, engine = _compiled_plan(step, mons)
    plan_s = time.perf_counter() - planned if plan is not None else 0.0
    bar = _progress_bar(n_steps, progress)
    compile_s = 0.0
    with _ctrl_c_stops_between_steps() as ctrl_c:
        if plan is not None:
            # the check update() makes on the NumPy path, at the run's first and last step
            clocked = [node for node in _network_of(step).nodes()
                       if getattr(node, "reads_clock", False)] if n_steps else []
            for node in clocked:
                node.clock_check(float(times[0]))
            compile_s, wall, done = _engine_module(engine).run_compiled(
                plan, first_step, n_steps, dt, mons, bar, ctrl_c)
            for node in clocked if done else ():
                node.clock_check(float(times[done - 1]))
        else:
            wall, done = _run_python(step.update if isinstance(step, Network) else step,
                                     mons, times, first_step, bar, ctrl_c)
    if bar is not None:
        bar.update(done - bar.n)
        bar.close()
    next_t = pq.Quantity((first_step + done) * dt, pq.ms)
    result = RunResult(mons, pq.Quantity(times[:done], pq.ms), next_t, wall, engine,
                       compile_s, plan_s)
    if ctrl_c.asked:  # (after the last step too: a Ctrl-C is never swallowed)
        raise RunInterrupted(result, n_steps)
    return result


def _run_python(step, mons: dict, times: np.ndarray, first_step: int, bar,
                ctrl_c: CtrlC) -> tuple[float, int]:
    """The step-by-step loop (numpy backend, or what does not compile); returns its wall
    s and the number of steps done (fewer than asked after a Ctrl-C)."""
    chunk = 100
    start = time.perf_counter()
    for i in range(times.size):
        if ctrl_c.asked:
            return time.perf_counter() - start, i
        with environ._internal_context(t=float(times[i]), i=first_step + i):
            step()
            for mon in mons.values():  # read at the step's time, after it
                mon._record(i)
        if bar is not None and (i + 1) % chunk == 0:
            bar.update(chunk)
    return time.perf_counter() - start, times.size


def _network_of(step):
    """The :class:`Network` that ``step`` is (or whose bound method it is), else None."""
    return step if isinstance(step, Network) else getattr(step, "__self__", None)


def _compiled_plan(step, mons: dict):
    """(plan, engine): a compiled plan on the numba or cupy backend when ``step`` is a
    Network.

    ``engine`` says what runs: ``'numpy'``, ``'numba'`` (one compiled loop), ``'cupy'``
    (GPU kernels), or ``'numpy (numba could not compile: ...)'``; a Network that does not
    compile also warns, naming the component.
    """
    backend = backends.get_backend()
    if backend == "numpy":
        return None, "numpy"
    net = _network_of(step)
    if not isinstance(net, Network) or (step is not net and
                                        getattr(step, "__func__", None) is not Network.update):
        return None, f"numpy (the {backend} backend compiles refsim.Network runs only)"
    if type(net).update is not Network.update:
        reason = f"{type(net).__name__} overrides Network.update"
    else:
        from refsim.backends.plan import NotCompilable, give_back, monitored
        try:
            plan = _engine_module(backend).plan(net)
        except NotCompilable as exc:
            reason = str(exc)
        else:
            try:
                monitored(plan, mons)  # every monitor must read what the plan holds
                return plan, backend
            except NotCompilable as exc:
                give_back(plan.held, plan.single)  # the states as they were
                reason = str(exc)
    warnings.warn(f"refsim.run on the {backend} backend: {reason}; running the NumPy code "
                  "step by step", BackendFallbackWarning, stacklevel=3)
    return None, f"numpy ({backend} could not compile: {reason})"


def _engine_module(engine: str):
    """The module that plans and runs a compiled network on ``engine``."""
    if engine == "cupy":
        from refsim.backends import cupy_network
        return cupy_network
    from refsim.backends import numba_network
    return numba_network
