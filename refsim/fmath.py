r"""Portable elementary functions: the same bits on every backend and every CPU.

NumPy evaluates ``exp`` with SIMD code chosen at run time (AVX-512 on this machine's
kind), Numba calls the C library and a GPU its own routines; the three disagree in
the last bit for a few percent of arguments.  In a recurrent network one such bit
eventually moves a spike, so refsim computes the exponential itself, from additions,
multiplications and one exact scaling by a power of two, in a fixed order that every
backend repeats exactly (IEEE-754 rounding of ``+ - * /`` is the same everywhere;
compiled code must not contract them into fused multiply-adds).

``exp(x)``
    Cody-Waite reduction :math:`x = k \ln 2 + r`, :math:`|r| \le \ln 2 / 2`, a Taylor
    polynomial of degree 13 for :math:`e^r` (truncation below 1e-17 relative) and the
    scaling :math:`2^{k_1} 2^{k_2}` with :math:`k_1 + k_2 = k`, so that no factor
    leaves the normal range.  Within 2 ulp of the correctly rounded value (tested);
    overflow gives ``inf``, ``-inf`` gives 0, NaN stays NaN.
``exprel(z)``
    :math:`(e^z - 1)/z`: for :math:`|z| < 1/2` its own Taylor polynomial (degree 15,
    no cancellation), elsewhere ``(exp(z) - 1) / z``.

Each function exists twice in this file, one after the other: the array version
(NumPy, and CuPy through the array API) and the scalar version that Numba compiles
into its loops.  They perform the same operations in the same order; the tests
compare them bit for bit on millions of arguments.
"""

from __future__ import annotations

import numpy as np

__all__ = ["exp", "exprel", "exp_scalar", "exprel_scalar"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 21 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_X_MIN, _X_MAX = -760.0, 720.0  # clamp: below gives 0, above gives inf
# 1/k! for k = 13 .. 0 (Horner, highest first)
_EXP_TAYLOR = tuple(1.0 / float(np.prod(np.arange(1, k + 1, dtype=np.float64)))
                    for k in range(13, -1, -1))
# 1/(k+1)! for k = 15 .. 0: the Taylor coefficients of exprel
_EXPREL_TAYLOR = tuple(1.0 / float(np.prod(np.arange(1, k + 2, dtype=np.float64)))
                       for k in range(15, -1, -1))
_EXPREL_SERIES_BELOW = 0.5


def _poly(coefficients, x):
    """Horner evaluation, highest coefficient first; arrays or scalars."""
    result = coefficients[0] * x + coefficients[1]
    for c in coefficients[2:]:
        result = result * x + c
    return result


# -- array versions (NumPy; CuPy arrays pass through the same expressions) --------------

def _pow2(k):
    """``2.0 ** k`` for integer-valued float arrays ``k`` in [-1022, 1023], exactly."""
    xp = _namespace(k)
    return ((k.astype(xp.int64) + 1023) << 52).view(xp.float64)


def _namespace(x):
    module = type(x).__module__
    if module.startswith("cupy"):
        import cupy
        return cupy
    return np


def exp(x):
    """:math:`e^x`, elementwise, identical on every backend (see the module text)."""
    xp = _namespace(x)
    x = xp.asarray(x, dtype=xp.float64)
    clamped = xp.minimum(xp.maximum(x, _X_MIN), _X_MAX)
    clamped = xp.where(x != x, 0.0, clamped)  # NaN: any finite k, fixed up at the end
    k = xp.floor(clamped * _LOG2E + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    k1 = xp.floor(k * 0.5)
    out = _poly(_EXP_TAYLOR, r) * _pow2(k1) * _pow2(k - k1)
    out = xp.where(x != x, x, out)
    return out[()] if out.ndim == 0 else out


def exprel(z):
    """:math:`(e^z - 1)/z` with :math:`\\mathrm{exprel}(0) = 1`, elementwise."""
    xp = _namespace(z)
    z = xp.asarray(z, dtype=xp.float64)
    small = xp.abs(z) < _EXPREL_SERIES_BELOW
    safe = xp.where(small, 1.0, z)  # no 0/0 in the branch that is not taken
    out = xp.where(small, _poly(_EXPREL_TAYLOR, z), (exp(safe) - 1.0) / safe)
    return out[()] if out.ndim == 0 else out


# -- scalar versions (compiled by Numba into the backend's loops) ----------------------

def _pow2_scalar(k):  # pragma: no cover - replaced by the Numba intrinsic below
    return float(2.0 ** k)


def exp_scalar(x: float) -> float:
    """Scalar twin of :func:`exp` (same operations, same order)."""
    if x != x:
        return x
    clamped = min(max(x, _X_MIN), _X_MAX)
    k = np.floor(clamped * _LOG2E + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    k1 = np.floor(k * 0.5)
    return _poly_exp(r) * _pow2_scalar(k1) * _pow2_scalar(k - k1)


def exprel_scalar(z: float) -> float:
    """Scalar twin of :func:`exprel`."""
    if abs(z) < _EXPREL_SERIES_BELOW:
        return _poly_exprel(z)
    return (exp_scalar(z) - 1.0) / z


def _poly_exp(x):
    return _poly(_EXP_TAYLOR, x)


def _poly_exprel(x):
    return _poly(_EXPREL_TAYLOR, x)
