"""The Dynamics contract: modules, states, inputs and deferred constructors.

Every neuron and synapse in refsim is a plain class that

1. declares its parameters in ``__init__``, converted once to internal units;
2. allocates its state in ``init_state(batch_size=None)``
   (:func:`init_all_states` walks a whole model) and restores it in ``reset_state``;
3. advances one ``dt`` in ``update(x=None)``; calling the object runs its
   before-updates, then ``update``, then its after-updates;
4. exposes outputs: a neuron's ``get_spike()``, a synapse's conductance.

Inputs are additive.  ``add_current_input(key, fn)`` registers a current that
the neuron sums, with the argument of ``update``, before it integrates;
``add_delta_input(key, x)`` queues a jump that the next update consumes.  A
queued input is never dropped: an input added after its consumer ran in a step
is consumed by that consumer's next update (brainpy's eager-loop behaviour).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import quantities as pq

from refsim import environ
from refsim import init as _init
from refsim.environ import to_model
from refsim.parameters import ParameterHolder, _is_count, count
from refsim.state import State
from refsim.units import to_quantity

__all__ = [
    "ClockWarning",
    "State",
    "Module",
    "Dynamics",
    "Neuron",
    "Synapse",
    "Describer",
    "init_all_states",
    "reset_all_states",
]

_counter = itertools.count()


class ClockWarning(RuntimeWarning):
    """A model whose states hold the times of its events (a refractory neuron's
    ``last_spike_time``, a kinetic synapse's ``spike_arrival_time``) is stepped at an
    earlier time than it already reached: those events now lie in its future."""


def _freeze(value: Any) -> Any:
    """A hashable stand-in used to compare constructor arguments."""
    if isinstance(value, pq.Quantity):
        mag = np.asarray(value.magnitude, dtype=np.float64)
        return ("Q", str(value.dimensionality), mag.shape, mag.tobytes())
    if isinstance(value, np.ndarray):
        return ("A", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return ("R", repr(value))
    return value


class Describer:
    """A deferred constructor: ``Expon.desc(100, tau=5 * pq.ms)``.

    Calling it builds the object.  Two describers with the same class and
    arguments have equal :attr:`identifier`, which is how projections onto one
    target share one synapse and one output.
    """

    def __init__(self, cls: type, args: tuple, kwargs: dict):
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    @property
    def identifier(self) -> tuple:
        return (self.cls, _freeze(self.args), _freeze(self.kwargs))

    def __call__(self, *args, **kwargs):
        return self.cls(*self.args, *args, **{**self.kwargs, **kwargs})

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.cls.__name__}.desc({', '.join(parts)})"


class Module(ParameterHolder):
    """A node of a model tree.  Children are found among its attributes.

    Parameters declared with ``_param`` live in ``p`` in internal units (the equations
    read ``self.p.tau``); read from the module itself they carry their unit
    (:class:`refsim.parameters.ParameterHolder`).
    """

    #: attributes other than :class:`State` that a run changes (a ring position, a random
    #: stream): a checkpoint saves them (:mod:`refsim.checkpoint`)
    checkpointed: tuple[str, ...] = ()

    def __init__(self, name: str | None = None):
        self.name = name if name is not None else f"{type(self).__name__}{next(_counter)}"
        self._init_parameters()

    @classmethod
    def desc(cls, *args, **kwargs) -> Describer:
        """A deferred constructor of this class (see :class:`Describer`)."""
        return Describer(cls, args, kwargs)

    def children(self) -> Iterator[Module]:
        """Direct sub-modules: attributes that are modules, or lists/dicts of them."""
        for value in vars(self).values():
            yield from _modules_in(value)

    def nodes(self) -> list[Module]:
        """This module and every module below it, each once, parents first."""
        seen: set[int] = set()
        order: list[Module] = []
        stack: list[Module] = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            order.append(node)
            stack.extend(reversed(list(node.children())))
        return order

    def check_checkpointed(self, name: str, value) -> str | None:
        """Why ``value``, read from a checkpoint for the attribute ``name`` of
        :attr:`checkpointed`, cannot be this module's (a ring position outside its ring),
        or None where it can."""
        return None

    def init_state(self, batch_size: int | None = None) -> None:
        """Allocate this module's own states (none by default)."""

    def reset_state(self, batch_size: int | None = None) -> None:
        """Restore this module's states to their initial values."""
        self.init_state(batch_size)

    def update(self, *args, **kwargs):  # pragma: no cover - overridden
        raise NotImplementedError(f"{type(self).__name__} defines no update()")

    def __call__(self, *args, **kwargs):
        return self.update(*args, **kwargs)


def _modules_in(value: Any) -> Iterator[Module]:
    if isinstance(value, Module):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _modules_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _modules_in(v)


def _population_shape(in_size) -> tuple[int, ...]:
    """``in_size`` (an int or a tuple of ints, each positive) as a shape tuple; raises
    ``ValueError`` naming it otherwise."""
    sizes = (in_size,) if np.ndim(in_size) == 0 else tuple(in_size)
    if not sizes or not all(_is_count(n, 1) for n in sizes):
        raise ValueError(f"in_size must be a positive integer or a tuple of them, got {in_size!r}")
    return tuple(int(n) for n in sizes)


def _outside_refsim() -> int:
    """The ``stacklevel`` that makes a warning raised by the caller of this function point
    at the first frame outside the refsim package: the user's line."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def init_all_states(module: Module, batch_size: int | None = None) -> Module:
    """Allocate the states of ``module`` and of every module below it.

    Mirrors ``brainstate.nn.init_all_states``.  Returns ``module``.
    """
    _require_module(module, "init_all_states")
    for node in module.nodes():
        node.init_state(batch_size)
        node._states_ready = True
        node._clock_at = -math.inf  # no time reached yet (Dynamics.clock_check)
    return module


def reset_all_states(module: Module, batch_size: int | None = None) -> Module:
    """Restore every state below ``module`` to its initial value (initializers re-run)."""
    _require_module(module, "reset_all_states")
    for node in module.nodes():
        node.reset_state(batch_size)
        node._states_ready = True
        node._clock_at = -math.inf
    return module


def _require_module(module: Any, by: str) -> None:
    """``TypeError`` naming ``by`` unless ``module`` is a refsim module."""
    if not isinstance(module, Module):
        raise TypeError(
            f"{by}: expected a refsim module (a population, a projection, a Network, or a "
            f"refsim.Module whose attributes hold them), got {type(module).__name__}"
        )


class Dynamics(Module):
    """Anything that evolves in time: a population of ``in_size`` elements.

    Subclasses define :meth:`init_state` and :meth:`update`.
    """

    #: unit of the direct input ``x`` of ``update`` and of current inputs
    input_unit: Any = pq.nA

    def __init__(self, in_size, name: str | None = None):
        super().__init__(name)
        self.in_size = _population_shape(in_size)
        self.varshape = self.in_size
        self.num = math.prod(self.in_size)
        self.current_inputs: dict[str, Any] = {}
        self.delta_inputs: dict[str, Any] = {}
        self.before_updates: dict[Any, Callable[[], Any]] = {}
        self.after_updates: dict[Any, Callable[[Any], Any]] = {}
        self._states_ready = False
        self._currents_read = False  # whether the update under way read its currents
        self._clock_at = -math.inf  # the latest time it was stepped at (clock_check)
        #: the float type of its parameters, states and inputs: the precision it was
        #: built in (``refsim.environ.set(precision=32)`` gives float32)
        self.dtype = environ.dftype()

    def _new_state(self, name: str, initializer, unit, batch_size: int | None, dtype=None) -> State:
        """Evaluate ``initializer`` for this population as a :class:`State`.

        ``unit`` is the expected dimension (``None``: a pure number); the state
        reports in the initializer's own unit when it has one.  ``dtype``: the float
        type (default :attr:`dtype`; the time of an event is float64).
        """
        shape = (
            self.varshape
            if batch_size is None
            else (count("batch_size", batch_size), *self.varshape)
        )
        values = _init.param(initializer, shape)
        data = to_model(values, name, unit, dtype or self.dtype)
        display = values.units if isinstance(values, pq.Quantity) else unit
        existing = getattr(self, name, None)
        if isinstance(existing, State):  # reset: keep the object, so monitors stay attached
            existing.data, existing.unit = data, display
            return existing
        return State(data, unit=display, name=name, dtype=data.dtype)

    # -- inputs -------------------------------------------------------------
    #: whether its update sums registered currents (a neuron does; a synapse or a spike
    #: source does not: a current given to one would wait forever, unused)
    takes_current_inputs = True
    #: whether its update adds queued jumps (a neuron's potential, a linear synapse's g;
    #: not a kinetic synapse, short-term plasticity or a spike source)
    takes_delta_inputs = True

    def require_inputs(self, kind: str, by: str) -> None:
        """``TypeError`` naming ``by`` unless this module's update consumes inputs of
        ``kind`` (``'current'`` or ``'delta'``): an input it never reads would be lost
        without a word."""
        takes = self.takes_current_inputs if kind == "current" else self.takes_delta_inputs
        if not takes:
            what = "currents" if kind == "current" else "jumps (delta inputs)"
            raise TypeError(
                f"{by}: {type(self).__name__} '{self.name}' takes no {what}; its "
                "update would never read them. Aim it at a population that does "
                "(a neuron, or a linear synapse such as Expon for jumps)"
            )

    def add_current_input(self, key: str, inp, label: str | None = None) -> None:
        """Register a current input.

        ``inp`` is either a callable of the membrane potential (an output such
        as :class:`refsim.COBA`, or any function taking and returning
        quantities), which stays registered, or a quantity, which is added to
        the next update only.  ``TypeError`` for a module whose update reads no
        current (:attr:`takes_current_inputs`).
        """
        self.require_inputs("current", f"add_current_input({key!r})")
        key = key if label is None else f"{label} // {key}"
        if callable(inp) and not isinstance(inp, (pq.Quantity, np.ndarray)):
            old = self.current_inputs.get(key)
            if old is not None and old is not inp:
                raise ValueError(f"{self.name}: the current input key '{key}' is already taken")
            self.current_inputs[key] = inp
        else:
            self._queue(self.current_inputs, key, to_model(inp, key, self.input_unit, self.dtype))

    def add_delta_input(self, key: str, inp, label: str | None = None) -> None:
        """Queue a jump of the integrated variable (a quantity), consumed by the next update
        (``TypeError`` for a module that takes none, :attr:`takes_delta_inputs`)."""
        self.require_inputs("delta", f"add_delta_input({key!r})")
        key = key if label is None else f"{label} // {key}"
        self._queue(self.delta_inputs, key, to_model(inp, key, self.delta_unit, self.dtype))

    @property
    def delta_unit(self):
        """Unit of the variable that delta inputs jump (the membrane potential for neurons)."""
        return pq.mV

    @staticmethod
    def _queue(store: dict, key: str, data: np.ndarray) -> None:
        if key in store and not callable(store[key]):
            store[key] = store[key] + data  # two pushes before one update: both count
        else:
            store[key] = data

    def _push_delta(self, key: str, data: np.ndarray) -> None:
        """Queue a delta input already in internal units (used by projections)."""
        self._queue(self.delta_inputs, key, data)

    def current_function(self, init):
        """Consume this step's queued currents; return ``f(V) -> (I, dI/dV)``.

        ``f`` adds ``init``, the consumed quantities and every registered callable
        evaluated at ``V``, in registration order; it can be called several times in a
        step (by a Runge-Kutta method).  The slope enters the exponential-Euler
        Jacobian, as brainpy's autodiff does: outputs provide it; a user function is
        treated as independent of V.
        """
        self._currents_read = True
        inputs = []
        for key in list(self.current_inputs):
            inp = self.current_inputs[key]
            if callable(inp) and not isinstance(inp, np.ndarray):
                inputs.append((key, inp))
            else:
                inputs.append((key, self.current_inputs.pop(key)))

        def total(V):
            current, slope = init, 0.0
            for key, inp in inputs:
                if hasattr(inp, "current_and_slope"):
                    I, dI = inp.current_and_slope(V)
                    current, slope = current + I, slope + dI
                elif callable(inp):
                    result = inp(to_quantity(V, self.delta_unit))
                    current = current + to_model(result, key, self.input_unit, self.dtype)
                else:
                    current = current + inp
            return current, slope

        return total

    def sum_current_inputs(self, init: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, Any]:
        """Total current at potential ``V`` and its slope ``dI/dV`` (internal units).

        Queued quantities are consumed; callables stay registered.
        """
        return self.current_function(init)(V)

    def sum_delta_inputs(self, init: np.ndarray) -> np.ndarray:
        """``init`` plus every queued delta input; the queue is emptied."""
        total = init
        for key in list(self.delta_inputs):
            total = total + self.delta_inputs.pop(key)
        return total

    def _check_inputs_used(self) -> None:
        """``RuntimeError`` where the update just done left inputs unread: queued jumps or
        currents given as quantities it did not add, or registered currents (an output
        such as COBA) it never summed: its model does not take them, so they would be lost
        without a word, step after step."""
        registered = [key for key, inp in self.current_inputs.items() if callable(inp)]
        left = list(self.delta_inputs) + [
            key for key in self.current_inputs if key not in registered
        ]
        if not self._currents_read:
            left += registered
        if left:
            raise RuntimeError(
                f"{type(self).__name__} '{self.name}': its update left the inputs "
                f"{', '.join(map(repr, left))} unread, so they would be lost. Its update "
                "must add them (self.sum_delta_inputs(...) for jumps, "
                "self.sum_current_inputs(...) for currents); a model that takes none sets "
                "takes_delta_inputs = False (or takes_current_inputs = False), so that they "
                "are refused where they are aimed"
            )

    def _external(self, x) -> np.ndarray | float:
        """Convert the direct input of ``update`` (a quantity, or None for zero)."""
        if x is None:
            return 0.0
        if isinstance(x, (int, float)) and x == 0:
            return 0.0
        return self._input(x, f"{type(self).__name__}.update input x")

    def _input(self, x, name: str) -> np.ndarray:
        """``x`` in internal units, checked to broadcast with the population's shape."""
        data = to_model(x, name, self.input_unit, self.dtype)
        try:
            np.broadcast_shapes(data.shape, self.varshape)
        except ValueError:
            raise ValueError(
                f"{name} has shape {data.shape}, which does not fit the "
                f"population shape {self.varshape}"
            ) from None
        return data

    def align_pre(self, dyn):
        """Step ``dyn`` after every update of this population, fed with its spikes.

        brainpy's ``align_pre`` mixin: ``syn = pre.align_pre(Expon.desc(...))`` gives a
        synapse of one state per neuron of this population, advanced right after it
        with the spikes it just emitted (a spike of step k is in ``syn`` at step k).
        A describer without a size is built with this population's shape; equal
        describers share one synapse.  Returns the synapse.
        """
        if isinstance(dyn, Describer):
            key = ("align_pre", dyn.identifier)
            if key in self.after_updates:
                return self.after_updates[key].target
            dyn = dyn() if dyn.args else dyn(self.in_size)
        else:
            key = ("align_pre", dyn.name)
        self.after_updates[key] = _FeedSpikes(dyn)
        return dyn

    #: whether its states hold event times, so that stepping it at an earlier time than
    #: it reached is checked (:meth:`clock_check`); set by the models that read the clock
    reads_clock = False

    def clock_check(self, t: float) -> None:
        """Note that this population is stepped at ``t`` (ms), warning with
        :class:`ClockWarning` where ``t`` is earlier than a time it was already stepped
        at (a second ``refsim.run`` from 0 ms of a model that ran before)."""
        if t < self._clock_at:
            import warnings

            warnings.warn(
                ClockWarning(
                    f"{type(self).__name__} '{self.name}' is stepped at t = {t:g} ms after it "
                    f"was stepped at t = {self._clock_at:g} ms: the event times its states hold "
                    "(last spikes, transmitter arrivals) now lie in its future, and hold it "
                    "refractory or release transmitter until the clock passes them again. To "
                    "continue the earlier run pass t_start=result.next_t to refsim.run; to start "
                    "afresh call refsim.reset_all_states first."
                ),
                stacklevel=_outside_refsim(),
            )
        self._clock_at = t

    def _now(self) -> float:
        """The current time (ms) for a model that :attr:`reads_clock`, checked."""
        t = environ.t_ms(type(self).__name__)
        self.clock_check(t)
        return t

    # -- stepping -----------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not self._states_ready:
            raise RuntimeError(
                f"{type(self).__name__} '{self.name}' has no state yet: call "
                "refsim.init_all_states(model) before stepping it"
            )
        for fn in self.before_updates.values():
            fn()
        self._currents_read = False
        out = self.update(*args, **kwargs)
        self._check_inputs_used()
        for fn in self.after_updates.values():
            fn(out)
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_short(v)}" for k, v in self._given.items())
        return f"{type(self).__name__}({self.in_size}, {params})"


