"""The numba backend: a whole :func:`refsim.run` of a :class:`refsim.Network` as one loop.

:func:`plan` reads a network into flat arrays (it says why when a component has no
compiled twin); :func:`run_compiled` advances it with :func:`_advance`, one jitted
loop over the steps of a chunk, with no Python inside a step.  The arithmetic of each
model is the scalar twin beside its NumPy code (``lif_drift_scalar`` in
``neurons/lif.py``, ``expon_decay_scalar`` in ``synapses/expon.py``, ``coba_scalar`` in
``outputs.py``...), performed in the oracle's order, so spikes and states equal the
numpy backend's bit for bit (``tests/test_backends.py``).

Order inside one step (as :meth:`refsim.Network.update` on the numpy backend):

1. each projection adds the weights of the rows of its spiking presynaptic neurons
   (the spikes stored at the end of the previous step) into its own buffer, rows in
   index order and each row in storage order (as ``np.bincount``);
2. each population in turn: its synapses decay and add their projections' buffers
   (in feeding order), then each neuron resets from its stored spike, sums the output
   currents (in registration order) and integrates; refractory neurons keep the reset
   value; spikes are taken and monitors read.

Float sums run in that fixed order: a rerun gives the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba.typed import List

import refsim.backends.numba_support  # noqa: F401 - registers the scalar twins
from refsim.connectivity import _CSRComm
from refsim.fmath import _EXPREL_SERIES_BELOW as EXPREL_SERIES_BELOW
from refsim.fmath import _poly_exprel as exprel_series
from refsim.fmath import exprel_scalar
from refsim.integrators import exp_euler_scalar
from refsim.neurons.base import reset_scalar, spike_scalar
from refsim.neurons.lif import LIF, LIFRef, lif_drift_scalar
from refsim.outputs import COBA, CUBA, coba_scalar, cuba_scalar
from refsim.projections import AlignPostProj, _MergedAlignPost
from refsim.synapses.expon import Expon, expon_decay_scalar, expon_factor_scalar

__all__ = ["NotCompilable", "plan", "run_compiled"]

# population kinds and output kinds, as the loop sees them
_LIF, _LIFREF = 0, 1
_CUBA, _COBA = 0, 1
# rows of a population's parameter table
_PARAMS = ("R", "tau", "V_th", "V_reset", "V_rest", "tau_ref", "direct input")


def _drop_stale_cache() -> None:
    """Delete Numba's cached loops of this module when a scalar twin's source changed.

    Numba keys its cache on this file alone; the twins it inlines live in other files
    (``fmath.py``, the model files), so a change there would otherwise leave stale
    machine code in use.  A stamp of their sources sits beside the cache.
    """
    import hashlib
    import inspect
    import os
    import pathlib

    from refsim.backends.numba_support import TWINS

    files = sorted({inspect.getsourcefile(f) for f in TWINS} | {__file__})
    digest = hashlib.sha256(b"".join(pathlib.Path(f).read_bytes() for f in files)).hexdigest()
    here = pathlib.Path(__file__)
    dirs = [here.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        dirs.append(pathlib.Path(os.environ["NUMBA_CACHE_DIR"]))
    for cache_dir in dirs:
        stamp = cache_dir / "refsim_twins.sha256"
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            for old in cache_dir.rglob(f"{here.stem}.*.nb[ic]"):
                old.unlink()
            cache_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
        except OSError:  # a read-only install: Numba then caches elsewhere or not at all
            pass


_drop_stale_cache()


class NotCompilable(Exception):
    """The network has a component without a compiled twin (the message names it)."""


@dataclass
class Plan:
    """A network as flat arrays, in the loop's order (see the module text)."""

    pops: list
    V: List
    last_spike: List
    params: List
    kind: np.ndarray
    hard: np.ndarray
    spiking: List
    syn_g: List
    pop_g: List
    pop_tau: List
    out_row: np.ndarray
    out_kind: np.ndarray
    out_value: np.ndarray
    out_start: np.ndarray
    feed_indptr: List
    feed_indices: List
    feed_weights: List
    feed_pre: np.ndarray
    feed_start: np.ndarray
    feed_stop: np.ndarray
    feed_pop: np.ndarray
    feed_row: np.ndarray
    feed_buffer: List


def _vector(value, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)))


def _state(state, what: str) -> np.ndarray:
    """The state's array, made private (the loop writes it in place)."""
    if state.data.ndim != 1:
        raise NotCompilable(f"{what}: only unbatched states compile")
    state.data = np.array(state.data, dtype=np.float64, order="C", copy=True)
    return state.data


