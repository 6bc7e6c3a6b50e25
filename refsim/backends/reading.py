"""Reading a network's components into the plan's lists (:func:`refsim.backends.plan.plan`
calls these in the order of one step): a population (:func:`read_population`), its
inputs (:func:`read_inputs`), its synaptic rows (:func:`read_rows`), a projection
(:func:`read_projection`).  Each checks that its component has a compiled twin and raises
:class:`~refsim.backends.codes.NotCompilable` naming it where it has none; each state it
takes becomes a private float64 array that the loops write in place (:func:`hold`).
"""

from __future__ import annotations

import math

import numpy as np

from refsim import fmath
from refsim.backends.codes import (
    ALPHA_KIND,
    AMPA_KIND,
    BIONMDA_KIND,
    COBA_KIND,
    CUBA_KIND,
    CURRENT_PROJ_KIND,
    DECLARED_KIND,
    DECLARED_SYNAPSE_KIND,
    DUAL_ALPHA_KIND,
    DUAL_KIND,
    EXP_EULER_METHOD,
    EXPON_KIND,
    JUMP_ROW,
    KIND_PARAMS,
    METHOD_CODES,
    NEURON_KINDS,
    NO_DELAY_KIND,
    PARAMS,
    PRE_OUTPUT_KIND,
    PRE_STP,
    PRE_SYNAPSES,
    SPIKE_DELAY_KIND,
    SYNAPTIC_DELAY_KIND,
    NotCompilable,
)
from refsim.backends.drives import NOISES, WAVEFORMS, NoiseDrive, SourceDrive, _vector
from refsim.capture import defined_at
from refsim.compiled import NeuronTwins, SynapseTwins, check_declaration
from refsim.connectivity import _CSRComm
from refsim.delays import SpikeDelay, SynapticDelay, _require_state
from refsim.inputs import PoissonInput, SpikeSource
from refsim.module import State
from refsim.neurons import base
from refsim.outputs import COBA, CUBA
from refsim.projections import AlignPostProj, AlignPreProj, CurrentProj, DeltaProj, _MergedAlignPost
from refsim.synapses.alpha import Alpha
from refsim.synapses.expon import DualExpon, Expon
from refsim.synapses.kinetic import AMPA, BioNMDA, GABAa

__all__ = [
    "aligned_zeros",
    "hand_back",
    "hold",
    "raw",
    "read_inputs",
    "read_population",
    "read_projection",
    "read_rows",
    "single_precision",
    "unmerged_projections",
]


#: bytes of a cache line: the arrays that the compiled loop's threads write in shares
#: (states, spike flags and lists, conductances, buffers) start on one, so that no line
#: holds the ends of two threads' shares and moves between their cores at every write
#: (COBA and CUBA 4000 on two threads: about 3 %, within this machine's noise)
CACHE_LINE = 64


