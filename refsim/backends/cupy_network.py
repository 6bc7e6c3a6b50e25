"""The cupy backend: a :func:`refsim.run` of a :class:`refsim.Network` on an NVIDIA GPU.

The network is read by :func:`refsim.backends.plan.plan` (the same plan as the numba
backend), copied to the GPU once, and advanced by the kernels of ``cupy_kernels.cu``:
per step, one kernel per projection, then one per population (the order of
:meth:`refsim.Network.update`, docs/backends.md).  The model arithmetic inside those
kernels is C generated from the Python scalar twins by
:mod:`refsim.backends.cuda_source` and compiled without fused multiply-adds, so the
GPU gives the CPU backends' bits: same spike steps, same states.

Connectivity is the CSR matrix built on the host from the run's seed, so it is the CPU's
own.  A projection whose weights are all one bit pattern counts its events per target
with integer atomics (exact in any order); one with weights per synapse sums each
target's column in CSC order, rows ascending, without atomics.  Spikes are recorded as
one row of flags per step on the GPU and turned into (step, index) pairs per chunk.

Importing this module does not import CuPy; running does.
"""

from __future__ import annotations

import pathlib
import time

import numpy as np

from refsim.backends import plan as plan_codes
from refsim.backends.plan import NotCompilable, Plan, deliver, monitored
from refsim.backends.plan import plan as plan_network
from refsim.fmath import exp_scalar, exprel_scalar
from refsim.integrators import exp_euler_scalar
from refsim.neurons.base import level_spike_scalar, reset_scalar, spike_scalar
from refsim.neurons.exponential import expif_step_scalar
from refsim.neurons.gif import gif_reset_scalar, gif_step_scalar
from refsim.neurons.hh import hh_step_scalar, morris_lecar_step_scalar, wang_buzsaki_step_scalar
from refsim.neurons.izhikevich import izhikevich_reset_scalar, izhikevich_step_scalar
from refsim.neurons.lif import (
    alif_spike_scalar,
    alif_step_scalar,
    if_reset_scalar,
    if_step_scalar,
    lif_drift_scalar,
    lif_synapse_step_scalar,
)
from refsim.neurons.quadratic import quaif_step_scalar
from refsim.neurons.reduced import fitzhugh_nagumo_step_scalar, hindmarsh_rose_step_scalar
from refsim.outputs import coba_scalar, cuba_scalar
from refsim.synapses.expon import (
    DualExpon,
    Expon,
    dual_expon_step_scalar,
    expon_decay_scalar,
    expon_factor_scalar,
)

__all__ = ["KERNEL_TWINS", "NotCompilable", "plan", "run_compiled", "kernel_source"]

#: the scalar twins the kernels call; cuda_source translates them and what they call
KERNEL_TWINS = (spike_scalar, level_spike_scalar, reset_scalar, lif_drift_scalar,
                exp_euler_scalar, exp_scalar, exprel_scalar, expon_factor_scalar,
                expon_decay_scalar, dual_expon_step_scalar,
                coba_scalar, cuba_scalar, alif_step_scalar, alif_spike_scalar,
                if_reset_scalar, if_step_scalar, lif_synapse_step_scalar, expif_step_scalar,
                quaif_step_scalar, izhikevich_reset_scalar, izhikevich_step_scalar,
                gif_reset_scalar, gif_step_scalar, hh_step_scalar, wang_buzsaki_step_scalar,
                morris_lecar_step_scalar, fitzhugh_nagumo_step_scalar,
                hindmarsh_rose_step_scalar)
#: NVRTC options: no contraction into fused multiply-adds (the CPU's rounding, op by op)
COMPILE_OPTIONS = ("--fmad=false", "-std=c++17")
_THREADS = 256  # threads per block


def _plan_codes() -> str:
    """``#define REFSIM_<NAME>`` for the plan's codes of neuron and output kinds."""
    return "".join(f"#define REFSIM_{name} {getattr(plan_codes, name)}\n"
                   for name in dir(plan_codes)
                   if name.endswith("_KIND") and not name.startswith("_")
                   and isinstance(getattr(plan_codes, name), int))


def kernel_source() -> str:
    """The whole CUDA source: the translated twins, the plan's codes, then
    ``cupy_kernels.cu``."""
    from refsim.backends.cuda_source import twin_source

    kernels = (pathlib.Path(__file__).with_name("cupy_kernels.cu")).read_text()
    return twin_source(KERNEL_TWINS) + "\n" + _plan_codes() + "\n" + kernels


def plan(net) -> Plan:
    """Read ``net`` into a plan for the GPU (shared parameters one column wide): every
    neuron model of the numba backend with exponential Euler, merged Expon and DualExpon
    synapses on COBA or CUBA outputs, float64 or float32 (states rounded where they are
    written)."""
    return plan_network(net, narrow_width=1, synapse_kinds=(Expon, DualExpon), align_pre=False,
                        delays=False, single_ok=True)


def _module():
    import cupy

    module = cupy.RawModule(code=kernel_source(), options=COMPILE_OPTIONS)
    return {name: module.get_function(name)
            for name in ("count_events", "gather_events", "population_step",
                         "begin_populations")}


