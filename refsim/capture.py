"""Capturing a brainpy-style step function, so that it runs compiled.

A brainpy script drives its model with a Python function of one step (``refsim.run(step,
...)``, ``refsim.for_loop(step, times)``).  brainstate compiles such a loop by tracing the
step once with JAX: what the step calls is recorded and the Python code itself never runs
again.  refsim does the same on its compiled backends, and checks what it records:

1. the first two steps run the NumPy code, as real steps, while this module watches them
   (:class:`Capture`): every call of a refsim population, projection, network or waveform
   that the user's code makes, with its arguments, and every value the code reads from
   refsim (spikes, states, a waveform's output, the loop's argument) as a
   :class:`Traced` array that remembers where it came from;
2. the two steps must call the same components, in the same order, with the same
   arguments (:meth:`Capture.network`); each population once, with a fixed current or a
   waveform's output; each projection once, fed a slice of a population's spikes read
   before that population's update, and called before its target's update;
3. then the calls are exactly those of a :class:`refsim.Network` (read every population's
   spikes, feed the projections, update the populations), which runs compiled for the
   remaining steps: bit for bit the NumPy run.

Anything else refuses, naming the reason and the user's line, and the run goes on with the
NumPy code: Python that computes with a value read from refsim (``if t > 50 * pq.ms``,
``spikes.sum()``, ``V.value * 2``), reads a state's ``.data`` or the clock, sets a state,
calls a synapse on its own, or returns something other than the states and spikes read
after the step's last call.  Python state of the user's own (a counter in a closure, a
``time.time()``) is as invisible here as it is to JAX: the step is assumed to do each step
what it did in the two it was watched.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from refsim import environ
from refsim.backends.codes import NotCompilable
from refsim.inputs import _Waveform
from refsim.module import Dynamics, Neuron, _freeze
from refsim.network import Network
from refsim.projections import AlignPostProj, AlignPreProj, CurrentProj, DeltaProj
from refsim.traced import Origin, Traced, hooks, plain_tree, tracing, tree_leaves, user_line

__all__ = ["Capture", "Origin", "Traced"]

PROJECTIONS = (AlignPostProj, AlignPreProj, DeltaProj, CurrentProj)


@dataclass(frozen=True)
class LoopArgument:
    """A population's input taken, as it is, from ``for_loop``'s ``index``-th sequence."""

    index: int


@dataclass
class Call:
    """A component called by a watched step: ``kind`` 'neuron', 'projection', 'network'
    or 'waveform'; ``argument`` the current of a neuron (a value or a waveform), the
    spikes' :class:`Origin` of a projection."""

    kind: str
    module: Any
    argument: Any = None

    def signature(self) -> tuple:
        arg = self.argument
        if isinstance(arg, Origin):
            arg = (id(arg.source), arg.start, arg.stop, arg.calls)
        elif isinstance(arg, _Waveform):
            arg = ("waveform", id(arg))
        else:
            arg = _freeze(arg)
        return (self.kind, id(self.module), arg)


@dataclass
class Step:
    """What one watched step did: its calls, and the (t, dt) each saw."""

    calls: list[Call] = field(default_factory=list)
    reads: list = field(default_factory=list)  # (traced value, the user's line)
    outputs: list = field(default_factory=list)  # (weak reference, the user's line)
    clocks: set = field(default_factory=set)
    t_argument: int | None = None  # which loop argument set the time, if one did

    def signature(self) -> tuple:
        return tuple(call.signature() for call in self.calls) + (self.t_argument,)


