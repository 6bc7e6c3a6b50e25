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
``tanh(x)``, ``cosh(x)``
    :math:`1 - 2/(e^{2x} + 1)` and :math:`(e^x + 1/e^x)/2` from ``exp``: within a few
    ulp of 1 in absolute terms (``tanh`` loses relative accuracy near 0, where it is
    used as ``(1 + tanh)/2``).
``flush_subnormals(x)``
    A subnormal number (nonzero, below the smallest normal float of its precision in
    magnitude) replaced by +0.0, everything else (zeros, NaN, infinities) unchanged: what
    a state holds once written, on every backend (``docs/precision.md``).

Each function exists twice in this file, one after the other: the array version
(NumPy, and CuPy through the array API) and the scalar version that Numba compiles
into its loops.  They perform the same operations in the same order; the tests
compare them bit for bit on millions of arguments.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "exp",
    "exprel",
    "tanh",
    "cosh",
    "exp_scalar",
    "exprel_scalar",
    "tanh_scalar",
    "cosh_scalar",
    "flush_subnormals",
    "flushed_scalar",
    "SMALLEST_NORMAL_64",
    "SMALLEST_NORMAL_32",
]

#: the smallest normal float64 and float32 (``np.finfo(...).smallest_normal``); a state
#: of smaller nonzero magnitude, a subnormal, is stored as 0 (:func:`flush_subnormals`)
SMALLEST_NORMAL_64 = 2.2250738585072014e-308
SMALLEST_NORMAL_32 = 1.1754943508222875e-38

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 21 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_X_MIN, _X_MAX = -760.0, 720.0  # clamp: below gives 0, above gives inf
_EXPREL_SERIES_BELOW = 0.5


def _inverse_factorial(k: int) -> float:
    return 1.0 / float(np.prod(np.arange(1, k + 1, dtype=np.float64)))


# Taylor coefficients, lowest order first: e^r (degree 13) and exprel(z) (degree 15)
E = tuple(_inverse_factorial(k) for k in range(14))
R = tuple(_inverse_factorial(k + 1) for k in range(16))


# The polynomials in Estrin's form: independent pairs combined by powers of the
# argument, so that a compiled loop keeps several multiplications in flight and
# vectorises (Horner's form is one long chain of dependent operations).  Arrays or
# scalars alike; the same operations in the same order everywhere.


def _poly_exp(r):
    """Degree-13 Taylor polynomial of e^r (Estrin's scheme)."""
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    q0 = (E[0] + E[1] * r) + (E[2] + E[3] * r) * r2
    q1 = (E[4] + E[5] * r) + (E[6] + E[7] * r) * r2
    q2 = (E[8] + E[9] * r) + (E[10] + E[11] * r) * r2
    q3 = E[12] + E[13] * r
    return (q0 + q1 * r4) + (q2 + q3 * r4) * r8


def _poly_exprel(z):
    """Degree-15 Taylor polynomial of (e^z - 1)/z (Estrin's scheme)."""
    z2 = z * z
    z4 = z2 * z2
    z8 = z4 * z4
    q0 = (R[0] + R[1] * z) + (R[2] + R[3] * z) * z2
    q1 = (R[4] + R[5] * z) + (R[6] + R[7] * z) * z2
    q2 = (R[8] + R[9] * z) + (R[10] + R[11] * z) * z2
    q3 = (R[12] + R[13] * z) + (R[14] + R[15] * z) * z2
    return (q0 + q1 * z4) + (q2 + q3 * z4) * z8


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


