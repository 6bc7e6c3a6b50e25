"""The passes of the models with a reset other than the LIF family over a block
(``_membrane_scalar``, ``_gif_block``), and the choice of a population's pass by its kind
(``_step_range``: these, ``lif``'s, ``continuous``'s or a declared model's).  Each is
the oracle's order: reset, the input at the post-reset potential, the model's step twin,
the refractory hold, the spike."""

from __future__ import annotations

import numba

from refsim.backends.codes import ADEX_KIND as _ADEX
from refsim.backends.codes import (
    ADEX_OWN,
    ADQUAIF_OWN,
    ALIF_OWN,
    COBALIF_OWN,
    GIF_OWN,
    IZHIKEVICH_OWN,
    OWN_START,
)
from refsim.backends.codes import ADQUAIF_KIND as _ADQUAIF
from refsim.backends.codes import ALIF_KIND as _ALIF
from refsim.backends.codes import COBALIF_KIND as _COBALIF
from refsim.backends.codes import CUBALIF_KIND as _CUBALIF
from refsim.backends.codes import DECLARED_KIND as _DECLARED
from refsim.backends.codes import EXP_EULER_METHOD as _EXP_EULER
from refsim.backends.codes import EXPIF_KIND as _EXPIF
from refsim.backends.codes import GIF_KIND as _GIF
from refsim.backends.codes import HH_KIND as _HH
from refsim.backends.codes import IF_KIND as _IF
from refsim.backends.codes import IZHIKEVICH_KIND as _IZHIKEVICH
from refsim.backends.codes import LIF_KIND as _LIF
from refsim.backends.codes import QUAIF_KIND as _QUAIF
from refsim.backends.numba.continuous import _continuous_scalar
from refsim.backends.numba.declared import _declared_block
from refsim.backends.numba.explicit import _explicit_step
from refsim.backends.numba.jumps import _add_jumps
from refsim.backends.numba.lif import _lif_cuba_pass, _membrane
from refsim.backends.numba.outputs import _currents
from refsim.backends.numba.support import _stored
from refsim.backends.numba.synapses import _synapses
from refsim.neurons.adaptive import adaptation_step_scalar
from refsim.neurons.base import level_spike_scalar, reset_scalar, spike_scalar
from refsim.neurons.exponential import expif_step_scalar
from refsim.neurons.gif import gif_reset_scalar, gif_step_scalar
from refsim.neurons.izhikevich import (
    izhikevich_recovery_scalar,
    izhikevich_reset_scalar,
    izhikevich_step_scalar,
)
from refsim.neurons.lif import (
    alif_spike_scalar,
    alif_step_scalar,
    if_reset_scalar,
    if_step_scalar,
    lif_synapse_decay_scalar,
    lif_synapse_membrane_scalar,
    lif_synapse_step_scalar,
)
from refsim.neurons.quadratic import quaif_step_scalar


