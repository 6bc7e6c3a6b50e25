"""Backend selection: which engine runs a model.

``numpy``
    The oracle: the model classes' own vectorised NumPy code, one call per component
    per step.  Always available.
``numba``
    :func:`refsim.run` of a :class:`refsim.Network` built from components that have
    compiled twins runs as one Numba-jitted loop (no Python per step); anything else
    runs the NumPy code.  Needs ``pip install 'refsim[numba]'``.
``cupy``
    The same compiled networks as GPU kernels (float64, the CPU's bits); anything else
    runs the NumPy code on the CPU.  Needs CuPy for the machine's CUDA and an NVIDIA
    GPU; asking for it without them says what is missing.

The backend in use comes from, in order: the innermost :func:`use_backend` block of the
running thread, :func:`set_backend` (for every thread), the ``REFSIM_BACKEND`` environment
variable, else ``numba`` when it imports and ``numpy`` otherwise.  A ``use_backend`` block
holds for its own thread only, as ``refsim.environ``'s context does: two threads running
blocks of their own each see theirs, and each restores only its own.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import threading
from collections.abc import Iterator

__all__ = [
    "BACKENDS",
    "BackendError",
    "BackendFallbackWarning",
    "available",
    "engine",
    "get_backend",
    "set_backend",
    "use_backend",
    "backend_versions",
]

BACKENDS = ("numpy", "numba", "cupy")

_INSTALL = {
    "numba": "install it with: pip install 'refsim[numba]' (or pip install numba)",
    "cupy": (
        "install CuPy for your CUDA version (e.g. pip install cupy-cuda12x) and run "
        "on a machine with an NVIDIA GPU"
    ),
}

_for_all_threads: list[str] = []  # set_backend's choice outside any use_backend block
_this_thread = threading.local()  # .blocks: the use_backend blocks of a thread, a stack


def _blocks() -> list[str]:
    """The running thread's stack of :func:`use_backend` choices (innermost last)."""
    blocks = getattr(_this_thread, "blocks", None)
    if blocks is None:
        blocks = _this_thread.blocks = []
    return blocks


class BackendError(RuntimeError):
    """A backend was asked for that cannot run here; the message says what to install."""


class BackendFallbackWarning(RuntimeWarning):
    """A network could not be compiled on the chosen backend; its NumPy code ran."""


def _probe(name: str) -> tuple[bool, str]:
    """(usable, version or the reason it is not)."""
    if name == "numpy":
        import numpy

        return True, numpy.__version__
    if name == "numba":
        try:
            numba = importlib.import_module("numba")
        except ImportError as exc:
            return False, f"numba is not installed ({exc}); {_INSTALL['numba']}"
        return True, numba.__version__
    return _probe_cupy()


@functools.lru_cache(maxsize=1)
def _probe_cupy() -> tuple[bool, str]:
    """CuPy imports, sees a GPU and compiles a kernel (cached: it creates a CUDA context)."""
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        return False, f"cupy is not installed ({exc}); {_INSTALL['cupy']}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken: CuPy raises its own types
        return False, f"cupy {cupy.__version__} finds no usable GPU ({exc}); {_INSTALL['cupy']}"
    if count < 1:
        return False, f"cupy {cupy.__version__} sees no GPU; {_INSTALL['cupy']}"
    try:
        (cupy.arange(4.0) * 2.0).sum().item()  # needs NVRTC and a working driver
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    except Exception as exc:
        return False, (
            f"cupy {cupy.__version__} sees a GPU but cannot run a kernel ({exc}); "
            "install the CUDA toolkit's NVRTC (e.g. pip install 'cupy-cuda12x[ctk]')"
        )
    name = name.decode() if isinstance(name, bytes) else str(name)
    return True, f"{cupy.__version__} on {name}"


def available() -> dict[str, tuple[bool, str]]:
    """Every backend, with whether it runs here and its version (or why not)."""
    return {name: _probe(name) for name in BACKENDS}


def _check(name: str, source: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"{source} must be one of {', '.join(BACKENDS)}; got {name!r}")
    usable, detail = _probe(name)
    if not usable:
        raise BackendError(f"the {name} backend cannot run here: {detail}")
    return name


def _default() -> str:
    from_env = os.environ.get("REFSIM_BACKEND")
    if from_env:
        return _check(from_env.strip().lower(), "REFSIM_BACKEND")
    return "numba" if _probe("numba")[0] else "numpy"


def get_backend() -> str:
    """The name of the backend in use (in the running thread)."""
    blocks = _blocks()
    if blocks:
        return blocks[-1]
    return _for_all_threads[-1] if _for_all_threads else _default()


class _Restore(contextlib.AbstractContextManager):
    """Returned by :func:`set_backend`: used in ``with``, restores the previous choice."""

    def __init__(self, choices: list[str], previous: list[str]):
        self._choices, self._previous = choices, previous

    def __exit__(self, *exc) -> None:
        self._choices[:] = self._previous


def set_backend(name: str) -> _Restore:
    """Use backend ``name`` ('numpy', 'numba' or 'cupy') from now on: in every thread, or,
    called inside a :func:`use_backend` block, until that block ends.

    Raises :class:`BackendError` (saying what to install) when it cannot run here.
    The return value may be used in a ``with`` block to restore the previous choice.
    """
    name = _check(str(name).lower(), "backend")
    choices = _blocks() or _for_all_threads
    previous = list(choices)
    if choices:
        choices[-1] = name
    else:
        choices.append(name)
    return _Restore(choices, previous)


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Context manager: run the block on backend ``name`` (in this thread), then go back
    to the choice before it."""
    blocks = _blocks()
    depth = len(blocks)
    blocks.append(_check(str(name).lower(), "backend"))
    try:
        yield name
    finally:
        del blocks[depth:]


def backend_versions() -> list[str]:
    """Lines for ``refsim info``: each backend, its version or why it is unusable."""
    current = get_backend()
    lines = []
    for name, (usable, detail) in available().items():
        mark = "*" if name == current else " "
        lines.append(f"{mark} {name:6s} {'ok ' if usable else 'no '} {detail}")
    return lines


def engine(name: str):
    """The package that plans and runs a compiled network on backend ``name``
    (``'numba'`` or ``'cupy'``): its ``plan(net)`` and ``run_compiled(...)``."""
    if name == "cupy":
        from refsim.backends import cupy

        return cupy
    if name == "numba":
        from refsim.backends import numba

        return numba
    raise BackendError(f"no compiled engine for backend {name!r}: expected 'numba' or 'cupy'")