def _exp64(x):
    """:func:`exp` in float64, whatever the float type of ``x``."""
    xp = _namespace(x)
    x = xp.asarray(x, dtype=xp.float64)
    nan = x != x
    clamped = xp.minimum(xp.maximum(xp.where(nan, 0.0, x), _X_MIN), _X_MAX)
    k = xp.floor(clamped * _LOG2E + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    k1 = xp.floor(k * 0.5)
    out = _poly_exp(r) * _pow2(k1) * _pow2(k - k1)
    return xp.where(nan, x, out)


def _exprel64(z):
    xp = _namespace(z)
    z = xp.asarray(z, dtype=xp.float64)
    small = xp.abs(z) < _EXPREL_SERIES_BELOW
    safe = xp.where(small, 1.0, z)  # no 0/0 in the branch that is not taken
    return xp.where(small, _poly_exprel(z), (_exp64(safe) - 1.0) / safe)


def _rounded(out, x):
    """``out`` (float64) rounded once to the float type of ``x`` when that is float32
    (``precision=32``); a 0-d result as a scalar."""
    if getattr(x, "dtype", None) == np.float32:
        out = out.astype(np.float32)
    return out[()] if out.ndim == 0 else out


def exp(x):
    """:math:`e^x`, elementwise, identical on every backend (see the module text).

    Evaluated in float64; a float32 ``x`` gets the result rounded to float32."""
    return _rounded(_exp64(x), x)


def exprel(z):
    """:math:`(e^z - 1)/z` with :math:`\\mathrm{exprel}(0) = 1`, elementwise (float64,
    rounded to float32 for a float32 ``z``)."""
    return _rounded(_exprel64(z), z)


def tanh(x):
    """:math:`\\tanh x = 1 - 2/(e^{2x} + 1)`, elementwise, from :func:`exp` (float64,
    rounded to float32 for a float32 ``x``)."""
    return _rounded(1.0 - 2.0 / (_exp64(2.0 * x) + 1.0), x)


def cosh(x):
    r""":math:`\cosh x = (e^x + 1/e^x)/2`, elementwise, from :func:`exp` (float64, rounded
    to float32 for a float32 ``x``)."""
    e = _exp64(x)
    return _rounded(0.5 * (e + 1.0 / e), x)


def flush_subnormals(x):
    """``x`` with each subnormal element replaced by +0.0 (a new array only if it has one);
    zeros, NaN, infinities and arrays of integers or booleans come back unchanged.

    Subnormal: nonzero and smaller in magnitude than the smallest normal number of
    ``x``'s float type (:data:`SMALLEST_NORMAL_64`, :data:`SMALLEST_NORMAL_32`).  Arithmetic
    on them is about a hundred times slower on a CPU, and a decaying state reaches them and
    stays (``g + f * (-g / tau)`` rounds back to ``g``), so every state is flushed where it
    is written (``State.data``, and the compiled loops' stores).  ``x``: an array."""
    if x.dtype.kind != "f":
        return x
    size = np.abs(x)
    subnormal = (size < np.finfo(x.dtype).smallest_normal) & (size > 0.0)
    return np.where(subnormal, x.dtype.type(0.0), x) if subnormal.any() else x


# -- scalar versions (compiled by Numba into the backend's loops) ----------------------
# exp_scalar selects without branching (its loop vectorises); exprel_scalar branches,
# which is cheaper than evaluating both sides when |z| < 1/2 almost always.


def _pow2_scalar(k):  # pragma: no cover - replaced by the Numba intrinsic below
    return float(2.0**k)


def exp_scalar(x: float) -> float:
    """Scalar twin of :func:`exp` (same operations, same order)."""
    nan = x != x
    clamped = min(max(0.0 if nan else x, _X_MIN), _X_MAX)
    k = np.floor(clamped * _LOG2E + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    k1 = np.floor(k * 0.5)
    out = _poly_exp(r) * _pow2_scalar(k1) * _pow2_scalar(k - k1)
    return x if nan else out


def exprel_scalar(z: float) -> float:
    """Scalar twin of :func:`exprel` (a real branch: the series alone costs less)."""
    if abs(z) < _EXPREL_SERIES_BELOW:
        return _poly_exprel(z)
    return (exp_scalar(z) - 1.0) / z


def tanh_scalar(x: float) -> float:
    """Scalar twin of :func:`tanh`."""
    return 1.0 - 2.0 / (exp_scalar(2.0 * x) + 1.0)


def cosh_scalar(x: float) -> float:
    """Scalar twin of :func:`cosh`."""
    e = exp_scalar(x)
    return 0.5 * (e + 1.0 / e)


def flushed_scalar(x: float, single: bool) -> float:
    """Scalar twin of :func:`flush_subnormals` for a state stored as a float64 (``single``
    false) or as a float32 (true; ``x`` already rounded to one)."""
    smallest = SMALLEST_NORMAL_32 if single else SMALLEST_NORMAL_64
    return 0.0 if x != 0.0 and abs(x) < smallest else x
