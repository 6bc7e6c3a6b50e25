"""Parameters: declared once, kept in internal units, read back with their unit.

A model declares each parameter with ``self._param(name, value, unit, ...)``: the value is
converted to refsim's internal units (:mod:`refsim.units`), checked (finite, its sign or
range) and kept in ``self.p``, the namespace the equations read (``self.p.tau``).  Read
from the model, ``model.tau`` is a quantity in the unit it was given in; ``model.p.tau``
is the bare internal number.  A parameter cannot be reassigned: the model's checks and
the constants derived from it were computed at construction.  Relations a model needs
between its parameters (``V_reset < V_th``) are checked with ``self._require``.  Every
:class:`refsim.Module` is a :class:`ParameterHolder`.  :func:`count` and
:func:`probability` check the numbers that are not quantities (sizes, degrees,
probabilities), accepting every NumPy number type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import quantities as pq

from refsim import init as _init
from refsim.environ import to_model
from refsim.units import (
    _NAMED_DIMENSIONS,
    _same_dimension,
    dimension_name,
    internal_unit,
    require_sign,
    to_quantity,
)
from refsim.units import _unit_str as _unit_text

__all__ = ["Parameters", "ParameterHolder", "count", "probability", "is_integer", "is_real"]


def _scalar(value):
    """A 0-d array as its NumPy scalar (``np.array(3)`` -> ``np.int64(3)``); else as given."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def is_integer(value) -> bool:
    """Whether ``value`` is an integer of any type (Python, NumPy, a 0-d array), not a bool."""
    value = _scalar(value)
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_real(value) -> bool:
    """Whether ``value`` is a real number of a non-integer type (Python or NumPy float, a
    0-d float array)."""
    return isinstance(_scalar(value), float | np.floating)


def _is_count(value, least: int) -> bool:
    return is_integer(value) and _scalar(value) >= least


def count(name: str, value, least: int = 1) -> int:
    """``value`` as an ``int``, checked to be an integer ``>= least`` (a number of neurons,
    synapses or sources) of any integer type; raises ``ValueError`` naming ``name``
    otherwise, where ``int()`` would truncate 2.5 or accept -3."""
    if not _is_count(value, least):
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(_scalar(value))


def probability(name: str, value) -> float:
    """``value`` as a ``float`` in [0, 1], of any real type (``0.1``, ``np.float32(0.1)``,
    ``np.array(0.1)``); ``ValueError`` naming ``name`` otherwise (NaN, a string, 1.5)."""
    if not (is_real(value) or is_integer(value)):
        raise ValueError(f"{name} must be a probability in [0, 1] (a real number), got {value!r}")
    p = float(_scalar(value))
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


class Parameters:
    """A model's parameters in refsim's internal units (mV, ms, nA, uS, MOhm, nF, mM and
    their products; :mod:`refsim.units`): what its equations read, ``self.p.tau``.

    Read a parameter with its unit from the model itself (``neuron.tau`` is a quantity);
    ``neuron.p.tau`` is the bare number the kernels use.
    """

    def __init__(self) -> None:
        self._units: dict[str, str] = {}  # name -> its internal unit, for repr

    def names(self) -> list[str]:
        """The parameters' names, in the order they were declared."""
        return list(self._units)

    def __repr__(self) -> str:
        parts = []
        for name, unit in self._units.items():
            value = getattr(self, name)
            text = f"{float(value):g}" if np.size(value) == 1 else f"array{np.shape(value)}"
            parts.append(f"{name}={text}" + ("" if unit == "dimensionless" else f" {unit}"))
        return f"Parameters({', '.join(parts)})"


