r"""Numerical integration of one step.

Exponential Euler (brainpy's ``exp_euler_step``) advances ``dx/dt = f(x)`` by

.. math::

    x_{n+1} = x_n + \\Delta t \\, \\mathrm{exprel}(\\Delta t J) \\, f(x_n),
    \\qquad J = \\partial f / \\partial x \\big|_{x_n},
    \\qquad \\mathrm{exprel}(z) = (e^z - 1)/z,

with the Jacobian of the *whole* drift taken at the old value.  For a linear
drift ``a - b x`` this is the exact solution with constant coefficients.

The explicit methods advance a whole system :math:`\dot y = F(y)` at once
(:func:`explicit_step`): ``euler`` (order 1), ``rk2`` (the midpoint rule, order 2)
and ``rk4`` (the classic fourth-order method).
"""

from __future__ import annotations

import numpy as np

from refsim import fmath

__all__ = ["exprel", "exp_euler", "exp_euler_scalar", "explicit_step", "METHODS"]

#: integration methods a nonlinear neuron accepts (``method=``); exp_euler is brainpy's
METHODS = ("exp_euler", "euler", "rk2", "rk4")


def exprel(z):
    """``(exp(z) - 1) / z``, with ``exprel(0) = 1`` (:func:`refsim.fmath.exprel`).

    brainpy evaluates ``expm1(z) / z`` (a series below ``|z| = 1e-7``); refsim uses its
    portable :mod:`refsim.fmath` version, within 2 ulp of that and bit-identical on
    every backend.  Overflow gives ``inf``, as in brainpy (a refractory model computes
    such a candidate and then discards it).
    """
    if np.ndim(z) == 0:  # one rate for the whole population (e.g. a synapse's 1/tau)
        return np.asarray(z).dtype.type(fmath.exprel_scalar(float(z)))  # z's float type
    with np.errstate(over="ignore", invalid="ignore"):
        return fmath.exprel(z)


def exp_euler(x, drift, jacobian, dt: float):
    """One exponential-Euler step from ``x`` given ``f(x)`` and ``df/dx`` at ``x``."""
    return x + dt * exprel(dt * jacobian) * drift


def exp_euler_scalar(x: float, drift: float, e: float, dt: float) -> float:
    """Scalar twin of :func:`exp_euler` given ``e = exprel(dt * jacobian)`` (numba loops)."""
    return x + dt * e * drift


def explicit_step(y: dict, derivatives, dt: float, method: str) -> dict:
    """One step of an explicit method on the system ``dy/dt = derivatives(y)``.

    ``y`` maps variable names to arrays; ``derivatives`` returns the same keys.
    """

    def shifted(base, k, h):
        return {name: base[name] + h * k[name] for name in base}

    k1 = derivatives(y)
    if method == "euler":
        return shifted(y, k1, dt)
    if method == "rk2":
        return shifted(y, derivatives(shifted(y, k1, dt / 2)), dt)
    if method == "rk4":
        k2 = derivatives(shifted(y, k1, dt / 2))
        k3 = derivatives(shifted(y, k2, dt / 2))
        k4 = derivatives(shifted(y, k3, dt))
        return {
            name: y[name] + dt / 6 * (k1[name] + 2 * k2[name] + 2 * k3[name] + k4[name])
            for name in y
        }
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")
