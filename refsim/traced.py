"""Values read from refsim in a watched step, and the hooks that read them.

While :class:`refsim.capture.Capture` watches a step (:func:`hooks`), the calls of
refsim's components made by the user's code go to the capture, and what that code reads from
refsim comes back as a :class:`Traced` array: the value itself, which also remembers where
it came from (:class:`Origin`) and refuses the capture when the user's Python computes with
it.  Nothing here is in place outside a watched step: the hooks are set on the classes for
the step's duration and taken off after it, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import quantities as pq

from refsim import environ
from refsim.inputs import _Waveform
from refsim.module import Module, Neuron, State
from refsim.parameters import ParameterHolder, Parameters

__all__ = ["Origin", "Traced", "TracedArray", "TracedQuantity", "hooks", "user_line"]

#: the capture whose step is running now (None: no step is watched)
_active: Any = None


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
            return tracing(result, _replace(self._origin, events=True))
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
        return func(*plain_tree(args), **plain_tree(kwargs))

    def __getitem__(self, key):
        result = self.plain()[key]
        origin = self._origin
        if origin is not None and origin.kind == "spikes" and self.ndim == 1:
            if isinstance(key, slice) and key.step in (None, 1):
                start, stop, _ = key.indices(self.shape[0])
                stop = max(start, stop)
                shifted = _replace(origin, start=origin.start + start, stop=origin.start + stop)
                return tracing(result, shifted)
        _used(self, f"indexing with {key!r}")
        return result

    def astype(self, dtype, *args, **kwargs):
        result = self.plain().astype(dtype, *args, **kwargs)
        origin = self._origin
        if origin is not None and origin.kind == "spikes" and np.dtype(dtype) == np.bool_:
            return tracing(result, _replace(origin, events=True))
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


def tracing(value, origin: Origin):
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


def tree_leaves(tree, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """The leaves of a result of nested tuples, lists and dicts, each with its path (the
    keys and indices from the root), depth first in order."""
    if isinstance(tree, tuple | list):
        return [leaf for k, v in enumerate(tree) for leaf in tree_leaves(v, (*path, k))]
    if isinstance(tree, dict):
        return [leaf for k, v in tree.items() for leaf in tree_leaves(v, (*path, k))]
    return [(path, tree)]


def plain_tree(value):
    if isinstance(value, tuple | list):
        return type(value)(plain_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: plain_tree(v) for k, v in value.items()}
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
        return plain_context(**plain_tree(values))

    return context


def _get(plain_get: Callable) -> Callable:
    def get(key, default=...):
        if key in ("t", "i") and _active is not None and not _active.depth:
            _active.refuse(f"it reads the clock (refsim.environ.get({key!r}))")
        return plain_get(key, default)

    return get


def _setting(plain_set: Callable, what: str = "") -> Callable:
    """``__setattr__`` as the hooks see it: the user's code setting an attribute of a
    refsim component (or a parameter in its ``p``) refuses the capture: the compiled loop
    would not see the change at the step it was made."""

    def set_attribute(owner, name, value):
        cap = _active
        if cap is not None and not cap.depth:
            cap.setting(owner, name, what)
        plain_set(owner, name, value)

    return set_attribute


@contextlib.contextmanager
def hooks(cap) -> Iterator[None]:
    global _active
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner, name: str, new) -> None:
        saved.append((owner, name, owner.__dict__.get(name)))
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
    patch(ParameterHolder, "__setattr__", _setting(ParameterHolder.__dict__["__setattr__"]))
    patch(Parameters, "__setattr__", _setting(object.__setattr__, "a parameter, p."))
    _active = cap
    try:
        yield
    finally:
        _active = None
        for owner, name, old in reversed(saved):
            if old is None:  # (Parameters has no __setattr__ of its own)
                delattr(owner, name)
            else:
                setattr(owner, name, old)
