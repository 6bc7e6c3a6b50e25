"""What Numba needs to compile refsim's scalar kernels: the portable math of
:mod:`refsim.fmath` registered as jittable, and an exact power of two.

Importing this module imports Numba; :mod:`refsim.backends` does so only when the
numba backend is used.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload, register_jitable

from refsim import fmath
from refsim.integrators import exp_euler_scalar
from refsim.neurons.base import reset_scalar, spike_scalar
from refsim.neurons.lif import lif_drift_scalar
from refsim.outputs import coba_scalar, cuba_scalar
from refsim.synapses.expon import expon_decay_scalar, expon_factor_scalar


@intrinsic
def _float_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits (no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@overload(fmath._pow2_scalar, jit_options={"fastmath": False})
def _pow2_numba(k):
    def impl(k):  # k integer-valued, within [-1022, 1023]
        return _float_from_bits((int(k) + 1023) << 52)
    return impl


#: every scalar twin the compiled loops call, registered so that Numba compiles them inline
TWINS = (fmath._poly_exp, fmath._poly_exprel, fmath.exp_scalar,
         fmath.exprel_scalar, spike_scalar, reset_scalar, lif_drift_scalar, exp_euler_scalar,
         expon_factor_scalar, expon_decay_scalar,
         cuba_scalar, coba_scalar)

for _function in TWINS:
    register_jitable(_function)
