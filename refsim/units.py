"""The one internal unit system of refsim, and the one function that converts into it.

Parameters arrive as :mod:`quantities` values and are converted once, at
construction, into a coherent system built on four base units:

=============  ==========  =================================
dimension      internal    note
=============  ==========  =================================
voltage        mV
time           ms
current        nA
concentration  mM          transmitter concentrations
=============  ==========  =================================

Every other dimension is the matching product of those, so the system is
coherent: resistance is MOhm (mV/nA), conductance uS (nA/mV), capacitance nF
(nA*ms/mV), rates 1/ms.  Hence ``nA * MOhm = mV``, ``uS * mV = nA`` and
``nF * mV / ms = nA`` with no conversion factor, and kernels run on plain
float64 arrays (float32 under ``precision=32``, :func:`refsim.environ.to_model`).  Results leave
through :func:`to_quantity` in any unit the caller likes.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from functools import cache

import numpy as np
import quantities as pq

__all__ = [
    "UnitError",
    "internal_unit",
    "require_finite",
    "require_sign",
    "to_internal",
    "to_quantity",
    "dimension_name",
    "mV",
    "ms",
    "nA",
    "uS",
    "MOhm",
    "nF",
    "mM",
]

mV = pq.mV
ms = pq.ms
nA = pq.nA
uS = pq.uS
MOhm = pq.MOhm
nF = pq.nF
mM = pq.mM

_BASE = (("mV", pq.mV), ("ms", pq.ms), ("nA", pq.nA), ("mM", pq.mM))

_NAMED_DIMENSIONS = {
    "voltage": pq.mV,
    "time": pq.ms,
    "current": pq.nA,
    "conductance": pq.uS,
    "resistance": pq.MOhm,
    "capacitance": pq.nF,
    "concentration": pq.mM,
    "rate": 1 / pq.ms,
    "dimensionless": pq.dimensionless,
}


class UnitError(ValueError):
    """A parameter has the wrong physical dimension, or none where one is needed.

    The message names the parameter, the dimension expected and what was given.
    """


def _si_exponents(units: pq.Quantity) -> dict[str, Fraction]:
    """SI base exponents of a unit, e.g. ``{'kg': 1, 'm': 2, 's': -3, 'A': -1}`` for mV."""
    dims = units.simplified.dimensionality
    return {u.symbol: Fraction(p).limit_denominator(12) for u, p in dims.items()}


@cache
def _internal_unit_for(dim_key: str, si: tuple) -> pq.Quantity:
    exp = {k: Fraction(v) for k, v in si}
    kg, m, s, amp, mol = (exp.get(k, Fraction(0)) for k in ("kg", "m", "s", "A", "mol"))
    a = kg  # voltage carries all of the mass
    d = mol  # concentration carries all of the substance
    if 2 * a - 3 * d != m:
        raise UnitError(
            f"the dimension {dim_key} has no unit in refsim's internal system "
            "(mV, ms, nA, mM and their products)"
        )
    b = s + 3 * a  # time exponent
    c = amp + a  # current exponent
    unit = pq.dimensionless
    for (_, base), power in zip(_BASE, (a, b, c, d), strict=True):
        if power:
            unit = unit * base ** (float(power) if power.denominator != 1 else int(power))
    return unit


def internal_unit(units: pq.Quantity) -> pq.Quantity:
    """The internal unit of the dimension of ``units`` (``pq.ohm`` gives MOhm)."""
    if not isinstance(units, pq.Quantity):
        return pq.dimensionless
    si = _si_exponents(units)
    key = units.simplified.dimensionality.string
    return _internal_unit_for(key, tuple(sorted((k, str(v)) for k, v in si.items())))


def dimension_name(units: pq.Quantity) -> str:
    """A readable name of a unit's dimension: ``'voltage'``, ``'conductance'``, or the SI form."""
    key = _dimension_key(_unit_str(units))
    for name, u in _NAMED_DIMENSIONS.items():
        if _dimension_key(_unit_str(u)) == key:
            return name
    return f"quantity in {key}"


def _si_scale(units: str) -> Fraction:
    """The SI magnitude of one ``units``, as an exact decimal fraction (1 mV -> 1/1000)."""
    scale = Fraction(1)
    for unit, power in pq.Quantity(1.0, units).dimensionality.items():
        base = Fraction(f"{float(unit.simplified.magnitude):.15g}")  # the decimal prefix, exactly
        p = Fraction(power).limit_denominator(12)
        scale *= base**p if p.denominator == 1 else Fraction(float(base) ** float(p))
    return scale


@cache
def _factor(from_units: str, to_units: str) -> Fraction:
    """Exact conversion factor between two units of one dimension."""
    return _si_scale(from_units) / _si_scale(to_units)


def _rescale(data: np.ndarray, factor: Fraction) -> np.ndarray:
    """Multiply by an exact factor with one rounding: 200 pF -> 0.2 nF, not 0.20000000000000004."""
    if factor == 1:
        return data
    if factor.numerator == 1:
        return data / float(factor.denominator)
    if factor.denominator == 1:
        return data * float(factor.numerator)
    return data * float(factor)


@cache
def _dimension_key(units: str) -> str:
    return pq.Quantity(1.0, units).simplified.dimensionality.string


def _same_dimension(a, b) -> bool:
    return _dimension_key(_unit_str(a)) == _dimension_key(_unit_str(b))


