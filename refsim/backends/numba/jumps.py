"""The jumps of a population's potential (its ``sum_delta_inputs``): each DeltaProj's
buffer and each PoissonInput's draw, added one after the other in the oracle's order."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.numba.support import _stored, vector_at
from refsim.philox import binomial_scalar


@numba.njit(cache=True, error_model="numpy")
def _add_jumps(b0, n, values, at, jumps, single):
    """``values[at + w]``, the stepped potential of neuron ``b0 + w`` (``w < n``), plus
    each of its population's jumps in turn (``jumps``: its sources, every feed's buffer,
    the PoissonInputs' tables and the step, :func:`~refsim.backends.numba.loop._advance`):
    a DeltaProj's buffer, cleared as it is read, or ``weight * k`` with ``k`` the
    PoissonInput's binomial draw of the step (:func:`~refsim.philox.binomial_scalar`).
    ``single``: each sum rounded to float32 as a float32 state's would be."""
    sources, f_buffer, counts, odds, weights, keys, draws, i = jumps
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
        q = -1 - code  # a PoissonInput: trials, chunk, last chunk, chunks, certain
        weight, draw = vector_at(weights, q, np.float64), draws[q] + i
        key0, key1 = np.uint64(keys[q, 0]), np.uint64(keys[q, 1])
        for w in range(n):
            k = binomial_scalar(
                b0 + w,
                draw,
                counts[q, 0],
                counts[q, 1],
                counts[q, 2],
                counts[q, 3],
                odds[q, 0],
                odds[q, 1],
                odds[q, 2],
                counts[q, 4] != 0,
                key0,
                key1,
            )
            values[at + w] = _stored(values[at + w] + weight[b0 + w] * k, single)


def poisson_tables(inputs: list, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The binomial tables of each PoissonInput at step ``dt`` (ms), as the loop reads
    them: (inputs, 5) integers (trials, chunk, last chunk, chunks, certain) and (inputs,
    3) floats (:math:`q^{chunk}`, :math:`q^{last}`, :math:`p/q`)."""
    counts, odds = np.zeros((len(inputs), 5), np.int64), np.zeros((len(inputs), 3))
    for q, inp in enumerate(inputs):
        t = inp.binomial_table(dt)
        counts[q] = t.n, t.chunk, t.last, t.chunks, int(t.certain)
        odds[q] = t.q_chunk, t.q_last, t.ratio
    return counts, odds
