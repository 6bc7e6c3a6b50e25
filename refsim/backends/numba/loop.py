"""The steps of a chunk on one thread (:func:`_advance`): the projections, then each
population, the threads kept in step by barriers, each with its share of the neurons;
the stability check; the recorded spikes."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.codes import NO_DELAY_KIND as _NO_DELAY
from refsim.backends.numba.jumps import population_jumps
from refsim.backends.numba.neurons import _step_range
from refsim.backends.numba.propagate import _AHEAD, _feed_delayed, _list_fired, _prefetch_row
from refsim.backends.numba.support import (
    _share,
    atomic_add,
    atomic_load,
    cube_at,
    matrix_at,
    unowned,
    vector_at,
    yield_cpu,
)
from refsim.backends.numba.synapses import _pre_projections

#: neurons advanced together through all the passes of a step, so that a block's columns
#: stay in the L2 cache (measured on COBA 64k: 1024 2.74, 4096 2.43, unblocked 3.28 s per
#: simulated second; smaller blocks pay more per-call overhead than they save)
_BLOCK = 4096


#: how long a thread spins at a barrier before it yields its core (a barrier between two
#: cores takes about 0.2 us here)
_SPINS = 2000


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _barrier(sync, parts):
    """Wait until all ``parts`` threads have arrived (``sync``: count, generation).  The
    last to arrive resets the count and opens the next generation; the atomics order
    every write before the barrier ahead of every read after it."""
    if parts == 1:
        return
    generation = atomic_load(sync, 1)
    if atomic_add(sync, 0, 1) == parts - 1:
        atomic_add(sync, 0, -parts)
        atomic_add(sync, 1, 1)
        return
    spins = 0
    while atomic_load(sync, 1) == generation:
        spins += 1
        if spins > _SPINS:  # a thread without a core of its own: let it run
            yield_cpu()


@numba.njit(cache=True, error_model="numpy")
def _first_unstable(k, v, low, high, lo, hi, found, found_value):
    """Note in ``found`` (pop.. left to the caller: here the checked vector ``k`` and the
    index) and ``found_value`` the first element of ``v[lo:hi]`` outside ``[low, high]``
    (NaN and inf included), unless one is noted already."""
    if found[1] >= 0:
        return
    ok = True  # a pass without branches, which LLVM vectorises; the search only if needed
    for j in range(lo, hi):
        x = v[j]
        ok &= (x >= low) & (x <= high)
    if ok:
        return
    for j in range(lo, hi):
        x = v[j]
        if not (x >= low and x <= high):
            found[1], found[2], found_value[0] = k, j, x
            return


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _advance(
    part,
    parts,
    sync,
    part_fired,
    i_begin,
    i_end,
    first_step,
    dt,
    single,
    populations,
    feeds,
    delayed,
    pre,
    records,
    check,
    drive,
    jumps,
    models,
):
    """Advance steps ``i_begin .. i_end - 1`` of a run; return the next step.

    The network's arrays arrive in tuples, unpacked below in their order
    (:func:`refsim.backends.numba.driver._tables` makes them): ``populations``, ``feeds``
    (the AlignPostProj), ``delayed`` (their delays:
    :func:`~refsim.backends.numba.propagate._feed_delayed`), ``pre`` (the AlignPreProj:
    :func:`~refsim.backends.numba.synapses._pre_projections`), ``records`` (the
    monitors), ``check`` (the stability check) and ``drive`` (the time-varying direct
    inputs of this chunk of steps: :func:`_set_drive`), ``jumps`` (each population's jump
    sources and the PoissonInputs' tables:
    :func:`~refsim.backends.numba.jumps._add_jumps`).  Each list of arrays (one per
    population, projection or monitor: ``V``, ``pop_g``, ``f_buffer``...) is an
    :func:`~refsim.backends.numba.support.array_table`, read with ``vector_at``,
    ``matrix_at`` or ``cube_at`` (``V[p]`` is ``vector_at(V, p, np.float64)``).

    Only what the network uses is compiled: ``delayed``, ``pre``, ``jumps`` and ``drive``
    are None when no projection has a delay, no AlignPreProj, nothing jumps and no direct
    input varies, ``declared_models`` when no model is declared, and ``models`` says which
    of the neuron passes run (:func:`~refsim.backends.numba.prepare.passes_used`: each
    True, or None).  Numba removes a branch on ``x is None`` of an argument ``x`` that is
    None before it types the branch, so what a None part would call is never compiled;
    each combination compiles once (a few seconds) and is cached, and the functions it
    calls are cached on their own and shared by every combination.

    ``parts`` threads run this loop at once, each with its ``part``, meeting at two or
    three barriers a step (``sync``: the barrier's count and generation, a stop asked for,
    and part 0's decision to stop, taken before the second barrier so that every part
    returns before the same step): each delivers the spikes
    of every undelayed projection onto its own share of the targets (piece ``part`` of
    each row, ``f_cut``), steps its share of the delayed projections and AlignPreProj
    (``f % parts``); then, after a barrier, its share of every population's neurons (a
    contiguous range), listing its spikes from the start of that range (``fired[p]``,
    counted in ``part_fired[p, part]``): the parts' lists, one after the other, are the
    step's spikes in index order, read where they lie.  After a second barrier part 0
    records the spikes and the state monitors while the others go on to the next step; a
    third barrier holds them only when there are state monitors (which read states that
    the next step's projections may write).  Every float sum
    stays with one thread, in the serial order: the bits do not depend on ``parts``.

    ``single``: each state written is rounded to float32 (:func:`_stored`).

    Every ``check_every``-th global step and at ``last_step`` (:mod:`refsim.stability`;
    ``check_every`` 0: never) each part scans its share of the vectors ``checked`` (every
    population's V, extra states and synaptic rows, population by population, each
    against its row of ``check_bounds``) before the second barrier, noting the first bad
    value in its row of ``found`` (step, vector, index; -1: none) and ``found_value``;
    after the barrier every part sees every row, and all return after that step (once it
    is recorded).

    Spikes of population ``p`` go to ``spike_steps[p]`` / ``spike_index[p]`` (an empty
    buffer: not recorded), ``n_spikes[p]`` counting; the loop returns early, before a
    step that could overflow a buffer, for the caller to enlarge it.  Each thread counts
    the recorded spikes itself (``recorded``, from ``part_fired``), so all take that
    decision at the same step without waiting for part 0.
    """
    (
        V,
        extra,
        last_spike,
        in_refractory,
        params,
        narrow,
        kind,
        method,
        refractory,
        hard,
        spiking,
        fired,
        pop_g,
        pop_tau,
        pop_factor,
        pop_syn_kind,
        pop_syn_slot,
        pop_syn_state,
        pop_syn_param,
        pop_state_factor,
        pop_e_linear,
        scratch,
        out_row,
        out_kind,
        out_value,
        out_start,
        declared_slot,
        declared_models,
        synapse_adapters,
        spike_floors,
        cuba_feeds,
    ) = populations
    (
        f_cut,
        f_indices,
        f_weights,
        f_uniform,
        f_pre,
        f_start,
        f_stop,
        f_pop,
        f_row,
        f_buffer,
        f_delay_kind,
    ) = feeds
    (
        spike_steps,
        spike_index,
        n_spikes,
        rec_src,
        rec_indices,
        rec_every,
        rec_buffer,
        rec_count,
    ) = records
    (
        check_every,
        last_step,
        checked,
        check_bounds,
        found,
        found_value,
    ) = check
    f8, i8, i4 = np.float64, np.int64, np.int32
    n_pops = V.shape[0]
    # read by every neuron's input current, through functions not always inlined
    out_row, out_kind, out_value = unowned(out_row), unowned(out_kind), unowned(out_value)
    recorded = n_spikes.copy()
    for i in range(i_begin, i_end):
        for p in range(n_pops):  # (a table's row: address, then the sizes)
            if spike_steps[p, 1] > 0 and recorded[p] + V[p, 1] > spike_steps[p, 1]:
                return i
        if sync[3]:  # a stop asked for (Ctrl-C): part 0's decision of the last step
            return i
        t = (first_step + i) * dt
        # (a part that is None is pruned before typing: its function is not compiled)
        if drive is not None:
            if part == 0:  # each time-varying direct input's value of this step, before any
                _set_drive(drive, i, params)  # thread reads it (after the projections' barrier)
        # 1. projections: the rows of the presynaptic neurons that fired, in index
        #    order, into buffers that are zero (cleared where they are consumed)
        for f in range(f_pre.size):
            source, start, stop = f_pre[f], f_start[f], f_stop[f]
            cells = vector_at(fired, source, i8)
            idx, w = vector_at(f_indices, f, i4), vector_at(f_weights, f, f8)
            if f_delay_kind[f] == _NO_DELAY:  # every thread, onto its share of the targets
                buf, cut = vector_at(f_buffer, f, f8), vector_at(f_cut, f, i8)
                for by in range(parts):  # the spikes listed by each thread, in turn
                    first, n = _share(cells.size, by, parts), part_fired[source, by]
                    for k in range(first, first + n):
                        if k + _AHEAD < first + n and start <= cells[k + _AHEAD] < stop:
                            ahead = (cells[k + _AHEAD] - start) * parts + part
                            _prefetch_row(cut[ahead], cut[ahead + 1], idx, w, f_uniform[f])
                        if start <= cells[k] < stop:
                            piece = (cells[k] - start) * parts + part
                            if f_uniform[f]:
                                w0 = w[0]
                                for s in range(cut[piece], cut[piece + 1]):
                                    buf[idx[s]] += w0
                            else:
                                for s in range(cut[piece], cut[piece + 1]):
                                    buf[idx[s]] += w[s]
                continue
            if delayed is not None:
                if f % parts == part:  # a delayed feed: one thread
                    _feed_delayed(
                        f, f_delay_kind[f], delayed, spiking, source, cells, part_fired[source],
                        start, stop, idx, w, f_buffer, single, models[10]
                    )  # fmt: skip
        #    and each AlignPreProj: its synapses, then their outputs through W
        if pre is not None:
            _pre_projections(
                pre, part, parts, f_pre.size, spiking, pop_g, synapse_adapters, t, dt, single
            )
        _barrier(sync, parts)
        # 2. populations in order, each thread its share: synapses, then membranes
        for p in range(n_pops):
            v, spk = vector_at(V, p, f8), vector_at(spiking, p, np.bool_)
            lo, hi = _share(v.size, part, parts), _share(v.size, part + 1, parts)
            population = (
                v,
                matrix_at(extra, p, f8),
                vector_at(last_spike, p, f8),
                vector_at(in_refractory, p, f8),
                spk,
                matrix_at(params, p, f8),
                hard[p],
                refractory[p],
            )
            syn_rows = (
                matrix_at(pop_g, p, f8),
                matrix_at(pop_tau, p, f8),
                matrix_at(pop_factor, p, f8),
                vector_at(pop_syn_kind, p, i8),
                vector_at(pop_syn_slot, p, i8),
                cube_at(pop_syn_state, p, f8),
                cube_at(pop_syn_param, p, f8),
                cube_at(pop_state_factor, p, f8),
                synapse_adapters,
            )
            outputs = (
                syn_rows[0],
                out_row,
                out_kind,
                out_value,
                out_start[p],
                out_start[p + 1],
            )
            for b0 in range(lo, hi, _BLOCK):
                _step_range(
                    b0,
                    min(b0 + _BLOCK, hi),
                    p,
                    narrow[p],
                    kind[p],
                    declared_slot[p],
                    declared_models,
                    method[p],
                    population,
                    syn_rows,
                    (f_pop, f_row, f_buffer),
                    outputs,
                    population_jumps(jumps, p, f_buffer, i),
                    (vector_at(pop_e_linear, p, f8), spike_floors[p], cuba_feeds[p]),
                    cube_at(scratch, p, f8)[part],
                    t,
                    dt,
                    single,
                    *models,
                )
            part_fired[p, part] = _list_fired(spk, vector_at(fired, p, i8), lo, hi)
        step = first_step + i
        checking = check_every > 0 and ((step + 1) % check_every == 0 or step == last_step)
        if checking:
            for k in range(check_bounds.shape[0]):
                v = vector_at(checked, k, f8)
                _first_unstable(
                    k,
                    v,
                    check_bounds[k, 0],
                    check_bounds[k, 1],
                    _share(v.size, part, parts),
                    _share(v.size, part + 1, parts),
                    found[part],
                    found_value[part : part + 1],
                )
            if found[part, 1] >= 0:
                found[part, 0] = step
        if part == 0 and atomic_load(sync, 2):  # decided once, read by all after the barrier
            sync[3] = 1
        _barrier(sync, parts)
        unstable = False
        if checking:
            for k in range(parts):
                unstable = unstable or found[k, 1] >= 0
        for p in range(n_pops):
            if spike_steps[p, 1] > 0:
                recorded[p] += part_fired[p].sum()
        if part == 0:
            _record_spikes(first_step + i, part_fired, fired, spike_steps, spike_index, n_spikes)
            # 3. state monitors, read after the step
            for m in range(rec_every.size):
                if i % rec_every[m] == 0:
                    src, sel = vector_at(rec_src, m, f8), vector_at(rec_indices, m, i8)
                    buf, row = matrix_at(rec_buffer, m, f8), rec_count[m]
                    for k in range(sel.size):
                        buf[row, k] = src[sel[k]]
                    rec_count[m] = row + 1
        if rec_every.size:
            _barrier(sync, parts)
        if unstable:  # this step recorded: every part returns after it
            return i + 1
    return i_end


@numba.njit(cache=True, error_model="numpy")
def _set_drive(drive, i, params):
    """Write step ``i``'s row of each population's time-varying direct input (``drive``:
    a table of matrices, one row per step from ``drive[1]``, empty for a constant input)
    into row 6 of its parameter table.  :func:`_advance` calls it only where ``drive`` is
    not None (no input varies: then it is not compiled)."""
    table, first = drive
    for p in range(table.shape[0]):
        rows = matrix_at(table, p, np.float64)
        if rows.shape[0] > 0:
            par = matrix_at(params, p, np.float64)
            for k in range(par.shape[1]):
                par[6, k] = rows[i - first, k]


@numba.njit(cache=True, error_model="numpy")
def _record_spikes(step, part_fired, fired, spike_steps, spike_index, n_spikes):
    """Each recorded population's spikes of this step as (step, index) pairs, in index
    order: the threads' lists one after the other (tables of arrays, as in
    :func:`_advance`)."""
    parts = part_fired.shape[1]
    for p in range(part_fired.shape[0]):
        if spike_steps[p, 1] == 0:
            continue
        cells = vector_at(fired, p, np.int64)
        steps, index = vector_at(spike_steps, p, np.int64), vector_at(spike_index, p, np.int64)
        n = n_spikes[p]
        for by in range(parts):
            first = _share(cells.size, by, parts)
            for k in range(part_fired[p, by]):
                steps[n], index[n] = step, cells[first + k]
                n += 1
        n_spikes[p] = n