@numba.njit(cache=True, error_model="numpy")
def _membrane_scalar(
    b0, b1, shift, kind, method, explicit, population, outputs, jumps, work, t, dt, single
):
    """Neurons ``b0 .. b1 - 1`` of a population with a reset, other than LIF: one step
    through the model's scalar twins, in the order of its ``update``: reset (and the jump
    of its second state), the input at the post-reset potential, the step, the
    refractory hold, the spike.  Each of these is a pass over the block through the rows
    of ``work`` (``V_r, x_r, cur, slope, V_new, x_new``: so that each vectorises); an
    explicit method steps neuron by neuron (compiled where ``explicit`` is not None: a
    population of the network uses one).  ``extra`` holds the states besides ``V``
    (rows named in ``codes.NEURON_KINDS``: ``w``, ``a``, ``u`` or ``g``; Gif's ``I1, I2,
    V_th`` in :func:`_gif_block`); parameter tables are read at column ``j - shift``.
    The jumps (``jumps``) add to the stepped potential before the hold, as in ``update``
    (every built-in kind takes them; CubaLIF's and CobaLIF's go to g, AdEx's, AdQuaIF's and
    Izhikevich's second state steps again with the jumped V)."""
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    if kind == _GIF:
        _gif_block(b0, n, k0, population, outputs, jumps, work, t, dt, single)
        return
    par = population[5]
    own = par[OWN_START:]  # the kind's rows, named in codes.KIND_PARAMS
    V_r, x_r, cur, slope, V_new, x_new = work[0], work[1], work[2], work[3], work[4], work[5]
    # CubaLIF's and CobaLIF's jumps go to their synapse's g, between its decay and V's step
    # (``jumps`` None: nothing jumps in the network, and no jump is compiled)
    jumping = jumps is not None and jumps[0].size > 0
    synaptic_jumps = jumping and (kind == _CUBALIF or kind == _COBALIF)
    # 1. the reset from the stored spike, and the jump of the second state
    _resets(kind, b0, k0, n, population, V_r, x_r)
    # 2. the step: exponential Euler from the input at V_r, or an explicit method (the
    #    whole ODE system, the input at each stage's V)
    if explicit is not None and method != _EXP_EULER:
        for w in range(n):
            y = (V_r[w], x_r[w], 0.0, 0.0)
            step = _explicit_step(kind, method, b0 + w, k0 + w, y, par, own, outputs, dt)
            V_new[w], x_new[w] = step[0], step[1]
    else:
        _currents(n, V_r, 0, b0, par[6], k0, cur, slope, outputs)
        if kind == _EXPIF or kind == _ADEX or kind == _QUAIF or kind == _ADQUAIF:
            _exp_or_quadratic_steps(kind, k0, n, par, work, dt)
        elif jumps is not None and synaptic_jumps:
            _lif_synapse_jumped_steps(kind, b0, k0, n, par, work, jumps, dt, single)
        else:  # ALIF, Izhikevich, IF, CubaLIF, CobaLIF
            _lif_family_steps(kind, k0, n, par, work, dt)
    if jumps is not None and jumping and not synaptic_jumps:  # DeltaProj, PoissonInput
        _add_jumps(b0, n, V_new, 0, jumps, single, work[6], work[7])
        if method == _EXP_EULER and (kind == _ADEX or kind == _ADQUAIF or kind == _IZHIKEVICH):
            _recovery_after_jumps(kind, k0, n, par, work, dt)
    # 3. the refractory hold, the states as stored, the bookkeeping of a refractory model
    _hold(b0, k0, n, population, work, t, single)
    # 4. the spike
    v, spk, V_th, V_reset = population[0], population[4], par[2], par[3]
    if kind == _ALIF:
        for w in range(n):
            k = k0 + w
            spk[b0 + w] = alif_spike_scalar(
                v[b0 + w], x_new[w], V_th[k], V_reset[k], own[ALIF_OWN.beta, k]
            )
    elif kind == _IZHIKEVICH or kind == _IF:
        for w in range(n):
            spk[b0 + w] = level_spike_scalar(v[b0 + w], V_th[k0 + w])
    else:
        for w in range(n):
            spk[b0 + w] = spike_scalar(v[b0 + w], V_th[k0 + w], V_reset[k0 + w])


@numba.njit(cache=True, error_model="numpy")
def _resets(kind, b0, k0, n, population, V_r, x_r):
    """Stage 1 of :func:`_membrane_scalar`: the post-reset ``V_r`` from the stored spike,
    and ``x_r``, the second state (``extra[0]``) after its jump."""
    b0, k0 = max(b0, 0), max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    v, extra, _, _, spk, par, is_hard, _ = population
    V_th, V_reset, own = par[2], par[3], par[OWN_START:]
    has_x = extra.shape[0] > 0
    for w in range(n):
        x_r[w] = extra[0, b0 + w] if has_x else 0.0
    if kind == _IZHIKEVICH:  # own: a, b, c, d, p1, p2, p3
        for w in range(n):
            j, k = b0 + w, k0 + w
            V_r[w], x_r[w] = izhikevich_reset_scalar(
                v[j], x_r[w], spk[j], own[IZHIKEVICH_OWN.c, k], own[IZHIKEVICH_OWN.d, k]
            )
    elif kind == _IF:
        for w in range(n):
            V_r[w] = if_reset_scalar(v[b0 + w], spk[b0 + w], V_th[k0 + w], is_hard)
    else:
        for w in range(n):
            j, k = b0 + w, k0 + w
            V_r[w] = reset_scalar(v[j], spk[j], V_th[k], V_reset[k], is_hard)
        if kind == _ALIF:
            for w in range(n):
                x_r[w] = x_r[w] + (1.0 if spk[b0 + w] else 0.0)
        elif kind == _ADEX or kind == _ADQUAIF:
            for w in range(n):
                # the jump b (AdQuaIF's b sits in AdEx's row)
                x_r[w] = x_r[w] + own[ADEX_OWN.b, k0 + w] * (1.0 if spk[b0 + w] else 0.0)


