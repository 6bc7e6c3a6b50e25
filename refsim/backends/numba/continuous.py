"""The passes of the models without reset (HH, Wang-Buzsaki, Morris-Lecar,
FitzHugh-Nagumo, Hindmarsh-Rose) over a block: the input at the old potential and the
model's step twin, or an explicit method on the whole system; the level spike."""

from __future__ import annotations

import numba

from refsim.backends.codes import EXP_EULER_METHOD as _EXP_EULER
from refsim.backends.codes import FITZHUGH_NAGUMO_KIND as _FITZHUGH_NAGUMO
from refsim.backends.codes import (
    FITZHUGH_NAGUMO_OWN,
    HH_OWN,
    HINDMARSH_ROSE_OWN,
    MORRIS_LECAR_OWN,
    OWN_START,
    WANG_BUZSAKI_OWN,
)
from refsim.backends.codes import HH_KIND as _HH
from refsim.backends.codes import HINDMARSH_ROSE_KIND as _HINDMARSH_ROSE
from refsim.backends.codes import MORRIS_LECAR_KIND as _MORRIS_LECAR
from refsim.backends.codes import WANG_BUZSAKI_KIND as _WANG_BUZSAKI
from refsim.backends.numba.explicit import _explicit_step
from refsim.backends.numba.jumps import _add_jumps
from refsim.backends.numba.outputs import _currents
from refsim.backends.numba.support import _stored
from refsim.neurons.base import level_spike_scalar
from refsim.neurons.hh import hh_step_scalar, wang_buzsaki_step_scalar
from refsim.neurons.morris_lecar import morris_lecar_step_scalar
from refsim.neurons.reduced import fitzhugh_nagumo_step_scalar, hindmarsh_rose_step_scalar


@numba.njit(cache=True, error_model="numpy")
def _continuous_scalar(
    b0, b1, shift, kind, method, explicit, population, outputs, jumps, work, dt, single
):
    """Neurons ``b0 .. b1 - 1`` of a population without reset (HH, WangBuzsakiHH,
    MorrisLecar, FitzHughNagumo, HindmarshRose): the input at the old potential, then the
    model's step twin (its further states are the rows of ``extra``, named in
    ``codes.NEURON_KINDS``); the stored spike is the level ``(V - V_th) / V_th >= 0``.
    Exponential Euler runs in passes over the block (the input into ``work``, then one
    loop of the model's twin, which vectorises); an explicit method, neuron by neuron
    (compiled where ``explicit`` is not None: a population of the network uses one)."""
    v, extra, _, _, spk, par, _, _ = population
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    tau, V_th, direct = par[1], par[2], par[6]
    own = par[OWN_START:]  # the kind's rows, named in codes.KIND_PARAMS
    rows = extra.shape[0]
    if explicit is not None and method != _EXP_EULER:  # the whole ODE system, the
        # input at each stage's V
        for w in range(n):
            j, k = b0 + w, k0 + w
            y = _explicit_step(
                kind,
                method,
                j,
                k,
                (
                    v[j],
                    extra[0, j] if rows > 0 else 0.0,
                    extra[1, j] if rows > 1 else 0.0,
                    extra[2, j] if rows > 2 else 0.0,
                ),
                par,
                own,
                outputs,
                dt,
            )
            v[j] = y[0]
            for r in range(rows):
                extra[r, j] = y[1 + r]
    else:
        cur = work[0]
        _currents(n, v, b0, b0, direct, k0, cur, work[1], outputs)
        if kind == _FITZHUGH_NAGUMO or kind == _HINDMARSH_ROSE:
            _reduced_steps(kind, b0, k0, n, v, extra, cur, own, tau, dt)
        else:
            _conductance_steps(kind, b0, k0, n, v, extra, cur, own, dt)
    # the jumps, after the step (the other states took the old V)
    if jumps is not None and jumps[0].size:
        _add_jumps(b0, n, v, b0, jumps, single, work[6], work[7])
    for w in range(n):  # the states as stored
        v[b0 + w] = _stored(v[b0 + w], single)
    for r in range(rows):
        for w in range(n):
            extra[r, b0 + w] = _stored(extra[r, b0 + w], single)
    for w in range(n):
        spk[b0 + w] = level_spike_scalar(v[b0 + w], V_th[k0 + w])


