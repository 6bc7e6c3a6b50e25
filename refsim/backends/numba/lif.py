"""The LIF family's passes over a block of neurons: vectorised, the parameters a whole
population shares held as numbers (``_membrane``, ``_lif_block``), and the CUBA-only
population's synapses and membranes in one pass (``_lif_cuba_pass``)."""

from __future__ import annotations

import numba
import numpy as np

from refsim.backends.numba.jumps import _add_jumps
from refsim.backends.numba.outputs import _currents
from refsim.backends.numba.support import (
    _stored,
    param_at,
    vector_at,
)
from refsim.fmath import _EXPREL_SERIES_BELOW as EXPREL_SERIES_BELOW
from refsim.fmath import _poly_exprel as exprel_series
from refsim.fmath import exprel_scalar
from refsim.integrators import exp_euler_scalar
from refsim.neurons.base import reset_scalar, spike_scalar
from refsim.neurons.lif import (
    lif_drift_scalar,
)
from refsim.outputs import cuba_scalar
from refsim.synapses.expon import (
    expon_decay_scalar,
)


@numba.njit(cache=True, error_model="numpy")
def _membrane(
    b0,
    b1,
    narrow,
    population,
    outputs,
    jumps,
    e_linear,
    floor,
    work,
    t,
    dt,
    single,
    wide,
    linear_lif,
    nonlinear_lif,
):
    """Neurons ``b0 .. b1 - 1`` of a LIF/LIFRef population: one step (:func:`_lif_block`)
    with its parameters (and ``e_linear``) read from the columns of the table ``par``,
    or, ``narrow``, as one number each (and the spike tested against ``floor``); ``wide``
    None: no population of the network has wide tables, ``linear_lif`` (``nonlinear_lif``)
    None: none is (none is not) CUBA-only outside :func:`_lif_cuba_pass`; that code is
    then not compiled."""
    v, _, last, flag, spk, par, is_hard, refractory_model = population
    states = (v, last, flag, spk, is_hard, refractory_model, outputs, jumps)
    linear, steps = e_linear.size > 0, (linear_lif, nonlinear_lif)
    if narrow or wide is None:  # each parameter one number
        R, tau_m, V_th, V_reset, V_rest = par[0, 0], par[1, 0], par[2, 0], par[3, 0], par[4, 0]
        tau_ref, I = par[5, 0], par[6, 0]
        e = e_linear[0] if linear else 0.0
        _lif_block(b0, b1, *states, R, tau_m, V_th, V_reset, V_rest, tau_ref, I, linear, e,
                   floor, work, t, dt, single, *steps)  # fmt: skip
    else:  # each parameter a row
        _lif_block(b0, b1, *states, par[0], par[1], par[2], par[3], par[4], par[5], par[6],
                   linear, e_linear, np.nan, work, t, dt, single, *steps)  # fmt: skip


@numba.njit(cache=True, error_model="numpy", inline="never")
def _exprel_rarely(z):
    """:func:`exprel_scalar` as a call, for a branch that is rarely taken: inlined, as every
    twin is, it would let LLVM vectorise its loop by computing both of its sides for every
    neuron (COBA 4000: 20 % slower)."""
    return exprel_scalar(z)