class ParameterHolder:
    """What a module needs to declare, check and read back its parameters."""

    def _init_parameters(self) -> None:
        #: the parameters in internal units (:class:`Parameters`)
        self.p = Parameters()
        self._shown_in: dict[str, Any] = {}  # parameter -> the unit it reads back in
        self._given: dict[str, Any] = {}
        #: parameter name -> the range its values are checked to lie in ("> 0", ">= 0" ...)
        self.param_checks: dict[str, str] = {}
        #: relation between parameters -> why it is needed ("V_reset < V_th": ...)
        self.param_relations: dict[str, str] = {}

    def _param(
        self,
        name: str,
        value,
        unit,
        dtype=None,
        *,
        positive: bool = False,
        nonnegative: bool = False,
    ) -> np.ndarray:
        """Declare the parameter ``name``: convert ``value`` to internal units, check it,
        store it in :attr:`p` and return it.

        A scalar stays a 0-d value (one value shared by all); anything else is broadcast
        to the population's shape (``varshape``, where the module has one).  ``unit``: any
        unit of the expected dimension (``None``: a pure number).  ``dtype``: the float
        type (default the module's ``dtype``; a span compared with the clock is float64).
        ``positive`` / ``nonnegative``: every value must be ``> 0`` (a time constant or
        another divisor of the step) / ``>= 0`` (a refractory period, a rate).  Raises
        :class:`UnitError` for a wrong or missing dimension, ``ValueError`` for a value
        that is not finite, or of a wrong shape or sign.
        """
        self._given[name] = value
        shape = getattr(self, "varshape", ())
        if unit is not None and _same_dimension(unit, pq.dimensionless):
            unit = None  # a pure number
        shown = _init.unit_of(value) if unit is not None else None
        if isinstance(value, _init.Initializer):
            value = value(shape)
        data = to_model(value, name, unit, dtype or getattr(self, "dtype", None))
        if positive or nonnegative:
            require_sign(name, value, data, unit, strict=positive)
            self.param_checks[name] = "> 0" if positive else ">= 0"
        if data.size == 1:
            data = data.reshape(())[()]  # a NumPy scalar of the model's precision
        else:
            try:
                data = np.array(np.broadcast_to(data, shape))
            except ValueError:
                raise ValueError(
                    f"parameter '{name}' has shape {data.shape}, which does not fit the "
                    f"population shape {shape}"
                ) from None
        object.__setattr__(self.p, name, data)
        self.p._units[name] = _internal_name(unit)
        self._shown_in[name] = (
            shown if shown is not None else (internal_unit(unit) if unit is not None else None)
        )
        return data

    def _require(self, relation: str, holds, why: str, *names: str) -> None:
        """Check a relation between parameters (``'V_reset < V_th'``): ``holds`` (bools,
        one per neuron or one for all) must be true everywhere, else ``ValueError`` naming
        ``names`` with their values (of the first neuron that breaks it) and ``why`` the
        model needs it.  The relation is recorded in :attr:`param_relations`, which the
        model's page lists."""
        self.param_relations[relation] = why
        holds = np.asarray(holds)
        if holds.all():
            return
        first = np.unravel_index(int(np.argmin(holds)), holds.shape) if holds.ndim else ()
        where = f" (element {tuple(int(i) for i in first)})" if holds.ndim else ""
        values = ", ".join(f"{n} = {_element(getattr(self, n), first)}" for n in names)
        raise ValueError(
            f"{type(self).__name__}: parameters must satisfy {relation}, got {values}{where}: {why}"
        )

    def __getattr__(self, name: str):
        """A parameter read from the module: a quantity in the unit it was given in."""
        shown_in = self.__dict__.get("_shown_in", {})
        if name in shown_in:
            raw = getattr(self.__dict__["p"], name)
            unit = shown_in[name]
            return np.array(raw, copy=True) if unit is None else to_quantity(raw, unit)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in self.__dict__.get("_shown_in", ()):
            if value is getattr(self.__dict__["p"], name):  # self.X = self._param("X", ...)
                raise AttributeError(
                    f"declare the parameter {name} of {type(self).__name__} with "
                    f"self._param({name!r}, ...) alone: it keeps the internal value in "
                    f"self.p.{name}, which the equations read, and self.{name} reads it "
                    "back with its unit"
                )
            raise AttributeError(
                f"{name} is a parameter of {type(self).__name__} '{self.name}', fixed when "
                f"it was built (its checks and derived constants come from it): build a new "
                f"{type(self).__name__}(..., {name}=...)"
            )
        object.__setattr__(self, name, value)


def _internal_name(unit) -> str:
    """The name of refsim's internal unit for ``unit``'s dimension (MOhm, not mV/nA)."""
    if unit is None:
        return "dimensionless"
    return _unit_text(_NAMED_DIMENSIONS.get(dimension_name(unit), internal_unit(unit)))


def _element(value, index) -> str:
    """Element ``index`` of a parameter as read back (a scalar is the same for all)."""
    if np.ndim(value) and index:
        value = value[index]
    if isinstance(value, pq.Quantity):
        return f"{float(value.magnitude):g} {value.dimensionality}"
    return f"{float(value):g}"