def aligned_zeros(shape, dtype=np.float64) -> np.ndarray:
    """Zeros of ``shape`` whose first item starts a :data:`CACHE_LINE`."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    raw = np.zeros(size + CACHE_LINE, dtype=np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start : start + size].view(dtype).reshape(shape)


def aligned_copy(values) -> np.ndarray:
    values = np.asarray(values)
    out = aligned_zeros(values.shape, values.dtype)
    out[...] = values
    return out


def hold(state, what: str, held: dict, into: np.ndarray | None = None, ndim: int = 1) -> np.ndarray:
    """Give ``state`` a private float64 array that the loop writes in place (a copy, or
    ``into``, a row of one of the plan's tables, filled with its values); note it in
    ``held`` (by identity, with the state and its dtype before), where :func:`monitored`
    finds what a state monitor reads and :func:`deliver` the dtype to give back."""
    if state.data.ndim != ndim:
        raise NotCompilable(f"{what}: only unbatched states compile")
    dtype = state.data.dtype
    # (flushed first, so that State.data keeps this very array: it flushes what it is given)
    values = aligned_copy(fmath.flush_subnormals(np.asarray(state.data, dtype=np.float64)))
    if into is not None:
        into[...] = values
        values = into
    state.data = values
    held[id(values)] = (state, dtype)
    return values


def raw(obj, name: str, default=None):
    """``obj``'s parameter ``name`` in internal units (``obj.p``), or a constant it
    derived (``factor``, ``g_max``); ``default`` where it has neither."""
    if name in obj.p.names():
        return getattr(obj.p, name)
    return getattr(obj, name) if default is None else getattr(obj, name, default)


def _table(obj, names, n: int, held: dict | None = None) -> np.ndarray:
    """A ``len(names) x n`` table: ``obj``'s parameters by name, or (``held`` given) its
    states, which become views of the rows."""
    table = np.zeros((len(names), n))
    for row, name in enumerate(names):
        if held is None:
            table[row] = _vector(raw(obj, name), n)
        else:
            hold(getattr(obj, name), f"{obj.name}.{name}", held, into=table[row])
    return table


def _pre_kind(syn) -> int:
    if type(syn) is DualExpon:
        return DUAL_ALPHA_KIND if syn.equal_taus and syn.normalize else DUAL_KIND
    return {
        Expon: EXPON_KIND,
        Alpha: ALPHA_KIND,
        AMPA: AMPA_KIND,
        GABAa: AMPA_KIND,
        BioNMDA: BIONMDA_KIND,
    }[type(syn)]


def _delay_fields(delay, held: dict) -> tuple:
    """A projection's delay as the loop reads it: (kind, ring buffer, the ring row of this
    step, per-synapse steps, whole steps back, the fraction of a step beyond them).  The
    ring is the delay's own state, held (:func:`hold`) and written in place."""
    if delay is None:
        return NO_DELAY_KIND, np.zeros((0, 0)), 0, np.zeros(0, dtype=np.int64), 0, 0.0
    _require_state(delay)  # the oracle's error when the buffer was never made
    ring = hold(delay.buffer, f"{delay.name}.buffer", held, ndim=2)
    if type(delay) is SynapticDelay:
        return (SYNAPTIC_DELAY_KIND, ring, delay.now, delay.steps.astype(np.int64), 0, 0.0)
    low = math.floor(delay.steps)
    return (
        SPIKE_DELAY_KIND,
        ring,
        delay.write_index,
        np.zeros(0, dtype=np.int64),
        low,
        delay.steps - low,
    )


def hand_back(delay, at: int) -> None:
    """Tell ``delay`` (or None) which ring row the next step writes."""
    if type(delay) is SpikeDelay:
        delay.write_index = int(at)
    elif delay is not None:
        delay.now = int(at)


def _check_modules(proj) -> None:
    """Raise :class:`NotCompilable` naming the first of ``proj``'s modules (the callables
    its spikes pass through before ``comm``) and where its code is: Python code, which
    the compiled loops cannot run."""
    if proj.modules:
        module = proj.modules[0]
        where = defined_at(getattr(module, "update", module))
        raise NotCompilable(
            f"projection {proj.name}: its module {getattr(module, '__name__', module)!r}"
            f"{' (' + where + ')' if where else ''} is Python code, which the compiled loop "
            "cannot run (a projection compiles without modules)"
        )


def _check_pre(proj) -> None:
    """Raise :class:`NotCompilable` unless the AlignPreProj ``proj`` has compiled twins."""
    if not (type(proj.syn) in PRE_SYNAPSES or _is_row(proj.syn)) or type(proj.stp) not in PRE_STP:
        raise NotCompilable(
            f"projection {proj.name}: AlignPreProj with "
            f"{type(proj.syn).__name__} and stp={type(proj.stp).__name__} does "
            "not compile (synapses: "
            + ", ".join(c.__name__ for c in PRE_SYNAPSES)
            + " or a declared synapse; stp: STP, STD)"
        )
    for part in (proj.syn, proj.stp):
        if part is not None:
            _check_synapse(part)


