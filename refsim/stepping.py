"""The loops behind :func:`refsim.run` and :func:`refsim.for_loop`.

* :func:`python_steps`: the NumPy code, one Python call of the step function per step
  (the numpy backend, and whatever does not compile);
* a :class:`refsim.Network` on a compiled backend: planned (:func:`compiled_plan`) and run
  as one compiled loop (:func:`run_plan`);
* a step function on a compiled backend (:func:`run_captured`, :func:`loop_captured`): its
  first steps run the NumPy code while :mod:`refsim.capture` watches them; the Network
  they make then runs compiled for the rest, or, where they make none, the NumPy code goes
  on and a :class:`~refsim.backends.BackendFallbackWarning` says why, naming the line.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import quantities as pq

from refsim import backends, environ, stability
from refsim.backends import BackendFallbackWarning
from refsim.backends.codes import NotCompilable
from refsim.backends.drives import AheadDrive
from refsim.backends.monitoring import monitored
from refsim.backends.plan import give_back
from refsim.capture import Capture, LoopArgument
from refsim.inputs import SampledInput
from refsim.interrupt import CtrlC
from refsim.module import State, _outside_refsim
from refsim.network import Network
from refsim.neurons.base import SpikingNeuron
from refsim.recording import SpikeMonitor, StateMonitor
from refsim.traced import Origin, Traced, plain_tree, tracing, tree_leaves
from refsim.units import to_internal, to_quantity

#: steps of a step function that run the NumPy code, watched, before it runs compiled
WATCHED_STEPS = 2


class Ran(NamedTuple):
    """What a run's loop did: the engine (RunResult.engine), seconds compiling, planning
    and stepping, the steps done and the instability found (or None)."""

    engine: str
    compile_s: float
    plan_s: float
    wall: float
    done: int
    finding: Any


def steps(step, mons: dict, first_step: int, n_steps: int, dt: float, bar, ctrl_c, check_every):
    """Run ``n_steps`` of ``step`` from ``first_step`` the way the backend can: a
    :class:`Ran`."""
    backend = backends.get_backend()
    net = network_of(step)
    args = (mons, first_step, n_steps, dt, bar, ctrl_c, check_every)
    if backend == "numpy":
        wall, done, finding = python_steps(_callable(step), *args, watched_states(step, *args))
        return Ran("numpy", 0.0, 0.0, wall, done, finding)
    if isinstance(net, Network) and type(net).update is Network.update:
        return _network_run(net, backend, *args)
    return run_captured(_callable(step), backend, *args)


def _callable(step) -> Callable:
    return step.update if isinstance(step, Network) else step


def network_of(step):
    """The :class:`Network` that ``step`` is (or whose bound ``update`` it is), else None."""
    if isinstance(step, Network):
        return step
    owner = getattr(step, "__self__", None)
    return owner if getattr(step, "__func__", None) is Network.update else None


def python_steps(
    step, mons, first_step, n_steps, dt, bar, ctrl_c, check_every, watched, start=0, stop=None
):
    """The step-by-step loop over the run's steps ``start`` to ``stop`` (default: its end;
    fewer after a Ctrl-C or an instability): (wall s, the run's steps done, the instability
    found or None)."""
    chunk, last = 100, first_step + n_steps - 1
    begun = time.perf_counter()
    # with the check on, NumPy's own warnings of overflow and NaN (which name neither the
    # population nor the step) give way to the check's NumericalInstability
    quiet = (
        np.errstate(over="ignore", invalid="ignore", divide="ignore")
        if watched
        else contextlib.nullcontext()
    )
    with quiet:
        for i in range(start, n_steps if stop is None else stop):
            if ctrl_c.asked:
                return time.perf_counter() - begun, i, None
            t = (first_step + i) * dt  # from the integer step: no drift across runs
            with environ._internal_context(t=t, i=first_step + i):
                step()
                for mon in mons.values():  # read at the step's time, after it
                    mon._record(i)
            if watched and stability.is_checked(first_step + i, check_every, last):
                found = stability.check(watched, first_step + i, t)
                if found is not None:
                    return time.perf_counter() - begun, i + 1, found
            if bar is not None and (i + 1) % chunk == 0:
                bar.update(chunk)
    return time.perf_counter() - begun, n_steps if stop is None else stop, None


def watched_states(step, mons, first_step, n_steps, dt, bar, ctrl_c, check_every) -> list:
    """The states the stability check of a step-by-step run reads (none when it is off);
    a warning where it finds no model to check."""
    if not check_every:
        return []
    watched = stability.watches(
        stability.modules_of(
            step, [m.neuron for m in mons.values() if isinstance(m, SpikeMonitor)]
        ),
        [
            m.target
            for m in mons.values()
            if isinstance(m, StateMonitor) and isinstance(m.target, State)
        ],
    )
    if not watched and n_steps:
        warnings.warn(
            stability.UncheckedRunWarning(
                "refsim.run: the stability check finds no refsim model in this step function, "
                "so no state is checked for NaN or divergence; name the models in the step "
                "function (its globals or closure), pass a refsim.Network, or check_every=None "
                "to say so"
            ),
            stacklevel=_outside_refsim(),
        )
    return watched


def compiled_plan(net: Network, mons: dict, backend: str):
    """(plan, None) for ``net`` on a compiled ``backend``, or (None, the reason it does
    not compile)."""
    try:
        plan = backends.engine(backend).plan(net)
    except NotCompilable as exc:
        return None, str(exc)
    try:
        monitored(plan, mons)  # every monitor must read what the plan holds
    except NotCompilable as exc:
        give_back(plan.held, plan.single)  # the states as they were
        return None, str(exc)
    return plan, None


def run_plan(plan, engine, net, first_step, n_steps, dt, mons, bar, ctrl_c, check_every):
    """A compiled run: (compile s, wall s, steps done, the instability found or None)."""
    # the check update() makes on the NumPy path, at the run's first and last step
    clocked = (
        [node for node in net.nodes() if getattr(node, "reads_clock", False)] if n_steps else []
    )
    for node in clocked:
        node.clock_check(first_step * dt)
    ahead = [drive for drive in plan.neurons.drive if isinstance(drive, AheadDrive)]
    for drive in ahead:  # sources and noises: their values from this run's first step on
        drive.first_step = first_step
    compile_s, wall, done, found = backends.engine(engine).run_compiled(
        plan, first_step, n_steps, dt, mons, bar, ctrl_c, check_every
    )
    for node in clocked if done else ():
        node.clock_check((first_step + done - 1) * dt)
    for drive in ahead:  # where the steps done would have left them
        drive.skip(done, dt)
    return compile_s, wall, done, found


def fallback_warning(what: str, backend: str, reason: str) -> None:
    """Say that ``what`` runs the NumPy code on the compiled ``backend``, and why."""
    warnings.warn(
        f"{what} on the {backend} backend: {reason}; running the NumPy code step by step",
        BackendFallbackWarning,
        stacklevel=_outside_refsim(),
    )


def _network_run(net, backend, mons, first_step, n_steps, dt, bar, ctrl_c, check_every) -> Ran:
    planned = time.perf_counter()
    plan, reason = compiled_plan(net, mons, backend)
    plan_s = time.perf_counter() - planned
    args = (mons, first_step, n_steps, dt, bar, ctrl_c, check_every)
    if plan is None:
        fallback_warning("refsim.run", backend, reason)
        wall, done, finding = python_steps(net.update, *args, watched_states(net, *args))
        return Ran(f"numpy ({backend} could not compile: {reason})", 0.0, 0.0, wall, done, finding)
    compile_s, wall, done, finding = run_plan(plan, backend, net, *_shifted(args, 0))
    return Ran(backend, compile_s, plan_s, wall, done, finding)


def _shifted(args: tuple, head: int) -> tuple:
    """``run_plan``'s arguments for the steps after the first ``head`` of a run's."""
    mons, first_step, n_steps, dt, bar, ctrl_c, check_every = args
    return first_step + head, n_steps - head, dt, mons, bar, ctrl_c, check_every


def _head(mons: dict, n_steps: int) -> int:
    """Steps the NumPy code runs before the compiled loop: the watched ones, rounded up to a
    whole number of every state monitor's ``every`` (its records then go on in step)."""
    every = math.lcm(*(m.every for m in mons.values() if isinstance(m, StateMonitor)), 1)
    return min(n_steps, every * -(-WATCHED_STEPS // every))


def run_captured(step, backend, mons, first_step, n_steps, dt, bar, ctrl_c, check_every) -> Ran:
    """A step function on a compiled backend: watched for its first steps, then the
    Network it makes runs compiled (or the NumPy code goes on, with a warning)."""
    args = (mons, first_step, n_steps, dt, bar, ctrl_c, check_every)
    watched, cap, head = watched_states(step, *args), Capture(), _head(mons, n_steps)

    def first_steps():
        return cap.watch(step, returns=False) if len(cap.steps) < WATCHED_STEPS else step()

    wall, done, finding = python_steps(first_steps, *args, watched, stop=head)
    if finding is not None or done < head or head == n_steps:
        engine = (
            f"numpy (a step function's first {WATCHED_STEPS} steps run the NumPy code, "
            f"watched; this run stopped after {done} of {n_steps})"
        )
        return Ran(engine, 0.0, 0.0, wall, done, finding)
    planned = time.perf_counter()
    try:
        net = cap.network()
        t0, t1, seen_dt = cap.clock()
        if (t0, t1, seen_dt) != (first_step * dt, (first_step + 1) * dt, dt):
            raise NotCompilable("the step sets its own time or dt")
        plan, reason = compiled_plan(net, mons, backend)
    except NotCompilable as exc:
        plan, reason = None, str(exc)
    if plan is None:
        fallback_warning("refsim.run of a step function", backend, reason)
        rest, done, finding = python_steps(step, *args, watched, start=head)
        engine = f"numpy ({backend} could not compile the step function: {reason})"
        return Ran(engine, 0.0, 0.0, wall + rest, done, finding)
    plan_s = time.perf_counter() - planned
    for mon in mons.values():
        if isinstance(mon, StateMonitor):
            mon._resume()
    compile_s, rest, done, finding = run_plan(plan, backend, net, *_shifted(args, head))
    engine = f"{backend} (a captured step function; its first {head} steps ran the NumPy code)"
    return Ran(engine, compile_s, plan_s, wall + rest, head + done, finding)


def loop_captured(step, xs: tuple, n: int, backend: str, bar):
    """``for_loop`` of ``step`` over ``xs`` on a compiled backend: (the stacked results,
    None) where it compiles, else (the first steps' results, the reason): the caller goes
    on with the NumPy code."""
    cap = Capture()
    outs = []
    for i in range(WATCHED_STEPS):
        args = [tracing(x[i], Origin("argument", j, i, 0)) for j, x in enumerate(xs)]
        outs.append(cap.watch(step, *args))
    try:
        net = cap.network()
        first, dt = _loop_grid(cap, xs, n, net)
        leaves = _returned(outs, cap.steps[0].calls)
        mons = {f"leaf {k}": mon for k, (mon, *_) in enumerate(leaves) if mon is not None}
        start = first + WATCHED_STEPS
        net.currents = [  # a loop's input per step: sampled at the loop's steps
            SampledInput(xs[c.index], first * dt * pq.ms) if isinstance(c, LoopArgument) else c
            for c in net.currents
        ]
        for mon in mons.values():
            mon._start(n - WATCHED_STEPS, start)
        with environ._internal_context(dt=dt):
            plan, reason = compiled_plan(net, mons, backend)
            if plan is None:
                raise NotCompilable(reason)
            run_plan(plan, backend, net, start, n - WATCHED_STEPS, dt, mons, bar, CtrlC(), None)
    except NotCompilable as exc:
        return [plain_tree(out) for out in outs], str(exc)
    values = iter([_stacked(mon, *rest, start, n) for mon, *rest in leaves])
    return _rebuild(outs[0], values), None


def _loop_grid(cap: Capture, xs: tuple, n: int, net: Network) -> tuple[int, float]:
    """The global step of the loop's first element and dt: the loop's times must be the
    grid ``i * dt`` where the step sets the time from them; a step that sets none may
    compile only where nothing in it reads the clock."""
    t0, t1, dt = cap.clock()
    given = cap.steps[0].t_argument
    if given is None:
        clocked = [node.name for node in net.nodes() if getattr(node, "reads_clock", False)]
        clocked += [type(c).__name__ for c in net.currents if callable(c) or _is_loop(c)]
        if t0 != t1 or clocked:
            raise NotCompilable(
                "the step does not set the time from the loop's argument "
                "(refsim.environ.context(t=t)), and the compiled loop needs it"
            )
        return 0, dt
    times = np.asarray(to_internal(xs[given], "the loop's times", pq.ms), dtype=np.float64)
    first = round(times[0] / dt)
    if not np.array_equal(times.reshape(-1), (first + np.arange(n)) * dt):
        raise NotCompilable(
            f"the loop's times are not the grid i * dt of dt = {dt} ms that a compiled loop "
            "steps on (refsim.arange(0 * pq.ms, T) is; a start off 0 adds its own roundings)"
        )
    return first, dt


def _is_loop(current) -> bool:
    return isinstance(current, LoopArgument)


def _rebuild(template, values):
    if isinstance(template, tuple | list):
        return type(template)(_rebuild(v, values) for v in template)
    if isinstance(template, dict):
        return {k: _rebuild(v, values) for k, v in template.items()}
    return next(values)


def _returned(outs: list, calls: list) -> list:
    """Per leaf of what the step returns: (the monitor that records it, its first values),
    or (None, None) for None; NotCompilable for what a monitor cannot record."""
    first, second = tree_leaves(outs[0]), tree_leaves(outs[1])
    if [path for path, _ in first] != [path for path, _ in second]:
        raise NotCompilable("the step returns results of another shape in its second step")
    leaves = []
    for (_, a), (_, b) in zip(first, second, strict=True):
        if a is None and b is None:
            leaves.append((None, None, None))
            continue
        origins = [x._origin if isinstance(x, Traced) else None for x in (a, b)]
        leaves.append((_monitor_of(origins, calls), (a.plain(), b.plain()), origins[0]))
    return leaves


def _monitor_of(origins: list, calls: list):
    """The monitor of a value returned in both watched steps: a state read after the
    step's last call, or a population's spikes read after its update."""
    a, b = origins
    if a is None or b is None or (a.kind, a.source, a.step, b.step) != (b.kind, b.source, 0, 1):
        raise NotCompilable(
            "the step returns something other than a state's .value or a population's "
            "get_spike() read in that step"
        )
    last = len(calls)
    if a.kind == "spikes":  # they change at their population's update only
        last = 1 + max((k for k, c in enumerate(calls) if c.module is a.source), default=last)
    if a.calls < last or b.calls < last:
        raise NotCompilable(f"the step returns {a.text} read before the call that sets them")
    if a.kind == "state":
        return StateMonitor(a.source)
    if a.kind == "spikes" and type(a.source).get_spike is SpikingNeuron.get_spike:
        return SpikeMonitor(a.source)  # the whole population's; a slice is taken after
    raise NotCompilable(f"the step returns {a.text} in a form a monitor does not record")


def _stacked(mon, first_two: tuple, origin, start: int, n: int):
    """A returned leaf over the whole loop: its first values, then the monitor's records
    (of spikes: the elements ``origin.start:origin.stop`` of each step's, as the step
    sliced them), as NumPy's ``for_loop`` stacks them."""
    if mon is None:
        return None
    a, b = first_two
    if isinstance(mon, SpikeMonitor):
        rest = np.zeros((n - WATCHED_STEPS, mon.neuron.num), dtype=a.dtype)
        rest[mon.steps - start, mon.indices_fired] = 1
        rest = rest[:, origin.start : origin.stop].reshape(-1, *a.shape)
    else:
        records = mon.data.reshape(-1, *a.shape)
        unit = mon.target.unit
        rest = records.astype(mon.target.data.dtype) if unit is None else to_quantity(records, unit)
    if isinstance(a, pq.Quantity):
        mags = [a.magnitude[None], b.magnitude[None], rest.magnitude]
        return pq.Quantity(np.concatenate(mags), a.units)
    return np.concatenate([a[None], b[None], rest])
