"""The golden traces recorded with brainpy.state, shipped with refsim.

``golden/`` holds a copy of ``shared/golden/data``: every ``.json`` verbatim and
every ``.npz`` re-saved compressed with the same arrays (names, dtypes,
shapes and bits).  :func:`sync` refreshes the copy; a test checks that it is
identical to the shared originals wherever those are present.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "golden"

__all__ = ["DATA", "case_names", "load", "meta", "sync", "compare_with"]


def case_names() -> list[str]:
    """Names of every shipped golden case (one ``.npz`` each)."""
    return sorted(p.stem for p in DATA.glob("*.npz"))


def load(name: str) -> dict[str, np.ndarray]:
    """The arrays of golden case ``name``."""
    path = DATA / f"{name}.npz"
    if not path.exists():
        raise FileNotFoundError(f"no golden case named '{name}' in {DATA}")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def meta(name: str) -> dict:
    """The JSON description of golden case ``name``."""
    return json.loads((DATA / f"{name}.json").read_text())


def sync(source: Path) -> int:
    """Copy the golden data from ``source`` (``shared/golden/data``); returns the file count."""
    source = Path(source)
    DATA.mkdir(parents=True, exist_ok=True)
    n = 0
    for path in sorted(source.iterdir()):
        if path.suffix == ".json":
            shutil.copyfile(path, DATA / path.name)
        elif path.suffix == ".npz":
            with np.load(path) as z:
                np.savez_compressed(DATA / path.name, **{k: z[k] for k in z.files})
        else:
            continue
        n += 1
    return n


def compare_with(source: Path) -> list[str]:
    """Differences between the shipped copy and ``source``; empty when identical."""
    source = Path(source)
    problems = []
    theirs = {p.name for p in source.iterdir() if p.suffix in (".json", ".npz")}
    ours = {p.name for p in DATA.iterdir() if p.suffix in (".json", ".npz")}
    problems += [f"missing from refsim: {n}" for n in sorted(theirs - ours)]
    problems += [f"not in the shared data: {n}" for n in sorted(ours - theirs)]
    for name in sorted(theirs & ours):
        if name.endswith(".json"):
            if (source / name).read_bytes() != (DATA / name).read_bytes():
                problems.append(f"{name}: text differs")
            continue
        with np.load(source / name) as a, np.load(DATA / name) as b:
            if sorted(a.files) != sorted(b.files):
                problems.append(f"{name}: array names differ")
                continue
            for key in a.files:
                x, y = a[key], b[key]
                if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                    problems.append(f"{name}:{key} differs")
    return problems


if __name__ == "__main__":  # python -m refsim.validation.golden_data SHARED_GOLDEN_DATA
    import sys

    print(f"copied {sync(Path(sys.argv[1]))} files into {DATA}")
