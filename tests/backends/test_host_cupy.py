"""tests/support/host_cupy.py, the CPU stand-in that runs the GPU kernels: what it checks."""

import host_cupy
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)

SOURCE = r"""
extern "C" __global__ void take_a_ticket(const long long n, int *counter, int *order,
                                         double *values, const double scale)
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n)
        return;
    order[atomicAdd(counter, 1)] = (int)j;  /* the order in which the threads ran */
    values[j] = values[j] * scale;
}
"""


def _kernel():
    return host_cupy.RawModule(code=SOURCE).get_function("take_a_ticket")


def test_a_launch_runs_every_thread_once_in_reverse_order():
    n = 300  # two blocks of 256, the second one partly idle
    counter, order = host_cupy.zeros(1, dtype=np.int32), host_cupy.zeros(n, dtype=np.int32)
    values = host_cupy.asarray(np.arange(n, dtype=np.float64))
    _kernel()((2,), (256,), (np.int64(n), counter, order, values, np.float64(2.0)))
    assert counter.get()[0] == n
    assert np.array_equal(order.get(), np.arange(n)[::-1])  # last block, last thread first
    assert np.array_equal(values.get(), 2.0 * np.arange(n))


def test_a_mismatched_argument_names_the_parameter_and_both_types():
    counter, order = host_cupy.zeros(1, dtype=np.int32), host_cupy.zeros(4, dtype=np.int64)
    values = host_cupy.zeros(4)
    with pytest.raises(
        TypeError,
        match=r"take_a_ticket: parameter order \(int \*\) takes a "
        r"device array of int32; got ndarray of int64",
    ):
        _kernel()((1,), (32,), (np.int64(4), counter, order, values, np.float64(1.0)))
    order = host_cupy.zeros(4, dtype=np.int32)
    with pytest.raises(
        TypeError,
        match=r"parameter n \(long long\) takes a numpy int64 "
        r"scalar; got int",
    ):
        _kernel()((1,), (32,), (4, counter, order, values, np.float64(1.0)))
    with pytest.raises(TypeError, match="take_a_ticket: 4 arguments for 5 parameters"):
        _kernel()((1,), (32,), (np.int64(4), counter, order, values))


def test_a_write_past_an_array_names_the_kernel_and_the_parameter():
    """The first thread's ticket lands past the end of ``order`` (room for 6 of 8): the
    guard zone after the array catches it, and the arrays the launch did not overrun
    still count as intact."""
    counter, order = host_cupy.zeros(1, dtype=np.int32), host_cupy.zeros(6, dtype=np.int32)
    values = host_cupy.asarray(np.ones(8))
    with pytest.raises(
        IndexError,
        match=r"take_a_ticket wrote out of the bounds of the array "
        r"given as its parameter order",
    ):
        _kernel()((1,), (8,), (np.int64(8), counter, order, values, np.float64(2.0)))
    assert host_cupy._root_intact(values) and host_cupy._root_intact(counter)
    assert np.array_equal(values.get(), np.full(8, 2.0))  # the arithmetic itself ran
    slot = host_cupy.zeros(4, dtype=np.int64)[1:2]  # a view: its allocation's guards count
    assert host_cupy._root_intact(slot) and slot.shape == (1,)


def test_a_captured_graph_runs_its_launches_only_when_replayed():
    counter = host_cupy.zeros(1, dtype=np.int32)
    order = host_cupy.zeros(24, dtype=np.int32)  # a ticket per thread and launch
    values = host_cupy.asarray(np.ones(8))
    kernel = _kernel()
    stream = host_cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        for _ in range(3):
            kernel((1,), (8,), (np.int64(8), counter, order, values, np.float64(2.0)))
        graph = stream.end_capture()
        assert np.array_equal(values.get(), np.ones(8))  # captured, not run
        graph.launch(stream)
    assert np.array_equal(values.get(), np.full(8, 8.0))  # three launches, in order
    assert counter.get()[0] == 24
    assert np.array_equal(order.get(), np.tile(np.arange(8)[::-1], 3))


def test_installed_gives_cupy_to_the_backend_and_takes_it_back():
    import sys

    from refsim import backends

    before = sys.modules.get("cupy")
    with host_cupy.installed():
        usable, detail = backends.available()["cupy"]
        assert usable and detail == "host emulation on the CPU (g++)"
    assert sys.modules.get("cupy") is before
    assert backends.available()["cupy"][1] == backends._probe_cupy.__wrapped__()[1]
