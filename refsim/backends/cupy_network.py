"""The cupy backend: a :func:`refsim.run` of a :class:`refsim.Network` on an NVIDIA GPU.

The network is read by :func:`refsim.backends.plan.plan` (the same plan as the numba
backend), copied to the GPU once, and advanced by the kernels of ``cupy_kernels.cu``:
per step, the kernels of each projection (its delay, its presynaptic synapses, its
events), then one per population (the order of :meth:`refsim.Network.update`,
docs/backends.md).  The model arithmetic inside those
kernels is C generated from the Python scalar twins by
:mod:`refsim.backends.cuda_source` and compiled without fused multiply-adds, so the
GPU gives the CPU backends' bits: same spike steps, same states.

Connectivity is the CSR matrix built on the host from the run's seed, so it is the CPU's
own.  A projection whose weights are all one bit pattern counts its events per target
with integer atomics (exact in any order); one with weights per synapse sums each
target's column in CSC order, rows ascending, without atomics; so do delayed
projections and AlignPreProj.  Spikes are recorded as
one row of flags per step on the GPU and turned into (step, index) pairs per chunk.

Importing this module does not import CuPy; running does.
"""

from __future__ import annotations

import pathlib
import re
import time
from typing import TYPE_CHECKING

import numpy as np

from refsim.backends import plan as plan_codes
from refsim.backends.cuda_declared import declared_source, declared_twins
from refsim.backends.plan import (
    NotCompilable,
    Plan,
    add_spikes,
    checked_vectors,
    deliver,
    monitored,
    scalar_twins,
)
from refsim.backends.plan import plan as plan_network
from refsim.stability import Finding, is_checked
from refsim.synapses.expon import DualExpon, Expon

if TYPE_CHECKING:
    from refsim.interrupt import CtrlC

__all__ = ["KERNEL_TWINS", "NotCompilable", "plan", "run_compiled", "kernel_source"]

#: the kernels' own code (the loops around the twins)
_KERNELS = (pathlib.Path(__file__).with_name("cupy_kernels.cu")).read_text()


def _called_twins() -> tuple:
    """The scalar twins that ``cupy_kernels.cu`` calls by name (its comments aside)."""
    code = re.sub(r"/\*.*?\*/", "", _KERNELS, flags=re.S)
    return tuple(f for f in scalar_twins() if re.search(rf"\b{f.__name__}\(", code))


#: the scalar twins the kernels call; cuda_source translates them and what they call
KERNEL_TWINS = _called_twins()
#: NVRTC options: no contraction into fused multiply-adds (the CPU's rounding, op by op)
COMPILE_OPTIONS = ("--fmad=false", "-std=c++17")
_THREADS = 256  # threads per block


def _plan_codes() -> str:
    """``#define REFSIM_<NAME>`` for the plan's codes (``*_KIND``: neurons, synapses,
    outputs, delays, plasticity; ``*_METHOD``: integrators)."""
    return "".join(f"#define REFSIM_{name} {getattr(plan_codes, name)}\n"
                   for name in dir(plan_codes)
                   if name.endswith(("_KIND", "_METHOD")) and not name.startswith("_")
                   and isinstance(getattr(plan_codes, name), int))


def kernel_source(declared: tuple = ()) -> str:
    """The whole CUDA source: the translated twins (the kernels' and those of the
    ``declared`` models' classes), the plan's codes, ``cupy_kernels.cu``, then the
    declared models' ``declared_neuron`` (:mod:`refsim.backends.cuda_declared`)."""
    from refsim.backends.cuda_source import twin_source

    return (twin_source(KERNEL_TWINS + declared_twins(declared)) + "\n" + _plan_codes()
            + "\n" + _KERNELS + "\n" + declared_source(declared))


def plan(net) -> Plan:
    """Read ``net`` into a plan for the GPU (shared parameters one column wide): every
    neuron model of the numba backend, with exponential Euler or an explicit method;
    Expon and DualExpon synapses of AlignPostProj (merged or their own), with or without a
    delay, and AlignPreProj (every presynaptic synapse, STP or STD, a SpikeDelay), on COBA
    or CUBA outputs; float64 or float32 (states rounded where they are written)."""
    from refsim.backends.cuda_source import TranslationError, twin_source

    pl = plan_network(net, narrow_width=1, synapse_kinds=(Expon, DualExpon), single_ok=True,
                      unmerged=True, explicit=True)
    for slot, cls in enumerate(pl.declared):  # its twins translate, beside the others
        try:
            twin_source(KERNEL_TWINS + declared_twins(pl.declared[:slot + 1]))
        except TranslationError as exc:
            raise NotCompilable(f"{cls.__name__}.compiled: its twins do not translate to C "
                                f"({exc})") from None
    return pl