def _csc(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_cols: int):
    """The CSR matrix reordered by column: per column, rows ascending and, within one row,
    storage order (a stable sort of the CSR's own order), which is the order in which the
    CPU loop adds a target's events."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    colptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_cols), out=colptr[1:])
    return colptr, rows[order].astype(np.int32), data[order]


class _Device:
    """The plan's arrays on the GPU, and the launches of one step.

    Every launch argument stays the same from step to step (the step number is read from
    ``clock`` on the GPU), so a chunk of steps can be captured once as a CUDA graph and
    replayed: one launch from Python per chunk instead of a few per step.
    """

    def __init__(self, pl: Plan, first_step: int, dt: float, recorded: set, record_rows: int):
        import cupy

        self.cp, self.pl = cupy, pl
        self.kernels = _module()
        up = cupy.asarray
        # [this step, the run's first step]; begin_populations advances it before each step
        self.clock = up(np.asarray([first_step - 1, first_step], dtype=np.int64))
        def up_or_stub(a):  # an empty table still needs a valid pointer (never read)
            return up(a) if a.size else cupy.zeros(1)

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
        self.feeds = []  # per feed: (kernel, threads, launch arguments)
        self.feed_data = []  # per feed: its counts (int32) or sums (float64) per target
        # count_events: a grid of 4 blocks (32 warps) per multiprocessor, each warp taking
        # every so many of the neurons that fired
        warps = 32 * cupy.cuda.Device().attributes["MultiProcessorCount"]
        for f in range(len(pl.feed_indptr)):
            indptr, indices, weights = (pl.feed_indptr[f], pl.feed_indices[f],
                                        pl.feed_weights[f])
            n_post, pre = pl.feed_buffer[f].size, pl.feed_pre[f]
            if pl.feed_uniform[f]:
                counts = cupy.zeros(n_post, dtype=np.int32)
                args = (self.fired[pre], self.n_fired[pre], np.int64(pl.feed_start[f]),
                        np.int64(pl.feed_stop[f]), up(indptr.astype(np.int64)),
                        up(indices.astype(np.int32)), counts)
                self.feeds.append(("count_events", 32 * warps, args))
                self.feed_data.append(counts)
            else:
                colptr, rows, w = _csc(indptr, indices, weights, n_post)
                sums = cupy.zeros(n_post, dtype=np.float64)
                args = (np.int64(n_post), self.spiking[pre], np.int64(pl.feed_start[f]),
                        up(colptr), up(rows), up(w), sums)
                self.feeds.append(("gather_events", n_post, args))
                self.feed_data.append(sums)
        self.populations = []  # per population: (neurons, launch arguments)
        no_record = cupy.zeros(1, dtype=np.uint8)
        for p in range(len(pl.V)):
            n = pl.V[p].size
            mine = [f for f in range(len(pl.feed_indptr)) if pl.feed_pop[f] == p]
            o0, o1 = pl.out_start[p], pl.out_start[p + 1]
            self.populations.append((n, (
                np.int64(n), np.int32(pl.kind[p]), np.int32(pl.narrow[p]),
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
                up(np.asarray(pl.feed_uniform[mine], dtype=np.int32)),
                up(np.asarray([pl.feed_weights[f][0] if pl.feed_uniform[f] else 0.0
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
        for name, threads, args in self.feeds:
            self.launch(name, threads, args)
        self.kernels["begin_populations"]((1,), (128,),
                                          (self.clock, self.n_fired_all,
                                           np.int32(len(self.populations))))
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


def run_compiled(pl: Plan, first_step: int, n_steps: int, dt: float, mons: dict,
                 bar=None) -> tuple[float, float]:
    """Run ``n_steps`` of a planned network on the GPU, filling ``mons``; return
    (compile s, run s).  Compilation (or CuPy's cache), the upload and the capture of
    the step graph are timed apart from the run."""
    import cupy

    recorded, monitored_states = monitored(pl, mons)
    width = sum(pl.V[p].size for p in recorded)
    chunk = int(max(1, min(1000, n_steps, (1 << 27) // max(width, 1))))  # <= 128 MiB of flags

    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        t0 = time.perf_counter()
        dev = _Device(pl, first_step, dt, recorded, chunk)
        readers = [(mon, dev.copy_of(state), cupy.asarray(sel),
                    cupy.empty((mon._n_records, sel.size)))
                   for mon, state, sel in monitored_states]
        # a graph of a whole chunk, unless a state monitor reads between steps
        graph = dev.graph(chunk) if not readers and n_steps >= chunk else None
        stream.synchronize()
        compile_s = time.perf_counter() - t0

        spikes = {p: ([], []) for p in recorded}
        counts = [0] * len(readers)
        t0 = time.perf_counter()
        for c0 in range(0, n_steps, chunk):
            c1 = min(n_steps, c0 + chunk)
            if graph is not None and c1 - c0 == chunk:
                graph.launch(stream)
            else:
                for i in range(c0, c1):
                    dev.step()
                    for m, (mon, source, sel, buffer) in enumerate(readers):
                        if i % mon.every == 0:
                            cupy.take(source, sel, out=buffer[counts[m]])
                            counts[m] += 1
            for p in recorded:  # (step, index) pairs by step, then index: the CPU's order
                steps, index = cupy.nonzero(dev.record[p][: c1 - c0])
                spikes[p][0].append(steps.get() + first_step + c0)
                spikes[p][1].append(index.get())
            stream.synchronize()
            if bar is not None:
                bar.update(c1 - c0)
        run_s = time.perf_counter() - t0
        dev.copy_back()
        _deliver(pl, mons, spikes, readers, counts)
    return compile_s, run_s


def _deliver(pl, mons, spikes, readers, counts) -> None:
    """The GPU's recordings to the monitors (:func:`refsim.backends.plan.deliver`)."""
    def spikes_of(p):
        steps, index = spikes[p]
        if not steps:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return (np.concatenate(steps).astype(np.int64),
                np.concatenate(index).astype(np.int64))

    deliver(pl, mons, spikes_of, [(mon, buffer.get(), count) for (mon, _, _, buffer), count
                                  in zip(readers, counts, strict=True)])
