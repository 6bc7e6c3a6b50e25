"""Communication operators: how presynaptic spikes become postsynaptic input.

Every sparse operator holds a :class:`scipy.sparse.csr_matrix` ``W`` of shape
``(n_pre, n_post)`` (rows are presynaptic neurons) whose data are weights in
internal units.  Propagation is event-driven: only the rows of neurons that
spiked are visited, and their weights are summed per target in row order
(a fixed order, so results are reproducible bit for bit).
"""

from __future__ import annotations

import numpy as np
import quantities as pq
import scipy.sparse as sp

from refsim import init as _init
from refsim import random as _random
from refsim.module import Module
from refsim.units import UnitError, to_internal, to_quantity

__all__ = ["Comm", "EventFixedProb", "SparseLinear", "Linear", "event_csr_propagate",
           "active_synapses"]


def active_synapses(W: sp.csr_matrix, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``W.data`` of the synapses of spiking rows, and their effective weights.

    Rows are visited in index order and each row's synapses in storage order.
    Boolean spikes take the weights as they are; other values multiply them.
    """
    active = np.flatnonzero(spikes)
    if active.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    starts = W.indptr[active]
    counts = W.indptr[active + 1] - starts
    first = np.cumsum(counts) - counts  # where each active row begins in the gathered list
    positions = np.arange(counts.sum()) + np.repeat(starts - first, counts)
    weights = W.data[positions]
    if spikes.dtype != np.bool_:
        weights = weights * np.repeat(spikes[active].astype(np.float64), counts)
    return positions, weights


def event_csr_propagate(W: sp.csr_matrix, spikes: np.ndarray) -> np.ndarray:
    """``spikes @ W`` visiting only the rows of nonzero ``spikes``.

    The sum into each target runs in (spiking row, position in row) order.
    """
    positions, weights = active_synapses(W, spikes)
    return np.bincount(W.indices[positions], weights=weights, minlength=W.shape[1])


class Comm(Module):
    """Base class: maps a presynaptic vector of ``n_pre`` to ``n_post`` values.

    Attributes
    ----------
    n_pre, n_post : int
        Input and output sizes.
    weight_unit : quantities unit or None
        Unit of the weights (and so of the output).
    """

    n_pre: int
    n_post: int
    weight_unit = None

    def propagate(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Output in internal units for input ``x`` (spikes or values, internal units)."""
        raise NotImplementedError

    def _check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.shape != (self.n_pre,):
            raise ValueError(
                f"{type(self).__name__} expects {self.n_pre} presynaptic values, "
                f"got an array of shape {x.shape}"
            )
        return x

    def __call__(self, x) -> pq.Quantity | np.ndarray:
        """Propagate ``x`` (spikes); returns a quantity in :attr:`weight_unit`."""
        out = self.propagate(self._check_input(x))
        return out if self.weight_unit is None else to_quantity(out, self.weight_unit)

    @property
    def weight(self):
        """The weights as a quantity (dense for :class:`Linear`, CSR data otherwise)."""
        raise NotImplementedError  # pragma: no cover


class _CSRComm(Comm):
    """A comm backed by a CSR matrix ``W`` (n_pre x n_post) of internal-unit weights."""

    def __init__(self, W: sp.csr_matrix, weight_unit, name: str | None = None):
        super().__init__(name)
        self.W = W
        self.n_pre, self.n_post = W.shape
        self.weight_unit = weight_unit

    def propagate(self, x: np.ndarray) -> np.ndarray:
        return event_csr_propagate(self.W, x)

    @property
    def weight(self):
        """A copy of the CSR matrix with weights in :attr:`weight_unit` (a scipy matrix)."""
        W = self.W.copy()
        if self.weight_unit is not None:
            W.data = np.asarray(to_quantity(W.data, self.weight_unit).magnitude)
        return W

    @property
    def nnz(self) -> int:
        """Number of synapses (duplicate pre-post pairs counted separately)."""
        return int(self.W.nnz)


class EventFixedProb(_CSRComm):
    """Random sparse connectivity with a fixed out-degree, drawn as brainpy draws it.

    A float ``conn_num`` in [0, 1] is a probability turned into the fixed
    out-degree ``int(n_post * conn_num)``; an int is the out-degree itself.
    Each presynaptic neuron draws its targets uniformly *with replacement*
    (a repeated target gets the weight twice; self-connections allowed) by
    ``RandomState(seed).randint(0, n_post, (n_pre, k))``.  With ``seed=None``
    the connectivity stream of :mod:`refsim.random` is used, which mirrors
    numpy's global state in brainpy, so the same seed gives brainpy's network.

    Parameters
    ----------
    n_pre, n_post : int
        Sizes of the source and target populations.
    conn_num : float or int
        Connection probability (float) or out-degree (int).
    conn_weight : quantity or initializer
        Weight of every connection: a scalar, an ``(n_pre, k)`` array, or an
        initializer evaluated for that shape.
    seed : int, optional
        A private seed for the targets.
    """

    def __init__(self, n_pre: int, n_post: int, conn_num, conn_weight, seed: int | None = None,
                 name: str | None = None):
        n_pre, n_post = int(n_pre), int(n_post)
        if isinstance(conn_num, float):
            if not 0.0 <= conn_num <= 1.0:
                raise ValueError(f"conn_num as a probability must lie in [0, 1], got {conn_num}")
            k = int(n_post * conn_num)
        else:
            k = int(conn_num)
            if k < 0:
                raise ValueError(f"conn_num must be non-negative, got {conn_num}")
        rng = np.random.RandomState(seed) if seed is not None else _random.connectivity_rng()
        targets = rng.randint(0, n_post, (n_pre, k)) if k > 0 else np.zeros((n_pre, 0), int)
        unit = _init.unit_of(conn_weight)
        weights = to_internal(_init.param(conn_weight, (n_pre, k)), "conn_weight", unit)
        W = sp.csr_matrix(
            (weights.ravel(), targets.ravel().astype(np.int32), np.arange(0, n_pre * k + 1, k)
             if k > 0 else np.zeros(n_pre + 1, dtype=np.int64)),
            shape=(n_pre, n_post),
        )
        super().__init__(W, unit, name=name)
        self.conn_num = k
        self.seed = seed


class SparseLinear(_CSRComm):
    """Explicit connectivity from a weight matrix (rows are presynaptic neurons).

    Parameters
    ----------
    weights : scipy sparse matrix, array or quantity array, shape (n_pre, n_post)
        The weights.  A dense array is stored sparsely (its zeros dropped).
    unit : quantities unit, optional
        Unit of the weights when ``weights`` carries none (a scipy matrix or
        a plain array); required unless the weights are pure numbers.
    """

    def __init__(self, weights, unit=None, name: str | None = None):
        if isinstance(weights, pq.Quantity):
            if unit is not None:
                raise UnitError("give the weight unit either on the array or as unit=, not both")
            unit = weights.units
            data = to_internal(weights, "weights", unit)
            W = sp.csr_matrix(data)
        else:
            W = sp.csr_matrix(weights, dtype=np.float64)
            if unit is not None:
                W.data = to_internal(pq.Quantity(W.data, unit), "weights", unit)
        if W.ndim != 2:
            raise ValueError(f"weights must be a 2-d (n_pre, n_post) matrix, got shape {W.shape}")
        super().__init__(W, unit, name=name)


class Linear(Comm):
    """Dense all-to-all weights, ``y = x @ W (+ b)`` (mirrors ``brainstate.nn.Linear``).

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes.
    w_init : quantity, array or initializer
        The ``(n_in, n_out)`` weight matrix, or an initializer for it.
    b_init : quantity or initializer, optional
        A bias added to every output (none by default, as a synapse needs).
    """

    def __init__(self, n_in: int, n_out: int, w_init, b_init=None, name: str | None = None):
        super().__init__(name)
        self.n_pre, self.n_post = int(n_in), int(n_out)
        self.weight_unit = _init.unit_of(w_init)
        values = _init.param(w_init, (self.n_pre, self.n_post))
        self.W = to_internal(values, "w_init", self.weight_unit)
        self.b = None if b_init is None else to_internal(
            _init.param(b_init, (self.n_post,)), "b_init", self.weight_unit
        )

    def propagate(self, x: np.ndarray) -> np.ndarray:
        y = x.astype(np.float64) @ self.W
        return y if self.b is None else y + self.b

    @property
    def weight(self):
        return self.W.copy() if self.weight_unit is None else to_quantity(self.W, self.weight_unit)
