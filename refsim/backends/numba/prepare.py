"""A network read for the numba loop (:func:`plan`), and what a run computes once before
its first step: the rows of undelayed projections sorted by target and cut per thread,
the synapses' decay factors, the LIF family's constant ``exprel``, its spike floors and
the populations of the CUBA pass, and which of the loop's passes the network uses."""

from __future__ import annotations

import numpy as np

from refsim.backends.codes import CUBA_KIND as _CUBA
from refsim.backends.codes import CURRENT_PROJ_KIND as _CURRENT_PROJ
from refsim.backends.codes import DECLARED_KIND as _DECLARED
from refsim.backends.codes import DECLARED_SYNAPSE_KIND as _DECLARED_SYNAPSE
from refsim.backends.codes import DUAL_ALPHA_KIND as _DUAL_ALPHA
from refsim.backends.codes import DUAL_KIND as _DUAL
from refsim.backends.codes import EXP_EULER_METHOD as _EXP_EULER
from refsim.backends.codes import EXPON_KIND as _EXPON
from refsim.backends.codes import HH_KIND as _HH
from refsim.backends.codes import LIF_KIND as _LIF
from refsim.backends.codes import NO_DELAY_KIND as _NO_DELAY
from refsim.backends.codes import SYNAPTIC_DELAY_KIND as _SYNAPTIC_DELAY
from refsim.backends.codes import NotCompilable
from refsim.backends.numba.declared import addresses as declared_addresses
from refsim.backends.numba.loop import _BLOCK
from refsim.backends.numba.support import _share
from refsim.backends.plan import Plan, give_back
from refsim.backends.plan import plan as plan_network
from refsim.fmath import exp_scalar, exprel_scalar
from refsim.neurons.lif import (
    lif_drift_scalar,
)
from refsim.synapses.expon import (
    expon_factor_scalar,
)


def plan(net) -> Plan:
    """Read ``net`` into a :class:`~refsim.backends.plan.Plan` (shared parameters one
    block wide, the rows of undelayed projections sorted by target: :func:`_sorted_rows`).
    Raises :class:`NotCompilable`."""
    pl = plan_network(net, narrow_width=_BLOCK)
    try:  # the declared models' twins compile, or NotCompilable
        declared_addresses(pl.declared)
        declared_addresses(pl.declared_synapses)
    except NotCompilable:
        give_back(pl.held, pl.single)  # the network keeps its dtypes for the NumPy run
        raise
    for f in range(len(pl.feeds.indptr)):
        if pl.feeds.delay_kind[f] == _NO_DELAY:
            pl.feeds.indices[f], pl.feeds.weights[f] = _sorted_rows(
                pl.feeds.indptr[f], pl.feeds.indices[f], pl.feeds.weights[f], pl.feeds.uniform[f]
            )
    return pl


#: the synapse rows of a population's pass other than an Expon's decay and feeds (and a row
#: an AlignPreProj fills): those that step states of their own, and a CurrentProj's
_OTHER_SYNAPSES = (_DUAL, _DUAL_ALPHA, _DECLARED_SYNAPSE, _CURRENT_PROJ)

#: synapses sorted or cut at once (bounds the temporary arrays: 8 bytes each per synapse)
_CHUNK = 1 << 22


def _row_chunks(indptr: np.ndarray):
    """Ranges ``a, b`` of rows of a CSR matrix, each of about :data:`_CHUNK` synapses
    (or one longer row), covering every row."""
    n_rows = indptr.size - 1
    bounds = np.searchsorted(indptr, np.arange(0, indptr[-1], _CHUNK), side="right") - 1
    bounds = np.unique(np.concatenate([bounds.clip(0, n_rows), [n_rows]]))
    if bounds[0] != 0:
        bounds = np.concatenate([[0], bounds])
    return zip(bounds[:-1], bounds[1:], strict=True)


def _rows_of(indptr: np.ndarray, a: int, b: int) -> np.ndarray:
    """The row of each synapse of rows ``a .. b - 1``."""
    return np.repeat(np.arange(a, b), np.diff(indptr[a : b + 1]))


def _sorted_rows(indptr, indices, weights, uniform):
    """A CSR matrix's ``indices`` and ``weights`` with each row's synapses in ascending
    column order, synapses of one column in their order (a stable sort): new arrays where
    a row was out of order, else the same ones; ``weights`` are not copied when
    ``uniform`` (all the same bits).

    No sum changes: a neuron's buffer still receives the rows that fired in index order
    and, within a row, its own synapses in storage order.  Sorted, a row splits into one
    contiguous piece per thread (:func:`_cut_rows`).  (NumPy, in chunks of rows: nothing
    to compile before a first run.)"""
    sorted_indices, sorted_weights = indices, weights
    for a, b in _row_chunks(indptr):
        s0, s1 = indptr[a], indptr[b]
        row, idx = _rows_of(indptr, a, b), indices[s0:s1]
        if not ((idx[1:] < idx[:-1]) & (row[1:] == row[:-1])).any():
            continue
        if sorted_indices is indices:  # the matrix's own arrays are left as they are
            sorted_indices = indices.copy()
            sorted_weights = weights if uniform else weights.copy()
        order = np.lexsort((idx, row))  # stable: one column's synapses keep their order
        sorted_indices[s0:s1] = idx[order]
        if not uniform:
            sorted_weights[s0:s1] = weights[s0:s1][order]
    return sorted_indices, sorted_weights


