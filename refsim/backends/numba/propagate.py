"""Spikes into the projections' buffers: the neurons that fired listed once a step,
a row's weights added in storage order (prefetched a few spikes ahead), one delay
through a ring of inputs, a delay per synapse through a ring of events."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.codes import SPIKE_DELAY_KIND as _SPIKE_DELAY
from refsim.backends.numba.support import (
    _rounded,
    _share,
    eight_flags,
    matrix_at,
    prefetch,
    vector_at,
)


@numba.njit(cache=True, error_model="numpy")
def _list_fired(spk, fired, lo, hi):
    """Write the indices of the set flags of ``spk[lo:hi]`` into ``fired`` from ``lo``
    on, in ascending order; return their count.  Flags are tested eight at a time (a
    step's spikes are few: most words are zero)."""
    lo, n = max(lo, 0), 0
    j = lo
    while j + 8 <= hi:
        if eight_flags(spk, j) != 0:
            for k in range(j, j + 8):
                if spk[k]:
                    fired[lo + n] = k
                    n += 1
        j += 8
    for k in range(j, hi):
        if spk[k]:
            fired[lo + n] = k
            n += 1
    return n


@numba.njit(cache=True, error_model="numpy")
def _spike_input(spk, start, ring, at, low, frac, x):
    """``x[j]``: the spike (1.0 or 0.0) of neuron ``start + j``, or, through a
    :class:`~refsim.delays.SpikeDelay` (``ring`` has rows), its ``__call__``: this step's
    spikes go into row ``at`` of the ring and ``x`` is the value ``low + frac`` steps back
    (two rows mixed when ``frac`` is not 0).  Returns the ring's next row."""
    length = ring.shape[0]
    if length == 0:
        for j in range(x.size):
            x[j] = 1.0 if spk[start + j] else 0.0
        return at
    for j in range(x.size):
        ring[at, j] = 1.0 if spk[start + j] else 0.0
    older, oldest = (at - low) % length, (at - low - 1) % length
    for j in range(x.size):
        x[j] = ring[older, j]
        if frac != 0.0:
            x[j] = x[j] * (1.0 - frac) + ring[oldest, j] * frac
    return (at + 1) % length


@numba.njit(cache=True, error_model="numpy")
def _feed_values(x, indptr, idx, w, buf):
    """Add ``w * x`` of the rows where ``x`` is nonzero into ``buf``, rows in index order
    and each in storage order (``event_csr_propagate`` of float input)."""
    for j in range(x.size):
        if x[j] != 0.0:
            for s in range(indptr[j], indptr[j + 1]):
                buf[idx[s]] += w[s] * x[j]


@numba.njit(cache=True, error_model="numpy")
def _feed_synaptic_delay(cells, counts, start, stop, ring, at, steps, indptr, idx, w, single):
    """A feed through a :class:`~refsim.delays.SynapticDelay`: each synapse of a row that
    fired (``cells``: the threads' spike lists, each from the start of its share,
    ``counts[part]`` long) adds its weight into the ring row of its arrival (rows in
    index order, each in storage order, as ``np.add.at``).  Row ``at`` arrives this step
    (:func:`_feed_delayed` makes it the feed's buffer).  Returns the ring's next row."""
    length = ring.shape[0]
    for part in range(counts.size):
        first = _share(cells.size, part, counts.size)
        for k in range(counts[part]):
            if start <= cells[first + k] < stop:
                row = cells[first + k] - start
                for s in range(indptr[row], indptr[row + 1]):
                    slot = (at + steps[s]) % length
                    ring[slot, idx[s]] = _rounded(ring[slot, idx[s]] + w[s], single)
    return (at + 1) % length


@numba.njit(cache=True, error_model="numpy")
def _feed_delayed(
    f, kind, delayed, spiking, source, cells, counts, start, stop, idx, w, f_buffer, single,
    per_synapse,
):  # fmt: skip
    """Feed ``f``, a delayed projection (delay ``kind``) from population ``source``
    (``cells``, ``counts``: its spikes as :func:`_feed_synaptic_delay` reads them), into
    its buffer (row ``f`` of the table ``f_buffer``) through its ring; ``delayed``: the
    delays' tables of every feed (``indptr, ring, ring_at, delay_steps, delay_low,
    delay_frac, x``; :func:`~refsim.backends.numba.loop._advance` calls it only where they
    are not None: a network without a delay does not compile it); ``per_synapse`` None
    when no delay is per synapse (then that part is not compiled).

    A delay per synapse hands over the ring row that arrives as the buffer itself (its
    address in ``f_buffer``) instead of a copy: whoever consumes the buffer clears it,
    which clears the row for its next turn (a copy cost the microcircuit's 55 projections
    a pass over each target population every step)."""
    indptr_t, ring_t, ring_at, delay_steps, delay_low, delay_frac, x_t = delayed
    indptr, ring = vector_at(indptr_t, f, np.int64), matrix_at(ring_t, f, np.float64)
    if kind == _SPIKE_DELAY:
        x = vector_at(x_t, f, np.float64)
        spk = vector_at(spiking, source, np.bool_)
        ring_at[f] = _spike_input(spk, start, ring, ring_at[f], delay_low[f], delay_frac[f], x)
        _feed_values(x, indptr, idx, w, vector_at(f_buffer, f, np.float64))
    elif per_synapse is not None:
        at, steps = ring_at[f], vector_at(delay_steps, f, np.int64)
        ring_at[f] = _feed_synaptic_delay(
            cells, counts, start, stop, ring, at, steps, indptr, idx, w, single
        )
        f_buffer[f, 0] = ring_t[f, 0] + at * ring.shape[1] * 8  # row ``at``: float64s


#: rows ahead of the one being delivered whose synapses are prefetched (measured best:
#: a row of 80 synapses costs about 1 ns per event so, against 6 ns from main memory)
_AHEAD = 4


@numba.njit(cache=True, error_model="numpy")
def _prefetch_row(begin, end, idx, w, uniform):
    """Ask for the cache lines of synapses ``begin .. end - 1`` of a CSR matrix (their
    indices, and weights unless uniform)."""
    for s in range(begin, end, 64 // idx.itemsize):
        prefetch(idx, s)
    if not uniform:
        for s in range(begin, end, 8):
            prefetch(w, s)