def to_internal(value, name: str, expected, finite: bool = True) -> np.ndarray:
    """Convert ``value`` into refsim's internal unit for the dimension of ``expected``.

    Parameters
    ----------
    value : quantities.Quantity or array_like
        The value given by the user, or a list or tuple of quantities (each may have its
        own unit of the dimension).  A plain number is accepted only where ``expected``
        is dimensionless.
    name : str
        The parameter's name, used in the error message.
    expected : quantities unit
        Any unit of the expected dimension (``pq.mV``, ``pq.ohm``, ``1/pq.ms`` ...);
        ``pq.dimensionless`` or ``None`` for a pure number.
    finite : bool, default True
        Refuse NaN and infinite values (and values that overflow in the conversion):
        every parameter, initial value, input and time step must be finite.  ``False``
        only where a value is read back rather than given (a monitored callable).

    Returns
    -------
    numpy.ndarray
        float64 values in the internal unit (see the module docstring).

    Raises
    ------
    UnitError
        If ``value`` has another dimension, or is a bare number where a
        dimension is required.
    ValueError
        If ``value`` is not a number (a string, say), or (``finite``) holds a NaN or an
        infinity; the message names the parameter and the first such element.
    """
    expected = pq.dimensionless if expected is None else expected
    if isinstance(value, list | tuple) and any(isinstance(v, pq.Quantity) for v in value):
        # a sequence of quantities ([1 * pq.ms, 2 * pq.ms]): each converted on its own
        return np.array([to_internal(v, name, expected, finite) for v in value], dtype=np.float64)
    needs_dimension = not _same_dimension(expected, pq.dimensionless)
    if not isinstance(value, pq.Quantity):
        if needs_dimension:
            raise UnitError(
                f"parameter '{name}' expects a {dimension_name(expected)} "
                f"(e.g. in {_unit_str(expected)}), got the bare number {_short(value)}: "
                f"attach a unit, e.g. {_short(value)} * pq.{_unit_str(expected)}"
            )
        data = _float_array(value, name)
    else:
        if not _same_dimension(value.units, expected):
            raise UnitError(
                f"parameter '{name}' expects a {dimension_name(expected)} "
                f"(e.g. in {_unit_str(expected)}), got {_short(value)} "
                f"(a {dimension_name(value.units)})"
            )
        data = _rescale(
            _float_array(value.magnitude, name),
            _factor(value.dimensionality.string, _internal_str(_unit_str(expected))),
        )
    if finite:
        require_finite(name, value, data, expected)
    return data


def _float_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array, or ``ValueError`` naming ``name`` (a string, a
    complex number, a ragged list, ``None``)."""
    if (
        isinstance(value, np.ndarray | np.generic)
        and np.iscomplexobj(value)
        or isinstance(value, complex)
    ):
        raise ValueError(f"parameter '{name}' must be real, got the complex {_short(value)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, np.exceptions.ComplexWarning):
        raise ValueError(
            f"parameter '{name}' must be a number or an array of numbers, got "
            f"{type(value).__name__} {_short(value)}"
        ) from None


def require_finite(name: str, given, data, expected) -> None:
    """Raise ``ValueError`` naming ``name`` unless every value of ``data`` (``given``, in
    internal units) is finite: a NaN or an infinity as a parameter, an initial value, an
    input or a time step would pass silently into every state it touches."""
    data = np.asarray(data)
    finite = np.isfinite(data)
    if finite.all():
        return
    if data.ndim == 0:
        raise ValueError(f"parameter '{name}' must be finite, got {_short(given)}")
    first = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite)), data.shape))
    raise ValueError(
        f"parameter '{name}' must be finite everywhere; element {first} of "
        f"shape {data.shape} is {_in_internal(data[first], expected)}"
    )


def require_sign(name: str, given, data, expected, strict: bool) -> None:
    """Raise ``ValueError`` naming ``name`` unless every value of ``data`` (``given`` in
    internal units, of the dimension of ``expected``) is ``> 0`` (``strict``) or ``>= 0``.
    A NaN fails both tests."""
    data = np.asarray(data)
    ok = data > 0 if strict else data >= 0
    if np.all(ok):
        return
    wanted = "positive (> 0)" if strict else "non-negative (>= 0)"
    if data.ndim == 0:
        raise ValueError(f"parameter '{name}' must be {wanted}, got {_short(given)}")
    first = tuple(int(i) for i in np.unravel_index(int(np.argmin(ok)), data.shape))
    if isinstance(given, pq.Quantity) and given.shape == data.shape:
        bad = _short(given[first])  # in the unit it was given in
    else:
        bad = _in_internal(data[first], expected)
    raise ValueError(
        f"parameter '{name}' must be {wanted} everywhere; element {first} of "
        f"shape {data.shape} is {bad}"
    )


def _in_internal(value, expected) -> str:
    """``value`` written with the internal unit of ``expected``'s dimension (``5.0 ms``;
    a pure number alone)."""
    if expected is None or _same_dimension(expected, pq.dimensionless):
        return str(value)
    return f"{value} {_unit_str(internal_unit(expected))}"


@cache
def _internal_str(units: str) -> str:
    return _unit_str(internal_unit(pq.Quantity(1.0, units)))


def to_quantity(data, unit) -> pq.Quantity:
    """Wrap internal-unit ``data`` as a quantity expressed in ``unit``."""
    unit_s = _unit_str(unit)
    arr = np.array(data, dtype=np.float64, copy=True)
    return pq.Quantity(_rescale(arr, _factor(_internal_str(unit_s), unit_s)), unit)


def _unit_str(unit) -> str:
    if isinstance(unit, pq.Quantity):
        s = unit.dimensionality.string
        return "dimensionless" if s == "dimensionless" else s
    return str(unit)


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