def _cut_rows(indptr, indices, n_post, parts):
    """Each row of a CSR matrix with sorted rows (:func:`_sorted_rows`) cut into ``parts``
    pieces, piece ``part`` holding the synapses onto that thread's share of the ``n_post``
    targets (:func:`_share`): piece ``part`` of row ``row`` is
    ``cut[row * parts + part] .. cut[row * parts + part + 1] - 1``.  For one part,
    ``cut`` is ``indptr``."""
    n_rows = indptr.size - 1
    cut = np.empty(n_rows * parts + 1, dtype=np.int64)
    cut[0 : n_rows * parts : parts] = indptr[:-1]  # part 0's share starts at 0
    for a, b in _row_chunks(indptr):
        s0, s1 = indptr[a], indptr[b]
        for part in range(1, parts):  # the synapses of each row onto targets before it
            first = _share.py_func(n_post, part, parts)  # (in Python: nothing to compile)
            below = np.concatenate([[0], np.cumsum(indices[s0:s1] < first)])
            cut[a * parts + part : b * parts : parts] = (
                indptr[a:b] + below[indptr[a + 1 : b + 1] - s0] - below[indptr[a:b] - s0]
            )
    cut[n_rows * parts] = indptr[n_rows]
    return cut


def _per_distinct(f, *arrays: np.ndarray) -> np.ndarray:
    """``f`` (a scalar twin, called in Python on NumPy floats: the same IEEE operations,
    the same bits as compiled, a division by zero giving inf as the loop's
    ``error_model="numpy"`` does) of each element of ``arrays`` (of one shape), computed
    once per distinct tuple of values: a table's columns mostly repeat one value."""
    shape = np.shape(arrays[0])
    if not np.size(arrays[0]):
        return np.zeros(shape)
    stacked = np.stack([np.ravel(np.asarray(x, dtype=np.float64)) for x in arrays])
    distinct, inverse = np.unique(stacked, axis=1, return_inverse=True)
    with np.errstate(all="ignore"):
        values = np.array([f(*column) for column in distinct.T], dtype=np.float64)
    return values[np.ravel(inverse)].reshape(shape)


def _decay_factors(TAU, dt):
    """Per synapse element of a population, the constant ``dt * exprel(-dt / tau)`` of
    its decay."""
    return _per_distinct(lambda tau: expon_factor_scalar(tau, dt), TAU)


def _dual_factors(syn_kind, PARAM, TAU, dt):
    """Per DualExpon element of a population: the decay constant of its rise, ``dt *
    exprel(-dt / tau_rise)``, and the equal-tau propagator ``exp(-dt / tau_decay)`` (0
    elsewhere: the other rows' ``PARAM`` and ``TAU`` mean other things)."""
    F = np.zeros_like(PARAM)
    for r in range(TAU.shape[0]):
        if syn_kind[r] == _DUAL or syn_kind[r] == _DUAL_ALPHA:
            F[r, 0] = _per_distinct(lambda tau: expon_factor_scalar(tau, dt), PARAM[r, 0])
            F[r, 1] = _per_distinct(lambda tau: exp_scalar(-dt / tau), TAU[r])
    return F


def _linear_exprel(par, linear, dt):
    """For a population whose outputs are all CUBA (no slope, ``linear``): ``exprel(dt *
    J)`` per column of its parameter table, with the Jacobian ``J = -1/tau`` constant
    through the run; else empty."""
    if not linear:
        return np.empty(0)

    def exprel_of(R, tau, V_rest):
        return exprel_scalar(dt * lif_drift_scalar(0.0, 0.0, 0.0, R, tau, V_rest)[1])

    return _per_distinct(exprel_of, par[0], par[1], par[4])


def spike_floor(V_th: float, V_reset: float) -> float:
    """The number ``-t`` with which :func:`~refsim.neurons.base.spike_scalar`'s test
    ``(V - V_th) / (V_th - V_reset) >= 0`` equals ``V - V_th >= -t`` for every ``V``; NaN
    unless ``d = V_th - V_reset`` is positive and finite.

    ``t`` is the largest float whose quotient by ``d`` rounds to zero (0 unless ``d >= 2``).
    With ``x = V - V_th``: the quotient is ``>= 0`` for ``x >= 0`` (``-0.0`` and ``inf``
    too) and, for ``x < 0``, only where it underflows to ``-0.0``, that is ``|x| <= t``
    (a rounded quotient never shrinks as ``|x|`` grows); a NaN fails both tests.  Found
    by bisection over the bit patterns of the floats from 0 to inf (in NumPy: computed
    once a run, nothing to compile).
    """
    d = np.float64(V_th) - np.float64(V_reset)
    if not 0.0 < d < np.inf:
        return np.nan
    bits = np.zeros(1, dtype=np.int64)
    value = bits.view(np.float64)
    below, above = 0, 0x7FF0000000000000  # quotients 0.0 (of 0.0) and inf (of inf)
    with np.errstate(over="ignore", under="ignore"):  # quotients of the search: inf, 0
        while above - below > 1:
            bits[0] = (below + above) // 2
            if value[0] / d == 0.0:
                below = int(bits[0])
            else:
                above = int(bits[0])
    bits[0] = below
    return float(-value[0])


