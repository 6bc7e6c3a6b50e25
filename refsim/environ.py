"""Simulation context: the time step ``dt`` and the current time ``t``.

Mirrors ``brainstate.environ``::

    refsim.environ.set(dt=0.1 * pq.ms)           # global default
    with refsim.environ.context(dt=0.05 * pq.ms, t=t):
        neuron(x)                                 # models read dt and t here
    refsim.environ.get_dt()                       # -> 0.1 ms

``dt`` and ``t`` are stored as float64 milliseconds, converted once when they
enter; models read them with :func:`dt_ms` and :func:`t_ms`.  :func:`set` changes the
defaults of every thread; a :func:`context` holds in its own thread only.  Any other key
(``i``, the step index, say) is stored as given.  The default ``dt`` is 0.1 ms.

``precision`` (64, the default, or 32) is the float width of what is built after it is
set: states, parameters, weights and inputs (:func:`dftype`), as brainstate's
``environ.set(precision=...)``.  float32 needs NumPy 2 (NEP 50: a Python float does not
widen a float32 array).  See ``docs/precision.md``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import quantities as pq

from refsim.units import require_finite, to_internal, to_quantity

__all__ = [
    "context",
    "set",
    "get",
    "get_dt",
    "dt_ms",
    "t_ms",
    "dftype",
    "to_model",
    "DEFAULT_DT_MS",
    "PRECISIONS",
]

DEFAULT_DT_MS = 0.1

#: the float widths refsim computes in, and their NumPy types
PRECISIONS = {64: np.float64, 32: np.float32}

_TIME_KEYS = ("dt", "t")
_globals: dict[str, Any] = {"dt": DEFAULT_DT_MS, "precision": 64}


class _Frames(threading.local):
    """The ``context`` blocks open in this thread, innermost last: each thread has its
    own (two runs in two threads each see their own ``t``), over the shared defaults."""

    def __init__(self) -> None:
        self.stack: list[dict[str, Any]] = []


_frames = _Frames()


def _convert(key: str, value: Any) -> Any:
    if key in _TIME_KEYS:
        ms = float(to_internal(value, key, pq.ms))
        if key == "dt" and not ms > 0:
            raise ValueError(f"dt must be positive, got {value}")
        return ms
    if key == "precision":
        return _check_precision(value)
    return value


def _check_precision(value: Any) -> int:
    if isinstance(value, bool) or value not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {sorted(PRECISIONS)} (bits of a float), got {value!r}"
        )
    if value == 32 and int(np.__version__.split(".")[0]) < 2:
        raise ValueError(
            f"precision=32 needs NumPy 2 or later (NEP 50 promotion rules), "
            f"this is NumPy {np.__version__}: pip install 'numpy>=2'"
        )
    return int(value)


def set(**kwargs: Any) -> None:  # noqa: A001 - mirrors brainstate.environ.set
    """Set global defaults, e.g. ``set(dt=0.1 * pq.ms)``."""
    for key, value in kwargs.items():
        _globals[key] = _convert(key, value)


@contextlib.contextmanager
def context(**kwargs: Any) -> Iterator[None]:
    """Override values (``dt``, ``t``, ``i`` ...) inside a ``with`` block."""
    _frames.stack.append({key: _convert(key, value) for key, value in kwargs.items()})
    try:
        yield
    finally:
        _frames.stack.pop()


@contextlib.contextmanager
def _internal_context(**values: Any) -> Iterator[None]:
    """As :func:`context`, for values already in internal units (``t`` as float ms)."""
    _frames.stack.append(values)
    try:
        yield
    finally:
        _frames.stack.pop()


def _lookup(key: str) -> Any:
    for frame in reversed(_frames.stack):
        if key in frame:
            return frame[key]
    if key in _globals:
        return _globals[key]
    raise KeyError(key)


def get(key: str, default: Any = ...) -> Any:
    """The current value of ``key``; ``dt`` and ``t`` come back as quantities in ms."""
    try:
        value = _lookup(key)
    except KeyError:
        if default is ...:
            raise KeyError(
                f"'{key}' is not set: give it with refsim.environ.context({key}=...) "
                f"or refsim.environ.set({key}=...)"
            ) from None
        return default
    return to_quantity(value, pq.ms) if key in _TIME_KEYS else value


def get_dt() -> pq.Quantity:
    """The current time step as a quantity in ms."""
    return get("dt")


def dt_ms() -> float:
    """The current time step in ms, as a float (for kernels)."""
    return _lookup("dt")


def t_ms(needed_by: str = "this model") -> float:
    """The current time in ms, as a float; a clear error if none is in the context."""
    try:
        return _lookup("t")
    except KeyError:
        raise RuntimeError(
            f"{needed_by} needs the current time: step it inside "
            "refsim.environ.context(t=...), or drive it with refsim.run()"
        ) from None


def dftype() -> type:
    """The float type of what is built now: ``numpy.float64``, or ``numpy.float32`` under
    ``precision=32``."""
    return PRECISIONS[_lookup("precision")]


def to_model(value, name: str, expected, dtype=None, finite: bool = True) -> np.ndarray:
    """:func:`refsim.units.to_internal`, in the float type ``dtype`` of a model (default:
    that of the current precision, :func:`dftype`): for what a model computes with
    (parameters, states, weights, inputs).  Times that count steps stay float64
    (``to_internal``).  A value finite in float64 but not in float32 (1e39) is refused
    under ``precision=32``."""
    data = to_internal(value, name, expected, finite).astype(dtype or dftype(), copy=False)
    if finite and data.dtype != np.float64:
        require_finite(name, value, data, expected)
    return data
