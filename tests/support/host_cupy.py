"""The cupy backend's kernels run on the CPU: a stand-in for the part of CuPy it uses.

The GPU kernels of ``refsim/backends/cupy/kernels.cu`` (and the C twins placed above
them) are plain CUDA C++: one thread per neuron, row or event, no shared memory, no
``__syncthreads``, integer atomics only.  Such a kernel can be run by the host's C++
compiler with the CUDA names defined as plain C++ (``threadIdx``, ``blockIdx``,
``atomicAdd``...) and a loop over the threads of every block.  This module does that, so
that ``refsim.run`` on the ``cupy`` backend runs its real kernels and its real
``refsim.backends.cupy`` code on any machine with ``g++``, and the tests can compare it with the
numpy oracle bit for bit.

What it checks and what it cannot:

* the kernels' arithmetic and their order of operations (compiled with
  ``-ffp-contract=off``, as NVRTC with ``--fmad=false``), the arguments of every launch
  (count, C type, the dtype of every array: a mismatch raises ``TypeError``, where the GPU
  would read garbage), the host code of ``refsim.backends.cupy`` (uploads, CUDA graphs, spike
  records, copy back);
* threads run one after the other, blocks and threads in **reverse** order, so a kernel
  whose result depended on the order of its threads (the order in which ``fired`` is
  filled, say) would differ from the CPU backends;
* every device array lies between two guard zones of 64 bytes of a known pattern, checked
  after each launch: a kernel that wrote into either (just past an end of the array)
  raises ``IndexError`` naming the kernel and the parameter, instead of corrupting the
  test process (a write farther off may land elsewhere unseen);
* it cannot see a read out of bounds, a race between threads running at once, NVRTC's
  own diagnostics, or speed: those need a GPU (``tests`` marked ``gpu``).

Use it with :func:`installed` (a context manager that puts this module in
``sys.modules['cupy']``).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import pytest

COMPILER = shutil.which("g++") or shutil.which("c++")
__version__ = "host emulation"  # of the CUDA kernels

#: the CUDA names the kernels use, as plain C++ (one thread at a time)
_SHIM = """\
#include <stdint.h>
struct refsim_dim3 { unsigned int x, y, z; };
static refsim_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
template <class T> static T atomicAdd(T *address, T value)
{
    T old = *address;
    *address = old + value;
    return old;
}
"""

#: C types of kernel parameters: (ctypes type of a value, numpy dtype of an array)
_C_TYPES = {
    "double": (ctypes.c_double, np.float64),
    "float": (ctypes.c_float, np.float32),
    "long long": (ctypes.c_longlong, np.int64),
    "int": (ctypes.c_int32, np.int32),
    "unsigned long long": (ctypes.c_ulonglong, np.uint64),
    "unsigned char": (ctypes.c_ubyte, np.uint8),
}
_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')


class ndarray(np.ndarray):  # noqa: N801 (CuPy's name)
    """A "device" array: a NumPy array with CuPy's ``get()`` and ``data.ptr``."""

    def get(self) -> np.ndarray:
        return np.array(self, copy=True).view(np.ndarray)

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


#: bytes of a known pattern before and after every device array (64: alignment kept)
_GUARD, _PATTERN = 64, 0xA5


def _device(a) -> ndarray:
    """``a`` copied between two guard zones (:func:`_root_intact` checks them)."""
    a = np.ascontiguousarray(a)
    raw = np.full(a.nbytes + 2 * _GUARD, _PATTERN, dtype=np.uint8)
    inside = raw[_GUARD : _GUARD + a.nbytes].view(a.dtype).reshape(a.shape)
    inside[...] = a
    return inside.view(ndarray)


def _root_intact(array: np.ndarray) -> bool:
    """Whether the guard zones around the allocation that ``array`` views are untouched."""
    raw = array
    while raw.base is not None:
        raw = raw.base
    guards = (raw[:_GUARD], raw[-_GUARD:])
    return all(bytes(g) == bytes([_PATTERN]) * _GUARD for g in guards)


def asarray(a, dtype=None) -> ndarray:
    """A copy, as an upload to a GPU is: the kernels never see the host's array."""
    return _device(np.array(a, dtype=dtype, copy=True))