def plan(net) -> Plan:
    """Read ``net`` (a :class:`refsim.Network`) into a :class:`Plan`.

    Raises :class:`NotCompilable` naming the first component that has no compiled twin.
    """
    pops = list(net.populations)
    V, last, params, kinds, hard, spiking = List(), List(), List(), [], [], List()
    synapses, syn_pop = [], []
    out_syn, out_kind, out_value, out_start = [], [], [], [0]
    for p, pop in enumerate(pops):
        if type(pop) not in (LIF, LIFRef):
            raise NotCompilable(f"{type(pop).__name__} has no compiled twin yet (LIF, LIFRef)")
        if getattr(pop, "ref_var", False):
            raise NotCompilable(f"{pop.name}: ref_var=True does not compile yet")
        if pop.delta_inputs or pop.after_updates:
            raise NotCompilable(f"{pop.name}: delta inputs or after-updates do not compile")
        n = pop.num
        V.append(_state(pop.V, f"{pop.name}.V"))
        last.append(_state(pop.last_spike_time, pop.name) if type(pop) is LIFRef
                    else np.zeros(n))
        table = np.empty((len(_PARAMS), n))
        for row, name in enumerate(_PARAMS[:-1]):
            table[row] = _vector(getattr(pop, name, 0.0), n)
        table[-1] = _vector(pop._external(net.currents[p]), n)
        params.append(table)
        kinds.append(_LIFREF if type(pop) is LIFRef else _LIF)
        hard.append(pop.spk_reset == "hard")
        spiking.append(np.zeros(n, dtype=np.bool_))
        merged = {}
        for key, before in pop.before_updates.items():
            if not isinstance(before, _MergedAlignPost) or type(before.syn) is not Expon:
                raise NotCompilable(f"{pop.name}: before-update {key!r} does not compile "
                                    "(only merged AlignPostProj with Expon)")
            merged[id(before.out)] = len(synapses)
            synapses.append(before.syn)
            syn_pop.append(p)
        for key, out in pop.current_inputs.items():
            if id(out) not in merged or type(out) not in (COBA, CUBA):
                raise NotCompilable(f"{pop.name}: current input {key!r} does not compile "
                                    "(only COBA or CUBA outputs of merged projections)")
            out_syn.append(merged[id(out)])
            out_kind.append(_COBA if type(out) is COBA else _CUBA)
            out_value.append(float(out.E) if type(out) is COBA else float(out.scale))
        out_start.append(len(out_syn))
    # each population's conductances as the rows of one array (the synapses' states
    # become views of its rows during the run), so the membrane loop reads G[row, j]
    syn_g, pop_g, pop_tau, syn_row = List(), List(), List(), []
    for p, pop in enumerate(pops):
        own = [s for s, q in zip(synapses, syn_pop, strict=True) if q == p]
        G, TAU = np.zeros((len(own), pop.num)), np.zeros((len(own), pop.num))
        for row, syn in enumerate(own):
            if syn.delta_inputs or syn.current_inputs:
                raise NotCompilable(f"{syn.name}: queued inputs at the start of a compiled run")
            if syn.g.data.shape != (pop.num,):
                raise NotCompilable(f"{syn.name}: only unbatched states compile")
            G[row] = syn.g.data
            syn.g.data = G[row]
            TAU[row] = _vector(syn.tau, pop.num)
            syn_row.append(row)
        pop_g.append(G)
        pop_tau.append(TAU)
    for syn in synapses:
        syn_g.append(syn.g.data)
    out_row = [syn_row[s] for s in out_syn]
    f_indptr, f_indices, f_weights, f_buffer = List(), List(), List(), List()
    f_pre, f_start, f_stop, f_pop, f_row = [], [], [], [], []
    syn_index = {id(s): i for i, s in enumerate(synapses)}
    for proj, pre, start, stop in net.feeds:
        if type(proj) is not AlignPostProj or not proj.merged or proj.delay is not None \
                or proj.modules or not isinstance(proj.comm, _CSRComm):
            raise NotCompilable(f"projection {proj.name} does not compile (only merged "
                                "AlignPostProj without delay on a sparse comm)")
        if id(proj.syn) not in syn_index:
            raise NotCompilable(f"projection {proj.name} targets a population outside "
                                "the network")
        W = proj.comm.W
        f_indptr.append(np.ascontiguousarray(W.indptr, dtype=np.int64))
        f_indices.append(np.ascontiguousarray(W.indices, dtype=np.int64))
        f_weights.append(np.ascontiguousarray(W.data, dtype=np.float64))
        f_buffer.append(np.zeros(W.shape[1]))
        f_pre.append(net._index(pre))
        f_start.append(start)
        f_stop.append(stop)
        f_pop.append(syn_pop[syn_index[id(proj.syn)]])
        f_row.append(syn_row[syn_index[id(proj.syn)]])
    as_int = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return Plan(pops, V, last, params, as_int(kinds), np.asarray(hard, dtype=np.bool_),
                spiking, syn_g, pop_g, pop_tau, as_int(out_row), as_int(out_kind),
                np.asarray(out_value, dtype=np.float64), as_int(out_start), f_indptr,
                f_indices, f_weights, as_int(f_pre), as_int(f_start),
                as_int(f_stop), as_int(f_pop), as_int(f_row), f_buffer)


