"""The input of a neuron: its direct input, then every output's current in registration
order (the oracle's ``sum_current_inputs``), and its slope in V: for one neuron
(``_input_current``) and for a block (``_currents``)."""

from __future__ import annotations

import numba

from refsim.backends.codes import COBA_KIND as _COBA
from refsim.backends.numba.support import param_at
from refsim.outputs import coba_scalar, cuba_scalar


@numba.njit(cache=True, error_model="numpy", inline="always")
def _input_current(j, V, direct, outputs):
    """Neuron ``j``'s input at potential ``V``: the direct input plus every output's
    current (in registration order), and their slope.  ``outputs``: the conductance rows
    ``G`` and the population's outputs, ``(G, out_row, out_kind, out_value, o_begin,
    o_end)``."""
    G, out_row, out_kind, out_value, o_begin, o_end = outputs
    current, slope = direct, 0.0
    for o in range(o_begin, o_end):
        if out_kind[o] == _COBA:
            I, dI = coba_scalar(G[out_row[o], j], out_value[o], V)
        else:
            I, dI = cuba_scalar(G[out_row[o], j], out_value[o], V)
        current = current + I
        slope = slope + dI
    return current, slope


@numba.njit(cache=True, error_model="numpy", inline="always")
def _currents(n, V, V0, c0, direct, d0, cur, slope, outputs):
    """The input of ``n`` neurons at the potentials ``V[V0 + w]`` into ``cur[w]`` and
    ``slope[w]``: the direct input (:func:`param_at` ``d0 + w``), then every output's
    current in registration order (conductance column ``c0 + w``); a pass per output, so
    that each vectorises (:func:`_input_current` is the same sum for one neuron)."""
    G, out_row, out_kind, out_value, o_begin, o_end = outputs
    for w in range(n):
        cur[w] = param_at(direct, d0 + w)
        slope[w] = 0.0
    for o in range(o_begin, o_end):
        row, value = out_row[o], out_value[o]
        if out_kind[o] == _COBA:
            for w in range(n):
                I, dI = coba_scalar(G[row, c0 + w], value, V[V0 + w])
                cur[w] = cur[w] + I
                slope[w] = slope[w] + dI
        else:
            for w in range(n):
                I, dI = cuba_scalar(G[row, c0 + w], value, V[V0 + w])
                cur[w] = cur[w] + I
                slope[w] = slope[w] + dI
