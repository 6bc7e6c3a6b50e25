"""The check that stops a run whose numbers have stopped meaning anything.

Every ``check_every`` steps of :func:`refsim.run` (100 by default, and always at the
last step, on every backend) each state of the model is checked: it must be finite, and
within the bounds its model declares where a finite value is already meaningless
(``state_bounds`` on the class, in internal units: NEST's aeif models stop below
-1000 mV, refsim's exponential and quadratic models too; a conductance-based membrane
stays within +-1000 mV).  The first state that is not stops the run with
:class:`NumericalInstability`, naming the population, the state, the neuron, the step and
the value, and carrying the :class:`~refsim.run.RunResult` of the steps done, as
:class:`~refsim.run.RunInterrupted` does.  ``refsim.run(..., check_every=None)`` turns the
check off.

The states checked are those of the modules the run can see: a :class:`refsim.Network`
and everything below it; for a step function, the modules it names (its globals, its
closure, its default arguments, the object of a bound method, one call deep) and the
populations of the spike monitors.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from refsim.module import Module, State
from refsim.units import to_quantity

__all__ = [
    "NumericalInstability",
    "UncheckedRunWarning",
    "Finding",
    "Watch",
    "DEFAULT_CHECK_EVERY",
    "is_checked",
    "bounds_of",
    "check",
    "modules_of",
    "watches",
]

#: steps between two checks by default (10 ms at dt = 0.1 ms): at most 2 % of a run
DEFAULT_CHECK_EVERY = 100

_BIG = sys.float_info.max  # bounds at +-max: still false for NaN and +-inf


@dataclass
class Finding:
    """The first state value that failed the check (in the watch list's order)."""

    module: Any
    state: str
    index: tuple
    value: float  # internal units
    unit: Any
    step: int  # the global step after which it was seen
    t_ms: float
    bounds: tuple[float, float]

    def describe(self) -> str:
        """``HH 'HH3'.V[17] = nan mV is not finite`` (or outside its bounds)."""
        where = f"[{', '.join(str(i) for i in self.index)}]" if self.index else ""
        shown = (
            f"{self.value:g}"
            if self.unit is None
            else f"{float(to_quantity(self.value, self.unit).magnitude):g} {_unit_text(self.unit)}"
        )
        what = (
            f"{type(self.module).__name__} '{self.module.name}'.{self.state}{where}"
            if self.module is not None
            else f"the monitored state {self.state}{where}"
        )
        if not math.isfinite(self.value):
            return f"{what} = {shown} is not finite"
        lo, hi = self.bounds
        return (
            f"{what} = {shown} lies outside the bounds its model declares, "
            f"[{_bound(lo)}, {_bound(hi)}] (internal units): a value there no longer "
            "means anything"
        )


class NumericalInstability(ArithmeticError):
    """A run's states became NaN, infinite, or left the bounds their model declares.

    Raised by :func:`refsim.run` once the run has stopped after the step where the check
    saw it (states are checked every ``check_every`` steps and at the last step).
    :attr:`finding` names the population, state, neuron, step and value; :attr:`result`
    is the :class:`~refsim.run.RunResult` of the steps done, that step included (the
    model holds the state after it).  Usual causes: a time step too long for an explicit
    method (``euler``, ``rk2``, ``rk4``), parameters or inputs that drive the model out of
    its domain.
    """

    def __init__(self, finding: Finding, result, check_every: int | None):
        self.finding = finding
        self.result = result
        done = result.n_steps
        since = (
            ""
            if not check_every
            else f" (states are checked every {check_every} steps and at the last; "
            f"refsim.run(..., check_every=...) checks more often, None not at all)"
        )
        super().__init__(
            f"refsim.run stopped: after step {finding.step} (t = {finding.t_ms:g} ms), "
            f"{finding.describe()}{since}. A shorter dt, another integration method or "
            f"smaller inputs may help; .result holds the {done} steps done"
        )


def _unit_text(unit) -> str:
    return str(getattr(unit, "dimensionality", unit))


def _bound(x: float) -> str:
    return "-inf" if x <= -_BIG else "inf" if x >= _BIG else f"{x:g}"


def bounds_of(module: Module, state: str) -> tuple[float, float]:
    """The bounds (internal units) a state's value must lie within: the model's
    ``state_bounds`` where it declares some, else (-max float, max float): finite."""
    lo, hi = getattr(type(module), "state_bounds", {}).get(state, (-math.inf, math.inf))
    return max(float(lo), -_BIG), min(float(hi), _BIG)


@dataclass
class Watch:
    """One state to check: its module, name, the State and its bounds."""

    module: Module
    name: str
    state: State
    bounds: tuple[float, float]

    def first_bad(self) -> tuple | None:
        """The index of the first value outside the bounds (NaN included), or None."""
        data = self.state.data
        lo, hi = self.bounds
        ok = (data >= lo) & (data <= hi)
        if ok.all():
            return None
        return tuple(int(i) for i in np.unravel_index(int(np.argmin(ok)), data.shape))


def watches(modules: list[Module], states: list[State] = ()) -> list[Watch]:
    """Every State of ``modules`` and of the modules below them, each once, in order; then
    the ``states`` not among them (a monitored state whose module the run cannot see)."""
    seen, out = set(), []
    for root in modules:
        for node in root.nodes():
            for name, value in vars(node).items():
                if isinstance(value, State) and id(value) not in seen:
                    seen.add(id(value))
                    out.append(Watch(node, name, value, bounds_of(node, name)))
    for state in states:
        if id(state) not in seen:
            seen.add(id(state))
            out.append(Watch(None, state.name, state, bounds_of(None, state.name)))
    return out


def check(watched: list[Watch], step: int, t_ms: float) -> Finding | None:
    """The first failing value of ``watched`` after global step ``step``, or None."""
    for watch in watched:
        index = watch.first_bad()
        if index is not None:
            value = float(watch.state.data[index])
            return Finding(
                watch.module, watch.name, index, value, watch.state.unit, step, t_ms, watch.bounds
            )
    return None


def is_checked(step: int, check_every: int | None, last_step: int) -> bool:
    """Whether global step ``step`` is checked: every ``check_every``-th global step
    (``(step + 1) % check_every == 0``, the same steps however a run is split) and the
    run's last step, ``last_step``; none when ``check_every`` is None."""
    return bool(check_every) and ((step + 1) % check_every == 0 or step == last_step)


class UncheckedRunWarning(UserWarning):
    """The stability check of a run found no refsim module to check: the step function
    reaches its models in a way :func:`modules_of` does not follow."""


def modules_of(step, extra: list | None = None) -> list[Module]:
    """The modules a step function can reach: itself if a Module, the object of a bound
    method (and the modules among the attributes of a plain object's), and the modules
    (or lists, tuples, dicts of them, or the attributes of plain objects) among the globals
    it names, its closure and its defaults; functions found there are followed one call
    deep.  ``extra``: more modules (a spike monitor's population)."""
    found: dict[int, Module] = {}
    _collect(step, found, depth=2)
    for module in extra or ():
        found.setdefault(id(module), module)
    return list(found.values())


def _collect(value, found: dict, depth: int) -> None:
    if isinstance(value, Module):
        found.setdefault(id(value), value)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _collect(item, found, depth)
        return
    if isinstance(value, dict):
        for item in value.values():
            _collect(item, found, depth)
        return
    owner = getattr(value, "__self__", None)
    if isinstance(owner, Module):
        found.setdefault(id(owner), owner)
    func = getattr(value, "__func__", value)
    code = getattr(func, "__code__", None)
    if code is None or depth == 0:
        return
    names = set(code.co_names)
    for const in code.co_consts:  # names used by nested functions and lambdas
        if hasattr(const, "co_names"):
            names.update(const.co_names)
    globals_ = getattr(func, "__globals__", {})
    values = [globals_[n] for n in names if n in globals_]
    values += [
        cell.cell_contents for cell in (getattr(func, "__closure__", None) or ()) if _filled(cell)
    ]
    values += list(getattr(func, "__defaults__", None) or ())
    if owner is not None and not isinstance(owner, Module):  # a method of a plain object
        values += list(getattr(owner, "__dict__", {}).values())
    for item in values:
        if isinstance(item, Module | list | tuple | dict):
            _collect(item, found, depth)
        elif callable(item) and getattr(item, "__module__", None) not in _LIBRARIES:
            _collect(item, found, depth - 1)
        elif not isinstance(item, type) and hasattr(item, "__dict__") and depth > 0:
            for attribute in vars(item).values():  # a plain object holding the model
                if isinstance(attribute, Module | list | tuple | dict):
                    _collect(attribute, found, 0)


_LIBRARIES = {"numpy", "quantities", "builtins", "math"}


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True
