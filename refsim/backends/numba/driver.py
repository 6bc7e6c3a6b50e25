"""The run of a planned network (:func:`run_compiled`): the tables the loop reads, the
threads (:func:`threads_for`), the chunks of steps between which a progress bar moves,
a Ctrl-C is heard and full spike buffers are emptied."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import TYPE_CHECKING

import numba
import numpy as np

from refsim.backends.codes import NO_DELAY_KIND as _NO_DELAY
from refsim.backends.drives import drive_rows
from refsim.backends.monitoring import (
    add_spikes,
    checked_vectors,
    deliver,
    first_found,
    monitored,
    record_shape,
    records_of,
)
from refsim.backends.numba.declared import addresses as declared_addresses
from refsim.backends.numba.support import (
    array_table,
)
from refsim.backends.plan import Plan, count_draws, poisson_tables, usable_cores

if TYPE_CHECKING:
    from refsim.interrupt import CtrlC
    from refsim.stability import Finding

from refsim.backends.numba.cache import _compile_lock, compile_notice
from refsim.backends.numba.loop import _BLOCK, _advance
from refsim.backends.numba.prepare import (
    _cut_rows,
    _decay_factors,
    _dual_factors,
    _linear_exprel,
    lif_constants,
    passes_used,
)
from refsim.backends.numba.propagate import _list_fired
from refsim.backends.numba.support import _share

#: the fewest neurons per thread worth the barriers (two or three a step, 0.3-0.5 us in all)
MIN_NEURONS_PER_THREAD = 1000


#: entries of a spike record's first buffers (steps and indices), at least four steps of
#: the population firing at once; the loop stops before a step that could fill them and
#: :func:`run_compiled` doubles them
_FIRST_SPIKES = 1 << 20


def _spike_buffers(pl: Plan, recorded: set, n_steps: int):
    """Per population: step and index buffers when a monitor records it (``recorded``),
    else empty; and the count of pairs in each."""
    steps, index = [], []
    for p, pop in enumerate(pl.pops):
        size = 0
        if p in recorded:
            size = max(4 * pop.num, min(pop.num * n_steps, _FIRST_SPIKES))
        steps.append(np.zeros(size, dtype=np.int64))
        index.append(np.zeros(size, dtype=np.int64))
    return steps, index, np.zeros(len(pl.pops), dtype=np.int64)


class _StateRecords:
    """The state monitors of a compiled run.  The loop copies each one's selected elements
    into its row of ``buffers`` at each recorded step (``count`` rows filled): a plain
    monitor's buffer is its own, for the whole run; a reducing one's holds a chunk of
    steps, reduced into its own after each chunk (:meth:`move`, :func:`records_of`)."""

    def __init__(self, readers: list, chunk: int, single: bool):
        self.mons = [mon for mon, _, _ in readers]
        self.sources = [source for _, source, _ in readers]
        self.indices = [sel for _, _, sel in readers]
        self.every = np.array([mon.every for mon in self.mons], dtype=np.int64)
        self.own = [mon.allocate(record_shape(mon, sel)) for mon, _, sel in readers]
        self.buffers = [
            own if mon.reduce is None else np.zeros((-(-chunk // mon.every) + 1, sel.size))
            for own, (mon, _, sel) in zip(self.own, readers, strict=True)
        ]
        self.count = np.zeros(len(self.mons), np.int64)
        self.moved = [0] * len(self.mons)  # a reducing monitor's records reduced so far
        self.single = single
        self.reducing = any(mon.reduce is not None for mon in self.mons)

    def move(self) -> None:
        """Reduce the rows the loop filled since the last call into each reducing
        monitor's own buffer, and empty its chunk."""
        for m, mon in enumerate(self.mons):
            if mon.reduce is not None:
                n, at = int(self.count[m]), self.moved[m]
                self.own[m][at : at + n] = records_of(mon, self.buffers[m][:n], self.single)
                self.moved[m], self.count[m] = at + n, 0

    def filled(self) -> list:
        """(monitor, records filled) of each, for :func:`deliver`."""
        return [
            (mon, self.moved[m] if mon.reduce is not None else int(self.count[m]))
            for m, mon in enumerate(self.mons)
        ]


