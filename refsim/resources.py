"""Memory: what a connectivity or a run will take, compared with what is free before
anything is taken.

Building ten times more synapses than fit, or monitors that outgrow memory, used to fail
after minutes of work with NumPy's bare ``MemoryError`` (one step of a run already
taken).  The constructors and :func:`refsim.run` now estimate what they will allocate and
call :func:`require_memory` first, which raises :class:`ResourceError` naming what needs
how much and what is available (the smaller of the machine's available memory and the
limit of this process's control group, where either is known).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ResourceError", "available_bytes", "require_memory", "format_bytes"]


class ResourceError(MemoryError):
    """What a run or a connectivity would allocate does not fit in the memory available.

    Raised before anything is allocated; the message says what needs how much, how much
    is available, and what to change.
    """


def format_bytes(n: float) -> str:
    """``745.1 GiB``, ``12.0 MiB``, ``512 B``."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _cgroup_available() -> int | None:
    """What this process's control group (cgroup v2) still allows, where it sets a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def available_bytes() -> int | None:
    """Bytes this process can still allocate without swapping, as far as the system
    tells (None where it does not)."""
    known = [b for b in (_meminfo_available(), _cgroup_available()) if b is not None]
    return min(known) if known else None


def require_memory(nbytes: float, what: str, advice: str) -> None:
    """Raise :class:`ResourceError` if ``nbytes`` exceed the memory available.

    ``what`` names what needs them (``'the monitors of refsim.run (V: 745.1 GiB)'``),
    ``advice`` what to change.  Nothing is checked where the available memory is unknown.
    """
    available = available_bytes()
    if available is not None and nbytes > available:
        raise ResourceError(
            f"{what} needs {format_bytes(nbytes)}, {format_bytes(available)} available: {advice}"
        )