@numba.njit(cache=True, error_model="numpy")
def _lif_family_steps(kind, k0, n, par, work, dt):
    """Stage 2 of :func:`_membrane_scalar` by exponential Euler for ALIF, Izhikevich, IF,
    CubaLIF and CobaLIF: ``V_new, x_new`` (rows 4, 5 of ``work``) from the post-reset
    ``V_r, x_r`` and the input ``cur, slope`` (rows 0 to 3), a loop per twin."""
    k0 = max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    V_r, x_r, cur, slope, V_new, x_new = work[0], work[1], work[2], work[3], work[4], work[5]
    R, tau_m, V_rest, own = par[0], par[1], par[4], par[OWN_START:]
    if kind == _ALIF:  # own: beta, tau_a
        for w in range(n):
            k = k0 + w
            V_new[w], x_new[w] = alif_step_scalar(
                V_r[w],
                x_r[w],
                cur[w],
                slope[w],
                R[k],
                tau_m[k],
                V_rest[k],
                own[ALIF_OWN.tau_a, k],
                dt,
            )
    elif kind == _IZHIKEVICH:
        for w in range(n):
            k = k0 + w
            V_new[w], x_new[w] = izhikevich_step_scalar(
                V_r[w],
                x_r[w],
                cur[w],
                slope[w],
                own[IZHIKEVICH_OWN.a, k],
                own[IZHIKEVICH_OWN.b, k],
                own[IZHIKEVICH_OWN.p1, k],
                own[IZHIKEVICH_OWN.p2, k],
                own[IZHIKEVICH_OWN.p3, k],
                dt,
            )
    elif kind == _IF:
        for w in range(n):
            k = k0 + w
            V_new[w] = if_step_scalar(V_r[w], cur[w], slope[w], R[k], tau_m[k], dt)
            x_new[w] = x_r[w]
    else:  # CubaLIF, CobaLIF; own: tau_syn (, E); extra: g
        coba = kind == _COBALIF
        for w in range(n):
            k = k0 + w
            V_new[w], x_new[w] = lif_synapse_step_scalar(
                V_r[w],
                x_r[w],
                cur[w],
                slope[w],
                coba,
                R[k],
                tau_m[k],
                V_rest[k],
                own[COBALIF_OWN.tau_syn, k],
                own[COBALIF_OWN.E, k] if coba else 0.0,
                dt,
            )


@numba.njit(cache=True, error_model="numpy")
def _recovery_after_jumps(kind, k0, n, par, work, dt):
    """AdExIF, AdQuaIF and Izhikevich by exponential Euler step their second state with
    the jumped potential, as their ``update`` does: ``x_new`` again, from ``x_r`` and the
    jumped ``V_new`` (rows of ``work`` as :func:`_lif_family_steps`)."""
    k0 = max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    x_r, V_new, x_new = work[1], work[4], work[5]
    V_rest, own = par[4], par[OWN_START:]
    if kind == _IZHIKEVICH:
        for w in range(n):
            k = k0 + w
            x_new[w] = izhikevich_recovery_scalar(
                x_r[w], V_new[w], own[IZHIKEVICH_OWN.a, k], own[IZHIKEVICH_OWN.b, k], dt
            )
        return
    tau_w, a = (
        (ADQUAIF_OWN.tau_w, ADQUAIF_OWN.a) if kind == _ADQUAIF else (ADEX_OWN.tau_w, ADEX_OWN.a)
    )
    for w in range(n):
        k = k0 + w
        x_new[w] = adaptation_step_scalar(x_r[w], V_new[w], V_rest[k], own[tau_w, k], own[a, k], dt)