def _module(declared: tuple = ()):
    import cupy

    module = cupy.RawModule(code=kernel_source(declared), options=COMPILE_OPTIONS)
    return {name: module.get_function(name)
            for name in ("count_events", "gather_events", "delay_spikes", "delay_events",
                         "pre_synapses", "population_step", "begin_populations")}


def _csc(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_cols: int,
         *per_synapse: np.ndarray):
    """The CSR matrix reordered by column: per column, rows ascending and, within one row,
    storage order (a stable sort of the CSR's own order), which is the order in which the
    CPU loop adds a target's events.  Returns (colptr, rows, data) and each array of
    ``per_synapse`` (a delay per synapse, say) in the same order."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    colptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_cols), out=colptr[1:])
    return (colptr, rows[order].astype(np.int32), data[order],
            *(a[order] for a in per_synapse))


class _Device:
    """The plan's arrays on the GPU, and the launches of one step.

    Every launch argument stays the same from step to step (the step number is read from
    ``clock`` on the GPU), so a chunk of steps can be captured once as a CUDA graph and
    replayed: one launch from Python per chunk instead of a few per step.
    """

    def __init__(self, pl: Plan, first_step: int, dt: float, recorded: set, record_rows: int):
        import cupy

        self.cp, self.pl = cupy, pl
        self.kernels = _module(tuple(pl.declared))
        up = cupy.asarray
        # [this step, the run's first step]; begin_populations advances it before each step
        self.clock = up(np.asarray([first_step - 1, first_step], dtype=np.int64))
        def up_or_stub(a):  # an empty table still needs a valid pointer (never read)
            return up(a) if a.size else cupy.zeros(1, dtype=a.dtype)

        self.V = [up(v) for v in pl.V]
        self.extra = [up_or_stub(x) for x in pl.extra]
        self.last = [up(v) for v in pl.last_spike]
        self.flag = [up_or_stub(f) for f in pl.in_refractory]
        self.params = [up(p) for p in pl.params]
        self.G = [up(g) for g in pl.pop_g]
        self.TAU = [up(t) for t in pl.pop_tau]
        self.DUAL = [up_or_stub(d) for d in pl.pop_dual]
        # the stored spikes of the initial states (the plan's), as flags and as the list
        # of the neurons that fired
        self.spiking, self.fired, counts = [], [], []
        for flags in pl.spiking:
            self.spiking.append(up(flags.astype(np.uint8)))
            listed = np.zeros(flags.size, dtype=np.int32)
            listed[: np.count_nonzero(flags)] = np.flatnonzero(flags)
            self.fired.append(up(listed))
            counts.append(np.count_nonzero(flags))
        self.n_fired_all = up(np.asarray(counts, dtype=np.int32))  # one counter per population
        self.n_fired = [self.n_fired_all[p:p + 1] for p in range(len(pl.V))]
        # spike flags of the recorded populations, a row per step of a chunk
        self.record = {p: cupy.zeros((record_rows, pl.V[p].size), dtype=np.uint8)
                       for p in recorded}
        # each delay's ring (feeds, then AlignPreProj; an empty one: no delay) and the
        # row it writes this step, kept on the GPU
        rings = pl.feed_ring + pl.pre_ring
        self.rings = [up_or_stub(ring) for ring in rings]
        self.ring_at = up_or_stub(np.concatenate([pl.feed_ring_at, pl.pre_ring_at]))
        self.ring_length = up_or_stub(np.asarray([r.shape[0] for r in rings], dtype=np.int64))
        self.launches = []  # the launches of a step before the populations': (kernel,
        #                     threads, arguments)
        self.feed_data = []  # per feed: its counts (int32) or sums (float64) per target
        self.counted = []  # per feed: whether feed_data counts events (one weight for all)
        # count_events: a grid of 4 blocks (32 warps) per multiprocessor, each warp taking
        # every so many of the neurons that fired
        warps = 32 * cupy.cuda.Device().attributes["MultiProcessorCount"]
        no_values = cupy.zeros(1)
        for f in range(len(pl.feed_indptr)):
            indptr, indices, weights = (pl.feed_indptr[f], pl.feed_indices[f],
                                        pl.feed_weights[f])
            n_post, pre, delay = pl.feed_buffer[f].size, pl.feed_pre[f], pl.feed_delay_kind[f]
            spiking, start = self.spiking[pre], np.int64(pl.feed_start[f])
            ring, length, at = self.rings[f], np.int64(rings[f].shape[0]), self.ring_at[f:f + 1]
            self.counted.append(bool(pl.feed_uniform[f]) and delay == plan_codes.NO_DELAY_KIND)
            if self.counted[-1]:
                counts = cupy.zeros(n_post, dtype=np.int32)
                self.launches.append(("count_events", 32 * warps, (
                    self.fired[pre], self.n_fired[pre], start, np.int64(pl.feed_stop[f]),
                    up(indptr), up(indices), counts)))
                self.feed_data.append(counts)
                continue
            sums = cupy.zeros(n_post, dtype=np.float64)
            self.feed_data.append(sums)
            if delay == plan_codes.SYNAPTIC_DELAY_KIND:
                colptr, rows, w, steps = _csc(indptr, indices, weights, n_post,
                                              pl.feed_delay_steps[f])
                self.launches.append(("delay_events", n_post, (
                    np.int64(n_post), spiking, start, up(colptr), up(rows), up(w), up(steps),
                    ring, length, at, sums, np.int32(pl.single))))
                continue
            x = no_values
            if delay == plan_codes.SPIKE_DELAY_KIND:  # the delayed input, then through W
                x = cupy.zeros(pl.feed_x[f].size)
                self.launches.append(("delay_spikes", x.size, (
                    np.int64(x.size), spiking, start, ring, length, at,
                    np.int64(pl.feed_delay_low[f]), np.float64(pl.feed_delay_frac[f]), x)))
            colptr, rows, w = _csc(indptr, indices, weights, n_post)
            self.launches.append(("gather_events", n_post, (
                np.int64(n_post), spiking, start, x, np.int32(x is not no_values), up(colptr),
                up(rows), up(w), sums, np.int32(0))))
        # each AlignPreProj: its presynaptic synapses, then their output through W into its
        # row of the target population's conductances
        self.pre_S = [up(table) for table in pl.pre_state]
        self.pre_Q = [up_or_stub(table) for table in pl.pre_stp_state]
        for q in range(len(pl.pre_indptr)):
            r, n_pre = len(pl.feed_indptr) + q, pl.pre_out[q].size
            out = cupy.zeros(n_pre)
            self.launches.append(("pre_synapses", n_pre, (
                np.int64(n_pre), self.spiking[pl.pre_from[q]], np.int64(pl.pre_start[q]),
                self.rings[r], np.int64(rings[r].shape[0]), self.ring_at[r:r + 1],
                np.int64(pl.pre_delay_low[q]), np.float64(pl.pre_delay_frac[q]),
                np.int32(pl.pre_syn_kind[q]), self.pre_S[q], up(pl.pre_param[q]),
                np.int32(pl.pre_stp_kind[q]), self.pre_Q[q], up_or_stub(pl.pre_stp_param[q]),
                out, self.clock, np.float64(dt), np.int32(pl.single))))
            p = pl.pre_pop[q]
            n_post = pl.V[p].size
            colptr, rows, w = _csc(pl.pre_indptr[q], pl.pre_indices[q], pl.pre_weights[q],
                                   n_post)
            self.launches.append(("gather_events", n_post, (
                np.int64(n_post), self.spiking[pl.pre_from[q]], np.int64(0), out, np.int32(1),
                up(colptr), up(rows), up(w), self.G[p][pl.pre_row[q]], np.int32(pl.single))))
        self.populations = []  # per population: (neurons, launch arguments)
        no_record = cupy.zeros(1, dtype=np.uint8)
        for p in range(len(pl.V)):
            n = pl.V[p].size
            mine = [f for f in range(len(pl.feed_indptr)) if pl.feed_pop[f] == p]
            o0, o1 = pl.out_start[p], pl.out_start[p + 1]
            self.populations.append((n, (
                np.int64(n), np.int32(pl.kind[p]), np.int32(pl.declared_slot[p]),
                np.int32(pl.method[p]),
                np.int32(pl.narrow[p]),
                np.int32(pl.refractory[p]), np.int32(pl.hard[p]), np.int32(pl.single),
                self.clock, np.float64(dt), self.V[p], self.extra[p],
                np.int32(pl.extra[p].shape[0]), self.last[p], self.flag[p],
                np.int32(pl.in_refractory[p].size > 0),
                self.spiking[p], self.fired[p], self.n_fired[p],
                self.record.get(p, no_record), np.int64(record_rows if p in recorded else 0),
                self.params[p], np.int64(pl.params[p].shape[1]),
                self.G[p], self.TAU[p], np.int32(self.G[p].shape[0]),
                up(pl.pop_syn_kind[p].astype(np.int32)), self.DUAL[p],
                up_or_stub(pl.pop_dual_param[p]),
                np.int32(len(mine)), up(np.asarray(pl.feed_row[mine], dtype=np.int32)),
                up(np.asarray([self.counted[f] for f in mine], dtype=np.int32)),
                up(np.asarray([pl.feed_weights[f][0] if self.counted[f] else 0.0
                               for f in mine], dtype=np.float64)),
                up(np.asarray([self.feed_data[f].data.ptr for f in mine], dtype=np.uint64)),
                np.int32(o1 - o0), up(np.asarray(pl.out_row[o0:o1], dtype=np.int32)),
                up(np.asarray(pl.out_kind[o0:o1], dtype=np.int32)),
                up(np.asarray(pl.out_value[o0:o1], dtype=np.float64)))))

    def launch(self, name: str, threads: int, args) -> None:
        if threads > 0:
            self.kernels[name](((threads + _THREADS - 1) // _THREADS,), (_THREADS,), args)

    def step(self) -> None:
        """One step (the order of the module text), at the step on the GPU's clock."""
        for name, threads, args in self.launches:
            self.launch(name, threads, args)
        self.kernels["begin_populations"]((1,), (128,), (
            self.clock, self.n_fired_all, np.int32(len(self.populations)), self.ring_at,
            self.ring_length, np.int32(len(self.rings))))
        for n, args in self.populations:
            self.launch("population_step", n, args)

    def graph(self, n_steps: int):
        """``n_steps`` steps captured as one CUDA graph (replayed per chunk)."""
        stream = self.cp.cuda.get_current_stream()
        stream.begin_capture()
        for _ in range(n_steps):
            self.step()
        return stream.end_capture()

    def mirrors(self) -> list:
        """(host array, GPU array) of every state the kernels write: the plan's arrays
        and each row of its tables."""
        pl, pairs = self.pl, []
        for p in range(len(pl.V)):
            pairs += [(pl.V[p], self.V[p]), (pl.last_spike[p], self.last[p])]
            if pl.in_refractory[p].size:
                pairs.append((pl.in_refractory[p], self.flag[p]))
            pairs += [(pl.extra[p][r], self.extra[p][r]) for r in range(pl.extra[p].shape[0])]
            pairs += [(pl.pop_g[p][r], self.G[p][r]) for r in range(pl.pop_g[p].shape[0])]
            pairs += [(pl.pop_dual[p][r, i], self.DUAL[p][r, i])
                      for r in range(pl.pop_dual[p].shape[0]) for i in range(2)]
        for host, gpu in zip(pl.pre_state + pl.pre_stp_state, self.pre_S + self.pre_Q,
                             strict=True):
            pairs += [(host[r], gpu[r]) for r in range(host.shape[0])]
        n_feeds = len(pl.feed_ring)
        pairs += [(ring, gpu) for ring, gpu in zip(pl.feed_ring + pl.pre_ring, self.rings,
                                                     strict=True) if ring.size]
        pairs += [(pl.feed_ring_at, self.ring_at[:n_feeds]),
                  (pl.pre_ring_at, self.ring_at[n_feeds:n_feeds + pl.pre_ring_at.size])]
        return pairs

    def copy_of(self, state: np.ndarray):
        """The GPU array that mirrors one of the plan's state arrays (or one of its
        tables' rows)."""
        return next(gpu for host, gpu in self.mirrors()
                    if host.ctypes.data == state.ctypes.data and host.shape == state.shape)

    def copy_back(self) -> None:
        """The final states into the plan's host arrays (which the models view)."""
        for host, gpu in self.mirrors():
            host[...] = gpu.get()