@numba.njit(cache=True, error_model="numpy")
def _conductance_steps(kind, b0, k0, n, v, extra, cur, own, dt):
    """Exponential Euler of HH, WangBuzsakiHH and MorrisLecar neurons ``b0 .. b0 + n - 1``
    from their input ``cur`` (a loop of the model's twin each)."""
    b0, k0 = max(b0, 0), max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    if kind == _HH:  # own: ENa, EK, EL, gNa, gK, gL, C; extra: m, h, n
        m, h, n_K = extra[0], extra[1], extra[2]
        for w in range(n):
            j, k = b0 + w, k0 + w
            v[j], m[j], h[j], n_K[j] = hh_step_scalar(
                v[j],
                m[j],
                h[j],
                n_K[j],
                cur[w],
                own[HH_OWN.ENa, k],
                own[HH_OWN.EK, k],
                own[HH_OWN.EL, k],
                own[HH_OWN.gNa, k],
                own[HH_OWN.gK, k],
                own[HH_OWN.gL, k],
                own[HH_OWN.C, k],
                dt,
            )
    elif kind == _WANG_BUZSAKI:  # own: ENa, EK, EL, gNa, gK, gL, C, phi; extra: h, n
        h, n_K = extra[0], extra[1]
        for w in range(n):
            j, k = b0 + w, k0 + w
            v[j], h[j], n_K[j] = wang_buzsaki_step_scalar(
                v[j],
                h[j],
                n_K[j],
                cur[w],
                own[WANG_BUZSAKI_OWN.ENa, k],
                own[WANG_BUZSAKI_OWN.EK, k],
                own[WANG_BUZSAKI_OWN.EL, k],
                own[WANG_BUZSAKI_OWN.gNa, k],
                own[WANG_BUZSAKI_OWN.gK, k],
                own[WANG_BUZSAKI_OWN.gL, k],
                own[WANG_BUZSAKI_OWN.C, k],
                own[WANG_BUZSAKI_OWN.phi, k],
                dt,
            )
    elif kind == _MORRIS_LECAR:  # own: V_Ca, V_K, V_leak, g_Ca, g_K, g_leak, C,
        W = extra[0]  # V1, V2, V3, V4, phi; extra: W
        for w in range(n):
            j, k = b0 + w, k0 + w
            v[j], W[j] = morris_lecar_step_scalar(
                v[j],
                W[j],
                cur[w],
                own[MORRIS_LECAR_OWN.V_Ca, k],
                own[MORRIS_LECAR_OWN.V_K, k],
                own[MORRIS_LECAR_OWN.V_leak, k],
                own[MORRIS_LECAR_OWN.g_Ca, k],
                own[MORRIS_LECAR_OWN.g_K, k],
                own[MORRIS_LECAR_OWN.g_leak, k],
                own[MORRIS_LECAR_OWN.C, k],
                own[MORRIS_LECAR_OWN.V1, k],
                own[MORRIS_LECAR_OWN.V2, k],
                own[MORRIS_LECAR_OWN.V3, k],
                own[MORRIS_LECAR_OWN.V4, k],
                own[MORRIS_LECAR_OWN.phi, k],
                dt,
            )


@numba.njit(cache=True, error_model="numpy")
def _reduced_steps(kind, b0, k0, n, v, extra, cur, own, tau, dt):
    """Exponential Euler of FitzHughNagumo and HindmarshRose neurons ``b0 .. b0 + n - 1``
    from their input ``cur``."""
    b0, k0 = max(b0, 0), max(k0, 0)  # >= 0: no wraparound, so the loops vectorise
    if kind == _FITZHUGH_NAGUMO:  # own: a, b, tau_w; extra: w
        W = extra[0]
        for w in range(n):
            j, k = b0 + w, k0 + w
            v[j], W[j] = fitzhugh_nagumo_step_scalar(
                v[j],
                W[j],
                cur[w],
                own[FITZHUGH_NAGUMO_OWN.a, k],
                own[FITZHUGH_NAGUMO_OWN.b, k],
                tau[k],
                own[FITZHUGH_NAGUMO_OWN.tau_w, k],
                dt,
            )
    else:  # Hindmarsh-Rose; own: a, b, c, d, r, s, V_r; extra: y, z
        Y, Z = extra[0], extra[1]
        for w in range(n):
            j, k = b0 + w, k0 + w
            v[j], Y[j], Z[j] = hindmarsh_rose_step_scalar(
                v[j],
                Y[j],
                Z[j],
                cur[w],
                own[HINDMARSH_ROSE_OWN.a, k],
                own[HINDMARSH_ROSE_OWN.b, k],
                own[HINDMARSH_ROSE_OWN.c, k],
                own[HINDMARSH_ROSE_OWN.d, k],
                own[HINDMARSH_ROSE_OWN.r, k],
                own[HINDMARSH_ROSE_OWN.s, k],
                own[HINDMARSH_ROSE_OWN.V_r, k],
                tau[k],
                dt,
            )