@numba.njit(cache=True)
def _take_spikes(V, params, spiking):
    """Spike flags of the stored potentials: ``(V - V_th)/(V_th - V_reset) >= 0``."""
    for p in range(len(V)):
        v, th, rs, out = V[p], params[p][2], params[p][3], spiking[p]
        for i in range(v.size):
            out[i] = spike_scalar(v[i], th[i], rs[i])


@numba.njit(cache=True)
def _decay_factors(pop_tau, dt):
    """Per synapse element, the constant ``dt * exprel(-dt / tau)`` of its decay."""
    out = List()
    for TAU in pop_tau:
        F = np.empty_like(TAU)
        for r in range(TAU.shape[0]):
            for j in range(TAU.shape[1]):
                F[r, j] = expon_factor_scalar(TAU[r, j], dt)
        out.append(F)
    return out


@numba.njit(cache=True)
def _membrane(v, last, spk, R, tau_m, V_th, V_reset, V_rest, tau_ref, direct, is_hard,
              refractory_model, G, out_row, out_kind, out_value, o_begin, o_end,
              V_r, cur, slope, drift, z, e, t, dt):
    """One step of the LIF/LIFRef membranes of a population, in passes that vectorise."""
    for j in range(v.size):
        V_r[j] = reset_scalar(v[j], spk[j], V_th[j], V_reset[j], is_hard)
        cur[j] = direct[j]  # the oracle's sum starts from the direct input (or 0.0)
        slope[j] = 0.0
    for o in range(o_begin, o_end):  # outputs in registration order
        row, value = out_row[o], out_value[o]
        if out_kind[o] == _COBA:
            for j in range(v.size):
                I, dI = coba_scalar(G[row, j], value, V_r[j])
                cur[j] = cur[j] + I
                slope[j] = slope[j] + dI
        else:
            for j in range(v.size):
                I, dI = cuba_scalar(G[row, j], value, V_r[j])
                cur[j] = cur[j] + I
                slope[j] = slope[j] + dI
    for j in range(v.size):
        drift[j], jacobian = lif_drift_scalar(V_r[j], cur[j], slope[j], R[j], tau_m[j],
                                              V_rest[j])
        z[j] = dt * jacobian
        e[j] = exprel_series(z[j])  # exprel_scalar's value wherever |z| < 1/2 ...
    for j in range(v.size):
        if not abs(z[j]) < EXPREL_SERIES_BELOW:  # ... and its other branch elsewhere
            e[j] = exprel_scalar(z[j])
    for j in range(v.size):
        V_new = exp_euler_scalar(V_r[j], drift[j], e[j], dt)
        if refractory_model:
            if (t - last[j]) < tau_ref[j]:
                V_new = V_r[j]
            if V_new >= V_th[j]:
                last[j] = t
        v[j] = V_new
        spk[j] = spike_scalar(V_new, V_th[j], V_reset[j])


