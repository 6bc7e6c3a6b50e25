"""Numba's on-disk cache of the compiled loop: kept in step with the sources, and
written by one process at a time."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import pathlib
import threading
import time

import numba

from refsim.backends import codes  # the kinds and rows, constants in the code
from refsim.backends.numba import support


def cache_folder() -> pathlib.Path:
    """The folder where Numba caches this package's compiled functions: beside the sources
    (``__pycache__``), under ``NUMBA_CACHE_DIR`` when it is set, or in the user's cache
    when the package's folder cannot be written (a read-only install); as Numba itself
    locates it."""
    return pathlib.Path(support._share._cache._cache_path)


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
    folder = cache_folder()
    stamp = folder / "refsim_twins.sha256"
    try:
        if stamp.is_file() and stamp.read_text() == digest:
            return
        for module in modules:
            for old in folder.glob(f"{module.stem}.*.nb[ic]"):
                old.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a folder that cannot be written: Numba does not cache there either
        pass


#: a first call slower than this compiled the loop (loading it from the cache takes
#: about 0.1 s)
COLD_COMPILE_S = 5.0
#: how long a call may take before the compile is announced
ANNOUNCE_AFTER_S = 1.0


def last_cold_compile() -> float | None:
    """Seconds the last cold compile of the loop took on this machine (recorded beside
    the cache), or None."""
    try:
        return float(json.loads((cache_folder() / "refsim_compile.json").read_text())["s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _note_cold_compile(seconds: float) -> None:
    try:
        (cache_folder() / "refsim_compile.json").write_text(
            json.dumps({"s": round(seconds, 1), "numba": numba.__version__})
        )
    except OSError:
        pass


@contextlib.contextmanager
def compile_notice(say=None):
    """Around the first call of the loop: if it takes longer than
    :data:`ANNOUNCE_AFTER_S` (a compile, not a load from the cache), tell the user with
    ``say`` (a function of one line; None: say nothing) that the loop compiles, where it
    will be cached and how long the last cold compile took here; then how long this one
    took.  A cold compile's time is recorded for the next notice."""
    started = time.perf_counter()
    announced = threading.Event()

    def announce() -> None:
        last = last_cold_compile()
        before = f"; the last one here took {last:.0f} s" if last else ""
        say(
            "refsim: compiling the numba loop of this network's passes, once per install "
            f"(cached in {cache_folder()}{before}) ..."
        )
        announced.set()

    timer = threading.Timer(ANNOUNCE_AFTER_S, announce) if say is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
        took = time.perf_counter() - started
        if took > COLD_COMPILE_S:
            _note_cold_compile(took)
        if announced.wait(0.0 if timer is None or took < ANNOUNCE_AFTER_S else 0.5):
            say(f"refsim: compiled in {took:.1f} s")


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

    folder = cache_folder()
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
