r"""A counter-based random generator: the same numbers on every backend, thread and rank.

A stochastic input draws, for element ``index`` at its ``draw``-th step, from
Philox4x32-10 (Salmon et al. 2011, the generator of Random123, cuRAND and JAX's
``rbg``) keyed by the input's 64-bit seed and counted by ``(index, draw, stream)``.
No state is carried from one draw to the next, so a number does not depend on the
order in which elements are visited: NumPy draws a whole vector at once, the numba
loop a block per thread, a GPU thread its element, and all get the same bits.

``uniform``
    53 random bits of two of the four output words, as a float64 in ``[0, 1)``.
``binomial``
    :math:`\mathrm{Binomial}(n, p)` by inversion (the count of CDF entries at or below
    the uniform, which is the sequential search of the CDF from 0; the probabilities by
    the recurrence :math:`P_{k} = P_{k-1} \frac{(m - k + 1)}{k}
    \frac{p}{q}`), in chunks of at most :func:`binomial_table`'s ``chunk`` trials (a sum
    of independent binomials of the same ``p`` is binomial): each chunk's :math:`q^m`
    stays far above underflow and its table short.  Only ``+ * /`` and comparisons, whose
    IEEE rounding is the same everywhere; the tables come computed once, on the host.

``philox4x32_scalar`` works on NumPy arrays (``uint64`` holding 32-bit words; the NumPy
oracle) and on scalars (``uniform_scalar``, the twin Numba compiles); the numba loop
counts CDF entries in ``backends/numba/jumps.py`` and ``kernels.cu`` has the C version of
both, tested against these.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["BinomialTable", "binomial", "binomial_table", "key_of", "philox4x32_scalar", "uniform"]

_MASK = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)  # the round multipliers
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)  # the key's increments (Weyl)
_TOP_SHIFT, _LOW_SHIFT = np.uint64(5), np.uint64(6)  # 27 + 26 = 53 bits
_TWO_26, _TWO_M53 = 67108864.0, 1.0 / 9007199254740992.0
_ROUNDS = 10
#: a binomial's chunk of trials: at most this many successes expected (``m p``)
CHUNK_MEAN = 16.0


def philox4x32_scalar(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of the counter ``(c0, c1, c2, c3)`` under the key ``(k0, k1)``: four
    32-bit words (each an ``uint64`` or an array of them, below 2**32)."""
    for r in range(_ROUNDS):
        if r > 0:
            k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
        p0, p1 = _M0 * c0, _M1 * c2  # 32 x 32 bits: exact in 64
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT) ^ c1 ^ k0,
            p1 & _MASK,
            (p0 >> _SHIFT) ^ c3 ^ k1,
            p0 & _MASK,
        )
    return c0, c1, c2, c3


def key_of(seed: int) -> tuple[np.uint64, np.uint64]:
    """The Philox key of a 64-bit ``seed``: its low and high words."""
    seed = int(seed) % 2**64
    return np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)


def uniform(index, draw: int, stream: int, key0, key1) -> np.ndarray:
    """A float64 in ``[0, 1)`` for each element of ``index`` (an integer array, each below
    2**32) at its ``draw``-th step (below 2**64); ``stream`` tells apart the numbers one
    step takes."""
    draw = np.uint64(draw)
    w0, w1, _, _ = philox4x32_scalar(
        np.asarray(index).astype(np.uint64),
        draw & _MASK,
        draw >> _SHIFT,
        np.uint64(stream),
        key0,
        key1,
    )
    return ((w0 >> _TOP_SHIFT) * _TWO_26 + (w1 >> _LOW_SHIFT)) * _TWO_M53  # 53 bits


def uniform_scalar(index, draw, stream, key0, key1):
    """:func:`uniform` of one element (the twin the numba loop compiles)."""
    d = np.uint64(draw)
    w0, w1, _, _ = philox4x32_scalar(
        np.uint64(index), d & _MASK, d >> _SHIFT, np.uint64(stream), key0, key1
    )
    return ((w0 >> _TOP_SHIFT) * _TWO_26 + (w1 >> _LOW_SHIFT)) * _TWO_M53  # 53 bits


class BinomialTable(NamedTuple):
    r"""What a :math:`\mathrm{Binomial}(n, p)` draw needs, computed once on the host: the
    trials ``n`` in ``chunks`` chunks of ``chunk`` (the last of ``last``), and the CDF of
    each chunk size (:func:`cdf_table`: ``cdf_chunk`` up to the count ``end_chunk``,
    ``cdf_last`` up to ``end_last``); ``certain``: ``p = 1``, every trial succeeds."""

    n: int
    chunk: int
    last: int
    chunks: int
    certain: bool
    cdf_chunk: np.ndarray
    end_chunk: int
    cdf_last: np.ndarray
    end_last: int


def cdf_table(m: int, p: float) -> tuple[np.ndarray, int]:
    r"""The CDF of :math:`\mathrm{Binomial}(m, p)` (``0 < p < 1``) by the recurrence
    :math:`P_0 = q^m`, :math:`P_k = P_{k-1} \cdot ((p/q)(m - k + 1)) / k`, summed from 0,
    up to the last entry that still grows; and ``end``, the count of a uniform above
    every entry (``m``, or the first ``k`` whose term no longer grows the sum)."""
    q = 1.0 - p
    ratio, pmf = p / q, q**m
    cdf = [pmf]
    for k in range(1, m + 1):
        pmf = pmf * (ratio * (m - k + 1.0)) / k
        grown = cdf[-1] + pmf
        if grown == cdf[-1]:
            break
        cdf.append(grown)
    return np.array(cdf), min(len(cdf), m)


def binomial_table(n: int, p: float) -> BinomialTable:
    """The :class:`BinomialTable` of ``n`` trials of probability ``p`` (in [0, 1]): chunks
    of at most :data:`CHUNK_MEAN` expected successes, so that :math:`q^m` stays far from
    underflow and the tables short."""
    q = 1.0 - p
    if n == 0 or p == 0.0 or q == 0.0:
        never = np.array([np.inf])  # every uniform below it: 0 successes
        return BinomialTable(n, max(n, 1), n, 1, q == 0.0 and n > 0, never, 0, never, 0)
    chunk = int(max(1, min(n, CHUNK_MEAN // p)))
    chunks = -(-n // chunk)
    last = n - (chunks - 1) * chunk
    return BinomialTable(n, chunk, last, chunks, False, *cdf_table(chunk, p), *cdf_table(last, p))


def binomial(index, draw: int, table: BinomialTable, key0, key1) -> np.ndarray:
    """The successes (float64) of ``table``'s trials for each element of ``index`` (an
    integer array) at its ``draw``-th step: per chunk ``c``, the uniform ``u`` of stream
    ``c`` inverted through the chunk's CDF, the count of entries at or below ``u`` (at most
    the table's ``end``); the chunks summed in order."""
    if table.certain:
        return np.full(np.shape(index), float(table.n))
    total = np.zeros(np.shape(index), np.float64)
    for c in range(table.chunks):
        cdf, end = (
            (table.cdf_last, table.end_last)
            if c == table.chunks - 1
            else (table.cdf_chunk, table.end_chunk)
        )
        u = uniform(index, draw, c, key0, key1)
        total += np.minimum(np.searchsorted(cdf, u, side="right"), end)
    return total