@numba.njit(cache=True)
def _advance(i_begin, i_end, first_step, dt, V, last_spike, params, kind, hard, spiking,
             pop_g, pop_tau, pop_factor, scratch, out_row, out_kind, out_value, out_start,
             f_indptr, f_indices, f_weights, f_pre, f_start, f_stop, f_pop, f_row, f_buffer,
             spike_steps, spike_index, n_spikes,
             rec_src, rec_indices, rec_every, rec_buffer, rec_count):
    """Advance steps ``i_begin .. i_end - 1`` of a run; return the next step.

    Spikes of population ``p`` go to ``spike_steps[p]`` / ``spike_index[p]`` (an empty
    buffer: not recorded), ``n_spikes[p]`` counting; the loop returns early, before a
    step that could overflow a buffer, for the caller to enlarge it.
    """
    for i in range(i_begin, i_end):
        for p in range(len(V)):
            if spike_steps[p].size > 0 and n_spikes[p] + V[p].size > spike_steps[p].size:
                return i
        t = (first_step + i) * dt
        # 1. projections: the rows of spiking presynaptic neurons, in index order
        for f in range(f_pre.size):
            buf, spk = f_buffer[f], spiking[f_pre[f]]
            buf[:] = 0.0
            indptr, idx, w = f_indptr[f], f_indices[f], f_weights[f]
            start = f_start[f]
            for row in range(f_stop[f] - start):
                if spk[start + row]:
                    for s in range(indptr[row], indptr[row + 1]):
                        buf[idx[s]] += w[s]
        # 2. populations in order: synapses, then membranes
        for p in range(len(V)):
            G, TAU, FACTOR = pop_g[p], pop_tau[p], pop_factor[p]
            for r in range(G.shape[0]):
                for j in range(G.shape[1]):
                    G[r, j] = expon_decay_scalar(G[r, j], TAU[r, j], FACTOR[r, j])
            for f in range(f_pop.size):  # feeding order, as the oracle's delta queue
                if f_pop[f] == p:
                    r, buf = f_row[f], f_buffer[f]
                    for j in range(G.shape[1]):
                        G[r, j] = G[r, j] + buf[j]
            v, last, par, spk = V[p], last_spike[p], params[p], spiking[p]
            R, tau_m, V_th, V_reset, V_rest, tau_ref, direct = (
                par[0], par[1], par[2], par[3], par[4], par[5], par[6])
            is_hard, refractory_model = hard[p], kind[p] == _LIFREF
            work = scratch[p]
            _membrane(v, last, spk, R, tau_m, V_th, V_reset, V_rest, tau_ref, direct, is_hard,
                      refractory_model, G, out_row, out_kind, out_value, out_start[p],
                      out_start[p + 1], work[0], work[1], work[2], work[3], work[4], work[5],
                      t, dt)
            if spike_steps[p].size > 0:
                steps, index, n = spike_steps[p], spike_index[p], n_spikes[p]
                for j in range(v.size):
                    if spk[j]:
                        steps[n] = first_step + i
                        index[n] = j
                        n += 1
                n_spikes[p] = n
        # 3. state monitors, read after the step
        for m in range(len(rec_src)):
            if i % rec_every[m] == 0:
                src, sel, buf = rec_src[m], rec_indices[m], rec_buffer[m]
                row = rec_count[m]
                for k in range(sel.size):
                    buf[row, k] = src[sel[k]]
                rec_count[m] = row + 1
    return i_end


def _spike_buffers(pl: Plan, mons: dict, n_steps: int):
    """Per population: step and index buffers when a monitor records it, else empty."""
    from refsim.run import SpikeMonitor, StateMonitor

    recorded = set()
    rec_src, rec_idx, rec_every, rec_buf, rec_mons = List(), List(), [], List(), []
    states = {}
    for p, pop in enumerate(pl.pops):
        states[id(pl.V[p])] = pl.V[p]
        if type(pop) is LIFRef:
            states[id(pl.last_spike[p])] = pl.last_spike[p]
    for g in pl.syn_g:
        states[id(g)] = g
    for name, mon in mons.items():
        if isinstance(mon, SpikeMonitor):
            if not any(mon.neuron is pop for pop in pl.pops):
                raise NotCompilable(f"monitor '{name}' records a population outside the network")
            recorded.add(id(mon.neuron))
        elif isinstance(mon, StateMonitor):
            data = getattr(mon.target, "data", None)
            if data is None or id(data) not in states or mon.reduce is not None:
                raise NotCompilable(f"monitor '{name}' reads something other than a state of "
                                    "a compiled component (or reduces it)")
            sel = np.arange(data.size) if mon.indices is None else mon.indices
            rec_src.append(data)
            rec_idx.append(np.ascontiguousarray(sel, dtype=np.int64))
            rec_every.append(mon.every)
            rec_buf.append(np.empty((mon._n_records, sel.size)))
            rec_mons.append(mon)
        else:  # pragma: no cover - run() only makes these two kinds
            raise NotCompilable(f"monitor '{name}' is of an unknown kind")
    if len(rec_src) == 0:  # numba needs a typed element even for an empty list
        rec_src.append(np.zeros(0))
        rec_idx.append(np.zeros(0, dtype=np.int64))
        rec_buf.append(np.zeros((0, 0)))
        rec_every.append(1)
        rec_mons.append(None)
    steps, index = List(), List()
    for pop in pl.pops:
        size = 0
        if id(pop) in recorded:
            size = max(4 * pop.num, min(pop.num * n_steps, 1 << 20))
        steps.append(np.zeros(size, dtype=np.int64))
        index.append(np.zeros(size, dtype=np.int64))
    return (steps, index, np.zeros(len(pl.pops), dtype=np.int64), rec_src, rec_idx,
            np.asarray(rec_every, dtype=np.int64), rec_buf, np.zeros(len(rec_mons), np.int64),
            rec_mons)


