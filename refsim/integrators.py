"""Numerical integration of one step.

Exponential Euler (brainpy's ``exp_euler_step``) advances ``dx/dt = f(x)`` by

.. math::

    x_{n+1} = x_n + \\Delta t \\, \\mathrm{exprel}(\\Delta t J) \\, f(x_n),
    \\qquad J = \\partial f / \\partial x \\big|_{x_n},
    \\qquad \\mathrm{exprel}(z) = (e^z - 1)/z,

with the Jacobian of the *whole* drift taken at the old value.  For a linear
drift ``a - b x`` this is the exact solution with constant coefficients.
"""

from __future__ import annotations

import numpy as np

__all__ = ["exprel", "exp_euler"]

# Taylor coefficients 1/(k+1)! of exprel, highest order first (order 5, Horner form)
_TAYLOR = (1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1.0)
_SMALL = 1e-7  # float64 switch point below which the series is used


def exprel(z):
    """``(exp(z) - 1) / z``, with ``exprel(0) = 1``.

    For ``|z| <= 1e-7`` a fifth-order Taylor polynomial is used (as brainpy
    does in float64), elsewhere ``expm1(z) / z``.
    """
    if np.ndim(z) == 0:  # one rate for the whole population (e.g. a synapse's 1/tau)
        z = np.float64(z)
        if abs(z) <= _SMALL:
            return _series(z)
        with np.errstate(over="ignore"):
            return np.expm1(z) / z
    z = np.asarray(z, dtype=np.float64)
    # 0/0 is replaced just below; overflow gives inf, as in brainpy (a refractory model
    # computes such a candidate and then discards it)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = np.expm1(z) / z
    small = np.abs(z) <= _SMALL
    if small.any():
        out[small] = _series(z[small])
    return out


def _series(z):
    """Fifth-order Taylor polynomial of exprel (Horner form)."""
    result = 0.0 * z
    for c in _TAYLOR:
        result = result * z + c
    return result


def exp_euler(x, drift, jacobian, dt: float):
    """One exponential-Euler step from ``x`` given ``f(x)`` and ``df/dx`` at ``x``."""
    return x + dt * exprel(dt * jacobian) * drift
