"""What a run records: monitors, the result of a run, and recordings on disk.

* :class:`StateMonitor` records a state (or a function of the model) every ``every`` steps
  into a buffer of one row per record; :class:`SpikeMonitor` records (step, index) pairs.
* :class:`RunResult` is what :func:`refsim.run` returns: ``result[name]`` per monitor.
* ``refsim.run(..., record_to=folder)`` streams the recordings to ``folder`` instead of
  memory: a state monitor's buffer is a memory-mapped ``NAME.npy`` (the system writes it
  out as it fills, so it may exceed the memory; the disk's free space is checked first),
  a spike monitor's pairs are appended to ``NAME.spikes.npy`` whenever a million of them
  are pending, and ``run.json`` says what the folder holds.  :func:`load_result` reads the
  folder back as the same :class:`RunResult`.

The backends fill monitors through :meth:`StateMonitor.allocate` /
:meth:`StateMonitor.filled` and :meth:`SpikeMonitor.add`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import quantities as pq

from refsim import _version, environ
from refsim.module import Neuron, State
from refsim.resources import ResourceError, format_bytes, require_memory
from refsim.units import to_internal, to_quantity

__all__ = ["StateMonitor", "SpikeMonitor", "RunResult", "load_result", "RECORDING_FORMAT"]

#: the layout of a recording folder (``run.json``'s ``format``)
RECORDING_FORMAT = 1
#: spike pairs a streamed spike monitor holds before it appends them to its file
_PENDING_SPIKES = 1 << 20


class StateMonitor:
    """Record a state (or any function returning an array) every ``every`` steps.

    Parameters
    ----------
    target : State or callable
        A state such as ``neuron.V`` (read each step through ``.data``), or a
        callable returning an array (or a quantity) of fixed shape.
    indices : array of int, optional
        Record only these elements (along the last axis).
    every : int
        Record one step in ``every``; the first recorded step is the first of the run.
    unit : quantities unit, optional
        Unit of the result for a callable returning internal-unit arrays.
    reduce : {'mean', 'sum'}, optional
        Record one number per step: the mean or the sum over the (selected) elements,
        e.g. the population-average potential, at the memory of one value per record.
    """

    def __init__(
        self,
        target: State | Callable,
        indices=None,
        every: int = 1,
        unit=None,
        reduce: str | None = None,
    ):
        if int(every) < 1:
            raise ValueError(f"every must be a positive number of steps, got {every}")
        if reduce not in (None, "mean", "sum"):
            raise ValueError(f"reduce must be 'mean', 'sum' or None, got {reduce!r}")
        self.target = target
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self.every = int(every)
        self.unit = unit
        self.reduce = reduce
        self._buffer: np.ndarray | None = None
        self._first, self._n, self._n_records = 0, 0, 0
        self._file: Path | None = None  # where the buffer is mapped, when streamed
        self._resumed_at = 0  # the records made before a compiled loop took over

    def _read(self) -> np.ndarray:
        if isinstance(self.target, State):
            data = self.target.data
        else:
            data = self.target()
            if isinstance(data, pq.Quantity):
                self.unit = self.unit or data.units
                data = to_internal(data, "monitored value", data.units, finite=False)
        data = data if self.indices is None else data[..., self.indices]
        if self.reduce == "mean":
            return np.mean(data)
        return np.sum(data) if self.reduce == "sum" else data

    def expected_bytes(self, n_steps: int | None = None) -> int | None:
        """Size of the buffer this monitor will allocate for a run of ``n_steps`` (default:
        the run it was started for); None if not known before the run (a callable)."""
        records = self._n_records if n_steps is None else -(-n_steps // self.every)
        if self.reduce is not None:
            return 8 * records
        if not isinstance(self.target, State):
            return None
        n = (
            self.target.data.size
            if self.indices is None
            else self.indices.size * (self.target.data.size // self.target.data.shape[-1])
        )
        return 8 * records * n

    def probe_bytes(self, n_steps: int, first_step: int, dt: float) -> int | None:
        """Size of a callable's buffer for ``n_steps``, from one read of it at the first
        step's time (None where that read fails: it is then checked at the first record)."""
        try:
            with environ._internal_context(t=first_step * dt, i=first_step):
                shape = np.shape(self._read())
        except Exception:  # noqa: BLE001 - a callable that needs the run; checked later
            return None
        return 8 * -(-n_steps // self.every) * int(np.prod(shape))

    def _start(
        self, n_steps: int, first_step: int, folder: Path | None = None, name: str = ""
    ) -> None:
        self._n_records = -(-n_steps // self.every)
        self._first = first_step
        self._buffer = None  # allocated at the first record, once the shape is known
        self._n = self._resumed_at = 0
        self._file = None if folder is None else folder / f"{name}.npy"

    def allocate(self, shape: tuple) -> np.ndarray:
        """The buffer of this run's records, ``(records, *shape of one record)`` float64,
        in memory or, for a run streamed to disk, mapped to its file; the backend fills
        rows and then calls :meth:`filled`.  After :meth:`_resume`, the rows not yet
        recorded of the buffer the first steps started."""
        if self._resumed_at:
            if self._buffer.shape[1:] != tuple(shape):
                raise ValueError(
                    f"a monitor's records change shape from {self._buffer.shape[1:]} to {shape}"
                )
            return self._buffer[self._resumed_at :]
        shape = (self._n_records, *shape)
        if self._file is not None:
            self._buffer = np.lib.format.open_memmap(
                self._file, mode="w+", dtype=np.float64, shape=shape
            )
        else:
            require_memory(
                8 * np.prod(shape, dtype=float),
                "a monitor's recording",
                "record fewer steps (every=k), elements or a reduction, or "
                "stream it to disk (refsim.run(..., record_to=folder))",
            )
            self._buffer = np.empty(shape, dtype=np.float64)
        return self._buffer

    def filled(self, n: int) -> None:
        """The backend filled the first ``n`` rows of :meth:`allocate`'s buffer."""
        self._n = self._resumed_at + int(n)
        if isinstance(self._buffer, np.memmap):
            self._buffer.flush()

    def _resume(self) -> None:
        """A compiled loop records the rest of this run after the records made so far."""
        self._resumed_at = self._n

    def _record(self, i: int) -> None:
        if i % self.every == 0:
            value = self._read()
            if self._buffer is None:
                self.allocate(np.shape(value))
            self._buffer[self._n] = value
            self._n += 1

    @property
    def steps(self) -> np.ndarray:
        """The global step indices that were recorded."""
        return self._first + np.arange(self._n) * self.every

    @property
    def data(self) -> np.ndarray:
        """The records in internal units, shape ``(n_records, ...)``, without a copy: a
        memory map for a run streamed to disk (read a part of it, ``data[a:b]``)."""
        if self._buffer is not None:
            return self._buffer[: self._n]
        shape = np.shape(self._read()) if isinstance(self.target, State) else ()
        return np.zeros((0, *shape))  # no record: a State's shape is known, a callable's not

    @property
    def record_unit(self):
        """The unit :attr:`values` reports in (None: a pure number)."""
        return self.target.unit if isinstance(self.target, State) else self.unit

    @property
    def values(self):
        """The recording, shape ``(n_records, ...)``, as a quantity where a unit is known
        (a copy in memory: for a recording streamed to disk, :attr:`data` reads parts)."""
        unit = self.record_unit
        return self.data.copy() if unit is None else to_quantity(self.data, unit)


class SpikeMonitor:
    """Record the spikes of a neuron population as (step, index) pairs.

    Parameters
    ----------
    neuron : Neuron
        Its ``get_spike()`` is read after every step.
    indices : array of int, optional
        Record only these neurons (flat indices).
    """

    def __init__(self, neuron: Neuron, indices=None):
        self.neuron = neuron
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self._chunks_steps: list[np.ndarray] = []
        self._chunks_idx: list[np.ndarray] = []
        self._pending = 0
        self._dt_ms: float | None = None  # the dt of the run that recorded, set at its start
        self._file: Path | None = None  # where the pairs go, when streamed
        self._written = 0  # pairs in the file

    def _start(
        self, n_steps: int, first_step: int, folder: Path | None = None, name: str = ""
    ) -> None:
        self._first = first_step
        self._dt_ms = environ.dt_ms()  # the run's, which times() converts with
        self._chunks_steps, self._chunks_idx, self._pending = [], [], 0
        self._file, self._written = None, 0
        if folder is not None:
            self._file = folder / f"{name}.spikes.npy"
            self._write_header(0)

    def _record(self, i: int) -> None:
        spikes = self.neuron.get_spike().reshape(-1)
        if self.indices is not None:
            spikes = spikes[self.indices]
        fired = np.flatnonzero(spikes)
        if fired.size:
            if self.indices is not None:
                fired = self.indices[fired]
            self._keep(np.full(fired.size, self._first + i, dtype=np.int64), fired)

    def add(self, steps: np.ndarray, index: np.ndarray) -> None:
        """Record a compiled run's spikes of this population: (global step, neuron index)
        pairs by step, indices ascending within a step; kept in the oracle's order, which
        lists the neurons of ``indices`` in the order given."""
        if self.indices is not None:
            position = np.full(self.neuron.num, -1, dtype=np.int64)
            position[self.indices] = np.arange(self.indices.size)
            keep = position[index] >= 0
            steps, index = steps[keep], index[keep]
            order = np.lexsort((position[index], steps))
            steps, index = steps[order], index[order]
        if steps.size:
            self._keep(np.asarray(steps, dtype=np.int64), np.asarray(index, dtype=np.int64))

    def _keep(self, steps: np.ndarray, index: np.ndarray) -> None:
        self._chunks_steps.append(steps)
        self._chunks_idx.append(index)
        self._pending += steps.size
        if self._file is not None and self._pending >= _PENDING_SPIKES:
            self.flush()

    def flush(self) -> None:
        """Append the pending pairs to the file of a streamed recording (none otherwise)."""
        if self._file is None or not self._pending:
            return
        pairs = np.stack(
            [np.concatenate(self._chunks_steps), np.concatenate(self._chunks_idx)], axis=1
        )
        with open(self._file, "r+b") as file:
            file.seek(0, os.SEEK_END)
            file.write(pairs.astype("<i8").tobytes())
        self._written += pairs.shape[0]
        self._write_header(self._written)
        self._chunks_steps, self._chunks_idx, self._pending = [], [], 0

    def _write_header(self, rows: int) -> None:
        """An ``.npy`` header for ``rows`` pairs, in place (its size never changes: the
        format pads it to 128 bytes)."""
        header = {"descr": "<i8", "fortran_order": False, "shape": (rows, 2)}
        mode = "r+b" if self._file.exists() and rows else "wb"
        with open(self._file, mode) as file:
            np.lib.format.write_array_header_1_0(file, header)

    def _pairs(self) -> np.ndarray:
        self.flush()
        held = (
            np.stack([np.concatenate(self._chunks_steps), np.concatenate(self._chunks_idx)], axis=1)
            if self._chunks_steps
            else np.zeros((0, 2), np.int64)
        )
        if self._file is None or not self._written:
            return held
        return np.concatenate([np.load(self._file, mmap_mode="r"), held])

    @property
    def steps(self) -> np.ndarray:
        """Global step index of each spike."""
        if self._file is None:
            return (
                np.concatenate(self._chunks_steps) if self._chunks_steps else np.zeros(0, np.int64)
            )
        return np.ascontiguousarray(self._pairs()[:, 0])

    @property
    def indices_fired(self) -> np.ndarray:
        """Neuron index of each spike."""
        if self._file is None:
            return np.concatenate(self._chunks_idx) if self._chunks_idx else np.zeros(0, np.int64)
        return np.ascontiguousarray(self._pairs()[:, 1])

    def times(self, dt=None) -> pq.Quantity:
        """Spike times ``step * dt`` in ms, with the ``dt`` of the run that recorded them
        (wherever this is called), or ``dt`` where given."""
        if dt is not None:
            dt_ms = float(to_internal(dt, "dt", pq.ms))
        else:
            dt_ms = self._dt_ms if self._dt_ms is not None else environ.dt_ms()
        return pq.Quantity(self.steps * dt_ms, pq.ms)

    @property
    def count(self) -> int:
        """Total number of spikes."""
        return self._written + self._pending

    @property
    def values(self):
        return self


class RunResult(Mapping):
    """What :func:`refsim.run` recorded: ``result[name]`` per monitor, plus timing.

    State monitors give quantities of shape ``(n_records, ...)``; spike
    monitors give the :class:`SpikeMonitor` itself (``.steps``, ``.indices_fired``,
    ``.times()``, ``.count``).  :attr:`n_steps` steps were done, from global step
    :attr:`first_step`; :attr:`t` their times and :attr:`next_t` the time to continue
    from.  Timing, in seconds: ``wall_s`` the steps themselves, ``compile_s`` compiling
    (or loading from the cache) a compiled run's loop, ``plan_s`` reading the network into
    the arrays of a compiled run (sorting its connectivity by target, on numba); 0.0 where
    they do not apply.  :attr:`folder`: where the recordings were streamed (None: memory).
    """

    def __init__(
        self,
        monitors: dict,
        first_step: int,
        n_steps: int,
        dt_ms: float,
        wall_s: float,
        engine: str = "numpy",
        compile_s: float = 0.0,
        plan_s: float = 0.0,
        folder: Path | None = None,
    ):
        self.monitors = monitors
        self.first_step = first_step
        self.n_steps = n_steps
        self.dt_ms = dt_ms
        self.wall_s = wall_s
        self.engine = engine
        self.compile_s = compile_s
        self.plan_s = plan_s
        self.folder = folder

    @property
    def t(self) -> pq.Quantity:
        """The time of each step done (ms), computed when asked for: a run of 1e9 steps
        holds no array of its times."""
        return pq.Quantity((self.first_step + np.arange(self.n_steps)) * self.dt_ms, pq.ms)

    @property
    def next_t(self) -> pq.Quantity:
        """The time after the last step done: ``t_start`` of a run that continues this one."""
        return pq.Quantity((self.first_step + self.n_steps) * self.dt_ms, pq.ms)

    def __getitem__(self, name: str):
        return self.monitors[name].values

    def __iter__(self):
        return iter(self.monitors)

    def __len__(self) -> int:
        return len(self.monitors)

    def __repr__(self) -> str:
        return (
            f"RunResult({self.n_steps} steps, monitors={list(self.monitors)}, "
            f"engine {self.engine}, wall {self.wall_s:.3f} s)"
        )


# -- recordings on disk -------------------------------------------------------------------


def prepare_folder(folder, mons: dict, n_steps: int) -> Path:
    """Create ``folder`` for a run streamed to disk (refusing one that holds another
    recording) and check the disk has room for the state monitors."""
    folder = Path(folder)
    for name in mons:
        if not name or "/" in name or name.startswith(".") or os.sep in name:
            raise ValueError(f"monitor name {name!r} cannot name a file in {folder}")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"record_to = {folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "run.json"
    if manifest.exists():
        raise ValueError(
            f"record_to = {folder} holds a recording already (run.json): give "
            "another folder, or remove it"
        )
    need = sum(m.expected_bytes(n_steps) or 0 for m in mons.values() if isinstance(m, StateMonitor))
    free = shutil.disk_usage(folder).free
    if need > free:
        raise ResourceError(
            f"refsim.run(record_to={folder}): its state monitors need "
            f"{format_bytes(need)} on disk, {format_bytes(free)} free: record "
            "fewer steps or elements, or choose another disk"
        )
    return folder


def finish_folder(folder: Path, result: RunResult) -> None:
    """Write the last pending spikes and ``run.json`` (what the folder holds), after a run
    that ended whichever way."""
    entries = {}
    for name, mon in result.monitors.items():
        if isinstance(mon, SpikeMonitor):
            mon.flush()
            entries[name] = {
                "kind": "spikes",
                "file": f"{name}.spikes.npy",
                "count": mon.count,
                "dt_ms": mon._dt_ms,
            }
        else:
            if mon._buffer is not None and isinstance(mon._buffer, np.memmap):
                mon._buffer.flush()
            unit = mon.record_unit
            entries[name] = {
                "kind": "state",
                "file": f"{name}.npy",
                "records": mon._n,
                "first_step": mon._first,
                "every": mon.every,
                "unit": None if unit is None else _unit_text(unit),
            }
    manifest = {
        "format": RECORDING_FORMAT,
        "refsim": _version.__version__,
        "first_step": result.first_step,
        "n_steps": result.n_steps,
        "dt_ms": result.dt_ms,
        "engine": result.engine,
        "wall_s": result.wall_s,
        "monitors": entries,
    }
    part = folder / ".run.json.part"
    part.write_text(json.dumps(manifest, indent=1))
    os.replace(part, folder / "run.json")


def _unit_text(unit) -> str:
    return pq.Quantity(1.0, unit).dimensionality.string


class _StoredState(StateMonitor):
    """A state monitor read back from a recording folder."""

    def __init__(self, path: Path, entry: dict):
        self.target, self.indices, self.reduce = None, None, None
        self.every, self._first, self._n = entry["every"], entry["first_step"], entry["records"]
        self.unit = None if entry["unit"] is None else pq.Quantity(1.0, entry["unit"]).units
        self._file = path
        self._buffer = np.load(path, mmap_mode="r") if self._n else np.zeros((0,))

    @property
    def record_unit(self):
        return self.unit


class _StoredSpikes(SpikeMonitor):
    """A spike monitor read back from a recording folder."""

    def __init__(self, path: Path, entry: dict):
        self.neuron, self.indices = None, None
        self._chunks_steps, self._chunks_idx, self._pending = [], [], 0
        self._dt_ms, self._file, self._written = entry["dt_ms"], path, entry["count"]


def load_result(folder) -> RunResult:
    """A run streamed to ``folder`` (``refsim.run(..., record_to=folder)``), read back as
    the :class:`RunResult` it returned; state recordings are memory maps (``result.
    monitors[name].data``), read when asked for."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder} holds no refsim recording (run.json: {exc})") from None
    if manifest.get("format") != RECORDING_FORMAT:
        raise ValueError(
            f"{folder}: recording format {manifest.get('format')!r}; this refsim "
            f"reads format {RECORDING_FORMAT}"
        )
    monitors = {}
    for name, entry in manifest["monitors"].items():
        path = folder / entry["file"]
        monitors[name] = (_StoredSpikes if entry["kind"] == "spikes" else _StoredState)(path, entry)
    return RunResult(
        monitors,
        manifest["first_step"],
        manifest["n_steps"],
        manifest["dt_ms"],
        manifest["wall_s"],
        manifest["engine"],
        folder=folder,
    )
