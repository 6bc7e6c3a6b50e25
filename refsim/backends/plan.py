"""A :class:`refsim.Network` read into flat arrays: what the compiled backends run.

:func:`plan` checks that every component has a compiled twin (else it raises
:class:`NotCompilable`, naming the first that has none) and gathers the network's
states, parameters and connectivity into the arrays of a :class:`Plan`, in the order of
one step (docs/backends.md).  The states become private arrays that the compiled loop
writes in place and the model objects keep viewing.  The numba backend
(``backends/numba/``) and the cupy backend (``backends/cupy/``) both start from it.

The codes it writes (kinds, parameter rows) are :mod:`refsim.backends.codes`; the reading
of each component is :mod:`refsim.backends.reading`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refsim import philox
from refsim.backends.codes import (
    CUBA_KIND,
    DECLARED_KIND,
    EARLY_ROW,
    JUMP_ROW,
    LIF_KIND,
    NotCompilable,
)
from refsim.backends.reading import (
    read_inputs,
    read_population,
    read_projection,
    read_rows,
    single_precision,
    unmerged_projections,
)
from refsim.inputs import PoissonInput
from refsim.projections import AlignPostProj, AlignPreProj, CurrentProj

__all__ = ["Plan", "give_back", "plan", "usable_cores"]


@dataclass
class Neurons:
    """Per population (in the network's order): its states, parameter table and kind."""

    declared_slot: np.ndarray  # per population: its class's slot, or -1
    drive: list  # per population: a callable direct input (row 6 at each step), or None
    V: list
    extra: list
    extra_names: list  # per population: the names of the rows of ``extra``
    last_spike: list
    in_refractory: list
    params: list
    narrow: np.ndarray
    kind: np.ndarray
    method: np.ndarray
    refractory: np.ndarray
    hard: np.ndarray
    linear: np.ndarray
    spiking: list
    fired: list


@dataclass
class SynapseRows:
    """Each population's synaptic rows (``g[p]``: a row per synapse or AlignPreProj
    output: what its output reads), and its outputs (``out_*``, from row ``out_start[p]``
    on).  A row's own states and parameters besides an Expon's ``g`` and ``tau`` (a
    DualExpon's ``g_rise, g_decay`` and ``tau_rise, factor``; a declared synapse's, in its
    declaration's order) are ``state[p][row]`` and ``param[p][row]``."""

    syn_g: list
    owner: list  # per population, per synaptic row: (module, name) it reports as
    pop: np.ndarray
    index: np.ndarray
    g: list
    tau: list
    kind: list
    slot: list  # per population, per row: its declared synapse's slot, or -1
    state: list
    param: list
    out_row: np.ndarray
    out_kind: np.ndarray
    out_value: np.ndarray
    out_start: np.ndarray


@dataclass
class Feeds:
    """Per AlignPostProj (a *feed*): its CSR rows, source slice, target row, delay."""

    indptr: list
    indices: list
    weights: list
    uniform: np.ndarray
    pre: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    pop: np.ndarray
    row: np.ndarray
    buffer: list
    delay: list
    delay_kind: np.ndarray
    ring: list
    ring_at: np.ndarray
    delay_steps: list
    delay_low: np.ndarray
    delay_frac: np.ndarray
    x: list


@dataclass
class PreProjections:
    """Per AlignPreProj: its presynaptic synapses and plasticity, CSR rows, delay."""

    syn_kind: np.ndarray
    slot: np.ndarray  # a declared synapse's slot (in Plan.declared_synapses), or -1
    state: list
    param: list
    stp_kind: np.ndarray
    stp_state: list
    stp_param: list
    indptr: list
    indices: list
    weights: list
    source: np.ndarray
    start: np.ndarray
    pop: np.ndarray
    row: np.ndarray
    out: list
    delay: list
    ring: list
    ring_at: np.ndarray
    delay_low: np.ndarray
    delay_frac: np.ndarray
    x: list


@dataclass
class Jumps:
    """What jumps each population's potential, in the order its update adds the jumps
    (``sum_delta_inputs``: the DeltaProj in feeding order, then the PoissonInputs in the
    order they were made): ``sources[p]`` holds a DeltaProj's feed ``f`` as ``f`` (its
    buffer), PoissonInput ``q`` as ``-1 - q``.  A PoissonInput aimed at a synapse of a
    synaptic row instead jumps the row, after its projections' events (or before them:
    :func:`_row_poisson`): ``row_sources[p]`` holds ``r, q`` pairs (row code, input).
    Per PoissonInput: its target population and row code (``JUMP_ROW``: the potential),
    its weight per target neuron, its key (``refsim.philox``) and the draws it made before
    the run (the loop draws ``draws + i`` at step ``i``)."""

    sources: list
    row_sources: list
    poisson: list  # the PoissonInput objects (their draws are counted on after a run)
    poisson_pop: np.ndarray
    poisson_row: np.ndarray
    poisson_weight: list
    poisson_key: np.ndarray  # (inputs, 2): the key's two 32-bit words
    poisson_draws: np.ndarray


@dataclass
class Plan:
    """A network as arrays, in the loop's order (see the module text), in four groups."""

    pops: list
    declared: list  # the classes of the declared neuron models, in the order of their slots
    declared_synapses: list  # the classes of the declared synapses, likewise
    single: bool
    bound: list
    held: dict
    neurons: Neurons
    rows: SynapseRows
    feeds: Feeds
    pre: PreProjections
    jumps: Jumps


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS tells, else all)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def plan(net, narrow_width: int) -> Plan:
    """Read ``net`` (a :class:`refsim.Network`) into a :class:`Plan`: what both compiled
    backends run.

    Parameters shared by every neuron of a population are stored ``narrow_width``
    columns wide (the numba loop reads column ``j`` of a block; the GPU column ``0``).
    Every neuron kind of :data:`KIND_PARAMS` and the declared models
    (:data:`DECLARED_KIND`), with exponential Euler or an explicit method
    (:attr:`Plan.method`); the synapses of :data:`SYNAPSE_CLASSES` of AlignPostProj,
    merged or given a synapse instance (its synapse is then a row of the population like a
    merged one: it steps once a step either way, so only where no other projection steps
    the same instance), with or without a delay; AlignPreProj; float64 or a network built
    under ``precision=32`` (:attr:`Plan.single`: float64 arrays whose states the loops
    round to float32 where they write them; :func:`deliver` gives the states back as
    float32).

    Raises :class:`NotCompilable` naming the first component that has no compiled twin.
    """
    single = single_precision(net)
    held = {}  # every state array the loop writes, by identity
    try:
        return _read(net, single, held, narrow_width)
    except NotCompilable:
        give_back(held, single)  # a network that does not compile keeps its dtypes
        raise


