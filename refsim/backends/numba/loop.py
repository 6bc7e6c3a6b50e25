"""The steps of a chunk on one thread (:func:`_advance`): the projections, then each
population, the threads kept in step by barriers, each with its share of the neurons;
the stability check; the recorded spikes."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.codes import LIF_KIND as _LIF
from refsim.backends.codes import NO_DELAY_KIND as _NO_DELAY
from refsim.backends.codes import SPIKE_DELAY_KIND as _SPIKE_DELAY
from refsim.backends.numba.lif import _lif_cuba_pass, spike_floor
from refsim.backends.numba.neurons import _step_range
from refsim.backends.numba.propagate import (
    _AHEAD,
    _feed_synaptic_delay,
    _feed_values,
    _list_fired,
    _prefetch_row,
    _spike_input,
)
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
from refsim.backends.numba.synapses import _cuba_rows, _pre_propagate, _pre_synapses

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
    pre,
    records,
    check,
    drive,
    jumps,
):
    """Advance steps ``i_begin .. i_end - 1`` of a run; return the next step.

    The network's arrays arrive in seven tuples, unpacked below in their order
    (:func:`refsim.backends.numba.driver._tables` makes them): ``populations``, ``feeds``
    (the AlignPostProj), ``pre`` (the AlignPreProj), ``records`` (the monitors),
    ``check`` (the stability check) and ``drive`` (the time-varying direct inputs of this
    chunk of steps: :func:`_set_drive`), ``jumps`` (each population's jump sources and
    the PoissonInputs' tables: :func:`~refsim.backends.numba.jumps._add_jumps`).  Each
    list of arrays (one per population, projection or monitor: ``V``, ``pop_g``,
    ``f_buffer``...) is an
    :func:`~refsim.backends.numba.support.array_table`,
    read with ``vector_at``, ``matrix_at`` or ``cube_at`` (``V[p]`` is
    ``vector_at(V, p, np.float64)``).

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
    ) = populations
    (
        f_indptr,
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
        f_ring,
        f_ring_at,
        f_delay_steps,
        f_delay_low,
        f_delay_frac,
        f_x,
    ) = feeds
    (
        pre_kind,
        pre_slot,
        pre_state,
        pre_param,
        pre_stp_kind,
        pre_stp_state,
        pre_stp_param,
        pre_indptr,
        pre_indices,
        pre_weights,
        pre_from,
        pre_start,
        pre_pop,
        pre_row,
        pre_out,
        pre_ring,
        pre_ring_at,
        pre_delay_low,
        pre_delay_frac,
        pre_x,
    ) = pre
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
    j_sources, p_counts, p_cdf, p_ends, p_weights, p_keys, p_draws = jumps

    f8, i8, i4 = np.float64, np.int64, np.int32
    n_pops = V.shape[0]
    # read by every neuron's input current, through functions not always inlined
    out_row, out_kind, out_value = unowned(out_row), unowned(out_kind), unowned(out_value)
    recorded = n_spikes.copy()
    cuba_feeds = np.full((n_pops, 2), -1)  # the populations _lif_cuba_pass steps
    spike_floors = np.full(n_pops, np.nan)  # LIF populations' spike_floor (NaN: divide)
    for p in range(n_pops):
        par = matrix_at(params, p, f8)
        if kind[p] == _LIF and narrow[p] and vector_at(j_sources, p, i8).size == 0:
            spike_floors[p] = spike_floor(par[2, 0], par[3, 0])
            if not np.isnan(spike_floors[p]) and pop_e_linear[p, 1] > 0:
                cuba_feeds[p] = _cuba_rows(
                    p,
                    vector_at(pop_syn_kind, p, i8),
                    f_pop,
                    f_row,
                    out_row,
                    out_kind,
                    out_start[p],
                    out_start[p + 1],
                )
    for i in range(i_begin, i_end):
        for p in range(n_pops):  # (a table's row: address, then the sizes)
            if spike_steps[p, 1] > 0 and recorded[p] + V[p, 1] > spike_steps[p, 1]:
                return i
        if sync[3]:  # a stop asked for (Ctrl-C): part 0's decision of the last step
            return i
        t = (first_step + i) * dt
        if part == 0:  # each time-varying direct input's value of this step, before any
            _set_drive(drive, i, params)  # thread reads it (after the projections' barrier)
        # 1. projections: the rows of the presynaptic neurons that fired, in index
        #    order, into buffers that are zero (cleared where they are consumed)
        for f in range(f_pre.size):
            buf, pre = vector_at(f_buffer, f, f8), f_pre[f]
            start, stop, cells = f_start[f], f_stop[f], vector_at(fired, pre, i8)
            idx, w = vector_at(f_indices, f, i4), vector_at(f_weights, f, f8)
            if f_delay_kind[f] == _NO_DELAY:  # every thread, onto its share of the targets
                cut = vector_at(f_cut, f, i8)
                for by in range(parts):  # the spikes listed by each thread, in turn
                    first, n = _share(cells.size, by, parts), part_fired[pre, by]
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
            if f % parts != part:  # a delayed feed: one thread
                continue
            indptr, ring = vector_at(f_indptr, f, i8), matrix_at(f_ring, f, f8)
            if f_delay_kind[f] == _SPIKE_DELAY:
                x = vector_at(f_x, f, f8)
                f_ring_at[f] = _spike_input(
                    vector_at(spiking, pre, np.bool_),
                    start,
                    ring,
                    f_ring_at[f],
                    f_delay_low[f],
                    f_delay_frac[f],
                    x,
                )
                _feed_values(x, indptr, idx, w, buf)
            else:
                f_ring_at[f] = _feed_synaptic_delay(
                    cells,
                    part_fired[pre],
                    start,
                    stop,
                    ring,
                    f_ring_at[f],
                    vector_at(f_delay_steps, f, i8),
                    indptr,
                    idx,
                    w,
                    buf,
                    single,
                )
        #    and each AlignPreProj: its synapses, then their outputs through W
        for q in range(pre_kind.size):
            if (f_pre.size + q) % parts != part:
                continue
            x, out = vector_at(pre_x, q, f8), vector_at(pre_out, q, f8)
            pre_ring_at[q] = _spike_input(
                vector_at(spiking, pre_from[q], np.bool_),
                pre_start[q],
                matrix_at(pre_ring, q, f8),
                pre_ring_at[q],
                pre_delay_low[q],
                pre_delay_frac[q],
                x,
            )
            _pre_synapses(
                x,
                pre_kind[q],
                synapse_adapters[max(pre_slot[q], 0)],  # (used only by a declared synapse)
                matrix_at(pre_state, q, f8),
                matrix_at(pre_param, q, f8),
                pre_stp_kind[q],
                matrix_at(pre_stp_state, q, f8),
                matrix_at(pre_stp_param, q, f8),
                out,
                t,
                dt,
                single,
            )
            _pre_propagate(
                out,
                vector_at(pre_indptr, q, i8),
                vector_at(pre_indices, q, i4),
                vector_at(pre_weights, q, f8),
                matrix_at(pop_g, pre_pop[q], f8),
                pre_row[q],
                single,
            )
        _barrier(sync, parts)
        # 2. populations in order, each thread its share: synapses, then membranes
        for p in range(n_pops):
            v, spk = vector_at(V, p, f8), vector_at(spiking, p, np.bool_)
            lo, hi = _share(v.size, part, parts), _share(v.size, part + 1, parts)
            if cuba_feeds[p, 0] >= 0:  # the whole share in one pass
                par = matrix_at(params, p, f8)
                _lif_cuba_pass(
                    lo,
                    hi,
                    v,
                    vector_at(last_spike, p, f8),
                    vector_at(in_refractory, p, f8),
                    spk,
                    hard[p],
                    refractory[p],
                    matrix_at(pop_g, p, f8),
                    matrix_at(pop_tau, p, f8),
                    matrix_at(pop_factor, p, f8),
                    f_buffer,
                    cuba_feeds[p, 0],
                    cuba_feeds[p, 1],
                    out_value[out_start[p] : out_start[p + 1]],
                    par[0, 0],
                    par[1, 0],
                    par[2, 0],
                    par[3, 0],
                    par[4, 0],
                    par[5, 0],
                    par[6, 0],
                    vector_at(pop_e_linear, p, f8)[0],
                    spike_floors[p],
                    t,
                    dt,
                    single,
                )
            else:  # in blocks, through the passes of its kind
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
                jumping = (
                    vector_at(j_sources, p, i8),
                    f_buffer,
                    p_counts,
                    p_cdf,
                    p_ends,
                    p_weights,
                    p_keys,
                    p_draws,
                    i,
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
                        jumping,
                        vector_at(pop_e_linear, p, f8),
                        spike_floors[p],
                        cube_at(scratch, p, f8)[part],
                        t,
                        dt,
                        single,
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
    into row 6 of its parameter table."""
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
