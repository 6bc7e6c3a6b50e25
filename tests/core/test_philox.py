"""The counter-based generator (refsim.philox): Philox4x32-10 against Random123's
known answers, the NumPy (array) and Numba (scalar) versions bit for bit, and the
uniform and binomial draws against their distributions."""

import numpy as np
import pytest

from refsim import philox

M = 0xFFFFFFFF
#: Random123's known-answer vectors of philox4x32-10 (its tests/kat_vectors):
#: counter (4 words), key (2 words), the result (4 words)
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((M, M, M, M), (M, M), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_philox_gives_random123s_known_answers(counter, key, expected):
    words = philox.philox4x32_scalar(*map(np.uint64, counter), *map(np.uint64, key))
    assert [int(w) for w in words] == list(expected)
    arrays = philox.philox4x32_scalar(
        *(np.full(5, c, np.uint64) for c in counter), *map(np.uint64, key)
    )
    assert [a.tolist() for a in arrays] == [[e] * 5 for e in expected]


def test_the_numba_twin_draws_the_numpy_uniforms():
    numba = pytest.importorskip("numba", reason="the compiled twin")
    import refsim.backends.numba.support  # noqa: F401  (registers the twins with Numba)

    key = philox.key_of(2**40 + 12345)
    index = np.arange(0, 3_000_000, 997)
    u = philox.uniform(index, 2**33 + 7, 3, *key)
    uniform = numba.njit(philox.uniform_scalar)
    assert [uniform(int(i), 2**33 + 7, 3, *key) for i in index] == u.tolist()


def test_the_numba_loops_binomials_are_the_numpy_draws():
    """The numba loop's block draw (uniforms, then the count of CDF entries) gives
    :func:`philox.binomial`'s numbers, over several chunks."""
    pytest.importorskip("numba", reason="the compiled loop")
    from refsim.backends.numba.jumps import _binomials
    from refsim.backends.plan import poisson_tables

    table = philox.binomial_table(5000, 0.3)
    assert table.chunks > 1

    class Input:  # what poisson_tables reads of a PoissonInput
        def binomial_table(self, dt):
            return table

    counts, cdf, ends = poisson_tables([Input()], 0.1)
    key = philox.key_of(2**40 + 12345)
    b0, n = 2_000_000, 3000
    u, drawn = np.zeros(n), np.zeros(n)
    keys = np.array([[int(key[0]), int(key[1])]], dtype=np.int64)
    _binomials(b0, n, 0, counts, cdf, ends, keys, 11, u, drawn)
    assert drawn.tolist() == philox.binomial(np.arange(b0, b0 + n), 11, table, *key).tolist()


def test_uniforms_are_uniform_and_differ_by_every_part_of_the_counter():
    key = philox.key_of(7)
    u = philox.uniform(np.arange(200_000), 0, 0, *key)
    assert 0.0 <= u.min() and u.max() < 1.0
    # 200000 uniforms: the mean within 5 standard errors (sd 0.2887 / sqrt(n))
    assert abs(u.mean() - 0.5) < 5 * 0.2887 / np.sqrt(u.size)
    counts = np.bincount((u * 10).astype(int), minlength=10)
    chi2 = ((counts - u.size / 10) ** 2 / (u.size / 10)).sum()
    assert chi2 < 27.9  # chi-square, 9 degrees of freedom, p = 0.001
    other_draw = philox.uniform(np.arange(1000), 1, 0, *key)
    other_stream = philox.uniform(np.arange(1000), 0, 1, *key)
    other_key = philox.uniform(np.arange(1000), 0, 0, *philox.key_of(8))
    for other in (other_draw, other_stream, other_key):
        assert np.corrcoef(u[:1000], other)[0, 1] < 0.15  # 1000 pairs: |r| ~ 0.03
        assert not np.any(u[:1000] == other)


@pytest.mark.parametrize("n, p", [(1000, 0.002), (100, 0.5), (5000, 0.3), (40, 0.97)])
def test_binomial_draws_have_the_binomial_distribution(n, p):
    stats = pytest.importorskip("scipy.stats", reason="the binomial's exact probabilities")
    k = philox.binomial(np.arange(100_000), 3, philox.binomial_table(n, p), *philox.key_of(1))
    assert k.min() >= 0 and k.max() <= n and np.all(k == np.round(k))
    mean, var = n * p, n * p * (1 - p)
    assert abs(k.mean() - mean) < 5 * np.sqrt(var / k.size)  # 5 standard errors
    assert abs(k.var() / var - 1) < 0.03  # sd of the variance ratio ~ sqrt(2/n) = 0.0045
    # goodness of fit on the values around the mean (those expected 50 times or more)
    values = np.arange(n + 1)
    expected = stats.binom.pmf(values, n, p) * k.size
    kept = expected >= 50
    observed = np.bincount(k.astype(int), minlength=n + 1)[kept]
    chi2 = ((observed - expected[kept]) ** 2 / expected[kept]).sum()
    assert chi2 < stats.chi2.ppf(0.999, kept.sum() - 1)


def test_the_table_inverts_as_the_recurrence_searches():
    """The count of CDF entries at or below u is the sequential search of the CDF from 0,
    its probabilities by the recurrence (the definition, written out here)."""
    n, p = 300, 0.01
    table = philox.binomial_table(n, p)
    assert table.chunks == 1
    u = philox.uniform(np.arange(20_000), 4, 0, *philox.key_of(9))
    q = 1.0 - p
    searched = []
    for x in u:
        k, pmf = 0, q**n
        cdf = pmf
        while x >= cdf and k < n:
            k += 1
            pmf = pmf * ((p / q) * (n - k + 1.0)) / k
            if cdf + pmf == cdf:
                break
            cdf = cdf + pmf
        searched.append(float(k))
    drawn = philox.binomial(np.arange(20_000), 4, table, *philox.key_of(9))
    assert drawn.tolist() == searched


def test_binomial_tables_at_the_edges():
    key = philox.key_of(3)
    index = np.arange(10)
    assert philox.binomial(index, 0, philox.binomial_table(50, 0.0), *key).tolist() == [0.0] * 10
    assert philox.binomial(index, 0, philox.binomial_table(50, 1.0), *key).tolist() == [50.0] * 10
    assert philox.binomial(index, 0, philox.binomial_table(0, 0.4), *key).tolist() == [0.0] * 10
    table = philox.binomial_table(10_000, 0.01)  # a chunk of at most 16 expected successes
    assert table.chunk * 0.01 <= philox.CHUNK_MEAN and table.chunks * table.chunk >= 10_000
    assert (table.chunks - 1) * table.chunk + table.last == 10_000
