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

from refsim import environ
from refsim import init as _init
from refsim import random as _random
from refsim.environ import to_model
from refsim.module import Module
from refsim.parameters import count, is_integer, is_real, probability
from refsim.resources import require_memory
from refsim.units import UnitError, to_quantity

__all__ = [
    "Comm",
    "EventFixedProb",
    "FixedProb",
    "FixedInDegree",
    "FixedOutDegree",
    "FixedTotalNumber",
    "AllToAll",
    "OneToOne",
    "SparseLinear",
    "Linear",
    "event_csr_propagate",
    "active_synapses",
]


def active_synapses(W: sp.csr_matrix, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``W.data`` of the synapses of spiking rows, and their effective weights.

    Rows are visited in index order and each row's synapses in storage order.
    Boolean spikes take the weights as they are; other values multiply them.
    """
    active = np.flatnonzero(spikes)
    if active.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=W.dtype)
    starts = W.indptr[active]
    counts = W.indptr[active + 1] - starts
    first = np.cumsum(counts) - counts  # where each active row begins in the gathered list
    positions = np.arange(counts.sum()) + np.repeat(starts - first, counts)
    weights = W.data[positions]
    if spikes.dtype != np.bool_:
        weights = weights * np.repeat(spikes[active].astype(weights.dtype), counts)
    return positions, weights


def event_csr_propagate(W: sp.csr_matrix, spikes: np.ndarray) -> np.ndarray:
    """``spikes @ W`` visiting only the rows of nonzero ``spikes``.

    The sum into each target runs in (spiking row, position in row) order, in float64
    (``np.bincount``), and is rounded once to the weights' type (float32 under
    ``precision=32``).
    """
    positions, weights = active_synapses(W, spikes)
    sums = np.bincount(W.indices[positions], weights=weights, minlength=W.shape[1])
    return sums.astype(W.dtype, copy=False)


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
    """A comm backed by a CSR matrix ``W`` (n_pre x n_post) of internal-unit weights.

    ``given_order``: where the synapses were listed by the user in another order than
    the CSR storage (:meth:`SparseLinear.from_indices`), the given index of each stored
    synapse (``W.data[i]`` is synapse ``given_order[i]`` of the list), so that per-synapse
    arrays given in the user's order (delays) are stored with the right synapse; else
    None (per-synapse arrays follow ``W.data``).
    """

    def __init__(self, W: sp.csr_matrix, weight_unit, name: str | None = None):
        super().__init__(name)
        self.given_order: np.ndarray | None = None
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

    def __init__(
        self,
        n_pre: int,
        n_post: int,
        conn_num,
        conn_weight,
        seed: int | None = None,
        name: str | None = None,
    ):
        n_pre, n_post = count("n_pre", n_pre), count("n_post", n_post)
        if is_real(conn_num):  # any float type, np.float32(0.1) too, is a probability
            k = int(n_post * probability("conn_num (a probability)", conn_num))
        elif is_integer(conn_num):
            k = count("conn_num (an out-degree)", conn_num, least=0)
        else:
            raise ValueError(
                f"conn_num must be a probability (a float in [0, 1]) or an "
                f"out-degree (an int >= 0), got {conn_num!r}"
            )
        _require_synapses(n_pre * k, "drawn", f"EventFixedProb({n_pre}, {n_post}, {conn_num})")
        rng = np.random.RandomState(seed) if seed is not None else _random.connectivity_rng()
        targets = rng.randint(0, n_post, (n_pre, k)) if k > 0 else np.zeros((n_pre, 0), int)
        unit = _init.unit_of(conn_weight)
        weights = to_model(_init.param(conn_weight, (n_pre, k)), "conn_weight", unit)
        W = sp.csr_matrix(
            (
                weights.ravel(),
                targets.ravel().astype(np.int32),
                np.arange(0, n_pre * k + 1, k) if k > 0 else np.zeros(n_pre + 1, dtype=np.int64),
            ),
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
            data = to_model(weights, "weights", unit)
            W = sp.csr_matrix(data)
        else:
            try:
                W = sp.csr_matrix(weights, dtype=environ.dftype())
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"parameter 'weights' must be a 2-d (n_pre, n_post) matrix "
                    f"of numbers, got {type(weights).__name__} ({exc})"
                ) from None
            W.data = to_model(
                W.data if unit is None else pq.Quantity(W.data, unit), "weights", unit
            )
        if W.ndim != 2:
            raise ValueError(f"weights must be a 2-d (n_pre, n_post) matrix, got shape {W.shape}")
        super().__init__(W, unit, name=name)

    @classmethod
    def from_indices(
        cls, n_pre: int, n_post: int, pre, post, weight, name: str | None = None
    ) -> SparseLinear:
        """Connectivity from index arrays: synapse ``k`` joins ``pre[k]`` to ``post[k]``.

        ``weight`` is a scalar quantity, an array of one value per synapse, or an
        initializer.  Repeated pairs are kept (their weights add).  The synapses are
        stored sorted by (pre, post); a per-synapse array given with them (``weight``, and
        a projection's ``delay``) is listed in the order of the pairs as given, and sorted
        with them (:attr:`given_order`).
        """
        n_pre, n_post = count("n_pre", n_pre), count("n_post", n_post)
        pre, post = np.asarray(pre, dtype=np.int64), np.asarray(post, dtype=np.int64)
        if pre.shape != post.shape:
            raise ValueError(
                f"pre and post index arrays differ in shape: {pre.shape} and {post.shape}"
            )
        if pre.size and (
            pre.max() >= n_pre or post.max() >= n_post or min(pre.min(), post.min()) < 0
        ):
            raise ValueError(f"indices out of range for {n_pre} x {n_post} neurons")
        W, unit, order = _csr_from_pairs(n_pre, n_post, pre, post, weight)
        self = cls.__new__(cls)
        _CSRComm.__init__(self, W, unit, name=name)
        self.given_order = order
        return self


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
        self.n_pre, self.n_post = count("n_in", n_in), count("n_out", n_out)
        _require_synapses(self.n_pre * self.n_post, "dense", f"Linear({n_in}, {n_out})")
        self.weight_unit = _init.unit_of(w_init)
        values = _init.param(w_init, (self.n_pre, self.n_post))
        self.W = to_model(values, "w_init", self.weight_unit)
        self.b = (
            None
            if b_init is None
            else to_model(_init.param(b_init, (self.n_post,)), "b_init", self.weight_unit)
        )

    def propagate(self, x: np.ndarray) -> np.ndarray:
        y = x.astype(self.W.dtype) @ self.W
        return y if self.b is None else y + self.b

    @property
    def weight(self):
        return self.W.copy() if self.weight_unit is None else to_quantity(self.W, self.weight_unit)


def _csr_from_pairs(
    n_pre: int, n_post: int, pre: np.ndarray, post: np.ndarray, weight, name: str = "weight"
) -> tuple[sp.csr_matrix, object, np.ndarray]:
    """A CSR matrix of the (pre, post) pairs, ordered by row then column, with weights;
    its unit; and the order that sorted the pairs (stored synapse ``i`` is given pair
    ``order[i]``).

    ``weight`` is a scalar quantity, an array of one value per pair (in the given pair
    order) or an initializer evaluated for the number of pairs (in storage order).
    """
    unit = _init.unit_of(weight)
    order = np.lexsort((post, pre))
    pre, post = pre[order], post[order]
    given_per_pair = np.ndim(weight) > 0 and not isinstance(weight, _init.Initializer)
    values = _init.param(weight, (pre.size,))
    data = to_model(values, name, unit)
    if given_per_pair:
        data = data[order]
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    W = sp.csr_matrix((data, post.astype(np.int32), indptr), shape=(n_pre, n_post))
    return W, unit, order


#: bytes per synapse at the peak of building a connectivity (drawn indices, the sort
#: order and sorted copies, weights, the CSR arrays), measured with tracemalloc on 2e7
#: synapses (2026-12-07): EventFixedProb 25.0, FixedProb 92.8 (its geometric gaps drawn
#: 5 % ahead), the fixed degrees and AllToAll 60.0; the CSR kept takes 12 (int32 target,
#: float64 weight); Linear holds a dense float64 matrix
_BUILD_BYTES = {"drawn": 25, "geometric": 93, "pairs": 60, "dense": 8}


def _require_synapses(n: float, kind: str, what: str) -> None:
    """:class:`refsim.ResourceError` before a connectivity of ``n`` synapses is built where
    building it would not fit in memory (``kind``: how it is built, :data:`_BUILD_BYTES`)."""
    require_memory(
        n * _BUILD_BYTES[kind],
        f"{what} ({n:.4g} synapses, {_BUILD_BYTES[kind]} bytes each while built)",
        "fewer neurons, a lower connection probability or degree, or several machines (MPI)",
    )


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed) if seed is not None else _random.default_rng()


def _distinct_rows(rng: np.random.Generator, n_rows: int, n_choices: int, k: int) -> np.ndarray:
    """``n_rows`` rows of ``k`` distinct integers in ``[0, n_choices)``, vectorised.

    Draw with replacement, then redraw the repeated entries of each row until none is
    left (a few rounds when ``k`` is much smaller than ``n_choices``).
    """
    if k > n_choices:
        raise ValueError(f"cannot draw {k} distinct targets out of {n_choices}")
    picks = rng.integers(0, n_choices, (n_rows, k))
    while True:
        picks.sort(axis=1)
        repeated = np.zeros_like(picks, dtype=bool)
        repeated[:, 1:] = picks[:, 1:] == picks[:, :-1]
        n_rep = int(repeated.sum())
        if n_rep == 0:
            return picks
        picks[repeated] = rng.integers(0, n_choices, n_rep)


class FixedProb(_CSRComm):
    """Each (pre, post) pair connected independently with probability ``prob``.

    Pairs are drawn without storing an ``n_pre x n_post`` array (geometric gaps over
    the flattened pair index), so memory stays O(synapses).  Weights may differ per
    synapse (an initializer, or an array in storage order).

    Parameters
    ----------
    n_pre, n_post : int
    prob : float
        Connection probability in [0, 1].
    weight : quantity or initializer
    allow_self : bool, default True
        With equal sizes, allow ``i -> i``.
    seed : int, optional
        A private seed; by default :func:`refsim.random.default_rng`.
    """

    def __init__(
        self,
        n_pre: int,
        n_post: int,
        prob: float,
        weight,
        allow_self: bool = True,
        seed: int | None = None,
        name: str | None = None,
    ):
        prob = probability("prob", prob)
        n_pre, n_post = count("n_pre", n_pre), count("n_post", n_post)
        _require_synapses(
            n_pre * n_post * prob, "geometric", f"FixedProb({n_pre}, {n_post}, {prob})"
        )
        rng = _rng(seed)
        total = n_pre * n_post
        chunks, position = [], -1
        while prob > 0 and position < total:
            gaps = (
                rng.geometric(prob, int(prob * total * 1.05) + 64)
                if prob < 1
                else np.ones(total, dtype=np.int64)
            )
            # a gap past the end ends the draw; clipped there, the sum cannot overflow int64
            # (at p = 1e-19 a gap is up to 2**63 - 1), and every pair before it is the same
            gaps = np.minimum(gaps, total + 1)
            steps = position + np.cumsum(gaps)
            chunks.append(steps[steps < total])
            position = int(steps[-1])
        flat = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        pre, post = flat // n_post, flat % n_post
        if not allow_self and n_pre == n_post:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        W, unit, _ = _csr_from_pairs(n_pre, n_post, pre, post, weight)
        super().__init__(W, unit, name=name)
        self.prob = prob


class FixedOutDegree(_CSRComm):
    """Each presynaptic neuron connects to ``k`` distinct targets chosen uniformly.

    Parameters
    ----------
    n_pre, n_post, k : int
    weight : quantity or initializer
    seed : int, optional
    """

    def __init__(
        self,
        n_pre: int,
        n_post: int,
        k: int,
        weight,
        seed: int | None = None,
        name: str | None = None,
    ):
        n_pre, n_post, k = count("n_pre", n_pre), count("n_post", n_post), count("k", k, 0)
        _require_synapses(n_pre * k, "pairs", f"FixedOutDegree({n_pre}, {n_post}, {k})")
        targets = _distinct_rows(_rng(seed), n_pre, n_post, k)
        pre = np.repeat(np.arange(n_pre), k)
        W, unit, _ = _csr_from_pairs(n_pre, n_post, pre, targets.ravel(), weight)
        super().__init__(W, unit, name=name)
        self.k = k


class FixedInDegree(_CSRComm):
    """Each postsynaptic neuron receives ``k`` distinct sources chosen uniformly.

    Parameters
    ----------
    n_pre, n_post, k : int
    weight : quantity or initializer
    seed : int, optional
    """

    def __init__(
        self,
        n_pre: int,
        n_post: int,
        k: int,
        weight,
        seed: int | None = None,
        name: str | None = None,
    ):
        n_pre, n_post, k = count("n_pre", n_pre), count("n_post", n_post), count("k", k, 0)
        _require_synapses(n_post * k, "pairs", f"FixedInDegree({n_pre}, {n_post}, {k})")
        sources = _distinct_rows(_rng(seed), n_post, n_pre, k)
        post = np.repeat(np.arange(n_post), k)
        W, unit, _ = _csr_from_pairs(n_pre, n_post, sources.ravel(), post, weight)
        super().__init__(W, unit, name=name)
        self.k = k


class FixedTotalNumber(_CSRComm):
    """``n`` synapses, the source and the target of each drawn uniformly and independently.

    NEST's ``fixed_total_number`` rule and PyNN's ``FixedTotalNumberConnector`` with
    multapses and autapses allowed: a pair drawn twice is two synapses (each with its own
    weight and delay).  The Potjans-Diesmann microcircuit connects its populations so.

    Parameters
    ----------
    n_pre, n_post : int
    n : int
        Number of synapses.
    weight : quantity or initializer
        A scalar, an array of ``n`` values, or an initializer (one value per synapse).
    seed : int, optional
        A private seed; by default :func:`refsim.random.default_rng`.
    """

    def __init__(
        self,
        n_pre: int,
        n_post: int,
        n: int,
        weight,
        seed: int | None = None,
        name: str | None = None,
    ):
        n_pre, n_post, n = count("n_pre", n_pre), count("n_post", n_post), count("n", n, 0)
        _require_synapses(n, "pairs", f"FixedTotalNumber({n_pre}, {n_post}, {n})")
        rng = _rng(seed)
        pre, post = rng.integers(0, n_pre, n), rng.integers(0, n_post, n)
        W, unit, _ = _csr_from_pairs(n_pre, n_post, pre, post, weight)
        super().__init__(W, unit, name=name)
        self.n = n


class AllToAll(_CSRComm):
    """Every presynaptic neuron onto every postsynaptic neuron.

    Parameters
    ----------
    n_pre, n_post : int
    weight : quantity or initializer
    include_self : bool, default True
        With equal sizes, keep the ``i -> i`` connections.
    """

    def __init__(
        self, n_pre: int, n_post: int, weight, include_self: bool = True, name: str | None = None
    ):
        n_pre, n_post = count("n_pre", n_pre), count("n_post", n_post)
        _require_synapses(n_pre * n_post, "pairs", f"AllToAll({n_pre}, {n_post})")
        pre = np.repeat(np.arange(n_pre), n_post)
        post = np.tile(np.arange(n_post), n_pre)
        if not include_self and n_pre == n_post:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        W, unit, _ = _csr_from_pairs(n_pre, n_post, pre, post, weight)
        super().__init__(W, unit, name=name)


class OneToOne(_CSRComm):
    """Neuron ``i`` onto neuron ``i`` (two populations of one size)."""

    def __init__(self, n: int, weight, name: str | None = None):
        n = count("n", n)
        idx = np.arange(n)
        W, unit, _ = _csr_from_pairs(n, n, idx, idx, weight)
        super().__init__(W, unit, name=name)