def _neuron_kind(pop) -> tuple:
    """(kind, refractory, its states besides V and last_spike_time, its own parameter
    rows) of population ``pop``: a built-in code path (:data:`NEURON_KINDS`), or a model
    that declares its twins (:data:`DECLARED_KIND`); else :class:`NotCompilable`."""
    k, is_refractory, extra_names = NEURON_KINDS.get(type(pop), (None, False, ()))
    if k is not None:
        return k, is_refractory, extra_names, KIND_PARAMS[k]
    if isinstance(getattr(type(pop), "compiled", None), NeuronTwins):
        try:
            declared = check_declaration(type(pop))
        except TypeError as exc:
            raise NotCompilable(str(exc)) from None
        return (DECLARED_KIND, isinstance(pop, base.Refractory), declared.states, declared.params)
    names = ", ".join(sorted({c.__name__ for c in NEURON_KINDS}))
    raise NotCompilable(
        f"{type(pop).__name__} has no compiled twin ({names}; or a model declaring "
        "compiled = refsim.NeuronTwins(...))"
    )


def _check_synapse(syn, row: bool = False) -> None:
    """Raise :class:`NotCompilable` where a synapse has what its compiled row does not run:
    inputs queued before the run, or before/after-updates (a module aimed at it; a
    PoissonInput compiles onto a synaptic ``row``, :class:`~refsim.backends.plan.Jumps`)."""
    if syn.delta_inputs or syn.current_inputs:
        raise NotCompilable(f"{syn.name}: queued inputs at the start of a compiled run")
    for key, update in [*syn.before_updates.items(), *syn.after_updates.items()]:
        if row and type(update) is PoissonInput and key in syn.before_updates:
            continue
        raise NotCompilable(
            f"{syn.name}: its update {key!r} (an input or a module aimed at "
            "the synapse) does not compile"
        )


def unmerged_projections(net) -> dict:
    """The AlignPostProj of ``net`` given a synapse instance, by their output's identity.
    Raises :class:`NotCompilable` where two step the same synapse (each steps it once a
    step: two decays a step, which a row of the loop does not do)."""
    found, stepped = {}, {}
    for proj, *_ in net.feeds:
        if type(proj) is AlignPostProj and not proj.merged:
            other = stepped.setdefault(id(proj.syn), proj)
            if other is not proj:
                raise NotCompilable(
                    f"projections {other.name} and {proj.name} both step the "
                    f"synapse {proj.syn.name}: does not compile"
                )
            found[id(proj.out)] = proj
    return found


def single_precision(net) -> bool:
    """Whether ``net`` was built under ``precision=32``: the precision of its models (their
    ``dtype``), which must be one for all (checked before :func:`hold` takes any state)."""
    built = {}
    for node in net.nodes():
        if isinstance(getattr(node, "dtype", None), type):
            built.setdefault(np.dtype(node.dtype), node.name)
    if len(built) > 1:
        raise NotCompilable(
            "the compiled loops run one precision; this network mixes "
            + " and ".join(f"{dtype} ({name})" for dtype, name in built.items())
        )
    return np.dtype(np.float32) in built


#: the synapse classes a population's synaptic rows run (merged or their own
#: AlignPostProj), besides the synapses that declare their twins (:func:`_is_row`)
SYNAPSE_CLASSES = (Expon, DualExpon)


def _is_row(syn) -> bool:
    """Whether ``syn`` runs as a synaptic row: one of :data:`SYNAPSE_CLASSES`, or a
    synapse declaring ``compiled = refsim.SynapseTwins(...)`` (checked: a declaration that
    does not fit its class raises :class:`NotCompilable` saying why)."""
    if type(syn) in SYNAPSE_CLASSES:
        return True
    if not isinstance(getattr(type(syn), "compiled", None), SynapseTwins):
        return False
    try:
        check_declaration(type(syn), SynapseTwins)
    except TypeError as exc:
        raise NotCompilable(str(exc)) from None
    return True