@numba.njit(cache=True, error_model="numpy")
def _lif_synapse_jumped_steps(kind, b0, k0, n, par, work, jumps, dt, single):
    """Stage 2 of :func:`_membrane_scalar` for CubaLIF and CobaLIF with jumps, as their
    ``update``: the synapse's ``g`` decays, takes the jumps (``sum_delta_inputs``), and the
    membrane steps with it (rows of ``work`` as :func:`_lif_family_steps`)."""
    b0, k0 = max(b0, 0), max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    V_r, x_r, cur, slope, V_new, x_new = work[0], work[1], work[2], work[3], work[4], work[5]
    R, tau_m, V_rest, own = par[0], par[1], par[4], par[OWN_START:]
    coba = kind == _COBALIF
    for w in range(n):
        x_new[w] = lif_synapse_decay_scalar(x_r[w], own[COBALIF_OWN.tau_syn, k0 + w], dt)
    _add_jumps(b0, n, x_new, 0, jumps, single, work[6], work[7])
    for w in range(n):
        k = k0 + w
        E = own[COBALIF_OWN.E, k] if coba else 0.0
        V_new[w] = lif_synapse_membrane_scalar(
            V_r[w], x_new[w], cur[w], slope[w], coba, R[k], tau_m[k], V_rest[k], E, dt
        )


@numba.njit(cache=True, error_model="numpy")
def _exp_or_quadratic_steps(kind, k0, n, par, work, dt):
    """Stage 2 of :func:`_membrane_scalar` by exponential Euler for ExpIF, AdExIF, QuaIF
    and AdQuaIF (rows of ``work`` as :func:`_lif_family_steps`); a loop per twin (one loop
    choosing its twin per neuron computed both, ExpIF and QuaIF 1.2-1.7x slower)."""
    k0 = max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    V_r, x_r, cur, slope, V_new, x_new = work[0], work[1], work[2], work[3], work[4], work[5]
    R, tau_m, V_rest, own = par[0], par[1], par[4], par[OWN_START:]
    adaptive = kind == _ADEX or kind == _ADQUAIF  # own: ..., tau_w, a, b
    if kind == _QUAIF or kind == _ADQUAIF:  # own: V_c, c (, tau_w, a, b)
        for w in range(n):
            k = k0 + w
            tau_w, a = (
                (own[ADQUAIF_OWN.tau_w, k], own[ADQUAIF_OWN.a, k]) if adaptive else (1.0, 0.0)
            )
            V_new[w], x_new[w] = quaif_step_scalar(
                V_r[w],
                x_r[w],
                cur[w],
                slope[w],
                adaptive,
                R[k],
                tau_m[k],
                V_rest[k],
                own[ADQUAIF_OWN.V_c, k],
                own[ADQUAIF_OWN.c, k],
                tau_w,
                a,
                dt,
            )
    else:  # ExpIF, AdExIF; own: V_T, delta_T (, tau_w, a, b)
        for w in range(n):
            k = k0 + w
            tau_w, a = (own[ADEX_OWN.tau_w, k], own[ADEX_OWN.a, k]) if adaptive else (1.0, 0.0)
            V_new[w], x_new[w] = expif_step_scalar(
                V_r[w],
                x_r[w],
                cur[w],
                slope[w],
                adaptive,
                R[k],
                tau_m[k],
                V_rest[k],
                own[ADEX_OWN.V_T, k],
                own[ADEX_OWN.delta_T, k],
                tau_w,
                a,
                dt,
            )


@numba.njit(cache=True, error_model="numpy")
def _hold(b0, k0, n, population, work, t, single):
    """Stage 3 of :func:`_membrane_scalar`: the refractory hold (both states at their
    post-reset values), the states as stored, and a refractory model's bookkeeping
    (``Refractory._note_spikes``, written here as in :func:`_integrate`)."""
    b0, k0 = max(b0, 0), max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    v, extra, last, flag, _, par, _, refractory_model = population
    V_th, tau_ref = par[2], par[5]
    V_r, x_r, V_new, x_new = work[0], work[1], work[4], work[5]
    for w in range(n):
        j, k = b0 + w, k0 + w
        V_j, x_j = V_new[w], x_new[w]
        held = False
        if refractory_model:
            held = (t - last[j]) < tau_ref[k]
        if held:
            V_j, x_j = V_r[w], x_r[w]
        v[j], x_new[w] = _stored(V_j, single), _stored(x_j, single)
    if refractory_model:
        _note_spikes(b0, k0, n, v, V_th, k0, tau_ref, last, flag, t)
    if extra.shape[0] > 0:
        for w in range(n):
            extra[0, b0 + w] = x_new[w]


