"""The synaptic rows of a population in a step (Expon decay plus the projections'
buffers, DualExpon), the presynaptic synapses of an AlignPreProj and their
propagation through its weights."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.codes import ALPHA_KIND as _ALPHA
from refsim.backends.codes import AMPA_KIND as _AMPA
from refsim.backends.codes import BIONMDA_KIND as _BIONMDA
from refsim.backends.codes import CURRENT_PROJ_KIND as _CURRENT_PROJ
from refsim.backends.codes import DECLARED_SYNAPSE_KIND as _DECLARED_SYNAPSE
from refsim.backends.codes import DUAL_ALPHA_KIND as _DUAL_ALPHA
from refsim.backends.codes import EARLY_ROW as _EARLY_ROW
from refsim.backends.codes import EXPON_KIND as _EXPON
from refsim.backends.codes import PRE_OUTPUT_KIND as _PRE_OUTPUT
from refsim.backends.codes import STD_KIND as _STD
from refsim.backends.codes import STP_KIND as _STP
from refsim.backends.numba.declared import _declared_synapse, call_synapse
from refsim.backends.numba.jumps import _row_aimed_at, _row_jumps
from refsim.backends.numba.propagate import _feed_values, _spike_input
from refsim.backends.numba.support import (
    _rounded,
    _stored,
    matrix_at,
    param_at,
    vector_at,
)
from refsim.fmath import exp_scalar
from refsim.synapses.alpha import alpha_step_scalar
from refsim.synapses.expon import (
    dual_expon_step_scalar,
    expon_decay_scalar,
    expon_factor_scalar,
)
from refsim.synapses.kinetic import ampa_step_scalar, bionmda_step_scalar, transmitter_scalar
from refsim.synapses.stp import std_step_scalar, stp_step_scalar

# The block kernels below index state arrays at ``j = b0 + w``, tables at ``k = k0 + w``
# and scratch at ``w``, with ``w`` counting from 0 and both offsets clamped at 0: so the
# compiler knows no index is negative (Numba would otherwise test each one for Python's
# wrap-around) and vectorises the loops.  Slicing instead would cost two atomic
# reference counts per view.


@numba.njit(cache=True, error_model="numpy")
def _synapses(
    b0, b1, shift, narrow, p, rows, feeds, dt, single, wide, others, rows_jumped, jumps, u, drawn
):
    """Neurons ``b0 .. b1 - 1`` of population ``p``: each synaptic row steps, taking its
    feeds' buffers in feeding order (the oracle's delta queue) and clearing them.

    ``rows``: the population's synaptic rows, ``(G, TAU, FACTOR, KIND, SLOT, STATE,
    PARAM, STATE_FACTOR, adapters)`` (:func:`~refsim.backends.numba.loop._advance`);
    ``feeds``: every feed's ``(f_pop, f_row, f_buffer)``.  An Expon row decays, then adds
    each buffer; a DualExpon or a declared synapse (its ``adapters[SLOT[r]]``) first sums
    this step's events into ``G[r]``, then steps its states ``STATE[r]``, its output
    replacing them.  Tables (``TAU``, ``FACTOR``, ``PARAM``, ``STATE_FACTOR``) are read at
    column ``j - shift``, or, ``narrow`` (one value for the population), as numbers.
    ``wide`` None: no population of the network has wide tables; ``others`` None: every
    row is an Expon (or filled by an AlignPreProj); the code of either is then not
    compiled.  ``jumps``: the population's (:func:`~refsim.backends.numba.jumps.
    population_jumps`), whose PoissonInputs aimed at a row's synapse add to it after its
    feeds, or before them for a synapse its projection steps itself (row code
    ``EARLY_ROW - r``; :func:`_row_jumps`, scratch rows ``u``, ``drawn``); ``rows_jumped``
    None: no PoissonInput of the network aims at a synapse (then none of this is
    compiled)."""
    G, TAU, FACTOR, KIND, SLOT, STATE, PARAM, _, adapters = rows
    f_pop, f_row, f_buffer = feeds
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    for r in range(G.shape[0]):
        if KIND[r] == _PRE_OUTPUT:  # filled by its AlignPreProj, in step 1
            continue
        if others is not None and KIND[r] == _CURRENT_PROJ:  # this step's comm(x): 0.0
            # plus its feed's buffer
            if not _sum_events(b0, n, r, p, G, feeds, single):
                for w in range(n):
                    G[r, b0 + w] = 0.0
            continue
        if others is not None and KIND[r] != _EXPON:
            fed = False
            if rows_jumped is not None:
                fed = _row_jumps(b0, n, _EARLY_ROW - r, G[r], False, jumps, single, u, drawn)
            fed = _sum_events(b0, n, r, p, G, feeds, single, fed)
            if rows_jumped is not None:
                fed = _row_jumps(b0, n, r, G[r], fed, jumps, single, u, drawn)
            if KIND[r] == _DECLARED_SYNAPSE:
                adapter = adapters[SLOT[r]]
                _declared_synapse(b0, k0, n, r, adapter, G, fed, STATE, PARAM, dt, single)
            else:
                _dual_expon(b0, k0, n, r, fed, rows, dt, single)
            continue
        decayed = False
        if rows_jumped is not None:  # (its own synapse's inputs: decay, them, then the feeds)
            if _row_aimed_at(jumps, _EARLY_ROW - r):
                _expon_row(b0, n, r, G, TAU, FACTOR, narrow, wide, False, G[r], single)
                _row_jumps(b0, n, _EARLY_ROW - r, G[r], True, jumps, single, u, drawn)
                decayed = True
        for f in range(f_pop.size):
            if f_pop[f] != p or f_row[f] != r:
                continue
            buf = vector_at(f_buffer, f, np.float64)
            if decayed:
                for w in range(n):
                    j = b0 + w
                    G[r, j] = _stored(G[r, j] + buf[j], single)
                    buf[j] = 0.0
            else:  # the decay and the first feed in one pass
                _expon_row(b0, n, r, G, TAU, FACTOR, narrow, wide, True, buf, single)
            decayed = True
        if not decayed:  # no feed: the decay alone (``G[r]`` stands for a buffer)
            _expon_row(b0, n, r, G, TAU, FACTOR, narrow, wide, False, G[r], single)
        if rows_jumped is not None:
            _row_jumps(b0, n, r, G[r], True, jumps, single, u, drawn)


@numba.njit(cache=True, error_model="numpy")
def _expon_row(b0, n, r, G, TAU, FACTOR, narrow, wide, fed, buf, single):
    """Row ``r``, an Expon, over neurons ``b0 .. b0 + n - 1``: its decay, then ``+ buf``
    where ``fed`` (:func:`_expon_decay`), its time constant and decay factor as numbers
    (``narrow``: one value for the population, or no wide table in the network, ``wide``
    None: then the per-neuron form is not compiled) or as rows of the tables."""
    if narrow or wide is None:
        _expon_decay(b0, n, G[r], TAU[r, 0], FACTOR[r, 0], fed, buf, single)
    else:
        _expon_decay(b0, n, G[r], TAU[r], FACTOR[r], fed, buf, single)


@numba.njit(cache=True, error_model="numpy")
def _sum_events(b0, n, r, p, G, feeds, single, fed=False):
    """This step's events of row ``r`` over neurons ``b0 .. b0 + n - 1``, ``0.0 + x_1 +
    x_2 ...`` in feeding order (the oracle's ``sum_delta_inputs(0.0)``; ``fed``: ``G[r]``
    holds some already, added to first), into ``G[r]``, each feed's buffer cleared;
    returns whether ``G[r]`` holds events (if not, it is left as it was and they are
    0.0)."""
    b0 = max(b0, 0)  # >= 0: no wraparound, so the loops vectorise
    f_pop, f_row, f_buffer = feeds
    first = not fed
    for f in range(f_pop.size):
        if f_pop[f] != p or f_row[f] != r:
            continue
        buf = vector_at(f_buffer, f, np.float64)
        for w in range(n):
            j = b0 + w
            G[r, j] = _stored((0.0 if first else G[r, j]) + buf[j], single)
            buf[j] = 0.0
        first = False
    return not first


@numba.njit(cache=True, error_model="numpy")
def _expon_decay(b0, n, g, tau, factor, fed, buf, single):
    """``g[j]`` of neurons ``b0 .. b0 + n - 1`` (an Expon's conductance): its decay, then,
    if ``fed``, ``+ buf[j]`` (clearing ``buf``).  ``tau``, ``factor``: rows of the
    population's tables, or numbers (:func:`param_at`)."""
    b0 = max(b0, 0)
    if fed:
        for w in range(n):
            j = b0 + w
            decayed = expon_decay_scalar(g[j], param_at(tau, j), param_at(factor, j))
            g[j] = _stored(decayed + buf[j], single)
            buf[j] = 0.0
    else:
        for w in range(n):
            j = b0 + w
            g[j] = _stored(expon_decay_scalar(g[j], param_at(tau, j), param_at(factor, j)), single)


@numba.njit(cache=True, error_model="numpy")
def _dual_expon(b0, k0, n, r, fed, rows, dt, single):
    """Row ``r`` (a DualExpon) over neurons ``b0 .. b0 + n - 1``, its events summed in
    ``G[r]`` (:func:`_sum_events`; ``fed``: any): the step twin, whose output replaces
    them.  ``STATE[r]``: g_rise, g_decay; ``PARAM[r]``: tau_rise, factor; ``TAU[r]``,
    ``FACTOR[r]``: tau_decay and its decay constant; ``STATE_FACTOR[r]``: the rise's decay
    constant, the equal-tau propagator."""
    G, TAU, FACTOR, KIND, _, STATE, PARAM, STATE_FACTOR, _ = rows
    b0, k0 = max(b0, 0), max(k0, 0)
    alpha = KIND[r] == _DUAL_ALPHA
    for w in range(n):
        j, k = b0 + w, k0 + w
        events = G[r, j] if fed else 0.0
        rise, decay, g = dual_expon_step_scalar(
            STATE[r, 0, j],
            STATE[r, 1, j],
            events,
            PARAM[r, 0, k],
            TAU[r, k],
            STATE_FACTOR[r, 0, k],
            FACTOR[r, k],
            PARAM[r, 1, k],
            alpha,
            STATE_FACTOR[r, 1, k],
            dt,
        )
        STATE[r, 0, j], STATE[r, 1, j] = _stored(rise, single), _stored(decay, single)
        G[r, j] = _stored(g, single)


@numba.njit(cache=True, error_model="numpy")
def _pre_projections(pre, part, parts, offset, spiking, pop_g, adapters, t, dt, single):
    """Thread ``part``'s share of the AlignPreProj (``q`` where ``(offset + q) % parts ==
    part``, after the ``offset`` feeds): each one's input (:func:`_spike_input`, through
    its delay), its synapses (:func:`_pre_synapses`), their outputs through ``W`` into
    its row of the target's ``pop_g`` (:func:`_pre_propagate`).  ``pre``: their tables
    (:func:`~refsim.backends.numba.driver._tables`; :func:`~refsim.backends.numba.loop.
    _advance` calls it only where they are not None: a network without an AlignPreProj
    does not compile it)."""
    (kind, slot, state, param, stp_kind, stp_state, stp_param, indptr, indices, weights,
     source, start, pop, row, out_t, ring, ring_at, delay_low, delay_frac, x_t) = pre  # fmt: skip
    f8 = np.float64
    for q in range(kind.size):
        if (offset + q) % parts != part:
            continue
        x, out = vector_at(x_t, q, f8), vector_at(out_t, q, f8)
        spk = vector_at(spiking, source[q], np.bool_)
        ring_q = matrix_at(ring, q, f8)
        ring_at[q] = _spike_input(spk, start[q], ring_q, ring_at[q], delay_low[q], delay_frac[q], x)
        _pre_synapses(
            x,
            kind[q],
            adapters[max(slot[q], 0)],  # (used only by a declared synapse)
            matrix_at(state, q, f8),
            matrix_at(param, q, f8),
            stp_kind[q],
            matrix_at(stp_state, q, f8),
            matrix_at(stp_param, q, f8),
            out,
            t,
            dt,
            single,
        )
        G = matrix_at(pop_g, pop[q], f8)
        w = vector_at(weights, q, f8)
        _pre_propagate(
            out,
            vector_at(indptr, q, np.int64),
            vector_at(indices, q, np.int32),
            w,
            G,
            row[q],
            single,
        )


@numba.njit(cache=True, error_model="numpy")
def _pre_synapses(x_in, kind, adapter, S, P, stp_kind, Q, QP, out, t, dt, single):
    """The presynaptic side of one AlignPreProj, neuron by neuron: the input ``x_in[j]``
    (:func:`_spike_input`) through the plasticity (states ``Q``, parameters ``QP``), into
    the synapse (states ``S``, parameters ``P``; rows named in ``codes.PRE_SYNAPSES``, or a
    declared synapse's, stepped afterwards by its ``adapter`` with the events ``0.0 + x``
    in ``out``); ``out[j]`` is the synapse's output."""
    declared = kind == _DECLARED_SYNAPSE
    for j in range(out.size):
        x = x_in[j]
        if stp_kind == _STP:  # QP: U, tau_f, tau_d
            Q[0, j], Q[1, j], x = stp_step_scalar(
                Q[0, j], Q[1, j], x, QP[0, j], QP[1, j], QP[2, j], dt
            )
        elif stp_kind == _STD:  # QP: tau, U
            Q[0, j], x = std_step_scalar(Q[0, j], x, QP[0, j], QP[1, j], dt)
        if declared:  # this step's events (the oracle's sum_delta_inputs(0.0) + x)
            out[j] = 0.0 + x
        elif kind == _EXPON:  # P: tau
            S[0, j] = expon_decay_scalar(S[0, j], P[0, j], expon_factor_scalar(P[0, j], dt)) + x
            out[j] = S[0, j]
        elif kind == _ALPHA:  # P: tau; S: g, h
            S[0, j], S[1, j] = alpha_step_scalar(S[0, j], S[1, j], x, P[0, j], dt)
            out[j] = S[0, j]
        elif kind == _AMPA:  # P: alpha, beta, T, T_dur, g_max; S: g, spike_arrival_time
            S[1, j], TT = transmitter_scalar(S[1, j], x, P[2, j], P[3, j], t)
            S[0, j] = ampa_step_scalar(S[0, j], TT, P[0, j], P[1, j], P[4, j], dt)
            out[j] = S[0, j]
        elif kind == _BIONMDA:  # P: alpha1, beta1, alpha2, beta2, T, T_dur, g_max;
            #                     S: g, x, spike_arrival_time
            S[2, j], TT = transmitter_scalar(S[2, j], x, P[4, j], P[5, j], t)
            S[0, j], S[1, j] = bionmda_step_scalar(
                S[0, j], S[1, j], TT, P[0, j], P[1, j], P[2, j], P[3, j], P[6, j], dt
            )
            out[j] = S[0, j]
        else:  # DualExpon; P: tau_rise, tau_decay, factor; S: g_rise, g_decay
            S[0, j], S[1, j], out[j] = dual_expon_step_scalar(
                S[0, j],
                S[1, j],
                0.0 + x,
                P[0, j],
                P[1, j],
                expon_factor_scalar(P[0, j], dt),
                expon_factor_scalar(P[1, j], dt),
                P[2, j],
                kind == _DUAL_ALPHA,
                exp_scalar(-dt / P[1, j]),
                dt,
            )
        # the states as stored (but an event time, the last row of AMPA and BioNMDA)
        for r in range(Q.shape[0]):
            Q[r, j] = _stored(Q[r, j], single)
        if not declared:  # (its adapter stores its states and output)
            for r in range(S.shape[0] - (kind == _AMPA or kind == _BIONMDA)):
                S[r, j] = _stored(S[r, j], single)
            out[j] = _stored(out[j], single)
    if declared:
        arguments = (out.size, 0, 0, out.ctypes.data, 1, S.ctypes.data, S.shape[1])
        call_synapse(adapter, arguments + (P.ctypes.data, P.shape[1], 1 if single else 0, dt))


@numba.njit(cache=True, error_model="numpy")
def _pre_propagate(g_pre, indptr, idx, w, G, row, single):
    """``G[row] = g_pre @ W`` as the oracle sums it (``event_csr_propagate``): from zero,
    through :func:`_feed_values`."""
    out = G[row]
    for j in range(out.size):
        out[j] = 0.0
    _feed_values(g_pre, indptr, idx, w, out)
    if single:
        for j in range(out.size):
            out[j] = _rounded(out[j], single)