@numba.njit(cache=True, error_model="numpy")
def _lif_block(
    b0,
    b1,
    v,
    last,
    flag,
    spk,
    is_hard,
    refractory_model,
    outputs,
    jumps,
    R,
    tau_m,
    V_th,
    V_reset,
    V_rest,
    tau_ref,
    direct,
    linear,
    e_linear,
    floor,
    work,
    t,
    dt,
    single,
    linear_lif,
    nonlinear_lif,
):
    """Neurons ``b0 .. b1 - 1`` of a LIF/LIFRef population: one step, in passes that
    vectorise; ``work`` is scratch.  Each parameter is a row (read at ``j``) or one number
    (:func:`param_at`).  ``linear``: the Jacobian is constant (all outputs CUBA) and
    ``e_linear`` holds ``exprel(dt * J)``; ``floor``: see :func:`_integrate`; ``jumps``:
    :func:`~refsim.backends.numba.jumps._add_jumps`; ``linear_lif`` (``nonlinear_lif``)
    None: no population of the network takes the linear (the nonlinear) step here, which
    is then not compiled.
    """
    b0, n = max(b0, 0), b1 - b0
    V_r, cur, slope, z, e = work[0], work[1], work[2], work[3], work[4]
    for w in range(n):
        j = b0 + w
        V_r[w] = reset_scalar(v[j], spk[j], param_at(V_th, j), param_at(V_reset, j), is_hard)
    # the oracle's sum starts from the direct input (or 0), outputs in registration order
    _currents(n, V_r, 0, b0, direct, b0, cur, slope, outputs)
    if linear_lif is not None and linear:
        _integrate(
            b0,
            b0,
            n,
            v,
            last,
            flag,
            spk,
            R,
            tau_m,
            V_th,
            V_reset,
            V_rest,
            tau_ref,
            refractory_model,
            V_r,
            cur,
            slope,
            e_linear,
            work,
            jumps,
            floor,
            t,
            dt,
            single,
        )
        return
    if nonlinear_lif is None:  # (every LIF population of the network is linear)
        return
    for w in range(n):
        j = b0 + w
        z[w] = (
            dt
            * lif_drift_scalar(
                V_r[w], cur[w], slope[w], param_at(R, j), param_at(tau_m, j), param_at(V_rest, j)
            )[1]
        )
        e[w] = exprel_series(z[w])  # exprel_scalar's value wherever |z| < 1/2 ...
    for w in range(n):
        if not abs(z[w]) < EXPREL_SERIES_BELOW:  # ... and its other branch elsewhere
            e[w] = _exprel_rarely(z[w])
    _integrate(
        b0,
        0,
        n,
        v,
        last,
        flag,
        spk,
        R,
        tau_m,
        V_th,
        V_reset,
        V_rest,
        tau_ref,
        refractory_model,
        V_r,
        cur,
        slope,
        e,
        work,
        jumps,
        floor,
        t,
        dt,
        single,
    )


@numba.njit(cache=True, error_model="numpy")
def _integrate(
    b0,
    e0,
    n,
    v,
    last,
    flag,
    spk,
    R,
    tau_m,
    V_th,
    V_reset,
    V_rest,
    tau_ref,
    refractory_model,
    V_r,
    cur,
    slope,
    e,
    work,
    jumps,
    floor,
    t,
    dt,
    single,
):
    """The exponential-Euler step of a block given ``e = exprel(dt * J)`` (at ``e0 + w``,
    or one number); parameters as in :func:`_lif_block`.  Where the population takes
    jumps (``jumps``), the stepped potentials go through row 5 of ``work`` (the block's
    scratch; rows 6 and 7 for the draws) to have them added before the hold.  The spike
    is ``V - V_th >= floor`` where ``floor`` is a number
    (:func:`~refsim.backends.numba.prepare.spike_floor` of shared ``V_th`` and ``V_reset``:
    ``spike_scalar``'s test without its division, which made COBA 5 to 18 % faster on the
    Intel host), else (NaN) ``spike_scalar``."""
    b0, e0 = max(b0, 0), max(e0, 0)
    by_floor = not np.isnan(floor)
    jumping = jumps is not None and jumps[0].size > 0  # (None: none in the network)
    stepped = work[5]
    # the step written twice: apart from the hold where jumps come between (the oracle's
    # order), fused with it where none do (one pass for both: COBA 4000 5 % faster than
    # the step through ``stepped`` for every population, measured alternated 2026-12-07)
    if jumps is not None and jumping:  # the step, then the jumps in the oracle's order
        for w in range(n):
            j = b0 + w
            drift = lif_drift_scalar(
                V_r[w], cur[w], slope[w], param_at(R, j), param_at(tau_m, j), param_at(V_rest, j)
            )[0]
            stepped[w] = _stored(exp_euler_scalar(V_r[w], drift, param_at(e, e0 + w), dt), single)
        _add_jumps(b0, n, stepped, 0, jumps, single, work[6], work[7])
    for w in range(n):
        j = b0 + w
        V_th_j = param_at(V_th, j)
        if jumping:
            V_new = stepped[w]
        else:
            drift = lif_drift_scalar(
                V_r[w], cur[w], slope[w], param_at(R, j), param_at(tau_m, j), param_at(V_rest, j)
            )[0]
            V_new = _stored(exp_euler_scalar(V_r[w], drift, param_at(e, e0 + w), dt), single)
        if refractory_model:
            held = (t - last[j]) < param_at(tau_ref, j)
            if held:
                V_new = V_r[w]
            # Refractory._note_spikes written here, not called: a call, even one Numba
            # inlines, kept LLVM from vectorising the pass (9x)
            if V_new >= V_th_j:
                last[j] = t
            if flag.size:  # ref_var=True: the refractory flag of the step
                flag[j] = 1.0 if held or V_new >= V_th_j else 0.0
        v[j] = V_new
        if by_floor:
            spk[j] = V_new - V_th_j >= floor
        else:
            spk[j] = spike_scalar(V_new, V_th_j, param_at(V_reset, j))