def run_compiled(pl: Plan, first_step: int, n_steps: int, dt: float, mons: dict,
                 bar=None, chunk: int = 1000) -> tuple[float, float]:
    """Run ``n_steps`` of a planned network, filling ``mons``; return (compile s, run s).

    The loop is compiled (or loaded from Numba's cache) by a call of zero steps, timed
    apart; the run proceeds in chunks of ``chunk`` steps so that ``bar`` can advance.
    """
    import time

    (steps, index, n_spikes, rec_src, rec_idx, rec_every, rec_buf, rec_count,
     rec_mons) = _spike_buffers(pl, mons, n_steps)

    def advance(i0, i1):
        return _advance(i0, i1, first_step, dt, pl.V, pl.last_spike, pl.params, pl.kind,
                        pl.hard, pl.spiking, pl.pop_g, pl.pop_tau, factors, scratch,
                        pl.out_row,
                        pl.out_kind, pl.out_value, pl.out_start, pl.feed_indptr,
                        pl.feed_indices, pl.feed_weights, pl.feed_pre, pl.feed_start,
                        pl.feed_stop, pl.feed_pop, pl.feed_row, pl.feed_buffer, steps, index,
                        n_spikes,
                        rec_src, rec_idx, rec_every, rec_buf, rec_count)

    t0 = time.perf_counter()
    factors = _decay_factors(pl.pop_tau, dt)
    scratch = List([np.zeros((6, v.size)) for v in pl.V])
    _take_spikes(pl.V, pl.params, pl.spiking)
    advance(0, 0)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    i = 0
    while i < n_steps:
        stop = min(n_steps, i + chunk) if bar is not None else n_steps
        reached = advance(i, stop)
        if reached < stop:  # a spike buffer is full: double it and go on
            for p in range(len(steps)):
                if steps[p].size and n_spikes[p] + pl.V[p].size > steps[p].size:
                    steps[p] = np.concatenate([steps[p], np.zeros_like(steps[p])])
                    index[p] = np.concatenate([index[p], np.zeros_like(index[p])])
        if bar is not None:
            bar.update(reached - i)
        i = reached
    run_s = time.perf_counter() - t0
    _deliver(pl, mons, steps, index, n_spikes, rec_buf, rec_count, rec_mons)
    return compile_s, run_s


def _deliver(pl, mons, steps, index, n_spikes, rec_buf, rec_count, rec_mons) -> None:
    """Hand the recordings to the monitor objects and rebind the outputs' conductances."""
    from refsim.run import SpikeMonitor

    for mon in mons.values():
        if not isinstance(mon, SpikeMonitor):
            continue
        p = next(k for k, pop in enumerate(pl.pops) if pop is mon.neuron)
        s, j = steps[p][: n_spikes[p]].copy(), index[p][: n_spikes[p]].copy()
        if mon.indices is not None:  # the oracle's order: by step, then as listed
            position = np.full(pl.pops[p].num, -1, dtype=np.int64)
            position[mon.indices] = np.arange(mon.indices.size)
            keep = position[j] >= 0
            s, j = s[keep], j[keep]
            order = np.lexsort((position[j], s))
            s, j = s[order], j[order]
        mon._chunks_steps, mon._chunks_idx = [s], [j]
    for mon, buf, count in zip(rec_mons, rec_buf, rec_count, strict=True):
        if mon is not None:
            mon._buffer, mon._n = buf, int(count)
    for pop in pl.pops:
        for before in pop.before_updates.values():
            before.out.bind_data(before.syn.g.data)
