"""A network read for the numba loop (:func:`plan`), and what a run computes once before
its first step: the rows of undelayed projections sorted by target and cut per thread,
the synapses' decay factors, the LIF family's constant ``exprel``."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.codes import DUAL_ALPHA_KIND as _DUAL_ALPHA
from refsim.backends.codes import DUAL_KIND as _DUAL
from refsim.backends.codes import NO_DELAY_KIND as _NO_DELAY
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


@numba.njit(cache=True, error_model="numpy")
def _sorted_rows(indptr, indices, weights, uniform):
    """A CSR matrix's ``indices`` and ``weights`` with each row's synapses in ascending
    column order, synapses of one column in their order (a stable sort): new arrays where
    a row was out of order, else the same ones; ``weights`` are not copied when
    ``uniform`` (all the same bits).

    No sum changes: a neuron's buffer still receives the rows that fired in index order
    and, within a row, its own synapses in storage order.  Sorted, a row splits into one
    contiguous piece per thread (:func:`_cut_rows`)."""
    in_order = True
    for row in range(indptr.size - 1):
        for s in range(indptr[row] + 1, indptr[row + 1]):
            in_order = in_order and indices[s - 1] <= indices[s]
    if in_order:
        return indices, weights
    indices = indices.copy()
    if not uniform:
        weights = weights.copy()
    for row in range(indptr.size - 1):
        a, b = indptr[row], indptr[row + 1]
        order = np.argsort(indices[a:b], kind="mergesort")
        indices[a:b] = indices[a:b][order]
        if not uniform:
            weights[a:b] = weights[a:b][order]
    return indices, weights


@numba.njit(cache=True, error_model="numpy")
def _cut_rows(indptr, indices, n_post, parts):
    """Each row of a CSR matrix with sorted rows (:func:`_sorted_rows`) cut into ``parts``
    pieces, piece ``part`` holding the synapses onto that thread's share of the ``n_post``
    targets (:func:`_share`): piece ``part`` of row ``row`` is
    ``cut[row * parts + part] .. cut[row * parts + part + 1] - 1``.  For one part,
    ``cut`` is ``indptr``."""
    n_rows = indptr.size - 1
    cut = np.empty(n_rows * parts + 1, dtype=np.int64)
    for row in range(n_rows):
        s = indptr[row]
        for part in range(parts):  # (part 0's share starts at 0: its piece at indptr[row])
            first = _share(n_post, part, parts)
            while s < indptr[row + 1] and indices[s] < first:
                s += 1
            cut[row * parts + part] = s
    cut[n_rows * parts] = indptr[n_rows]
    return cut


@numba.njit(cache=True, error_model="numpy")
def _decay_factors(TAU, dt):
    """Per synapse element of a population, the constant ``dt * exprel(-dt / tau)`` of
    its decay."""
    F = np.empty_like(TAU)
    for r in range(TAU.shape[0]):
        for j in range(TAU.shape[1]):
            F[r, j] = expon_factor_scalar(TAU[r, j], dt)
    return F


@numba.njit(cache=True, error_model="numpy")
def _dual_factors(syn_kind, PARAM, TAU, dt):
    """Per DualExpon element of a population: the decay constant of its rise, ``dt *
    exprel(-dt / tau_rise)``, and the equal-tau propagator ``exp(-dt / tau_decay)`` (0
    elsewhere: the other rows' ``PARAM`` and ``TAU`` mean other things)."""
    F = np.zeros_like(PARAM)
    for r in range(TAU.shape[0]):
        if syn_kind[r] == _DUAL or syn_kind[r] == _DUAL_ALPHA:
            for k in range(TAU.shape[1]):
                F[r, 0, k] = expon_factor_scalar(PARAM[r, 0, k], dt)
                F[r, 1, k] = exp_scalar(-dt / TAU[r, k])
    return F


@numba.njit(cache=True, error_model="numpy")
def _linear_exprel(par, linear, dt):
    """For a population whose outputs are all CUBA (no slope, ``linear``): ``exprel(dt *
    J)`` per column of its parameter table, with the Jacobian ``J = -1/tau`` constant
    through the run; else empty."""
    R, tau, V_rest = par[0], par[1], par[4]
    e = np.empty(R.size if linear else 0)
    for j in range(e.size):
        jacobian = lif_drift_scalar(0.0, 0.0, 0.0, R[j], tau[j], V_rest[j])[1]
        e[j] = exprel_scalar(dt * jacobian)
    return e