@numba.njit(cache=True, error_model="numpy")
def _lif_cuba_pass(
    b0,
    b1,
    v,
    last,
    flag,
    spk,
    is_hard,
    refractory_model,
    G,
    TAU,
    FACTOR,
    f_buffer,
    feed0,
    feed1,
    scale,
    R,
    tau_m,
    V_th,
    V_reset,
    V_rest,
    tau_ref,
    direct,
    e,
    floor,
    t,
    dt,
    single,
):
    """Neurons ``b0 .. b1 - 1`` of a LIF/LIFRef population with shared parameters whose
    one or two Expon rows each take one feed and drive one CUBA output (the CUBA
    benchmark's E and I): :func:`_synapses` and :func:`_lif_block` in one pass that
    vectorises, each neuron through the same operations in the same order (each row's
    decay and event, then the reset, ``direct + I_0 (+ I_1)``, the step, the refractory
    hold, the spike).  ``e`` is the population's constant ``exprel(dt * J)``; the spike is
    ``V - V_th >= floor`` (:func:`~refsim.backends.numba.prepare.spike_floor`): the same
    test as ``spike_scalar`` without its division, which cost a quarter of the pass (three
    remain: the two decays and the drift, each the oracle's own rounding)."""
    b0, n = max(b0, 0), b1 - b0
    two = G.shape[0] == 2
    g0, buf0 = G[0], vector_at(f_buffer, feed0, np.float64)
    g1, buf1 = G[G.shape[0] - 1], vector_at(f_buffer, feed1, np.float64)
    tau0, factor0, scale0 = TAU[0, 0], FACTOR[0, 0], scale[0]
    tau1, factor1, scale1 = TAU[-1, 0], FACTOR[-1, 0], scale[-1]
    for w in range(n):
        j = b0 + w
        x0 = _stored(expon_decay_scalar(g0[j], tau0, factor0) + buf0[j], single)
        g0[j], buf0[j] = x0, 0.0
        V_r = reset_scalar(v[j], spk[j], V_th, V_reset, is_hard)
        current = direct + cuba_scalar(x0, scale0, V_r)[0]
        if two:
            x1 = _stored(expon_decay_scalar(g1[j], tau1, factor1) + buf1[j], single)
            g1[j], buf1[j] = x1, 0.0
            current = current + cuba_scalar(x1, scale1, V_r)[0]
        drift = lif_drift_scalar(V_r, current, 0.0, R, tau_m, V_rest)[0]
        V_new = _stored(exp_euler_scalar(V_r, drift, e, dt), single)
        if refractory_model:  # _integrate's lines (a call would unvectorise the pass)
            held = (t - last[j]) < tau_ref
            if held:
                V_new = V_r
            if V_new >= V_th:
                last[j] = t
            if flag.size:
                flag[j] = 1.0 if held or V_new >= V_th else 0.0
        v[j] = V_new
        spk[j] = V_new - V_th >= floor