def cuba_rows(pl: Plan, p: int) -> tuple[int, int]:
    """The feeds of population ``p``'s synapse rows when
    :func:`~refsim.backends.numba.lif._lif_cuba_pass` can step it: one or two Expon rows,
    each fed by exactly one projection and read by one CUBA output, outputs in row order
    (else ``(-1, -1)``).  For two rows ``(f0, f1)``, for one ``(f0, f0)``."""
    kinds, rows = pl.rows.kind[p], pl.rows
    o_begin, o_end = rows.out_start[p], rows.out_start[p + 1]
    if not 1 <= kinds.size <= 2 or o_end - o_begin != kinds.size:
        return -1, -1
    found = []
    for r in range(kinds.size):
        o = o_begin + r
        if kinds[r] != _EXPON or rows.out_row[o] != r or rows.out_kind[o] != _CUBA:
            return -1, -1
        feeds = np.flatnonzero((pl.feeds.pop == p) & (pl.feeds.row == r))
        if feeds.size != 1:  # none, or a second feed into one row: the general passes
            return -1, -1
        found.append(int(feeds[0]))
    return found[0], found[-1]


def lif_constants(pl: Plan, e_linear: list) -> tuple[np.ndarray, np.ndarray]:
    """Per population: the :func:`spike_floor` of a LIF population with shared ``V_th``
    and ``V_reset`` that nothing jumps (else NaN: its spike test divides), and, where it
    is also CUBA-only (``e_linear``: its constant ``exprel``), the feeds
    :func:`cuba_rows` gives (else ``(-1, -1)``)."""
    n_pops = len(pl.neurons.V)
    floors, cuba_feeds = np.full(n_pops, np.nan), np.full((n_pops, 2), -1, dtype=np.int64)
    for p in range(n_pops):
        if pl.neurons.kind[p] == _LIF and pl.neurons.narrow[p] and pl.jumps.sources[p].size == 0:
            par = pl.neurons.params[p]
            floors[p] = spike_floor(par[2, 0], par[3, 0])
            rows_jump = pl.jumps.row_sources[p].size > 0  # (the CUBA pass takes no jump)
            if not np.isnan(floors[p]) and e_linear[p].size > 0 and not rows_jump:
                cuba_feeds[p] = cuba_rows(pl, p)
    return floors, cuba_feeds


def passes_used(pl: Plan, cuba_feeds: np.ndarray, e_linear: list) -> tuple:
    """Which of the loop's neuron passes a population of the network takes, each True or
    None (then not compiled: :func:`~refsim.backends.numba.loop._advance`): the CUBA-only
    LIF pass, the LIF family's, the other models with a reset, those without, an explicit
    method, tables a column per neuron (not narrow), synapse rows other than Expon
    (:data:`_OTHER_SYNAPSES`), the
    LIF family's linear step (CUBA-only outputs: ``e_linear`` not empty), its nonlinear
    step; then PoissonInputs aimed at synaptic rows, delays per synapse, and synaptic rows
    at all (a network of DeltaProj alone has none)."""
    kinds = np.asarray(pl.neurons.kind)
    cuba = cuba_feeds[:, 0] >= 0
    lif = (kinds == _LIF) & ~cuba
    reset = (kinds != _LIF) & (kinds != _DECLARED) & (kinds < _HH)
    continuous = (kinds >= _HH) & (kinds != _DECLARED)
    explicit = np.asarray(pl.neurons.method) != _EXP_EULER
    wide = ~np.asarray(pl.neurons.narrow, dtype=bool)
    others = np.isin(np.concatenate([[-1], *pl.rows.kind]), _OTHER_SYNAPSES)
    linear = lif & np.array([e.size > 0 for e in e_linear], dtype=bool)
    used = (cuba, lif, reset, continuous, explicit, wide, others, linear, lif & ~linear)
    rows_jumped = any(rows.size for rows in pl.jumps.row_sources)
    per_synapse = (np.asarray(pl.feeds.delay_kind) == _SYNAPTIC_DELAY).any()
    synaptic_rows = any(len(kinds_of_rows) for kinds_of_rows in pl.rows.kind)
    return tuple(True if any_.any() else None for any_ in used) + tuple(
        True if flag else None for flag in (rows_jumped, per_synapse, synaptic_rows)
    )