def _row_classes() -> str:
    """The synapses a row runs, for a message."""
    return " or ".join(c.__name__ for c in SYNAPSE_CLASSES) + " or a declared synapse"


def read_population(net, p: int, pop, held: dict, neurons: dict, declared: list) -> None:
    """Population ``p``: its kind, states, parameter table and spikes into ``neurons``
    (its inputs: :func:`read_inputs`)."""
    k, is_refractory, extra_names, own_names = _neuron_kind(pop)
    neurons["extra_names"].append(extra_names)
    if k == DECLARED_KIND and type(pop) not in declared:
        declared.append(type(pop))
    neurons["declared_slot"].append(declared.index(type(pop)) if k == DECLARED_KIND else -1)
    neurons["method"].append(METHOD_CODES[getattr(pop, "method", "exp_euler")])
    if neurons["method"][-1] != EXP_EULER_METHOD and k == DECLARED_KIND:
        raise NotCompilable(
            f"{pop.name}: method={pop.method!r}: a declared model "
            "compiles with exponential Euler only (its step twin)"
        )
    if pop.delta_inputs or pop.after_updates:
        raise NotCompilable(f"{pop.name}: delta inputs or after-updates do not compile")
    n = pop.num
    source = isinstance(pop, SpikeSource)  # no V: the loop's stand-in holds its emissions
    neurons["V"].append(aligned_zeros(n) if source else hold(pop.V, f"{pop.name}.V", held))
    table = np.zeros((len(extra_names), n))  # the states become views of its rows
    for row, name in enumerate(extra_names):
        hold(getattr(pop, name), f"{pop.name}.{name}", held, into=table[row])
    neurons["extra"].append(table)
    neurons["last_spike"].append(
        hold(pop.last_spike_time, pop.name, held) if is_refractory else np.zeros(n)
    )
    neurons["in_refractory"].append(
        hold(pop.refractory, f"{pop.name}.refractory", held)
        if getattr(pop, "ref_var", False)
        else np.zeros(0)
    )
    names = PARAMS + own_names
    table = np.empty((len(names), n))
    current = net.currents[p]  # a callable: its value at each step, written by the driver
    if isinstance(current, NOISES):
        if sum(c is current for c in net.currents) > 1:
            raise NotCompilable(
                f"{pop.name}: its direct input {type(current).__name__} drives another "
                "population too (one process drawing for several, in turn, does not compile)"
            )
        current = NoiseDrive(current)
    elif callable(current) and not isinstance(current, WAVEFORMS):
        raise NotCompilable(
            f"{pop.name}: its direct input {type(current).__name__} is called in Python at "
            "each step (the compiled loops take refsim's deterministic waveforms: "
            + ", ".join(c.__name__ for c in WAVEFORMS)
            + ")"
        )
    if source:  # its own spikes of each step, as its input row
        current = SourceDrive(pop, current)
    neurons["drive"].append(current if callable(current) else None)
    for row, name in enumerate(names):
        if name == "direct input":
            value = 0.0 if callable(current) else pop._external(current)
        else:
            value = raw(pop, name, 0.0)
        if isinstance(value, State):  # Gif's moving threshold: in ``extra``, not here
            value = 0.0
        table[row] = _vector(value, n)
    neurons["params"].append(table)
    neurons["kind"].append(k)
    neurons["refractory"].append(is_refractory)
    neurons["hard"].append(getattr(pop, "spk_reset", None) == "hard")
    # the oracle's own spikes of the stored states (as Network.update reads them)
    neurons["spiking"].append(aligned_copy(pop.get_spike().reshape(-1) != 0.0))
    neurons["fired"].append(aligned_zeros(n, np.int64))


