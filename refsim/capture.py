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
import os
import sys
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import quantities as pq

from refsim import environ
from refsim.backends.codes import NotCompilable
from refsim.inputs import _Waveform
from refsim.module import Dynamics, Module, Neuron, State, _freeze
from refsim.network import Network
from refsim.projections import AlignPostProj, AlignPreProj, CurrentProj, DeltaProj

__all__ = ["Capture", "Origin", "Traced"]

PROJECTIONS = (AlignPostProj, AlignPreProj, DeltaProj, CurrentProj)

#: the capture whose step is running now (None: no step is watched)
_active: Capture | None = None


@dataclass(frozen=True)
class Origin:
    """Where a traced value came from: ``kind`` is 'spikes' (of population ``source``,
    elements ``start:stop``, tested against 0 when ``events``), 'state', 'waveform' or
    'argument' (the ``source``-th sequence of ``for_loop``); read in step ``step`` after
    ``calls`` calls of components."""

    kind: str
    source: Any
    step: int
    calls: int
    start: int = 0
    stop: int = 0
    events: bool = False

    @property
    def text(self) -> str:
        name = getattr(self.source, "name", self.source)
        return {
            "spikes": f"the spikes of {name}",
            "state": f"the state {name}",
            "waveform": f"the output of {type(self.source).__name__}",
            "argument": f"the loop's argument {name}",
        }[self.kind]


class Traced:
    """A value read from refsim in a watched step; any use of it by the user's own Python
    (arithmetic, a comparison, ``float()``, printing) refuses the capture.  Spikes may be
    sliced (``[a:b]``) and tested (``!= 0``, ``> 0``, ``astype(bool)``)."""

    _origin: Origin | None = None
    _base: type = np.ndarray

    def __array_finalize__(self, obj) -> None:
        super().__array_finalize__(obj)
        self._origin = None  # views and results start untraced

    def plain(self) -> np.ndarray:
        """The value itself (a view as a plain array or quantity)."""
        return self.view(self._base)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(x) for x in kwargs["out"])
        result = getattr(ufunc, method)(*(_plain(x) for x in inputs), **kwargs)
        if self._is_spike_test(ufunc, method, inputs):
            return _tracing(result, _replace(self._origin, events=True))
        _used(self, f"numpy.{ufunc.__name__}")
        return result

    def _is_spike_test(self, ufunc, method, inputs) -> bool:
        origin = self._origin
        return (
            origin is not None
            and origin.kind == "spikes"
            and method == "__call__"
            and ufunc in (np.not_equal, np.greater)
            and len(inputs) == 2
            and inputs[0] is self
            and np.ndim(inputs[1]) == 0
            and not isinstance(inputs[1], Traced)
            and float(inputs[1]) == 0.0
        )

    def __array_function__(self, func, types, args, kwargs):
        _used(self, f"numpy.{func.__name__}")
        return func(*_plain_tree(args), **_plain_tree(kwargs))

    def __getitem__(self, key):
        result = self.plain()[key]
        origin = self._origin
        if origin is not None and origin.kind == "spikes" and self.ndim == 1:
            if isinstance(key, slice) and key.step in (None, 1):
                start, stop, _ = key.indices(self.shape[0])
                stop = max(start, stop)
                shifted = _replace(origin, start=origin.start + start, stop=origin.start + stop)
                return _tracing(result, shifted)
        _used(self, f"indexing with {key!r}")
        return result

    def astype(self, dtype, *args, **kwargs):
        result = self.plain().astype(dtype, *args, **kwargs)
        origin = self._origin
        if origin is not None and origin.kind == "spikes" and np.dtype(dtype) == np.bool_:
            return _tracing(result, _replace(origin, events=True))
        _used(self, f"astype({dtype!r})")
        return result


def _flagged(name: str) -> Callable:
    def method(self, *args, **kwargs):
        _used(self, name)
        return getattr(self.plain(), name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "__bool__", "__float__", "__int__", "__index__", "__complex__", "__len__", "__iter__",
    "__repr__", "__str__", "__format__", "__copy__", "__deepcopy__", "__reduce_ex__",
    "item", "tolist", "tobytes", "copy", "reshape", "ravel", "flatten", "fill",
):  # fmt: skip
    setattr(Traced, _name, _flagged(_name))


class TracedArray(Traced, np.ndarray):
    """A traced plain array (spikes, a state without unit, a loop's argument)."""


class TracedQuantity(Traced, pq.Quantity):
    """A traced quantity (a state, a waveform's output, a loop's argument)."""

    _base = pq.Quantity

    @property
    def magnitude(self) -> np.ndarray:
        _used(self, "magnitude")
        return self.plain().magnitude

    def rescale(self, *args, **kwargs):
        _used(self, "rescale")
        return self.plain().rescale(*args, **kwargs)

    @property
    def simplified(self):
        _used(self, "simplified")
        return self.plain().simplified


def _replace(origin: Origin, **changes) -> Origin:
    return Origin(**{**origin.__dict__, **changes})


def _tracing(value, origin: Origin):
    """``value`` as a :class:`Traced` of ``origin`` (itself where it cannot be one)."""
    if isinstance(value, pq.Quantity):
        traced = value.view(TracedQuantity)
    elif isinstance(value, np.ndarray | np.generic):
        traced = np.asarray(value).view(TracedArray)
    else:
        return value
    traced._origin = origin
    return traced


def _plain(value):
    return value.plain() if isinstance(value, Traced) else value


def _plain_tree(value):
    if isinstance(value, tuple | list):
        return type(value)(_plain_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain_tree(v) for k, v in value.items()}
    return _plain(value)


def _used(value: Traced, how: str) -> None:
    cap = _active
    if cap is not None and cap.depth == 0 and value._origin is not None:
        cap.refuse(f"it computes with {value._origin.text} in Python ({how})")


