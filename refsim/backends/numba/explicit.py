"""The explicit methods (``method='euler'``, ``'rk2'``, ``'rk4'``): each model's
right-hand side from its derivatives twin, and one stepper for all
(``_explicit_step``)."""

from __future__ import annotations

import numba

from refsim.backends.codes import ADEX_KIND as _ADEX
from refsim.backends.codes import (
    ADEX_OWN,
    ADQUAIF_OWN,
    FITZHUGH_NAGUMO_OWN,
    HH_OWN,
    HINDMARSH_ROSE_OWN,
    IZHIKEVICH_OWN,
    MORRIS_LECAR_OWN,
    WANG_BUZSAKI_OWN,
)
from refsim.backends.codes import ADQUAIF_KIND as _ADQUAIF
from refsim.backends.codes import EULER_METHOD as _EULER
from refsim.backends.codes import EXPIF_KIND as _EXPIF
from refsim.backends.codes import FITZHUGH_NAGUMO_KIND as _FITZHUGH_NAGUMO
from refsim.backends.codes import HH_KIND as _HH
from refsim.backends.codes import IZHIKEVICH_KIND as _IZHIKEVICH
from refsim.backends.codes import MORRIS_LECAR_KIND as _MORRIS_LECAR
from refsim.backends.codes import QUAIF_KIND as _QUAIF
from refsim.backends.codes import RK2_METHOD as _RK2
from refsim.backends.codes import WANG_BUZSAKI_KIND as _WANG_BUZSAKI
from refsim.backends.numba.outputs import _input_current
from refsim.neurons.exponential import expif_derivatives_scalar
from refsim.neurons.hh import (
    hh_derivatives_scalar,
    wang_buzsaki_derivatives_scalar,
)
from refsim.neurons.izhikevich import (
    izhikevich_derivatives_scalar,
)
from refsim.neurons.morris_lecar import morris_lecar_derivatives_scalar
from refsim.neurons.quadratic import quaif_derivatives_scalar
from refsim.neurons.reduced import (
    fitzhugh_nagumo_derivatives_scalar,
    hindmarsh_rose_derivatives_scalar,
)

# -- the explicit methods: each model's right-hand side, one stepper for all ------------
# A right-hand side takes the states ``y = (V, s0, s1, s2)`` (the rows of ``extra`` in the
# order of ``codes.NEURON_KINDS``, 0.0 past the model's), the input current at ``V``, the
# parameter table ``par`` and its kind's rows ``own`` (``codes.KIND_PARAMS``), read at
# column ``k``; it returns the derivatives in the same order (0.0 past the model's).
# :func:`_derivatives` picks one by kind, :func:`_explicit_step` combines the stages.
# All are inlined by Numba (``inline="always"``) into the neuron loops: as calls, each
# passed its arrays with a reference count taken and dropped (an atomic operation on a
# counter that both threads touch) and Izhikevich's Euler step cost 77 ns a neuron
# instead of 19 ns.  The stages run in a loop, so the right-hand sides are compiled once
# per caller, not once per stage (a cold compile of 55 s otherwise, 26 s so).


