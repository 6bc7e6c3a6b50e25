"""What Numba needs to compile refsim's scalar kernels: the portable math of
:mod:`refsim.fmath` registered as jittable, and an exact power of two.

Importing this module imports Numba; :mod:`refsim.backends` does so only when the
numba backend is used.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload, register_jitable

from refsim import fmath
from refsim.integrators import exp_euler_scalar
from refsim.neurons.adaptive import adaptation_step_scalar
from refsim.neurons.base import level_spike_scalar, reset_scalar, spike_scalar
from refsim.neurons.exponential import expif_step_scalar
from refsim.neurons.gif import gif_reset_scalar, gif_step_scalar
from refsim.neurons.hh import (
    _gate_scalar,
    hh_step_scalar,
    morris_lecar_step_scalar,
    wang_buzsaki_step_scalar,
)
from refsim.neurons.izhikevich import izhikevich_reset_scalar, izhikevich_step_scalar
from refsim.neurons.lif import (
    alif_spike_scalar,
    alif_step_scalar,
    if_reset_scalar,
    if_step_scalar,
    lif_drift_scalar,
    lif_synapse_step_scalar,
)
from refsim.neurons.quadratic import quaif_step_scalar
from refsim.neurons.reduced import fitzhugh_nagumo_step_scalar, hindmarsh_rose_step_scalar
from refsim.outputs import coba_scalar, cuba_scalar
from refsim.synapses.expon import (
    dual_expon_step_scalar,
    expon_decay_scalar,
    expon_factor_scalar,
)


@intrinsic
def _float_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits (no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to bring ``array[index]`` into its caches ahead of use (no effect on
    any value: LLVM's ``llvm.prefetch``, for reading, highest locality)."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        address = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]],
                                           wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        builder.call(function, [builder.bitcast(address, byte_pointer), ir.Constant(i32, 0),
                                ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.none(array, index), codegen


@overload(fmath._pow2_scalar, jit_options={"fastmath": False})
def _pow2_numba(k):
    def impl(k):  # k integer-valued, within [-1022, 1023]
        return _float_from_bits((int(k) + 1023) << 52)
    return impl


#: every scalar twin the compiled loops call, registered so that Numba compiles them inline
TWINS = (fmath._poly_exp, fmath._poly_exprel, fmath.exp_scalar, fmath.tanh_scalar,
         fmath.cosh_scalar, morris_lecar_step_scalar,
         fmath.exprel_scalar, spike_scalar, reset_scalar, lif_drift_scalar, exp_euler_scalar,
         alif_step_scalar, alif_spike_scalar, expif_step_scalar, izhikevich_reset_scalar,
         izhikevich_step_scalar, level_spike_scalar, adaptation_step_scalar,
         quaif_step_scalar, _gate_scalar, hh_step_scalar, wang_buzsaki_step_scalar,
         if_reset_scalar, if_step_scalar, lif_synapse_step_scalar,
         fitzhugh_nagumo_step_scalar, hindmarsh_rose_step_scalar, gif_reset_scalar,
         gif_step_scalar,
         expon_factor_scalar, expon_decay_scalar, dual_expon_step_scalar,
         cuba_scalar, coba_scalar)

for _function in TWINS:
    register_jitable(_function)
