"""Seeded random streams.

refsim keeps two streams, both set by :func:`seed`:

* the *connectivity* stream, a legacy :class:`numpy.random.RandomState`.  It
  is the stream brainpy's ``EventFixedProb(seed=None)`` draws from (numpy's
  global state), so ``refsim.random.seed(s)`` followed by the same projections,
  built in the same order, gives brainpy's connectivity after
  ``np.random.seed(s)``;
* the *state* stream, a :class:`numpy.random.Generator` (PCG64) used by the
  initializers (:mod:`refsim.init`) and stochastic inputs.  brainpy draws
  these from JAX, whose stream cannot be reproduced; statistics agree,
  individual draws do not.
"""

from __future__ import annotations

import numpy as np

__all__ = ["seed", "default_rng", "connectivity_rng"]

_seed: int | None = None
_conn = np.random.RandomState()
_rng = np.random.default_rng()


def seed(value: int) -> None:
    """Seed both streams (mirrors ``brainstate.random.seed``); ``value`` is an integer in
    ``[0, 2**32)``, the range of numpy's legacy generator."""
    global _seed, _conn, _rng
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {value!r}")
    _seed = int(value)
    _conn = np.random.RandomState(_seed)
    _rng = np.random.default_rng(_seed)


def get_seed() -> int | None:
    """The last seed given to :func:`seed` (None if never seeded)."""
    return _seed


def default_rng() -> np.random.Generator:
    """The state stream (initial values, noise)."""
    return _rng


def connectivity_rng() -> np.random.RandomState:
    """The connectivity stream (numpy's legacy generator, as brainpy uses)."""
    return _conn