class _FeedSpikes(Module):
    """An after-update that steps ``target`` with the spikes its population returned."""

    def __init__(self, target: Dynamics):
        super().__init__()
        self.target = target

    def __call__(self, spikes) -> None:
        data = np.asarray(spikes, dtype=getattr(self.target, "dtype", np.float64))
        if hasattr(self.target, "advance"):
            self.target.advance(data)
        else:
            self.target(data)


def _short(value) -> str:
    if isinstance(value, pq.Quantity) and value.size == 1:
        return f"{float(value.magnitude)} {value.dimensionality}"
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


class Neuron(Dynamics):
    """A population that integrates current and emits spikes (``get_spike()``)."""

    def get_spike(self, V=None) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError


class Synapse(Dynamics):
    """Temporal filtering of a spike train into a conductance (or current).

    Subclasses implement :meth:`step` on internal arrays; :meth:`update`
    wraps it with units, so ``syn(1 * pq.mS)`` returns a quantity.
    """

    #: True for synapses linear in their input (they may be merged post-side)
    align_post: bool = False
    takes_current_inputs = False  # a synapse filters events; it integrates no current

    def advance(self, x: np.ndarray | None = None) -> np.ndarray:
        """One step in internal units, as a projection takes it: the before-updates (a
        :class:`refsim.PoissonInput` aimed at this synapse), :meth:`step`, the
        after-updates; returns the output.  (``syn(x)`` is the same with quantities.)"""
        for fn in self.before_updates.values():
            fn()
        self._currents_read = False
        out = self.step(x)
        self._check_inputs_used()
        for fn in self.after_updates.values():
            fn(out)
        return out

    @property
    def delta_unit(self):
        """Events jump ``g``, so they carry its unit (``g_unit``, set by the model)."""
        return getattr(self, "g_unit", None)

    @property
    def input_unit(self):
        """The direct input of ``update`` is an event in ``g``'s unit."""
        return getattr(self, "g_unit", None)

    def step(self, x: np.ndarray | None = None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def update(self, x=None):
        """Advance one step with input ``x`` (a quantity); return the output as a quantity."""
        out = self.step(None if x is None else self._input(x, f"{type(self).__name__} input x"))
        return out if self.output_unit is None else to_quantity(out, self.output_unit)

    @property
    def output_unit(self):
        """Unit of the value :meth:`update` returns."""
        return self.input_unit
