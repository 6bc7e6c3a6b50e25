"""Initializers for parameters and states (mirroring ``braintools.init``).

Each initializer is called with a shape and returns a :mod:`quantities` array;
random ones draw from :func:`refsim.random.default_rng` unless given a ``seed``.

>>> import quantities as pq, refsim
>>> refsim.init.Normal(-60., 10., unit=pq.mV)((3,)).units
array(1.) * mV
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import random as _random

__all__ = ["Initializer", "Constant", "Normal", "Uniform", "LogNormal", "param", "unit_of"]


def _with_unit(value, unit, what: str = "value") -> pq.Quantity | np.ndarray:
    """``value`` in ``unit`` (where given), checked to be finite: ``what`` names it."""
    if unit is not None:
        value = value.rescale(unit) if isinstance(value, pq.Quantity) else pq.Quantity(value, unit)
    magnitude = value.magnitude if isinstance(value, pq.Quantity) else value
    try:
        finite = np.all(np.isfinite(np.asarray(magnitude, dtype=np.float64)))
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number or a quantity, got {value!r}") from None
    if not finite:
        raise ValueError(f"{what} must be finite, got {value}")
    return value


class Initializer:
    """Base class: ``init(shape) -> array`` (a quantity when the initializer has a unit)."""

    def __call__(self, shape: tuple[int, ...]):  # pragma: no cover - abstract
        raise NotImplementedError

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed) if self.seed is not None else _random.default_rng()

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class Constant(Initializer):
    """Every element equal to ``value`` (a quantity or a number)."""

    def __init__(self, value, unit=None):
        self.value = _with_unit(value, unit, "Constant: value")
        self.seed = None

    def __call__(self, shape):
        v = self.value
        if isinstance(v, pq.Quantity):
            return pq.Quantity(np.broadcast_to(v.magnitude, shape).astype(np.float64), v.units)
        return np.broadcast_to(np.asarray(v, dtype=np.float64), shape).copy()

    def __repr__(self) -> str:
        return f"Constant({self.value})"


class Normal(Initializer):
    """Gaussian values: ``mean + std * N(0, 1)``.

    Parameters
    ----------
    mean, std : float or quantity
        Mean and standard deviation (numbers in ``unit`` when ``unit`` is given).
    unit : quantities unit, optional
        The unit of ``mean`` and ``std`` when they are plain numbers.
    seed : int, optional
        A private seed; by default the shared state stream is used.
    """

    def __init__(self, mean, std, unit=None, seed: int | None = None):
        self.mean = _with_unit(mean, unit, "Normal: mean")
        self.std = _with_unit(std, unit, "Normal: std")
        if not np.all(np.asarray(pq.Quantity(self.std).magnitude) >= 0):
            raise ValueError(f"Normal: std must be non-negative (>= 0), got {self.std}")
        self.unit = unit
        self.seed = seed

    def __call__(self, shape):
        z = self._rng().standard_normal(shape)
        if isinstance(self.mean, pq.Quantity):
            std = pq.Quantity(self.std).rescale(self.mean.units).magnitude
            return pq.Quantity(self.mean.magnitude + std * z, self.mean.units)
        return self.mean + self.std * z

    def __repr__(self) -> str:
        return f"Normal(mean={self.mean}, std={self.std}, seed={self.seed})"


class Uniform(Initializer):
    """Uniform values on ``[low, high)``; ``unit`` as for :class:`Normal`."""

    def __init__(self, low, high, unit=None, seed: int | None = None):
        self.low = _with_unit(low, unit, "Uniform: low")
        self.high = _with_unit(high, unit, "Uniform: high")
        high_in_low = (
            pq.Quantity(self.high).rescale(self.low.units).magnitude
            if isinstance(self.low, pq.Quantity)
            else self.high
        )
        if not np.all(np.asarray(high_in_low) >= np.asarray(pq.Quantity(self.low).magnitude)):
            raise ValueError(
                f"Uniform: high must not be below low, got low={self.low}, high={self.high}"
            )
        self.unit = unit
        self.seed = seed

    def __call__(self, shape):
        u = self._rng().random(shape)
        if isinstance(self.low, pq.Quantity):
            high = pq.Quantity(self.high).rescale(self.low.units).magnitude
            low = self.low.magnitude
            return pq.Quantity(low + (high - low) * u, self.low.units)
        return self.low + (self.high - self.low) * u

    def __repr__(self) -> str:
        return f"Uniform(low={self.low}, high={self.high}, seed={self.seed})"


def param(value, shape: tuple[int, ...]):
    """Evaluate ``value`` for ``shape``: call an initializer, broadcast an array or a scalar.

    The result keeps its unit (a quantity stays a quantity); the shape is
    checked by broadcasting, so a wrong-sized array raises ``ValueError``.
    """
    if isinstance(value, Initializer):
        return value(shape)
    if callable(value) and not isinstance(value, (pq.Quantity, np.ndarray)):
        return value(shape)
    if isinstance(value, pq.Quantity):
        try:
            mag = np.broadcast_to(value.magnitude, shape)
        except ValueError:
            raise ValueError(
                f"a value of shape {np.shape(value)} cannot be broadcast to the population "
                f"shape {shape}"
            ) from None
        return pq.Quantity(np.array(mag, dtype=np.float64), value.units)
    try:
        return np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), shape))
    except ValueError:
        raise ValueError(
            f"a value of shape {np.shape(value)} cannot be broadcast to the population "
            f"shape {shape}"
        ) from None


def unit_of(value):
    """The unit an initializer or value produces, without drawing anything (None if unitless)."""
    for attr in ("value", "mean", "low"):
        if isinstance(value, Initializer) and hasattr(value, attr):
            value = getattr(value, attr)
            break
    return value.units if isinstance(value, pq.Quantity) else None


class LogNormal(Initializer):
    """Log-normal values: ``exp(mu + sigma * N(0, 1))``, times ``unit``.

    Parameters
    ----------
    mu, sigma : float
        Mean and standard deviation of the underlying normal (of the log).
    unit : quantities unit, optional
        The unit of the result.
    seed : int, optional
    """

    def __init__(self, mu: float, sigma: float, unit=None, seed: int | None = None):
        self.mu = float(_with_unit(mu, None, "LogNormal: mu"))
        self.sigma = float(_with_unit(sigma, None, "LogNormal: sigma"))
        self.unit, self.seed = unit, seed
        if not self.sigma >= 0:
            raise ValueError(f"LogNormal: sigma must be non-negative (>= 0), got {sigma}")
        self.value = None if unit is None else pq.Quantity(1.0, unit)  # for unit_of

    def __call__(self, shape):
        values = np.exp(self.mu + self.sigma * self._rng().standard_normal(shape))
        return values if self.unit is None else pq.Quantity(values, self.unit)

    def __repr__(self) -> str:
        return f"LogNormal(mu={self.mu}, sigma={self.sigma}, unit={self.unit}, seed={self.seed})"