@numba.njit(cache=True, error_model="numpy")
def _note_spikes(b0, k0, n, v, V_th, c0, tau_ref, last, flag, t):
    """A refractory model's bookkeeping over neurons ``b0 .. b0 + n - 1`` after the hold
    (``Refractory._note_spikes``): ``last`` takes ``t`` where the stored ``v`` reached
    ``V_th`` (at ``c0 + w``: a parameter column, or Gif's state), ``flag`` (if any)
    whether the neuron was held (``tau_ref`` at column ``k0 + w``) or fired.  A loop of
    its own: its conditional stores would keep the hold's loop from vectorising."""
    b0, k0, c0 = max(b0, 0), max(k0, 0), max(c0, 0)  # >= 0: no wraparound (vectorises)
    for w in range(n):
        j, k = b0 + w, k0 + w
        held = (t - last[j]) < tau_ref[k]  # as in the hold, before ``last`` changes
        above = v[j] >= V_th[c0 + w]
        if above:
            last[j] = t
        if flag.size:
            flag[j] = 1.0 if held or above else 0.0


@numba.njit(cache=True, error_model="numpy")
def _gif_block(b0, n, k0, population, outputs, jumps, work, t, dt, single):
    """Neurons ``b0 .. b0 + n - 1`` of a Gif/GifRef population (its states I1, I2 and the
    moving threshold V_th in the rows of ``extra``), in passes as
    :func:`_membrane_scalar`: every state held while refractory, and the spike tested
    against the state threshold."""
    b0, k0 = max(b0, 0), max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    v, extra, last, flag, spk, par, is_hard, refractory_model = population
    R, tau_m, V_reset, V_rest, tau_ref, direct = par[0], par[1], par[3], par[4], par[5], par[6]
    own = par[OWN_START:]  # V_th_inf, V_th_reset, a, b, k1, k2, R1, R2, A1, A2
    I1, I2, th = extra[0], extra[1], extra[2]
    V_r, I1_r, I2_r, th_r, cur, slope = work[0], work[1], work[2], work[3], work[4], work[5]
    for w in range(n):  # 1. the reset
        j, k = b0 + w, k0 + w
        V_r[w], I1_r[w], I2_r[w], th_r[w] = gif_reset_scalar(
            v[j],
            I1[j],
            I2[j],
            th[j],
            spk[j],
            V_reset[k],
            own[GIF_OWN.V_th_reset, k],
            own[GIF_OWN.R1, k],
            own[GIF_OWN.R2, k],
            own[GIF_OWN.A1, k],
            own[GIF_OWN.A2, k],
            is_hard,
        )
    _currents(n, V_r, 0, b0, direct, k0, cur, slope, outputs)  # 2. the input at V_r
    for w in range(n):  # 3. the step
        j, k = b0 + w, k0 + w
        v[j], I1[j], I2[j], th[j] = gif_step_scalar(
            V_r[w],
            I1_r[w],
            I2_r[w],
            th_r[w],
            cur[w],
            slope[w],
            not refractory_model,
            R[k],
            tau_m[k],
            V_rest[k],
            own[GIF_OWN.V_th_inf, k],
            own[GIF_OWN.a, k],
            own[GIF_OWN.b, k],
            own[GIF_OWN.k1, k],
            own[GIF_OWN.k2, k],
            dt,
        )
    if jumps is not None and jumps[0].size:  # the jumps, after the step
        _add_jumps(b0, n, v, b0, jumps, single, work[6], work[7])
    for w in range(n):  # 4. the hold, the states as stored, the bookkeeping
        j, k = b0 + w, k0 + w
        held = False
        if refractory_model:
            held = (t - last[j]) < tau_ref[k]
        if held:
            v[j], I1[j], I2[j], th[j] = V_r[w], I1_r[w], I2_r[w], th_r[w]
        v[j], I1[j] = _stored(v[j], single), _stored(I1[j], single)
        I2[j], th[j] = _stored(I2[j], single), _stored(th[j], single)
    if refractory_model:  # against the state threshold
        _note_spikes(b0, k0, n, v, th, b0, tau_ref, last, flag, t)
    for w in range(n):  # 5. the spike
        spk[b0 + w] = spike_scalar(v[b0 + w], th[b0 + w], V_reset[k0 + w])


