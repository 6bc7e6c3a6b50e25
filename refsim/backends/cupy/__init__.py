"""The cupy backend: a :func:`refsim.run` of a :class:`refsim.Network` on an NVIDIA GPU.

The network is read by :func:`refsim.backends.plan.plan` (the same plan as the numba
backend), copied to the GPU once, and advanced by the kernels of ``kernels.cu``:
per step, the kernels of each projection (its delay, its presynaptic synapses, its
events), then one per population (the order of :meth:`refsim.Network.update`,
docs/backends.md).  The model arithmetic inside those
kernels is C generated from the Python scalar twins by
:mod:`refsim.backends.cupy.translate` and compiled without fused multiply-adds, so the
GPU gives the CPU backends' bits: same spike steps, same states.

Connectivity is the CSR matrix built on the host from the run's seed, so it is the CPU's
own.  A projection whose weights are all one bit pattern counts its events per target
with integer atomics (exact in any order); one with weights per synapse sums each
target's column in CSC order, rows ascending, without atomics; so do delayed
projections and AlignPreProj.  Spikes are recorded as
one row of flags per step on the GPU and turned into (step, index) pairs per chunk.

Importing this package does not import CuPy; running does.

One concern a file, the numba backend's names where they do the same: ``prepare``
(:func:`plan`), ``source`` (the kernels' source and its compilation), ``translate`` (the
twins' C), ``declared`` (models declared outside refsim), ``device`` (the network on the
GPU, one step's launches), ``driver`` (:func:`run_compiled`), ``kernels.cu``.
"""

from refsim.backends.codes import NotCompilable
from refsim.backends.cupy.driver import run_compiled
from refsim.backends.cupy.prepare import plan
from refsim.backends.cupy.source import COMPILE_OPTIONS, KERNEL_TWINS, kernel_source

__all__ = [
    "COMPILE_OPTIONS",
    "KERNEL_TWINS",
    "NotCompilable",
    "kernel_source",
    "plan",
    "run_compiled",
]
