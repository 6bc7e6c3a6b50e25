"""The jumps of a population's potential (its ``sum_delta_inputs``): each DeltaProj's
buffer and each PoissonInput's draw, added one after the other in the oracle's order."""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

from refsim.backends.numba.support import _stored, vector_at
from refsim.philox import uniform_scalar


def population_jumps(jumps, p, f_buffer, i):
    """Population ``p``'s jumps at step ``i`` as :func:`_add_jumps` reads them: its
    sources, every feed's buffer (``f_buffer``), the PoissonInputs' tables (from
    ``jumps``, the network's: sources and row sources per population, then the tables),
    the step, and its row sources (:func:`_row_jumps`); None when the network's ``jumps``
    are None (nothing jumps: then no jump is compiled).

    Compiled only, where the type of ``jumps`` chooses (:func:`_population_jumps`):
    written as one function with an ``if jumps is None``, Numba would type its result
    as optional, and every pass would test it at run time."""
    raise NotImplementedError("population_jumps runs inside the compiled loop only")


@overload(population_jumps)
def _population_jumps(jumps, p, f_buffer, i):
    if isinstance(jumps, types.NoneType):
        return lambda jumps, p, f_buffer, i: None

    def of_population(jumps, p, f_buffer, i):
        sources, row_sources, counts, cdf, ends, weights, keys, draws = jumps
        return (
            vector_at(sources, p, np.int64),
            f_buffer,
            counts,
            cdf,
            ends,
            weights,
            keys,
            draws,
            i,
            vector_at(row_sources, p, np.int64),
        )

    return of_population


@numba.njit(cache=True, error_model="numpy")
def _add_jumps(b0, n, values, at, jumps, single, u, drawn):
    """``values[at + w]``, the stepped potential of neuron ``b0 + w`` (``w < n``), plus
    each of its population's jumps in turn (``jumps``: its sources, every feed's buffer,
    the PoissonInputs' tables and the step, :func:`~refsim.backends.numba.loop._advance`):
    a DeltaProj's buffer, cleared as it is read, or ``weight * k`` with ``k`` the
    PoissonInput's binomial draw of the step (:func:`_binomials`, into the scratch rows
    ``u`` and ``drawn``).  ``single``: each sum rounded to float32 as a float32 state's
    would be."""
    sources, f_buffer = jumps[0], jumps[1]
    b0 = max(b0, 0)
    for w in range(n):
        values[at + w] = _stored(values[at + w], single)
    for s in range(sources.size):
        code = sources[s]
        if code >= 0:  # a DeltaProj's feed
            buf = vector_at(f_buffer, code, np.float64)
            for w in range(n):
                values[at + w] = _stored(values[at + w] + buf[b0 + w], single)
                buf[b0 + w] = 0.0
            continue
        _poisson_jump(b0, n, -1 - code, values, at, jumps, single, u, drawn)


@numba.njit(cache=True, error_model="numpy")
def _row_jumps(b0, n, r, g, fed, jumps, single, u, drawn):
    """The PoissonInputs of row code ``r`` (the population's row sources, ``r, q`` pairs:
    a synaptic row, after its projections' events as the oracle's ``sum_delta_inputs``
    adds them, or ``EARLY_ROW`` minus it, before them): ``g[b0 + w] += weight * k``.
    ``fed``: whether ``g`` holds this step's value already (an Expon's decayed ``g``, a
    DualExpon's events), else it starts from 0.0; returns whether it holds one now."""
    b0 = max(b0, 0)  # >= 0: no wraparound, so the loops vectorise
    pairs = jumps[9]
    for s in range(0, pairs.size, 2):
        if pairs[s] != r:
            continue
        if not fed:
            for w in range(n):
                g[b0 + w] = 0.0
            fed = True
        _poisson_jump(b0, n, pairs[s + 1], g, b0, jumps, single, u, drawn)
    return fed


@numba.njit(cache=True, error_model="numpy")
def _row_aimed_at(jumps, code):
    """Whether a PoissonInput of the population aims at row code ``code``."""
    pairs = jumps[9]
    for s in range(0, pairs.size, 2):
        if pairs[s] == code:
            return True
    return False


@numba.njit(cache=True, error_model="numpy")
def _poisson_jump(b0, n, q, values, at, jumps, single, u, drawn):
    """``values[at + w] += weight * k`` for neurons ``b0 + w`` (``w < n``), ``k`` PoissonInput
    ``q``'s binomial draw of the step (:func:`_binomials`)."""
    b0, at = max(b0, 0), max(at, 0)  # >= 0: no wraparound, so the loops vectorise
    counts, cdf, ends, weights = jumps[2], jumps[3], jumps[4], jumps[5]
    keys, draws, i = jumps[6], jumps[7], jumps[8]
    _binomials(b0, n, q, counts, cdf, ends, keys, draws[q] + i, u, drawn)
    weight = vector_at(weights, q, np.float64)
    for w in range(n):
        values[at + w] = _stored(values[at + w] + weight[b0 + w] * drawn[w], single)


@numba.njit(cache=True, error_model="numpy")
def _binomials(b0, n, q, counts, cdf, ends, keys, draw, u, drawn):
    """PoissonInput ``q``'s draw for neurons ``b0 .. b0 + n - 1`` into ``drawn``:
    :func:`refsim.philox.binomial` in two passes per chunk that vectorise, the uniforms
    (into ``u``), then the count of CDF entries at or below each (``counts[q]``: trials,
    chunks, certain, the longest table's length; ``cdf[q]``, ``ends[q]``: the two
    tables)."""
    b0 = max(b0, 0)  # >= 0: no wraparound, so the loops vectorise
    trials, chunks, certain, length = counts[q, 0], counts[q, 1], counts[q, 2], counts[q, 3]
    key0, key1 = np.uint64(keys[q, 0]), np.uint64(keys[q, 1])
    for w in range(n):
        drawn[w] = float(trials) if certain else 0.0
    if certain:
        return
    for c in range(chunks):
        row = 1 if c == chunks - 1 else 0
        table = cdf[q, row]
        for w in range(n):
            u[w] = uniform_scalar(b0 + w, draw, c, key0, key1)
        # the count of entries at or below u, at most ``end``: a table is ascending, so
        # that is the count among its first ``end`` entries; entry by entry over the
        # neurons, which vectorises (whole counts: the order of the sum changes no bit)
        for t in range(min(length, ends[q, row])):
            entry = table[t]
            for w in range(n):
                drawn[w] += 1.0 if u[w] >= entry else 0.0
