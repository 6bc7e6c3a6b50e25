"""What Numba needs to compile refsim's scalar kernels: the portable math of
:mod:`refsim.fmath` registered as jittable, an exact power of two, a parameter read from
a table row or as one number (:func:`param_at`), eight spike flags read as one word
(:func:`eight_flags`), tables of arrays (:func:`array_table`), and the atomics of the barrier that
keeps the threads of one compiled run in step.

Importing this module imports Numba; :mod:`refsim.backends` does so only when the
numba backend is used.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload, register_jitable
from numba.np.arrayobj import populate_array

from refsim import fmath
from refsim.backends.codes import scalar_twins


@intrinsic
def _float_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits (no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


def _item_pointer(context, builder, signature, args):
    """The address of ``array[index]`` (``args``: the array, the index), unchecked."""
    array_type = signature.args[0]
    view = context.make_array(array_type)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, array_type, view, [args[1]], wraparound=False)


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to bring ``array[index]`` into its caches ahead of use (no effect on
    any value: LLVM's ``llvm.prefetch``, for reading, highest locality)."""

    def codegen(context, builder, signature, args):
        address = _item_pointer(context, builder, signature, args)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        builder.call(
            function,
            [
                builder.bitcast(address, byte_pointer),
                ir.Constant(i32, 0),
                ir.Constant(i32, 3),
                ir.Constant(i32, 1),
            ],
        )
        return context.get_dummy_value()

    return types.none(array, index), codegen


