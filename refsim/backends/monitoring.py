"""What a compiled run hands over: the states the stability check scans and what it
found (:func:`checked_vectors`, :func:`first_found`), the monitors a plan can fill
(:func:`monitored`), and their records (:func:`add_spikes`, :func:`deliver`), through the
monitors' public interface (:mod:`refsim.recording`)."""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim.backends.codes import NotCompilable
from refsim.backends.plan import Plan, give_back
from refsim.backends.reading import hand_back
from refsim.capture import state_returned_by
from refsim.module import State
from refsim.recording import SpikeMonitor, StateMonitor

__all__ = ["add_spikes", "checked_vectors", "deliver", "first_found", "monitored"]
from refsim.stability import Finding, bounds_of


def checked_vectors(pl: Plan) -> tuple[list, np.ndarray, list]:
    """What the stability check of a compiled run scans (:mod:`refsim.stability`): every
    population's V, its extra states and its synaptic rows, population by population;
    their bounds (rows of (low, high), internal units); and the (module, state name) each
    reports as."""
    vectors, bounds, names = [], [], []
    for p, pop in enumerate(pl.pops):
        extra_names = pl.neurons.extra_names[p]
        owned = [(pop, "V", pl.neurons.V[p])]
        owned += [(pop, name, pl.neurons.extra[p][r]) for r, name in enumerate(extra_names)]
        owned += [
            (module, name, pl.rows.g[p][r]) for r, (module, name) in enumerate(pl.rows.owner[p])
        ]
        for module, name, vector in owned:
            vectors.append(vector)
            bounds.append(bounds_of(module, name))
            names.append((module, name, getattr(getattr(module, name, None), "unit", None)))
    return vectors, np.array(bounds, dtype=np.float64).reshape(-1, 2), names


def first_found(
    found: np.ndarray, found_value: np.ndarray, names: list, dt: float
) -> Finding | None:
    """The instability a compiled run's parts noted (rows of step, checked vector, index;
    -1 where none), as the oracle's check would report it: the first in the order of
    :func:`checked_vectors`, then of the index; None if none was."""
    rows = [k for k in range(found.shape[0]) if found[k, 1] >= 0]
    if not rows:
        return None
    k = min(rows, key=lambda r: (found[r, 1], found[r, 2]))
    step, vector, index = (int(x) for x in found[k])
    module, name, unit = names[vector]
    return Finding(
        module,
        name,
        (index,),
        float(found_value[k]),
        unit,
        step,
        step * dt,
        bounds_of(module, name),
    )


def monitored(pl: Plan, mons: dict) -> tuple[set, list]:
    """What the monitors of a compiled run read: the indices of the populations whose
    spikes are recorded, and per state monitor ``(monitor, the plan's state array,
    selected indices)``.  Raises :class:`NotCompilable` for a monitor of something the
    plan does not hold.  A reducing monitor (``reduce='mean'`` or ``'sum'``) records the
    selected elements like the others; :func:`records_of` reduces them."""
    recorded, readers = set(), []
    for name, mon in mons.items():
        if isinstance(mon, SpikeMonitor):
            where = [p for p, pop in enumerate(pl.pops) if pop is mon.neuron]
            if not where:
                raise NotCompilable(f"monitor '{name}' records a population outside the network")
            recorded.add(where[0])
        elif isinstance(mon, StateMonitor):
            try:
                data = _state_data(mon)
            except NotCompilable as exc:
                raise NotCompilable(f"monitor '{name}': {exc}") from None
            if data is None or id(data) not in pl.held:
                raise NotCompilable(
                    f"monitor '{name}' reads something other than a state of a compiled component"
                )
            sel = np.arange(data.size) if mon.indices is None else mon.indices
            readers.append((mon, data, np.ascontiguousarray(sel, dtype=np.int64)))
        else:  # pragma: no cover - run() only makes these two kinds
            raise NotCompilable(f"monitor '{name}' is of an unknown kind")
    return recorded, readers


def _state_data(mon: StateMonitor):
    """The array of the state ``mon`` records: its State's, or, for a callable, the array
    it returns where that is a state's ``.data`` itself, else the state whose ``.value``
    it returns (:func:`refsim.capture.state_returned_by`; the monitor then takes that
    value's unit, as its first record on the NumPy path would)."""
    target = mon.target
    if isinstance(target, State) or not callable(target):
        return getattr(target, "data", None)
    try:  # outside a run's step: a callable that needs one is left to the NumPy steps
        value = target()
        if isinstance(value, np.ndarray) and not isinstance(value, pq.Quantity):
            return value  # a state's .data, if the plan holds it (checked by the caller)
        state, unit = state_returned_by(target)
    except NotCompilable:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the user's callable raises
        raise NotCompilable(
            f"its callable raised {type(exc).__name__} ({exc}) when read before the run"
        ) from None
    mon.unit = mon.unit or unit
    return state.data


def record_shape(mon: StateMonitor, sel: np.ndarray) -> tuple:
    """The shape of one of ``mon``'s records: its selected elements, or () when it reduces
    them to one number."""
    return () if mon.reduce is not None else (sel.size,)


def records_of(mon: StateMonitor, rows: np.ndarray, single: bool) -> np.ndarray:
    """What ``mon`` keeps of ``rows`` (one row per recorded step, its selected elements as
    the compiled loop copied them): the rows, or for a reducing monitor one number per row,
    ``np.mean`` or ``np.sum`` of the row in the states' own precision (float32 in a float32
    network, ``single``), as the NumPy path reduces the state itself: the same bits (NumPy's
    sum does not depend on where the row lies in memory)."""
    if mon.reduce is None:
        return rows
    reduce = np.mean if mon.reduce == "mean" else np.sum
    values = rows.astype(np.float32) if single else rows
    return np.array([reduce(row) for row in values], dtype=np.float64).reshape(-1)


def deliver(pl: Plan, mons: dict, spikes_of, state_records) -> None:
    """Hand a compiled run's recordings to the monitor objects, give each state of a
    float32 network back in float32, bind each output to its synapse's (now private)
    output array, and tell each delay where its ring buffer now stands.

    ``spikes_of(p)`` gives population ``p``'s (steps, indices) not yet handed over, in step
    order, indices ascending within a step (:meth:`SpikeMonitor.add`); ``state_records``
    pairs each state monitor with the number of rows of its buffer
    (:meth:`StateMonitor.allocate`) filled.
    """
    add_spikes(pl, mons, spikes_of)
    for mon, count in state_records:
        mon.filled(count)
    give_back(pl.held, pl.single)  # a float32 network's states: float32 again
    for out, g in pl.bound:
        out.bind_data(g.astype(np.float32) if pl.single else g)
    for delay, at in zip(
        pl.feeds.delay + pl.pre.delay, list(pl.feeds.ring_at) + list(pl.pre.ring_at), strict=True
    ):
        hand_back(delay, at)


def add_spikes(pl: Plan, mons: dict, spikes_of, populations=None) -> None:
    """Give each spike monitor its population's pairs ``spikes_of(p)`` (of the
    ``populations`` given, default all): at the end of a run, or whenever a compiled loop's
    spike buffer is full."""
    for mon in mons.values():
        if not isinstance(mon, SpikeMonitor):
            continue
        p = next(k for k, pop in enumerate(pl.pops) if pop is mon.neuron)
        if populations is None or p in populations:
            mon.add(*spikes_of(p))