def read_inputs(
    p: int, pop, fillers: dict, own_syn: dict, rows: dict, synapses: list, poisson: list
) -> None:
    """Population ``p``'s merged synapses and current inputs: a synaptic row each (an
    AlignPreProj's or a CurrentProj's output, a synapse of its own, a merged one), an
    output each (``fillers``, ``own_syn``: the projections by their output's identity);
    its PoissonInputs, in the order they queue their jumps, into ``poisson`` (each with
    ``JUMP_ROW``: they jump the potential)."""
    merged = {}
    for key, before in pop.before_updates.items():
        if type(before) is PoissonInput:
            poisson.append((p, before, JUMP_ROW))
            continue
        if not isinstance(before, _MergedAlignPost) or not _is_row(before.syn):
            raise NotCompilable(
                f"{pop.name}: before-update {key!r} does not compile "
                f"on this backend (only merged AlignPostProj with {_row_classes()}, "
                "or PoissonInput)"
            )
        merged[id(before.out)] = len(synapses)
        synapses.append((before.syn, before.out, p))
    for key, out in pop.current_inputs.items():
        proj = fillers.get(id(out))
        if proj is not None and proj.post is pop:
            merged[id(out)] = len(synapses)  # a row that the projection fills
            synapses.append((proj, out, p))
        own = own_syn.get(id(out))
        if own is not None and own.post is pop and _is_row(own.syn):
            merged[id(out)] = len(synapses)  # its own synapse, a row like a merged one
            synapses.append((own.syn, out, p))
        if id(out) not in merged or type(out) not in (COBA, CUBA):
            raise NotCompilable(
                f"{pop.name}: current input {key!r} does not compile "
                "(only COBA or CUBA outputs of AlignPostProj, AlignPreProj or CurrentProj)"
            )
        rows["out_row"].append(merged[id(out)])  # its synapse; the row: read_rows
        rows["out_kind"].append(COBA_KIND if type(out) is COBA else CUBA_KIND)
        rows["out_value"].append(float(out.p.E) if type(out) is COBA else float(out.p.scale))
    rows["out_start"].append(len(rows["out_row"]))


def read_rows(
    pops: list,
    held: dict,
    narrow_width: int,
    neurons: dict,
    rows: dict,
    synapses: list,
    declared: list,
) -> list:
    """Each population's synaptic outputs as the rows of one array, so that the membrane
    loop reads ``G[row, j]``: an Expon's ``g`` itself (its state becomes a view of the
    row), a DualExpon's or a declared synapse's output (its states the rows of
    ``state[row]``), an AlignPreProj's summed output (``g_pre @ W``).  The tables shared by
    every neuron become one block wide.  ``declared``: the declared synapses' classes, in
    the order of their slots (filled here).  Returns the (output, g) pairs bound while the
    loop runs."""
    bound = []
    for p, pop in enumerate(pops):
        own = [(syn, out) for syn, out, q in synapses if q == p]
        n, count = pop.num, len(own)
        depth = max([2] + [len(_declared(syn).states) for syn, _ in own])
        n_params = max([2] + [len(_declared(syn).params) for syn, _ in own])
        table = {
            "g": aligned_zeros((count, n)),
            "tau": np.zeros((count, n)),
            "kind": np.zeros(count, np.int64),
            "slot": np.full(count, -1, np.int64),
            "state": aligned_zeros((count, depth, n)),
            "param": np.zeros((count, n_params, n)),
        }
        rows["owner"].append([])
        for row, (syn, out) in enumerate(own):
            _read_row(row, syn, n, held, table, declared)
            summed = isinstance(syn, AlignPreProj | CurrentProj)
            rows["owner"][p].append((syn, "g (summed through the weights)" if summed else "g"))
            rows["syn_g"].append(table["g"][row])
            rows["pop"].append(p)
            rows["index"].append(row)
            bound.append((out, table["g"][row]))
        # the same parameters for every neuron: tables one block wide, reused per block
        params = neurons["params"][p]
        narrow = (
            neurons["drive"][p] is None
            and all(  # (a drive may differ per neuron)
                np.all(x.view(np.int64) == x[..., :1].view(np.int64))
                for x in (params, table["tau"], table["param"])
            )
        )
        neurons["narrow"].append(narrow)
        if narrow:
            width = min(n, narrow_width)
            neurons["params"][p] = np.ascontiguousarray(params[:, :width])
            table["tau"] = np.ascontiguousarray(table["tau"][:, :width])
            table["param"] = np.ascontiguousarray(table["param"][..., :width])
        for name, value in table.items():
            rows[name].append(value)
    rows["out_row"] = [rows["index"][s] for s in rows["out_row"]]  # synapse -> its row
    return bound