@numba.njit(cache=True, error_model="numpy")
def _step_range(
    b0,
    b1,
    p,
    narrow,
    kind,
    slot,
    declared_models,
    method,
    population,
    rows,
    feeds,
    outputs,
    jumps,
    lif_tables,
    work,
    t,
    dt,
    single,
    cuba_lif,
    lif,
    reset,
    continuous,
    explicit,
    wide,
    other_synapses,
    linear_lif,
    nonlinear_lif,
    rows_jumped,
    _synaptic_delays,
    synaptic_rows,
):
    """Neurons ``b0 .. b1 - 1`` (at most ``_BLOCK``) of population ``p``: their synapses
    (``rows``, ``feeds``: :func:`_synapses`), then their membranes.  ``population``: its
    states and table, ``(v, extra, last, flag, spk, par, is_hard, refractory_model)``;
    ``outputs``: what its input reads, ``(G, out_row, out_kind, out_value, o_begin,
    o_end)`` (:func:`_input_current`); ``jumps``: what jumps its potential
    (:func:`~refsim.backends.numba.jumps._add_jumps`; None: nothing in the network);
    ``lif_tables``: a LIF population's ``(e_lin, floor, cuba_feeds)``: its constant
    ``exprel`` (CUBA-only), its :func:`~refsim.backends.numba.prepare.spike_floor` (NaN:
    the spike test divides), the feeds that :func:`_lif_cuba_pass` steps (-1: not one);
    ``work`` is the scratch of the thread running them; ``single``: each state
    written is rounded to float32 (:func:`_stored`).

    ``cuba_lif`` ... ``nonlinear_lif``: whether a population of the network takes each pass
    (:func:`~refsim.backends.numba.prepare.passes_used`), True or None; ``rows_jumped``:
    whether a PoissonInput aims at a synaptic row (``_synaptic_delays``: read by the
    loop); ``synaptic_rows``: whether any population has one; the passes of None, and
    ``declared_models`` None, are not compiled (Numba prunes their branches)."""
    e_lin, floor, cuba_feeds = lif_tables
    if cuba_lif is not None and cuba_feeds[0] >= 0:
        _cuba_block(
            b0, b1, population, rows, feeds, outputs, cuba_feeds, e_lin, floor, t, dt, single
        )
        return
    shift = b0 if narrow else 0  # narrow tables: one block, reused
    if synaptic_rows is not None:
        _synapses(
            b0, b1, shift, narrow, p, rows, feeds, dt, single, wide, other_synapses,
            rows_jumped, jumps, work[6], work[7],
        )  # fmt: skip
    if lif is not None and kind == _LIF:
        _membrane(
            b0, b1, narrow, population, outputs, jumps, e_lin, floor, work, t, dt, single,
            wide, linear_lif, nonlinear_lif,
        )  # fmt: skip
    elif declared_models is not None and kind == _DECLARED:
        _declared_block(
            b0, b1, shift, declared_models[slot], population, outputs, jumps, work, t, dt,
            single,
        )  # fmt: skip
    elif continuous is not None and kind >= _HH:
        _continuous_scalar(
            b0, b1, shift, kind, method, explicit, population, outputs, jumps, work, dt, single
        )
    elif reset is not None:
        _membrane_scalar(
            b0, b1, shift, kind, method, explicit, population, outputs, jumps, work, t, dt, single
        )


@numba.njit(cache=True, error_model="numpy")
def _cuba_block(b0, b1, population, rows, feeds, outputs, cuba_feeds, e_lin, floor, t, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a CUBA-only LIF population through
    :func:`_lif_cuba_pass` (its synapses and membranes in one pass), its shared
    parameters read as numbers."""
    v, _, last, flag, spk, par, is_hard, refractory_model = population
    G, TAU, FACTOR = rows[0], rows[1], rows[2]
    out_value, o_begin, o_end = outputs[3], outputs[4], outputs[5]
    _lif_cuba_pass(
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
        feeds[2],
        cuba_feeds[0],
        cuba_feeds[1],
        out_value[o_begin:o_end],
        par[0, 0],
        par[1, 0],
        par[2, 0],
        par[3, 0],
        par[4, 0],
        par[5, 0],
        par[6, 0],
        e_lin[0],
        floor,
        t,
        dt,
        single,
    )
