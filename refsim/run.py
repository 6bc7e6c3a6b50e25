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

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import quantities as pq

from refsim import backends, environ, stability, stepping
from refsim.interrupt import stop_between_steps
from refsim.module import Neuron, State
from refsim.network import Network
from refsim.parameters import _is_count
from refsim.recording import (
    RunResult,
    SpikeMonitor,
    StateMonitor,
    finish_folder,
    load_result,
    prepare_folder,
)
from refsim.resources import format_bytes, require_memory
from refsim.units import to_internal

__all__ = [
    "arange",
    "for_loop",
    "run",
    "StateMonitor",
    "SpikeMonitor",
    "RunResult",
    "RunInterrupted",
    "load_result",
]


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
    backend = backends.get_backend()
    outs = []
    if backend != "numpy" and n > stepping.WATCHED_STEPS:
        if all(isinstance(x, np.ndarray) for x in xs):
            stacked, reason = stepping.loop_captured(step, xs, n, backend, bar)
            if reason is None:
                _close(bar, n)
                return stacked
            outs = stacked  # the steps watched: the NumPy code goes on after them
        else:
            reason = "it iterates over something other than arrays"
        stepping.fallback_warning("refsim.for_loop of a step function", backend, reason)
    for i in range(len(outs), n):
        outs.append(step(*(x[i] for x in xs)))
        if bar is not None and (i + 1) % 100 == 0:
            bar.update(100)
    _close(bar, n)
    return _stack(outs) if outs else None


def _close(bar, n: int) -> None:
    if bar is not None:
        bar.update(n - bar.n)
        bar.close()


def _progress_bar(total: int, progress: bool | None):
    if progress is False:
        return None
    from tqdm.auto import tqdm  # imported lazily: ~50 ms

    return tqdm(
        total=total,
        unit="step",
        mininterval=0.5,
        disable=None if progress is None else False,
        delay=2.0 if progress is None else 0.0,
    )


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
        done = result.n_steps
        super().__init__(
            f"refsim.run stopped by Ctrl-C after {done} of {n_steps} steps; the model and "
            f"the monitors hold every step done; continue from t_start = "
            f"{float(result.next_t.magnitude):g} ms (this exception's .result.next_t)"
        )
        self.result = result


def _require_memory(mons: dict, n_steps: int, first_step: int, dt: float) -> None:
    """:class:`~refsim.resources.ResourceError` before the run where its state monitors
    would not fit in memory (a callable's record is read once, at the first step's time,
    to learn its size)."""
    sizes = {}
    for name, mon in mons.items():
        if isinstance(mon, StateMonitor):
            size = mon.expected_bytes(n_steps)
            if size is None:
                size = mon.probe_bytes(n_steps, first_step, dt)
            if size:
                sizes[name] = size
    total = sum(sizes.values())
    if total:
        detail = ", ".join(f"{name}: {format_bytes(b)}" for name, b in sizes.items())
        require_memory(
            total,
            f"refsim.run recording {detail} over {n_steps} steps",
            "record fewer steps (StateMonitor(..., every=k)), fewer elements "
            "(indices=...) or a reduction (reduce='mean'), or a shorter run",
        )


#: monitors larger than this are announced before the run even without a progress bar
LARGE_RECORDING_BYTES = 100 * 2**20


def _announce_memory(mons: dict, n_steps: int, progress: bool | None, folder=None) -> None:
    """Print what the state monitors will take, before a run that shows progress or is large."""
    sizes = {
        name: m.expected_bytes()
        for name, m in mons.items()
        if isinstance(m, StateMonitor) and m.expected_bytes() is not None
    }
    total = sum(sizes.values())
    if total and (progress or total >= LARGE_RECORDING_BYTES):
        detail = ", ".join(f"{name} {b / 2**20:.1f} MiB" for name, b in sizes.items())
        where = "" if folder is None else f" on disk in {folder}"
        print(
            f"refsim.run: {n_steps} steps; monitors will take {total / 2**20:.1f} MiB"
            f"{where} ({detail})",
            file=sys.stderr,
        )