_PACKAGES = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (environ, np, pq, contextlib)
)


def user_line() -> str:
    """``file:line`` of the innermost frame outside refsim, NumPy, quantities and the
    standard library's contextlib: the user's line."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGES):
        frame = frame.f_back
    return "refsim" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


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
        with _hooks(self):
            result = step(*args)
        if not returns:
            result = None  # (dropped: what the step keeps alive, it keeps for itself)
        self._check_reads(result)
        return result

    def _check_reads(self, result) -> None:
        """Refuse a state or spikes read in the step and neither fed to a projection nor
        returned: the compiled loop would not give the user's code the later ones."""
        step = self.steps[-1]
        fed = {
            (id(c.argument.source), c.argument.calls) for c in step.calls if c.kind == "projection"
        }
        returned = {id(value) for value in _leaves(result)}
        outputs = [(ref(), line) for ref, line in step.outputs]  # alive: the user kept it
        for value, line in step.reads + [(v, line) for v, line in outputs if v is not None]:
            origin = value._origin
            if id(value) in returned or (id(origin.source), origin.calls) in fed:
                continue
            if self.refusal is None:
                self.refusal = (
                    f"it keeps {origin.text} for Python (record it with a monitor, or return "
                    f"it from a for_loop step), at {line}"
                )

    def read(self, kind: str, source, value, **where):
        """``value`` read by the user's code, traced."""
        traced = _tracing(value, self.origin(kind, source, **where))
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
            result = method(module, *_plain_tree(args), **_plain_tree(kwargs))
        if kind == "waveform":
            result = _tracing(result, self.origin("waveform", module))
        elif kind == "neuron" and isinstance(result, np.ndarray):  # its spikes, as read now
            result = _tracing(result, self.origin("spikes", module, stop=module.num))
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
            if origin.kind != "waveform" or origin.step != here:
                self.refuse(f"it passes {origin.text} to {name}")
                return
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


def _leaves(tree) -> list:
    if isinstance(tree, tuple | list):
        return [leaf for value in tree for leaf in _leaves(value)]
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    return [tree]


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


# -- the hooks: installed while a watched step runs, and only then --------------------------
def _subclasses(cls: type) -> Iterator[type]:
    seen, stack = set(), [cls]
    while stack:
        c = stack.pop()
        if c not in seen:
            seen.add(c)
            yield c
            stack.extend(c.__subclasses__())


def _calling(method: Callable, direct: bool) -> Callable:
    def hooked(self, *args, **kwargs):
        cap = _active
        if cap is None or cap.depth:
            return method(self, *args, **kwargs)
        return cap.call(self, method, args, kwargs, direct)

    return hooked


def _spiking(method: Callable) -> Callable:
    def hooked(self, V=None):
        cap = _active
        if cap is None or cap.depth:
            return method(self, V)
        if V is not None:
            cap.refuse(f"it asks {self.name}.get_spike for the spikes of a given V")
        with cap.inside():
            spikes = method(self)
        return cap.read("spikes", self, spikes, stop=self.num)

    return hooked


def _state_property(plain_value: property, data) -> tuple[property, property]:
    """``State.value`` and ``State.data`` as the hooks see them: a value read by the user
    is traced; ``.data`` read or written by the user, or a value set, refuses."""

    def value(state):
        cap = _active
        if cap is None or cap.depth:
            return plain_value.fget(state)
        with cap.inside():
            value = plain_value.fget(state)
        return cap.read("state", state, value)

    def set_value(state, new):
        if _active is not None and not _active.depth:
            _active.refuse(f"it sets {state.name}")
        plain_value.fset(state, new)

    def get_data(state):
        if _active is not None and not _active.depth:
            _active.refuse(f"it reads {state.name}.data")
        return data.__get__(state)

    def set_data(state, new):
        if _active is not None and not _active.depth:
            _active.refuse(f"it writes {state.name}.data")
        data.__set__(state, new)

    return property(value, set_value), property(get_data, set_data)


def _context(plain_context: Callable) -> Callable:
    def context(**values):
        cap = _active
        if cap is not None and not cap.depth:
            for key, value in values.items():
                origin = value._origin if isinstance(value, Traced) else None
                if origin is None:
                    continue
                if key == "t" and origin.kind == "argument":
                    cap.steps[-1].t_argument = origin.source
                else:
                    cap.refuse(f"it sets {key} to {origin.text}")
        return plain_context(**_plain_tree(values))

    return context


def _get(plain_get: Callable) -> Callable:
    def get(key, default=...):
        if key in ("t", "i") and _active is not None and not _active.depth:
            _active.refuse(f"it reads the clock (refsim.environ.get({key!r}))")
        return plain_get(key, default)

    return get


@contextlib.contextmanager
def _hooks(cap: Capture) -> Iterator[None]:
    global _active
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner, name: str, new) -> None:
        saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, new)

    for cls in _subclasses(Module):
        for name in ("__call__", "update"):
            if name in cls.__dict__:
                patch(cls, name, _calling(cls.__dict__[name], direct=name == "update"))
        if issubclass(cls, Neuron) and "get_spike" in cls.__dict__:
            patch(cls, "get_spike", _spiking(cls.__dict__["get_spike"]))
    patch(_Waveform, "__call__", _calling(_Waveform.__dict__["__call__"], direct=False))
    value, data = _state_property(State.__dict__["value"], State.__dict__["data"])
    patch(State, "value", value)
    patch(State, "data", data)
    patch(environ, "context", _context(environ.context))
    patch(environ, "get", _get(environ.get))
    _active = cap
    try:
        yield
    finally:
        _active = None
        for owner, name, old in reversed(saved):
            setattr(owner, name, old)