@numba.njit(cache=True, error_model="numpy", inline="always")
def _exp_or_quadratic_rhs(kind, y, current, par, own, k):
    """ExpIF and AdExIF (own: V_T, delta_T, then tau_w, a, b), QuaIF and AdQuaIF (own: V_c,
    c, then tau_w, a, b); ``y[1]`` is ``w`` with adaptation, unused without."""
    adaptive = kind == _ADEX or kind == _ADQUAIF
    # (AdQuaIF's tau_w and a sit in AdEx's rows)
    w, tau_w, a = (
        (y[1], own[ADEX_OWN.tau_w, k], own[ADEX_OWN.a, k]) if adaptive else (0.0, 1.0, 0.0)
    )
    if kind == _QUAIF or kind == _ADQUAIF:
        dV, dw = quaif_derivatives_scalar(
            y[0],
            w,
            current,
            adaptive,
            par[0, k],
            par[1, k],
            par[4, k],
            own[ADQUAIF_OWN.V_c, k],
            own[ADQUAIF_OWN.c, k],
            tau_w,
            a,
        )
    else:
        dV, dw = expif_derivatives_scalar(
            y[0],
            w,
            current,
            adaptive,
            par[0, k],
            par[1, k],
            par[4, k],
            own[ADEX_OWN.V_T, k],
            own[ADEX_OWN.delta_T, k],
            tau_w,
            a,
        )
    return dV, dw, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _izhikevich_rhs(y, current, par, own, k):  # own: a, b, c, d, p1, p2, p3
    dV, du = izhikevich_derivatives_scalar(
        y[0],
        y[1],
        current,
        own[IZHIKEVICH_OWN.a, k],
        own[IZHIKEVICH_OWN.b, k],
        own[IZHIKEVICH_OWN.p1, k],
        own[IZHIKEVICH_OWN.p2, k],
        own[IZHIKEVICH_OWN.p3, k],
    )
    return dV, du, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _hh_rhs(y, current, par, own, k):  # own: ENa, EK, EL, gNa, gK, gL, C
    return hh_derivatives_scalar(
        y[0],
        y[1],
        y[2],
        y[3],
        current,
        own[HH_OWN.ENa, k],
        own[HH_OWN.EK, k],
        own[HH_OWN.EL, k],
        own[HH_OWN.gNa, k],
        own[HH_OWN.gK, k],
        own[HH_OWN.gL, k],
        own[HH_OWN.C, k],
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _wang_buzsaki_rhs(y, current, par, own, k):  # own: ENa, EK, EL, gNa, gK, gL, C, phi
    dV, dh, dn = wang_buzsaki_derivatives_scalar(
        y[0],
        y[1],
        y[2],
        current,
        own[WANG_BUZSAKI_OWN.ENa, k],
        own[WANG_BUZSAKI_OWN.EK, k],
        own[WANG_BUZSAKI_OWN.EL, k],
        own[WANG_BUZSAKI_OWN.gNa, k],
        own[WANG_BUZSAKI_OWN.gK, k],
        own[WANG_BUZSAKI_OWN.gL, k],
        own[WANG_BUZSAKI_OWN.C, k],
        own[WANG_BUZSAKI_OWN.phi, k],
    )
    return dV, dh, dn, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _morris_lecar_rhs(y, current, par, own, k):  # own: V_Ca, V_K, V_leak, g_Ca, g_K,
    #                                              g_leak, C, V1, V2, V3, V4, phi
    dV, dW = morris_lecar_derivatives_scalar(
        y[0],
        y[1],
        current,
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
    )
    return dV, dW, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _fitzhugh_nagumo_rhs(y, current, par, own, k):  # own: a, b, tau_w
    dV, dw = fitzhugh_nagumo_derivatives_scalar(
        y[0],
        y[1],
        current,
        own[FITZHUGH_NAGUMO_OWN.a, k],
        own[FITZHUGH_NAGUMO_OWN.b, k],
        par[1, k],
        own[FITZHUGH_NAGUMO_OWN.tau_w, k],
    )
    return dV, dw, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _hindmarsh_rose_rhs(y, current, par, own, k):  # own: a, b, c, d, r, s, V_r
    dV, dy, dz = hindmarsh_rose_derivatives_scalar(
        y[0],
        y[1],
        y[2],
        current,
        own[HINDMARSH_ROSE_OWN.a, k],
        own[HINDMARSH_ROSE_OWN.b, k],
        own[HINDMARSH_ROSE_OWN.c, k],
        own[HINDMARSH_ROSE_OWN.d, k],
        own[HINDMARSH_ROSE_OWN.r, k],
        own[HINDMARSH_ROSE_OWN.s, k],
        own[HINDMARSH_ROSE_OWN.V_r, k],
        par[1, k],
    )
    return dV, dy, dz, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _shifted(y, slope, h):
    """``y + h * slope``, element by element (``explicit_step``'s ``shifted``)."""
    return (y[0] + h * slope[0], y[1] + h * slope[1], y[2] + h * slope[2], y[3] + h * slope[3])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _derivatives(kind, j, k, y, par, own, outputs):
    """The derivatives of neuron ``j`` at ``y``: the input current at ``y[0]``
    (:func:`_input_current`, through ``outputs``), then the right-hand side of population
    kind ``kind``."""
    current = _input_current(j, y[0], par[6, k], outputs)[0]
    if kind == _EXPIF or kind == _ADEX or kind == _QUAIF or kind == _ADQUAIF:
        return _exp_or_quadratic_rhs(kind, y, current, par, own, k)
    if kind == _IZHIKEVICH:
        return _izhikevich_rhs(y, current, par, own, k)
    if kind == _HH:
        return _hh_rhs(y, current, par, own, k)
    if kind == _WANG_BUZSAKI:
        return _wang_buzsaki_rhs(y, current, par, own, k)
    if kind == _MORRIS_LECAR:
        return _morris_lecar_rhs(y, current, par, own, k)
    if kind == _FITZHUGH_NAGUMO:
        return _fitzhugh_nagumo_rhs(y, current, par, own, k)
    return _hindmarsh_rose_rhs(y, current, par, own, k)  # HindmarshRose, the last kind


@numba.njit(cache=True, error_model="numpy", inline="always")
def _explicit_step(kind, method, j, k, y, par, own, outputs, dt):
    """One step of :func:`refsim.integrators.explicit_step` (euler, rk2 or rk4) of neuron
    ``j`` from ``y``, the same operations in the same order (:func:`_derivatives` at each
    stage)."""
    stages = 1 if method == _EULER else (2 if method == _RK2 else 4)
    at, total = y, y  # where the next stage is taken; rk4's k1 + 2 k2 + 2 k3 + k4 so far
    for stage in range(stages):  # one call site: the right-hand sides compile once
        slope = _derivatives(kind, j, k, at, par, own, outputs)
        last = stage == stages - 1
        if stages < 4:  # euler: y + dt k1; rk2: k2 at y + dt/2 k1, then y + dt k2
            at = _shifted(y, slope, dt if last else dt / 2)
        else:  # rk4: k2 and k3 at half steps, k4 at a whole one
            total = slope if stage == 0 else _shifted(total, slope, 1.0 if last else 2.0)
            at = _shifted(y, slope, dt / 2 if stage < 2 else dt)
    return at if stages < 4 else _shifted(y, total, dt / 6)