class Capture:
    """What the watched steps of a step function did, and the first reason it cannot
    run compiled (:attr:`refusal`, None while it can)."""

    def __init__(self) -> None:
        self.depth = 0  # > 0 while a component runs: its inner calls are its own
        self.steps: list[Step] = []
        self.refusal: str | None = None

    def refuse(self, why: str) -> None:
        if self.refusal is None:
            self.refusal = f"{why}, at {user_line()}"

    def watch(self, step: Callable, *args, returns: bool = True) -> Any:
        """Run ``step(*args)`` once, watched; return what it returns (where ``returns``,
        as ``for_loop`` stacks it; ``refsim.run`` drops it)."""
        self.steps.append(Step())
        with hooks(self):
            result = step(*args)
        self._check_reads(result)
        return result if returns else None  # refsim.run drops it, as its NumPy loop does

    def _check_reads(self, result) -> None:
        """Refuse a state or spikes read in the step and neither fed to a projection nor
        returned (stacked by ``for_loop``, dropped by ``refsim.run``): the compiled loop
        would not give the user's code the later ones."""
        step = self.steps[-1]
        # the reads fed to a projection or returned (as they are, or a slice or a test of
        # spikes: then the spikes they were taken from), each as (its source, its call)
        used = {
            (id(c.argument.source), c.argument.calls) for c in step.calls if c.kind == "projection"
        } | {
            (id(value._origin.source), value._origin.calls)
            for _, value in tree_leaves(result)
            if isinstance(value, Traced) and value._origin is not None
        }
        outputs = [(ref(), line) for ref, line in step.outputs]  # alive: the user kept it
        for value, line in step.reads + [(v, line) for v, line in outputs if v is not None]:
            origin = value._origin
            if (id(origin.source), origin.calls) in used:
                continue
            if self.refusal is None:
                self.refusal = (
                    f"it keeps {origin.text} for Python (record it with a monitor, or return "
                    f"it from a for_loop step), at {line}"
                )

    def setting(self, owner, name: str, what: str) -> None:
        """The user's code sets ``owner.name``: refused unless ``owner`` is a module of
        the user's own (a container: its attributes are its own Python state)."""
        if what:
            self.refuse(f"it sets {what}{name}")
        elif _kind(owner) != "container":
            self.refuse(f"it sets {name} of {getattr(owner, 'name', type(owner).__name__)}")

    def read(self, kind: str, source, value, **where):
        """``value`` read by the user's code, traced."""
        traced = tracing(value, self.origin(kind, source, **where))
        self.steps[-1].reads.append((traced, user_line()))
        return traced

    # -- what the hooks record ------------------------------------------------------
    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """While refsim's own code runs: what it calls and reads is its own business."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def origin(self, kind: str, source, **where) -> Origin:
        return Origin(kind, source, len(self.steps) - 1, len(self.steps[-1].calls), **where)

    def call(self, module, method, args: tuple, kwargs: dict, direct: bool):
        kind = _kind(module)
        if kind == "container":
            return method(module, *args, **kwargs)
        step = self.steps[-1]
        step.clocks.add((_now(), environ.dt_ms()))
        if kind == "alone":
            self.refuse(
                f"it calls {type(module).__name__} '{getattr(module, 'name', '')}' on its own "
                "(a step compiles when it calls populations, projections, networks and waveforms)"
            )
        elif direct and (
            getattr(module, "before_updates", None) or getattr(module, "after_updates", None)
        ):
            self.refuse(f"it calls {module.name}.update() directly, which skips its inputs")
        else:
            self._note(kind, module, args, kwargs)
        with self.inside():
            result = method(module, *plain_tree(args), **plain_tree(kwargs))
        if kind == "waveform":
            result = tracing(result, self.origin("waveform", module))
        elif kind == "neuron" and isinstance(result, np.ndarray):  # its spikes, as read now
            result = tracing(result, self.origin("spikes", module, stop=module.num))
            step.outputs.append((weakref.ref(result), user_line()))
        return result

    def _note(self, kind: str, module, args: tuple, kwargs: dict) -> None:
        name = getattr(module, "name", type(module).__name__)
        if kwargs or len(args) > (0 if kind in ("network", "waveform") else 1):
            self.refuse(f"it calls {name} with arguments a compiled run cannot give")
            return
        argument = args[0] if args else None
        origin = argument._origin if isinstance(argument, Traced) else None
        here = len(self.steps) - 1
        if kind == "projection":
            if origin is None or origin.kind != "spikes" or origin.step != here:
                self.refuse(f"it feeds {name} something other than a slice of this step's spikes")
                return
            argument = origin
        elif kind == "neuron" and origin is not None:
            if origin.kind == "argument":  # a for_loop's input, one row per step
                argument = LoopArgument(origin.source)
            elif origin.kind != "waveform" or origin.step != here:
                self.refuse(f"it passes {origin.text} to {name}")
                return
            else:
                argument = origin.source
        elif isinstance(argument, Traced):  # an untraced view of a traced value
            argument = argument.plain()
        self.steps[-1].calls.append(Call(kind, module, argument))

    # -- what they come to --------------------------------------------------------------
    def network(self) -> Network:
        """The :class:`Network` whose step the two watched steps made; raises
        :class:`NotCompilable` saying why there is none."""
        if self.refusal is not None:
            raise NotCompilable(f"the step function does not compile: {self.refusal}")
        first, second = self.steps[0].signature(), self.steps[1].signature()
        if first != second:
            raise NotCompilable(
                "the step function does not do the same in its first two steps (other "
                "components, other arguments or another order): it is not the same each step"
            )
        calls = self.steps[0].calls
        if not calls:
            raise NotCompilable("the step function calls no refsim population or projection")
        if any(call.kind == "network" for call in calls):
            if len(calls) > 1:
                raise NotCompilable("the step calls a refsim.Network and other components too")
            return calls[0].module
        try:
            return _network(calls)
        except ValueError as exc:  # a slice or a target the Network refuses
            raise NotCompilable(str(exc)) from None

    def clock(self) -> tuple[float | None, float | None, float]:
        """The time (ms; None where none was set) of the first two watched steps and their
        dt, as their components saw them."""
        seen = []
        for step in self.steps[:2]:
            if len(step.clocks) != 1:
                raise NotCompilable("the step calls its components at different times")
            seen.append(next(iter(step.clocks)))
        (t0, dt0), (t1, dt1) = seen
        if dt0 != dt1:
            raise NotCompilable("the step changes dt from one step to the next")
        return t0, t1, dt0


def _now() -> float | None:
    try:
        return environ._lookup("t")
    except KeyError:
        return None


def _network(calls: list[Call]) -> Network:
    """The Network of populations updated and projections fed in ``calls``, in their
    order, once checked that its step is the same as theirs."""
    updated: dict[int, int] = {}  # population -> the index of its call
    for k, call in enumerate(calls):
        if call.kind == "neuron":
            if id(call.module) in updated:
                raise NotCompilable(f"the step updates {call.module.name} twice")
            updated[id(call.module)] = k
    waveforms = sorted(id(c.module) for c in calls if c.kind == "waveform")
    if waveforms != sorted(id(c.argument) for c in calls if isinstance(c.argument, _Waveform)):
        raise NotCompilable(
            "the step calls a waveform whose output it does not give, as it is, to one population"
        )
    fed: set[int] = set()
    for k, call in enumerate(calls):
        if call.kind == "projection":
            _check_feed(call, k, updated, fed)
    net = Network(name="captured step")
    for call in calls:
        if call.kind == "neuron":
            net.population(call.module, call.argument)
    for call in calls:
        if call.kind == "projection":
            spikes = call.argument
            net.project(call.module, spikes.source, spikes.start, spikes.stop)
    net.check()
    return net


def _check_feed(call: Call, k: int, updated: dict, fed: set) -> None:
    """Refuse a projection a Network would not feed as the step did: twice, from spikes of
    a population the step does not update or reads after its update, or after its target's
    update."""
    proj, spikes = call.module, call.argument
    pre, post = spikes.source, getattr(proj, "post", None)
    if id(proj) in fed:
        raise NotCompilable(f"the step calls {proj.name} twice")
    fed.add(id(proj))
    if id(pre) not in updated:
        raise NotCompilable(f"the step feeds {proj.name} the spikes of {pre.name}, not updated")
    if spikes.calls > updated[id(pre)]:
        raise NotCompilable(
            f"the step feeds {proj.name} the spikes {pre.name} emits in the same step (read "
            "after its update); a compiled network feeds those of the step before"
        )
    if post is not None and id(post) in updated and updated[id(post)] < k:
        raise NotCompilable(f"the step calls {proj.name} after it updates its target {post.name}")


def _kind(module) -> str:
    if isinstance(module, Network):
        defines = next(c for c in type(module).__mro__ if "update" in c.__dict__)
        return "network" if defines is Network else "container"
    if isinstance(module, Neuron):
        return "neuron"
    if isinstance(module, PROJECTIONS):
        return "projection"
    if isinstance(module, _Waveform):
        return "waveform"
    return "alone" if isinstance(module, Dynamics) else "container"


def state_returned_by(function: Callable) -> tuple[Any, Any]:
    """The State whose ``.value`` ``function`` returns as it is, and that value's unit: the
    callable of a :class:`~refsim.recording.StateMonitor` (``lambda: pop.V.value``), called
    once while watched as a step's first steps are, so that a compiled run records the
    state instead.  Raises :class:`NotCompilable` naming the reason and the user's line
    where it returns anything else (a value computed from a state, a slice of it, the
    spikes) or calls a component."""
    cap = Capture()
    result = cap.watch(function)
    if cap.refusal is not None:
        raise NotCompilable(f"its callable does not compile: {cap.refusal}")
    origin = getattr(result, "_origin", None) if isinstance(result, Traced) else None
    if cap.steps[0].calls or origin is None or origin.kind != "state":
        where = defined_at(function)
        raise NotCompilable(
            "its callable compiles where it returns a state's .value as it is (record the "
            f"state, and compute from its records after the run){where and ', at ' + where}"
        )
    return origin.source, getattr(result, "units", None)


def defined_at(code_of: Any) -> str:
    """``'file:line'`` where the Python code of ``code_of`` starts: a function, a lambda,
    a bound method, or an object called for its class's ``__call__``; ``''`` where
    there is none to name (a builtin)."""
    function = getattr(code_of, "__func__", code_of)
    code = getattr(function, "__code__", None)
    if code is None:
        call = type(code_of).__call__ if callable(code_of) else None
        code = getattr(getattr(call, "__func__", call), "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else ""