def _declared(syn) -> SynapseTwins:
    """The declaration of a declared synapse; an empty one for refsim's own rows."""
    declared = getattr(type(syn), "compiled", None)
    return declared if isinstance(declared, SynapseTwins) else _NONE_DECLARED


_NONE_DECLARED = SynapseTwins(states=(), params=(), step=None)


def _read_row(row: int, syn, n: int, held: dict, table: dict, declared: list) -> None:
    """Synaptic row ``row`` of ``syn`` (a synapse or an AlignPreProj) into ``table``: its
    kind, its states (held: they become views of the table's rows) and parameters."""
    if isinstance(syn, AlignPreProj):
        table["kind"][row] = PRE_OUTPUT_KIND
        return
    if isinstance(syn, CurrentProj):  # this step's comm(x), from its feed
        table["kind"][row] = CURRENT_PROJ_KIND
        return
    _check_synapse(syn, row=True)
    if type(syn) is Expon:
        table["kind"][row] = EXPON_KIND
        hold(syn.g, syn.name, held, into=table["g"][row])
        table["tau"][row] = _vector(syn.p.tau, n)
        return
    if type(syn) is DualExpon:
        table["kind"][row] = _pre_kind(syn)  # DUAL_KIND or DUAL_ALPHA_KIND
        for i, state in enumerate((syn.g_rise, syn.g_decay)):
            hold(state, syn.name, held, into=table["state"][row, i])
        table["tau"][row] = _vector(syn.p.tau_decay, n)
        table["param"][row, :2] = _vector(syn.p.tau_rise, n), _vector(syn.factor, n)
        return
    twins = _declared(syn)
    if type(syn) not in declared:
        declared.append(type(syn))
    table["kind"][row] = DECLARED_SYNAPSE_KIND
    table["slot"][row] = declared.index(type(syn))
    for i, name in enumerate(twins.states):
        hold(getattr(syn, name), f"{syn.name}.{name}", held, into=table["state"][row, i])
    for i, name in enumerate(twins.params):
        table["param"][row, i] = _vector(raw(syn, name), n)


