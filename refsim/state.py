"""A state variable of a population (:class:`State`): its raw array in internal units,
read and written with its unit through :attr:`State.value`."""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ, fmath
from refsim.units import _same_dimension, to_internal, to_quantity

__all__ = ["State"]


class State:
    """One state variable of a population.

    Parameters
    ----------
    data : array_like
        Initial values in refsim's internal unit for ``unit``'s dimension.
    unit : quantities unit, optional
        The unit :attr:`value` reports in (e.g. ``pq.mV``); ``None`` for a pure number.
    name : str
        The variable's name, used in error messages.

    Attributes
    ----------
    data : numpy.ndarray
        The raw array in internal units, float64 (float32 when built under
        ``refsim.environ.set(precision=32)``); kernels read and write it.  An array
        assigned to it is stored with its subnormal numbers as 0
        (:func:`refsim.fmath.flush_subnormals`).
    """

    __slots__ = ("_data", "unit", "name")

    def __init__(self, data, unit=None, name: str = "state", dtype=None):
        self.data = np.array(data, dtype=environ.dftype() if dtype is None else dtype)
        self.unit = unit
        self.name = name

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, new: np.ndarray) -> None:
        # a subnormal number is stored as 0, as the compiled loops store it
        self._data = fmath.flush_subnormals(new)

    @property
    def value(self) -> pq.Quantity | np.ndarray:
        """A copy of the values, as a quantity in :attr:`unit`."""
        if self.unit is None:
            return self.data.copy()
        return to_quantity(self.data, self.unit)

    @value.setter
    def value(self, new) -> None:
        data = to_internal(new, self.name, self.unit)
        self.data = np.array(np.broadcast_to(data, self.data.shape), dtype=self.data.dtype)

    @property
    def is_event_time(self) -> bool:
        """Whether it holds the times of events (a time unit: ``last_spike_time``,
        ``spike_arrival_time``), which stay float64 as the clock at any precision."""
        return self.unit is not None and _same_dimension(self.unit, pq.ms)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        unit = "" if self.unit is None else f", unit={pq.Quantity(1.0, self.unit).dimensionality}"
        return f"State({self.name}, shape={self.data.shape}{unit})"