def _first_unstable(cupy, gpu_vectors, bounds, names, step: int, dt: float):
    """The first value of the GPU's checked vectors outside its bounds (NaN and inf
    included), in the order of :func:`refsim.backends.plan.checked_vectors`, or None."""
    for k, vector in enumerate(gpu_vectors):
        low, high = bounds[k]
        bad = cupy.nonzero(~((vector >= low) & (vector <= high)))[0]
        if bad.size:
            j = int(bad[:1].get()[0])
            module, name, unit = names[k]
            return Finding(module, name, (j,), float(vector[j:j + 1].get()[0]), unit, step,
                           step * dt, (float(low), float(high)))
    return None


def run_compiled(pl: Plan, first_step: int, n_steps: int, dt: float, mons: dict,
                 bar=None, ctrl_c: CtrlC | None = None,
                 check_every: int | None = None) -> tuple[float, float, int, Finding | None]:
    """Run ``n_steps`` of a planned network on the GPU, filling ``mons``; return
    (compile s, run s, steps done, the instability found or None).  Compilation (or
    CuPy's cache), the upload and the capture of the step graph are timed apart from the
    run.  A Ctrl-C (``ctrl_c``, from :func:`refsim.run`) stops it before the next step
    (the next chunk where a graph replays whole chunks): fewer steps are done, and the
    monitors hold every one.  The stability check (:mod:`refsim.stability`) runs on the
    GPU at the steps ``check_every`` names, and where a graph replays whole chunks at the
    end of each chunk instead (and always after the last step); a state found bad stops
    the run after that step."""
    import cupy

    recorded, monitored_states = monitored(pl, mons)
    width = sum(pl.V[p].size for p in recorded)
    chunk = int(max(1, min(1000, n_steps, (1 << 27) // max(width, 1))))  # <= 128 MiB of flags

    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        t0 = time.perf_counter()
        dev = _Device(pl, first_step, dt, recorded, chunk)
        # per state monitor: its source on the GPU, its selection, a GPU buffer of the
        # records of one chunk, and its own buffer on the host (in memory or mapped to disk)
        readers = [(mon, dev.copy_of(state), cupy.asarray(sel),
                    cupy.empty((-(-chunk // mon.every) + 1, sel.size)),
                    mon.allocate((sel.size,)))
                   for mon, state, sel in monitored_states]
        # a graph of a whole chunk, unless a state monitor reads between steps
        graph = dev.graph(chunk) if not readers and n_steps >= chunk else None
        stream.synchronize()
        compile_s = time.perf_counter() - t0

        vectors, bounds, names = checked_vectors(pl)
        gpu_vectors = [dev.copy_of(v) for v in vectors] if check_every else []
        last = first_step + n_steps - 1
        found = None

        def checked(i: int):  # the check after step i of the run, where it is due
            step = first_step + i
            return _first_unstable(cupy, gpu_vectors, bounds, names, step, dt) \
                if is_checked(step, check_every, last) else None

        spikes = {}
        counts = [0] * len(readers)  # records taken, and copied to the host
        moved = [0] * len(readers)
        t0 = time.perf_counter()
        done = 0
        for c0 in range(0, n_steps, chunk):
            if ctrl_c is not None and ctrl_c.asked or found is not None:
                break
            c1 = min(n_steps, c0 + chunk)
            if graph is not None and c1 - c0 == chunk:
                graph.launch(stream)
                if check_every:  # the chunk's end, checked whether due or not
                    found = _first_unstable(cupy, gpu_vectors, bounds, names,
                                            first_step + c1 - 1, dt)
            else:
                for i in range(c0, c1):
                    if ctrl_c is not None and ctrl_c.asked:
                        c1 = i
                        break
                    dev.step()
                    for m, (mon, source, sel, buffer, _) in enumerate(readers):
                        if i % mon.every == 0:
                            cupy.take(source, sel, out=buffer[counts[m] - moved[m]])
                            counts[m] += 1
                    found = checked(i)
                    if found is not None:
                        c1 = i + 1
                        break
            for p in recorded:  # (step, index) pairs by step, then index: the CPU's order
                steps, index = cupy.nonzero(dev.record[p][: c1 - c0])
                spikes[p] = (steps.get() + first_step + c0, index.get())
            add_spikes(pl, mons, spikes.__getitem__)
            for m, (_, _, _, buffer, host) in enumerate(readers):  # this chunk's records
                host[moved[m]:counts[m]] = buffer[: counts[m] - moved[m]].get()
                moved[m] = counts[m]
            stream.synchronize()
            done = c1
            if bar is not None:
                bar.update(c1 - c0)
        run_s = time.perf_counter() - t0
        dev.copy_back()
        empty = np.zeros(0, dtype=np.int64)  # every chunk's spikes went to the monitors
        deliver(pl, mons, lambda p: (empty, empty),
                [(mon, count) for (mon, *_), count in zip(readers, counts, strict=True)])
    return compile_s, run_s, done, found