def give_back(held: dict, single: bool) -> None:
    """Each held state in its model's precision again: float32 in a float32 network
    (``single``), but for the times of events (float64 as the clock); else the dtype it had
    before :func:`hold` (a float64 state keeps its private array)."""
    for state, dtype in held.values():
        if single and not state.is_event_time:
            dtype = np.dtype(np.float32)
        if state.data.dtype != dtype:
            state.data = state.data.astype(dtype)


def _lists(group) -> dict:
    """An empty list per field of dataclass ``group``, filled by the readers below."""
    return {name: [] for name in group.__dataclass_fields__}


def _arrays(group, lists: dict, ints=(), bools=(), floats=()):
    """``group`` of the readers' ``lists``: the fields named in ``ints``, ``bools`` and
    ``floats`` as one array each (int64, bool, float64), the others lists of arrays."""
    kinds = {**dict.fromkeys(ints, np.int64), **dict.fromkeys(bools, np.bool_)}
    kinds.update(dict.fromkeys(floats, np.float64))
    return group(
        **{k: np.asarray(v, dtype=kinds[k]) if k in kinds else v for k, v in lists.items()}
    )


def _read(net, single: bool, held: dict, narrow_width: int) -> Plan:
    """:func:`plan`'s reading of ``net``, noting each state it takes in ``held``: the
    populations (their states, parameters and inputs), then their synaptic rows, then the
    projections that feed the rows."""
    pops = list(net.populations)
    neurons, rows = _lists(Neurons), _lists(SynapseRows)
    rows["out_start"].append(0)
    declared: list = []  # the declared models' classes, in the order of their slots
    synapses = []  # per synaptic row: (synapse or projection, its output, population)
    # the projections by their output's identity: those that fill a row themselves
    # (AlignPreProj, CurrentProj), and AlignPostProj given a synapse instance (once)
    fillers = {
        id(proj.out): proj
        for proj, *_ in net.feeds
        if type(proj) is AlignPreProj or type(proj) is CurrentProj
    }
    own_syn = unmerged_projections(net)
    poisson: list = []  # (population, PoissonInput, JUMP_ROW or row), in their queues' order
    for p, pop in enumerate(pops):
        read_population(net, p, pop, held, neurons, declared)
        read_inputs(p, pop, fillers, own_syn, rows, synapses, poisson)
        mine = rows["out_kind"][rows["out_start"][-2] :]
        neurons["linear"].append(
            neurons["kind"][-1] == LIF_KIND and all(o == CUBA_KIND for o in mine)
        )
    declared_synapses: list = []  # the declared synapses' classes, in their slots' order
    bound = read_rows(pops, held, narrow_width, neurons, rows, synapses, declared_synapses)
    feeds, pre = _lists(Feeds), _lists(PreProjections)
    syn_index = {id(syn): i for i, (syn, _, _) in enumerate(synapses)}
    for proj, source, start, stop in net.feeds:
        own = type(proj) is AlignPostProj and id(proj.out) in own_syn
        read_projection(
            net,
            proj,
            source,
            start,
            stop,
            own,
            held,
            syn_index,
            rows,
            feeds,
            pre,
            declared_synapses,
        )
    ints = ("pop", "row", "start", "ring_at", "delay_low")
    return Plan(
        pops=pops,
        declared=declared,
        declared_synapses=declared_synapses,
        single=single,
        bound=bound,
        held=held,
        neurons=_arrays(
            Neurons,
            neurons,
            ints=("declared_slot", "kind", "method"),
            bools=("narrow", "refractory", "hard", "linear"),
        ),
        rows=_arrays(
            SynapseRows,
            rows,
            ints=("pop", "index", "out_row", "out_kind", "out_start"),
            floats=("out_value",),
        ),
        feeds=_arrays(
            Feeds,
            feeds,
            ints=(*ints, "pre", "stop", "delay_kind"),
            bools=("uniform",),
            floats=("delay_frac",),
        ),
        pre=_arrays(
            PreProjections,
            pre,
            ints=(*ints, "syn_kind", "slot", "stp_kind", "source"),
            floats=("delay_frac",),
        ),
        jumps=_jumps(pops, neurons, feeds, poisson + _row_poisson(rows["owner"], own_syn)),
    )