@intrinsic
def eight_flags(typingctx, array, index):
    """The eight one-byte flags ``array[index : index + 8]`` of a boolean array as one
    int64, nonzero when any is set (one load; the caller keeps ``index + 8`` within the
    array)."""

    def codegen(context, builder, signature, args):
        address = _item_pointer(context, builder, signature, args)
        word = builder.bitcast(address, ir.IntType(64).as_pointer())
        return builder.load(word, align=1)

    return types.int64(array, index), codegen


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` as one sequentially consistent atomic operation on an
    int64 array; returns the value before."""

    def codegen(context, builder, signature, args):
        address = _item_pointer(context, builder, signature, args)
        return builder.atomic_rmw("add", address, args[2], "seq_cst")

    return types.int64(array, index, types.int64), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]`` of an int64 array, read atomically (sequentially consistent), so
    that a loop waiting on it sees other threads' writes."""

    def codegen(context, builder, signature, args):
        address = _item_pointer(context, builder, signature, args)
        return builder.load_atomic(address, "seq_cst", 8)

    return types.int64(array, index), codegen


@intrinsic
def yield_cpu(typingctx):
    """Give the core to another thread (POSIX ``sched_yield``): a waiting thread calls it
    so that two threads sharing one core still make progress."""

    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
        )
        builder.call(function, [])
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def unowned(typingctx, array):
    """A view of ``array`` that holds no reference to it, as the views of
    :func:`array_table` do: a function that is not inlined takes it without an atomic
    reference count on entry and exit (about 20 ns a call with three such arrays here,
    more when two threads count on the same array).  The caller keeps ``array`` alive."""

    def codegen(context, builder, signature, args):
        source = context.make_array(signature.args[0])(context, builder, args[0])
        view = context.make_array(signature.return_type)(context, builder)
        populate_array(
            view,
            data=source.data,
            shape=source.shape,
            strides=source.strides,
            itemsize=source.itemsize,
            meminfo=None,
        )
        return view._getvalue()

    return array(array), codegen


def param_at(x, k):
    """A parameter of neuron ``k``: ``x[k]`` from a row of a table, or ``x`` itself where
    it is one number shared by the population.  A jitted kernel calling it compiles once
    for each: with numbers, the loop holds them in registers instead of streaming a row
    per parameter from memory (CUBA 4000 on one thread: 0.105 to 0.081 s)."""
    return x[k] if hasattr(x, "__getitem__") else x


@overload(param_at, inline="always")
def _param_at_numba(x, k):
    if isinstance(x, types.Array):
        return lambda x, k: x[k]
    return lambda x, k: x


@intrinsic
def _pointer(typingctx, address):
    """The int64 ``address`` as a raw pointer (``void *``)."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.int64), codegen


def array_table(arrays, dtype, ndim: int) -> np.ndarray:
    """The compiled loop's form of a list of arrays: one int64 row per array, its address
    and its shape (``ndim`` sizes, at most 3).  :func:`vector_at`, :func:`matrix_at` and
    :func:`cube_at` give array ``i`` back inside a jitted function at the cost of a
    load (an item of Numba's typed ``List`` costs about 35 ns: a call into its C helper
    and two atomic reference counts; a step read about 40 of them).

    The table holds no reference: the caller keeps ``arrays`` alive while it is used, and
    makes a new table when it replaces one.  Each array must have ``dtype`` and ``ndim``
    and be C-contiguous (checked here, since the views assume it).
    """
    table = np.zeros((len(arrays), 4), dtype=np.int64)
    for i, array in enumerate(arrays):
        if array.dtype != dtype or array.ndim != ndim or not array.flags.c_contiguous:
            raise TypeError(
                f"array_table: item {i} is a {array.ndim}-d {array.dtype} array "
                f"(C-contiguous: {array.flags.c_contiguous}); expected a "
                f"C-contiguous {ndim}-d {np.dtype(dtype)} array"
            )
        table[i, 0] = array.ctypes.data
        table[i, 1 : 1 + ndim] = array.shape
    return table


@register_jitable
def vector_at(table, i, dtype):
    """Array ``i`` of an :func:`array_table` of vectors (a view: no copy, no reference
    count)."""
    return numba.carray(_pointer(table[i, 0]), table[i, 1], dtype)


@register_jitable
def matrix_at(table, i, dtype):
    """Array ``i`` of an :func:`array_table` of matrices."""
    return numba.carray(_pointer(table[i, 0]), (table[i, 1], table[i, 2]), dtype)


@register_jitable
def cube_at(table, i, dtype):
    """Array ``i`` of an :func:`array_table` of three-dimensional arrays."""
    return numba.carray(_pointer(table[i, 0]), (table[i, 1], table[i, 2], table[i, 3]), dtype)


@overload(fmath._pow2_scalar, jit_options={"fastmath": False})
def _pow2_numba(k):
    def impl(k):  # k integer-valued, within [-1022, 1023]
        return _float_from_bits((int(k) + 1023) << 52)

    return impl


#: every scalar twin, registered so that Numba compiles them into their callers: LLVM's
#: ``alwaysinline`` (``forceinline``), so that a loop calling a model's step twin, and the
#: ``exp``/``exprel`` it calls, is one body that LLVM vectorises.  Left to LLVM's own
#: judgement, a twin as large as ``hh_step_scalar`` stayed a call and its loop ran one
#: neuron at a time (84 against 17 ns a neuron).  Numba's own inlining (``inline="always"``)
#: gave the same loop but doubled the compile time and warned.
TWINS = scalar_twins()

for _function in TWINS:
    register_jitable(forceinline=True)(_function)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _rounded(x, single):
    """``x`` rounded to the nearest float32 in a network built under ``precision=32``
    (``single``, :attr:`Plan.single`), else unchanged: a sum queued for a state (a delay's
    slot, an AlignPreProj's output through its weights), as a float32 array holds it."""
    return np.float64(np.float32(x)) if single else x


@numba.njit(cache=True, error_model="numpy", inline="always")
def _stored(x, single):
    """``x`` as a state holds it: rounded as :func:`_rounded`, then a subnormal number
    stored as 0 (:func:`refsim.fmath.flushed_scalar`, as ``State.data`` stores it)."""
    return fmath.flushed_scalar(_rounded(x, single), single)


@numba.njit(cache=True, error_model="numpy")
def _share(n, part, parts):
    """The first index of ``part``'s share of ``n`` neurons, or ``n`` for ``part ==
    parts``: a multiple of 64, so that in the plan's arrays (which start on a cache line,
    :func:`~refsim.backends.reading.aligned_zeros`) no cache line, of floats or of one-byte
    flags, holds the neurons of two threads."""
    return n if part >= parts else (n * part // parts) // 64 * 64