def read_projection(
    net,
    proj,
    source,
    start: int,
    stop: int,
    own: bool,
    held: dict,
    syn_index: dict,
    rows: dict,
    feeds: dict,
    pre: dict,
    declared: list,
) -> None:
    """Projection ``proj`` fed by ``source[start:stop]``: an AlignPostProj into ``feeds``
    (its CSR rows, target row, delay; ``own``: given a synapse instance), an AlignPreProj
    into ``pre`` (its presynaptic synapses and plasticity too; a declared synapse takes its
    slot in ``declared``, the declared synapses' classes)."""
    is_pre, is_current = type(proj) is AlignPreProj, type(proj) is CurrentProj
    is_jump = type(proj) is DeltaProj
    _check_modules(proj)
    if not is_pre and (
        not (type(proj) is AlignPostProj and (proj.merged or own) or is_current or is_jump)
        or not isinstance(proj.comm, _CSRComm)
    ):
        raise NotCompilable(
            f"projection {proj.name} does not compile (only AlignPostProj, CurrentProj or "
            "DeltaProj on a sparse comm, or AlignPreProj)"
        )
    if is_pre:
        _check_pre(proj)
        if not isinstance(proj.comm, _CSRComm):
            raise NotCompilable(f"projection {proj.name}: only a sparse comm compiles")
    s = None if is_jump else syn_index.get(id(proj if is_pre or is_current else proj.syn))
    if s is None and not (is_jump and any(pop is proj.post for pop in net.populations)):
        raise NotCompilable(f"projection {proj.name} targets a population outside the network")
    W = proj.comm.W
    if W.shape[1] >= 2**31:  # the loops read column indices as int32 (half the bytes)
        raise NotCompilable(
            f"projection {proj.name}: {W.shape[1]} postsynaptic neurons "
            "do not fit the compiled loops' 32-bit indices"
        )
    into = pre if is_pre else feeds
    into["indptr"].append(np.ascontiguousarray(W.indptr, dtype=np.int64))
    into["indices"].append(np.ascontiguousarray(W.indices, dtype=np.int32))
    into["weights"].append(np.ascontiguousarray(W.data, dtype=np.float64))
    into["start"].append(start)
    into["pop"].append(net._index(proj.post) if is_jump else rows["pop"][s])
    into["row"].append(JUMP_ROW if is_jump else rows["index"][s])  # a jump: not a row
    delay = None if is_current else proj.delay  # (a CurrentProj has none)
    into["delay"].append(delay)
    delay_kind, ring, at, steps, low, frac = _delay_fields(delay, held)
    into["ring"].append(ring)
    into["ring_at"].append(at)
    into["delay_low"].append(low)
    into["delay_frac"].append(frac)
    if is_pre:  # the synapse (and its plasticity) per presynaptic neuron, then W
        _read_presynaptic(proj, W.shape[0], held, pre, declared)
        pre["source"].append(net._index(source))
        return
    bits = feeds["weights"][-1].view(np.int64)  # one weight for all (bit for bit): no loads
    feeds["uniform"].append(bits.size > 0 and bool(np.all(bits == bits[0])))
    feeds["buffer"].append(aligned_zeros(W.shape[1]))
    feeds["pre"].append(net._index(source))
    feeds["stop"].append(stop)
    feeds["delay_kind"].append(delay_kind)
    feeds["delay_steps"].append(steps)
    feeds["x"].append(np.zeros(W.shape[0] if delay_kind == SPIKE_DELAY_KIND else 0))


def _read_presynaptic(proj, n_pre: int, held: dict, pre: dict, declared: list) -> None:
    """The synapses (and plasticity) of the AlignPreProj ``proj``, one per presynaptic
    neuron, into ``pre``: refsim's own (:data:`PRE_SYNAPSES`), or a declared synapse through
    its slot in ``declared``."""
    syn = proj.syn
    if type(syn) in PRE_SYNAPSES:
        (states, names), kind, slot = PRE_SYNAPSES[type(syn)], _pre_kind(syn), -1
    else:  # a declared synapse (refsim.SynapseTwins): its twins through its slot
        twins = _declared(syn)
        states, names, kind = twins.states, twins.params, DECLARED_SYNAPSE_KIND
        if type(syn) not in declared:
            declared.append(type(syn))
        slot = declared.index(type(syn))
    stp_kind, stp_states, stp_names = PRE_STP[type(proj.stp)]
    pre["syn_kind"].append(kind)
    pre["slot"].append(slot)
    pre["state"].append(_table(syn, states, n_pre, held))
    pre["param"].append(_table(syn, names, n_pre))
    pre["stp_kind"].append(stp_kind)
    pre["stp_state"].append(_table(proj.stp, stp_states, n_pre, held))
    pre["stp_param"].append(_table(proj.stp, stp_names, n_pre))
    pre["out"].append(np.zeros(n_pre))
    pre["x"].append(np.zeros(n_pre))  # (its delay: a SpikeDelay or none)