def zeros(shape, dtype=np.float64) -> ndarray:
    return _device(np.zeros(shape, dtype=dtype))


def empty(shape, dtype=np.float64) -> ndarray:
    return _device(
        np.full(shape, np.nan) if np.dtype(dtype).kind == "f" else np.zeros(shape, dtype=dtype)
    )  # NaN: a read before a write shows


def arange(*args, **kwargs) -> ndarray:
    return _device(np.arange(*args, **kwargs))


def nonzero(a) -> tuple:
    return tuple(_device(i) for i in np.nonzero(np.asarray(a)))


def take(a, indices, out=None):
    result = np.take(np.asarray(a), np.asarray(indices))
    if out is None:
        return _device(result)
    out[...] = result
    return out


# -- kernels ---------------------------------------------------------------------------


def _parameters(text: str) -> list[tuple[str, str, bool]]:
    """(name, C base type, is a pointer) of each parameter of a kernel's declaration."""
    out = []
    for item in text.split(","):
        declaration = item.replace("const", " ").strip()
        pointer = "*" in declaration
        words = declaration.replace("*", " ").split()
        base = " ".join(words[:-1])
        if base not in _C_TYPES:
            raise TypeError(
                f"kernel parameter {item.strip()!r}: type {base!r} is not one "
                f"the host emulation knows ({', '.join(_C_TYPES)})"
            )
        out.append((words[-1], base, pointer))
    return out


def _launcher(name: str, params: list[tuple[str, str, bool]]) -> str:
    """C++ of ``refsim_launch_<name>(grid, block, parameters...)``: every thread of every
    block in reverse order."""
    declared = ", ".join(f"{base} {'*' if ptr else ''}{p}" for p, base, ptr in params)
    names = ", ".join(p for p, _, _ in params)
    return f"""
extern "C" void refsim_launch_{name}(long long grid, long long block, {declared})
{{
    gridDim.x = (unsigned int)grid;
    blockDim.x = (unsigned int)block;
    for (long long b = grid - 1; b >= 0; --b)
        for (long long t = block - 1; t >= 0; --t) {{
            blockIdx.x = (unsigned int)b;
            threadIdx.x = (unsigned int)t;
            {name}({names});
        }}
}}
"""


def _without_comments(code: str) -> str:
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    return re.sub(r"//[^\n]*", " ", code)


_BUILT: dict[str, ctypes.CDLL] = {}


def _library(code: str, options) -> tuple[ctypes.CDLL, dict]:
    if COMPILER is None:
        raise RuntimeError("the host emulation of the CUDA kernels needs g++ on PATH")
    defines = [o for o in options if o.startswith("-D")]
    kernels = {
        m.group(1): _parameters(m.group(2)) for m in _KERNEL.finditer(_without_comments(code))
    }
    source = _SHIM + code + "".join(_launcher(n, p) for n, p in kernels.items())
    key = hashlib.sha256((source + repr(defines)).encode()).hexdigest()[:16]
    if key not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="refsim-host-cuda-"))
        (folder / "kernels.cpp").write_text(source)
        built = subprocess.run(
            [
                COMPILER,
                "-O1",
                "-std=c++17",
                "-ffp-contract=off",
                "-fno-fast-math",
                "-Wall",
                "-Wno-unused-function",
                "-Werror",
                *defines,
                "-shared",
                "-fPIC",
                "-o",
                str(folder / "kernels.so"),
                str(folder / "kernels.cpp"),
                "-lm",
            ],
            capture_output=True,
            text=True,
        )
        if built.returncode:
            raise RuntimeError(f"the kernels do not compile on the host:\n{built.stderr}")
        _BUILT[key] = ctypes.CDLL(str(folder / "kernels.so"))
    return _BUILT[key], kernels


