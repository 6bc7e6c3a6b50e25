"""Numba's on-disk cache of the compiled loop: kept in step with the sources, and
written by one process at a time."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import pathlib

from refsim.backends import codes  # the kinds and rows, constants in the code
from refsim.backends.numba import support


def _drop_stale_cache() -> None:
    """Delete Numba's cached functions of this package when a source they compile changed.

    Numba keys its cache of a function on the file it is defined in; the twins it inlines
    live in other files (``fmath.py``, the model files), and the package's functions call
    each other across its files, so a change elsewhere would otherwise leave stale machine
    code in use.  A stamp of all those sources sits beside the cache.
    """
    here = pathlib.Path(__file__).parent
    modules = sorted(here.glob("*.py"))
    files = sorted(
        {inspect.getsourcefile(f) for f in support.TWINS}
        | {str(m) for m in modules}
        | {codes.__file__}
    )
    digest = hashlib.sha256(b"".join(pathlib.Path(f).read_bytes() for f in files)).hexdigest()
    dirs = [here / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        dirs.append(pathlib.Path(os.environ["NUMBA_CACHE_DIR"]))
    for cache_dir in dirs:
        stamp = cache_dir / "refsim_twins.sha256"
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            for module in modules:  # (in NUMBA_CACHE_DIR, a folder named as this one)
                for old in cache_dir.rglob(f"{module.stem}.*.nb[ic]"):
                    if old.parent.name == "__pycache__" or old.parent.parts[-2:] == here.parts[-2:]:
                        old.unlink()
            cache_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
        except OSError:  # a read-only install: Numba then caches elsewhere or not at all
            pass


@contextlib.contextmanager
def _compile_lock():
    """Hold an exclusive lock (a file beside Numba's cache of this module) while this
    process compiles or loads the loop.

    Numba's cache is not safe against processes that compile the same functions at the
    same time (``refsim validate`` workers, MPI ranks, ``pytest -n``): files written by two
    of them can disagree on the native names of a parallel function and crash a later
    load (numba issue 10128).  With the lock the first process compiles and writes, the
    others wait and load.  Without ``fcntl`` (Windows) or a writable cache folder there is
    no lock.
    """

    folder = pathlib.Path(
        os.environ.get("NUMBA_CACHE_DIR") or pathlib.Path(__file__).parent / "__pycache__"
    )
    try:
        import fcntl

        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "refsim_compile.lock", "a")  # noqa: SIM115 - held below
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