@contextlib.contextmanager
def _sigint_blocked():
    """SIGINT blocked in this thread (POSIX), and so in the threads it starts."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def threads_for(pl: Plan) -> int:
    """How many threads run a planned network: Numba's thread count
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), :func:`usable_cores`, and at
    least :data:`MIN_NEURONS_PER_THREAD` neurons each, whichever is fewest."""
    neurons = sum(v.size for v in pl.neurons.V)
    return max(1, min(numba.get_num_threads(), usable_cores(), neurons // MIN_NEURONS_PER_THREAD))


def _tables(pl: Plan, parts: int, dt: float) -> tuple[dict, list]:
    """The loop's tuples of a planned network's arrays (``populations``, ``feeds``,
    ``delayed``, ``pre``, ``jumps``, ``models``:
    :func:`~refsim.backends.numba.loop._advance` unpacks them; ``delayed``, ``pre`` and
    ``jumps`` None where the network has none) with the per-run constants computed here,
    and those constants' arrays: the tables hold no reference
    (:func:`~refsim.backends.numba.support.array_table`), so the caller keeps them alive
    while the tables are used."""
    table = array_table
    factors = [_decay_factors(TAU, dt) for TAU in pl.rows.tau]
    state_factors = [
        _dual_factors(*arrays, dt)
        for arrays in zip(pl.rows.kind, pl.rows.param, pl.rows.tau, strict=True)
    ]
    e_linear = [
        _linear_exprel(par, linear, dt)
        for par, linear in zip(pl.neurons.params, pl.neurons.linear, strict=True)
    ]
    # per population and thread: eight rows of a block (six for the passes, two for the
    # jumps' draws); a declared model: its states and V twice (post-reset, stepped), the
    # current and the slope, and the jumps' two last
    scratch = [
        np.zeros((parts, max(8, 2 * x.shape[0] + 6), min(v.size, _BLOCK)))
        for v, x in zip(pl.neurons.V, pl.neurons.extra, strict=True)
    ]
    floors, cuba_feeds = lif_constants(pl, e_linear)
    cuts = [
        _cut_rows(indptr, indices, buffer.size, parts)
        for indptr, indices, buffer in zip(
            pl.feeds.indptr, pl.feeds.indices, pl.feeds.buffer, strict=True
        )
    ]
    f8 = np.float64
    populations = (
        table(pl.neurons.V, f8, 1),
        table(pl.neurons.extra, f8, 2),
        table(pl.neurons.last_spike, f8, 1),
        table(pl.neurons.in_refractory, f8, 1),
        table(pl.neurons.params, f8, 2),
        pl.neurons.narrow,
        pl.neurons.kind,
        pl.neurons.method,
        pl.neurons.refractory,
        pl.neurons.hard,
        table(pl.neurons.spiking, np.bool_, 1),
        table(pl.neurons.fired, np.int64, 1),
        table(pl.rows.g, f8, 2),
        table(pl.rows.tau, f8, 2),
        table(factors, f8, 2),
        table(pl.rows.kind, np.int64, 1),
        table(pl.rows.slot, np.int64, 1),
        table(pl.rows.state, f8, 3),
        table(pl.rows.param, f8, 3),
        table(state_factors, f8, 3),
        table(e_linear, f8, 1),
        table(scratch, f8, 3),
        pl.rows.out_row,
        pl.rows.out_kind,
        pl.rows.out_value,
        pl.rows.out_start,
        pl.neurons.declared_slot,
        declared_addresses(pl.declared) if pl.declared else None,
        declared_addresses(pl.declared_synapses),
        floors,
        cuba_feeds,
    )
    feeds = _feeds_tuple(pl, cuts)
    made = [factors, state_factors, e_linear, scratch, cuts]
    tuples = {
        "populations": populations,
        "feeds": feeds,
        "delayed": _delayed_tuple(pl),
        "pre": _pre_tuple(pl),
        "jumps": _jumps_tuple(pl, dt),
        "models": passes_used(pl, cuba_feeds, e_linear),
    }
    return tuples, made


def _feeds_tuple(pl: Plan, cuts: list) -> tuple:
    """The loop's ``feeds``: each AlignPostProj's rows cut per thread (``cuts``), columns,
    weights, source, target row, buffer and delay kind."""
    f8 = np.float64
    return (
        array_table(cuts, np.int64, 1),
        array_table(pl.feeds.indices, np.int32, 1),
        array_table(pl.feeds.weights, f8, 1),
        pl.feeds.uniform,
        pl.feeds.pre,
        pl.feeds.start,
        pl.feeds.stop,
        pl.feeds.pop,
        pl.feeds.row,
        array_table(pl.feeds.buffer, f8, 1),
        pl.feeds.delay_kind,
    )


def _delayed_tuple(pl: Plan) -> tuple | None:
    """The loop's ``delayed``: the feeds' delays and rings; None where no feed has one."""
    if not (pl.feeds.delay_kind != _NO_DELAY).any():
        return None
    f8 = np.float64
    return (
        array_table(pl.feeds.indptr, np.int64, 1),
        array_table(pl.feeds.ring, f8, 2),
        pl.feeds.ring_at,
        array_table(pl.feeds.delay_steps, np.int64, 1),
        pl.feeds.delay_low,
        pl.feeds.delay_frac,
        array_table(pl.feeds.x, f8, 1),
    )


def _pre_tuple(pl: Plan) -> tuple | None:
    """The loop's ``pre``: the AlignPreProj's synapses, plasticity, weights, outputs and
    delays; None where the network has none."""
    if not pl.pre.syn_kind.size:
        return None
    f8, table = np.float64, array_table
    return (
        pl.pre.syn_kind,
        pl.pre.slot,
        table(pl.pre.state, f8, 2),
        table(pl.pre.param, f8, 2),
        pl.pre.stp_kind,
        table(pl.pre.stp_state, f8, 2),
        table(pl.pre.stp_param, f8, 2),
        table(pl.pre.indptr, np.int64, 1),
        table(pl.pre.indices, np.int32, 1),
        table(pl.pre.weights, f8, 1),
        pl.pre.source,
        pl.pre.start,
        pl.pre.pop,
        pl.pre.row,
        table(pl.pre.out, f8, 1),
        table(pl.pre.ring, f8, 2),
        pl.pre.ring_at,
        pl.pre.delay_low,
        pl.pre.delay_frac,
        table(pl.pre.x, f8, 1),
    )


def _jumps_tuple(pl: Plan, dt: float) -> tuple | None:
    """The loop's ``jumps``: each population's jump sources and the PoissonInputs' draw
    tables; None where nothing jumps."""
    if not (pl.jumps.poisson or any(own.size for own in pl.jumps.sources)):
        return None
    counts, cdf, ends = poisson_tables(pl.jumps.poisson, dt)
    return (
        array_table(pl.jumps.sources, np.int64, 1),
        array_table(pl.jumps.row_sources, np.int64, 1),
        counts,
        cdf,
        ends,
        array_table(pl.jumps.poisson_weight, np.float64, 1),
        pl.jumps.poisson_key,
        pl.jumps.poisson_draws,
    )


def run_compiled(
    pl: Plan,
    first_step: int,
    n_steps: int,
    dt: float,
    mons: dict,
    bar=None,
    ctrl_c: CtrlC | None = None,
    check_every: int | None = None,
    chunk: int = 1000,
) -> tuple[float, float, int, Finding | None]:
    """Run ``n_steps`` of a planned network, filling ``mons``; return (compile s, run s,
    steps done, the instability found or None).

    The loop is compiled (or loaded from Numba's cache) by a call of zero steps, timed
    apart; the run proceeds in chunks of ``chunk`` steps so that ``bar`` can advance.  A
    Ctrl-C (``ctrl_c``, from :func:`refsim.run`) stops it before the next step: fewer
    steps are done, and the monitors hold every one of them.  So does a state that the
    check of ``check_every`` (:mod:`refsim.stability`) finds bad, after its step.
    """
    import time

    recorded, readers = monitored(pl, mons)
    steps, index, n_spikes = _spike_buffers(pl, recorded, n_steps)
    states = _StateRecords(readers, chunk, pl.single)

    def spikes_of(p):  # the pairs in population p's buffer, not yet handed over
        return steps[p][: n_spikes[p]].copy(), index[p][: n_spikes[p]].copy()

    parts = threads_for(pl)
    sync = np.zeros(4, dtype=np.int64)  # barrier count, generation; stop asked, stop decided
    if ctrl_c is not None:
        ctrl_c.then(lambda: sync.__setitem__(2, 1))  # read by part 0 before a mid-step barrier
        if ctrl_c.asked:  # while the run was prepared: decided before the first step
            sync[3] = 1
    part_fired = np.zeros((len(pl.neurons.V), parts), dtype=np.int64)
    checked, check_bounds, names = checked_vectors(pl)
    found = np.full((parts, 3), -1, dtype=np.int64)  # step, checked vector, index
    found_value = np.zeros(parts)
    check = (
        int(check_every or 0),
        first_step + n_steps - 1,
        array_table(checked, np.float64, 1),
        check_bounds,
        found,
        found_value,
    )

    table = array_table

    driven = [p for p, drive in enumerate(pl.neurons.drive) if drive is not None]
    drives = [np.zeros((0, 0)) for _ in pl.pops]  # per population, this chunk's rows

    def advance(i0, i1):
        for p in driven:  # the time-varying direct inputs of steps i0 .. i1 - 1
            at = range(first_step + i0, first_step + i1)
            drives[p] = drive_rows(pl.pops[p], pl.neurons.drive[p], at, dt)
        drive = (table(drives, np.float64, 2), i0) if driven else None
        # the records' tables, made again for each call (a few microseconds)
        records = (
            table(steps, np.int64, 1),
            table(index, np.int64, 1),
            n_spikes,
            table(states.sources, np.float64, 1),
            table(states.indices, np.int64, 1),
            states.every,
            table(states.buffers, np.float64, 2),
            states.count,
        )

        def advance_part(part):
            return _advance(
                part,
                parts,
                sync,
                part_fired,
                i0,
                i1,
                first_step,
                dt,
                pl.single,
                tuples["populations"],
                tuples["feeds"],
                tuples["delayed"],
                tuples["pre"],
                records,
                check,
                drive,
                tuples["jumps"],
                tuples["models"],
            )

        # every part in a thread of its own, while the main thread waits in join(), where
        # a Ctrl-C reaches it at once: refsim.run's handler asks the parts to stop before
        # the next step
        reached = [i0] * parts
        workers = [
            threading.Thread(target=lambda k: reached.__setitem__(k, advance_part(k)), args=(k,))
            for k in range(parts)
        ]
        with _sigint_blocked():  # in the workers, which inherit it: the main thread
            for worker in workers:  # receives a Ctrl-C, and its join() is interrupted
                worker.start()
        for worker in workers:
            worker.join()
        return reached[0]  # every part returns the same step (the same test, same data)

    t0 = time.perf_counter()
    say = None if bar is None else lambda line: bar.write(line, file=sys.stderr)
    # the first call of each jitted function compiles or loads it (said when it compiles)
    with compile_notice(say), _compile_lock():
        tuples, made = _tables(pl, parts, dt)  # (``made``: kept alive)
        for p, spk in enumerate(pl.neurons.spiking):  # the stored spikes of the initial states,
            for part in range(parts):  # listed as the threads list them
                lo, hi = _share(spk.size, part, parts), _share(spk.size, part + 1, parts)
                part_fired[p, part] = _list_fired(spk, pl.neurons.fired[p], lo, hi)
        advance(0, 0)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    i = 0
    try:
        while i < n_steps and not sync[3] and found[:, 1].max() < 0:
            # in chunks where a bar advances, a monitor reduces its records or a direct
            # input varies in time (its values are computed a chunk at a time)
            chunked = bar is not None or states.reducing or driven
            stop = min(n_steps, i + chunk) if chunked else n_steps
            reached = advance(i, stop)
            states.move()
            if reached < stop and not sync[3] and found[:, 1].max() < 0:  # a spike buffer
                # is full: its pairs go to the monitors (to disk, when streamed), go on
                full = [
                    p
                    for p in range(len(steps))
                    if steps[p].size and n_spikes[p] + pl.neurons.V[p].size > steps[p].size
                ]
                add_spikes(pl, mons, spikes_of, full)
                n_spikes[full] = 0
            if bar is not None:
                bar.update(reached - i)
            i = reached
    finally:  # whatever happens, the monitors get every step done (the states' last)
        run_s = time.perf_counter() - t0
        states.move()
        deliver(pl, mons, spikes_of, states.filled())
        count_draws(pl, i)
    return compile_s, run_s, i, first_found(found, found_value, names, dt)