class RawKernel:
    """One kernel: called as CuPy's, ``kernel(grid, block, args)``, it checks every
    argument against the C declaration and runs (or, while a stream captures a graph,
    records) the launch."""

    def __init__(self, library: ctypes.CDLL, name: str, params):
        self.name, self.params = name, params
        self.function = getattr(library, f"refsim_launch_{name}")
        self.function.restype = None
        self.function.argtypes = [ctypes.c_longlong, ctypes.c_longlong] + [
            ctypes.c_void_p if ptr else _C_TYPES[base][0] for _, base, ptr in params
        ]

    def _checked(self, args) -> list:
        if len(args) != len(self.params):
            raise TypeError(f"{self.name}: {len(args)} arguments for {len(self.params)} parameters")
        out, arrays = [], []
        for value, (name, base, ptr) in zip(args, self.params, strict=True):
            dtype = np.dtype(_C_TYPES[base][1])
            if ptr:
                if not isinstance(value, ndarray) or value.dtype != dtype:
                    raise TypeError(
                        f"{self.name}: parameter {name} ({base} *) takes a device "
                        f"array of {dtype}; got {type(value).__name__} of "
                        f"{getattr(value, 'dtype', '-')}"
                    )
                if not value.flags.c_contiguous:
                    raise TypeError(f"{self.name}: parameter {name} is not contiguous")
                out.append(value.ctypes.data)
                arrays.append((name, value))
            else:
                if not isinstance(value, np.generic) or value.dtype != dtype:
                    raise TypeError(
                        f"{self.name}: parameter {name} ({base}) takes a numpy "
                        f"{dtype} scalar; got {type(value).__name__} "
                        f"{getattr(value, 'dtype', '')}"
                    )
                out.append(value.item())
        return out, arrays

    def __call__(self, grid, block, args) -> None:
        launch = (self, int(grid[0]), int(block[0]), *self._checked(args))
        stream = cuda.get_current_stream()
        if stream.captured is not None:
            stream.captured.append(launch)
        else:
            _run(launch)


def _run(launch) -> None:
    kernel, grid, block, args, arrays = launch
    kernel.function(grid, block, *args)
    for name, array in arrays:
        if not _root_intact(array):
            raise IndexError(
                f"{kernel.name} wrote out of the bounds of the array given as its parameter {name}"
            )


class RawModule:
    def __init__(self, code: str, options=()):
        self.library, self.kernels = _library(code, options)

    def get_function(self, name: str) -> RawKernel:
        return RawKernel(self.library, name, self.kernels[name])


# -- streams, graphs, the device -------------------------------------------------------


class _Graph:
    def __init__(self, launches: list):
        self.launches = launches

    def launch(self, stream=None) -> None:
        for launch in self.launches:
            _run(launch)


class _Stream:
    def __init__(self, non_blocking: bool = False):
        self.captured: list | None = None

    def __enter__(self):
        cuda._streams.append(self)
        return self

    def __exit__(self, *exc) -> None:
        cuda._streams.pop()

    def synchronize(self) -> None:
        pass

    def begin_capture(self) -> None:
        self.captured = []

    def end_capture(self) -> _Graph:
        graph, self.captured = _Graph(self.captured), None
        return graph


class _Device:
    attributes = {"MultiProcessorCount": 2}


class _Runtime:
    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802 (CuPy's name)
        return 1

    @staticmethod
    def getDeviceProperties(index: int) -> dict:  # noqa: N802
        return {"name": b"the CPU (g++)"}


cuda = types.SimpleNamespace(
    Stream=_Stream,
    Device=_Device,
    runtime=_Runtime,
    _streams=[_Stream()],
    is_available=lambda: True,
)
cuda.get_current_stream = lambda: cuda._streams[-1]


@contextlib.contextmanager
def installed():
    """``import cupy`` gives this module inside the block (and the cupy backend counts as
    usable); the real CuPy, if any, comes back after."""
    from refsim import backends

    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = sys.modules[__name__]
    backends._probe_cupy.cache_clear()
    try:
        yield sys.modules[__name__]
    finally:
        if saved is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved
        backends._probe_cupy.cache_clear()


#: the cupy backend with its kernels run on the host, as a pytest parameter of a test's
#: backend: skipped where no host C++ compiler runs them
ON_THE_HOST = pytest.param(
    "cupy-host",
    marks=pytest.mark.skipif(
        COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
    ),
)


@contextlib.contextmanager
def backend(name: str):
    """``refsim.use_backend(name)``, where ``'cupy-host'`` is the cupy backend with its
    kernels run on the host (:func:`installed`); yields the backend's own name."""
    import refsim

    name, context = (
        ("cupy", installed()) if name == "cupy-host" else (name, contextlib.nullcontext())
    )
    with context, refsim.use_backend(name):
        yield name