def _row_poisson(owners: list, own_syn: dict) -> list:
    """The PoissonInputs aimed at the synapse of a synaptic row: (population, input, row
    code): ``r``, after the projections' events (a merged synapse), or ``EARLY_ROW - r``,
    before them (a synapse that its AlignPostProj steps itself, ``own_syn``: its
    ``step(x)`` adds the projection's ``x`` last)."""
    stepped = {id(proj.syn) for proj in own_syn.values()}
    return [
        (p, before, EARLY_ROW - r if id(syn) in stepped else r)
        for p, rows in enumerate(owners)
        for r, (syn, _) in enumerate(rows)
        for before in getattr(syn, "before_updates", {}).values()
        if type(before) is PoissonInput
    ]


def _jumps(pops: list, neurons: dict, feeds: dict, poisson: list) -> Jumps:
    """Each population's jump sources (:class:`Jumps`), checked against its kind."""
    sources = [
        [
            f
            for f, (pop, row) in enumerate(zip(feeds["pop"], feeds["row"], strict=True))
            if pop == p and row == JUMP_ROW
        ]
        for p in range(len(pops))
    ]
    row_sources: list = [[] for _ in pops]
    for q, (p, _, row) in enumerate(poisson):
        if row == JUMP_ROW:
            sources[p].append(-1 - q)
        else:
            row_sources[p] += [row, q]
    for p, pop in enumerate(pops):
        if sources[p] and neurons["kind"][p] == DECLARED_KIND and not pop.compiled.takes_jumps:
            raise NotCompilable(
                f"{pop.name}: jumps (DeltaProj, PoissonInput) onto {type(pop).__name__}, "
                "whose NeuronTwins do not say takes_jumps=True (that its update adds them "
                "to the stepped V, as self.sum_delta_inputs(V) after the step)"
            )
    keys = [philox.key_of(inp._stream_seed) for _, inp, _ in poisson]
    return Jumps(
        sources=[np.asarray(s, dtype=np.int64) for s in sources],
        row_sources=[np.asarray(s, dtype=np.int64) for s in row_sources],
        poisson=[inp for _, inp, _ in poisson],
        poisson_pop=np.asarray([p for p, _, _ in poisson], dtype=np.int64),
        poisson_row=np.asarray([row for _, _, row in poisson], dtype=np.int64),
        poisson_weight=[
            np.ascontiguousarray(np.broadcast_to(inp.p.weight, (pops[p].num,)), dtype=np.float64)
            for p, inp, _ in poisson
        ],
        poisson_key=np.asarray(keys, dtype=np.int64).reshape(-1, 2),
        poisson_draws=np.asarray([inp._draws for _, inp, _ in poisson], dtype=np.int64),
    )


def count_draws(pl: Plan, steps: int) -> None:
    """After a compiled run of ``steps`` steps, each PoissonInput has drawn them."""
    for inp in pl.jumps.poisson:
        inp._draws += int(steps)


def poisson_tables(inputs: list, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The binomial tables of each PoissonInput at step ``dt`` (ms), as the loops read them:
    (inputs, 4) integers (trials, chunks, certain, the longest table's length), (inputs,
    2, length) the CDF of a full chunk and of the last, padded with ``inf``, and (inputs,
    2) their ends (:class:`refsim.philox.BinomialTable`)."""
    tables = [inp.binomial_table(dt) for inp in inputs]
    length = max([1] + [max(t.cdf_chunk.size, t.cdf_last.size) for t in tables])
    counts = np.zeros((len(tables), 4), np.int64)
    cdf = np.full((len(tables), 2, length), np.inf)
    ends = np.zeros((len(tables), 2), np.int64)
    for q, t in enumerate(tables):
        counts[q] = t.n, t.chunks, int(t.certain), length
        cdf[q, 0, : t.cdf_chunk.size], cdf[q, 1, : t.cdf_last.size] = t.cdf_chunk, t.cdf_last
        ends[q] = t.end_chunk, t.end_last
    return counts, cdf, ends