#: the most steps a run may count from 0: their times i * dt stay exact integers of steps
MAX_STEPS = 2**53


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
    if abs(ratio) > MAX_STEPS:
        raise ValueError(
            f"parameter '{name}' = {span} is {ratio:.3g} steps of dt = {dt} ms: "
            f"more than 2**53 ({MAX_STEPS:.3g}), beyond which a step's time is no "
            "longer exact in float64"
        )
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
    check_every: int | None = stability.DEFAULT_CHECK_EVERY,
    record_to=None,
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
    check_every : int or None, default 100
        Steps between two checks that every state is finite and within its model's
        bounds (and the last step is always checked): a failure stops the run with
        :class:`refsim.NumericalInstability` (:mod:`refsim.stability`).  ``None`` turns
        the check off.
    record_to : str or path-like, optional
        A folder to stream the recordings to instead of memory (state monitors as
        memory-mapped ``NAME.npy``, spikes appended to ``NAME.spikes.npy``, ``run.json``
        written when the run ends, whichever way): for recordings larger than memory.
        :func:`refsim.load_result` reads it back as this RunResult.

    Returns
    -------
    RunResult

    Raises
    ------
    RunInterrupted
        On a Ctrl-C (where Python's own SIGINT handler is in place, in the main thread),
        once the step in progress is done, whether it came during the steps or while
        the run was being prepared (then no step is done); its ``result`` holds the steps
        done.
    NumericalInstability
        A state NaN, infinite or out of its bounds; its ``result`` holds the steps done.
    ResourceError
        Before anything is allocated: the monitors would not fit in memory (or on disk).
    RuntimeError
        A module of a :class:`refsim.Network` has no state yet.
    """
    dt = environ.dt_ms()
    first_step = _steps_in(t_start, "t_start", dt, on_grid=True)
    n_steps = _steps_in(duration, "duration", dt)
    check_every = _check_every(check_every)
    mons = {name: _as_monitor(name, target) for name, target in (monitors or {}).items()}
    with stop_between_steps() as ctrl_c:  # the preparation too: see Raises
        net = stepping.network_of(step)
        if isinstance(net, Network):
            net.check()
        folder = _start_monitors(mons, n_steps, first_step, dt, record_to, progress)
        bar = _progress_bar(n_steps, progress)
        try:
            ran = stepping.steps(step, mons, first_step, n_steps, dt, bar, ctrl_c, check_every)
        except BaseException:
            if folder is not None:  # what the run recorded stays readable (run.json says
                # how many records each monitor holds; the run's own count is unknown)
                finish_folder(
                    folder, RunResult(mons, first_step, 0, dt, 0.0, backends.get_backend())
                )
            raise
    done, finding = ran.done, ran.finding
    if bar is not None:
        bar.update(done - bar.n)
        bar.close()
    result = RunResult(
        mons, first_step, done, dt, ran.wall, ran.engine, ran.compile_s, ran.plan_s, folder
    )
    if folder is not None:
        finish_folder(folder, result)
    if finding is not None:
        raise stability.NumericalInstability(finding, result, check_every)
    if ctrl_c.asked:  # (after the last step too: a Ctrl-C is never swallowed)
        raise RunInterrupted(result, n_steps)
    return result


def _start_monitors(mons: dict, n_steps: int, first_step: int, dt: float, record_to, progress):
    """Check the monitors (indices; memory, or the disk of ``record_to``) before anything
    is allocated, start them, and return the recording folder (or None)."""
    for name, mon in mons.items():
        _check_indices(name, mon)
    folder = None if record_to is None else prepare_folder(record_to, mons, n_steps)
    if folder is None:
        _require_memory(mons, n_steps, first_step, dt)
    for name, mon in mons.items():
        mon._start(n_steps, first_step, folder, name)
    _announce_memory(mons, n_steps, progress, folder)
    return folder


def _check_every(check_every) -> int | None:
    if check_every is None or check_every is False:
        return None
    if not _is_count(check_every, 1):
        raise ValueError(
            f"check_every must be a number of steps >= 1, or None to turn the "
            f"stability check off, got {check_every!r}"
        )
    return int(check_every)
