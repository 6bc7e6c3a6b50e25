"""A planned network on the GPU (:class:`_Device`): its arrays uploaded once, the
launches of one step, a chunk of steps captured as a CUDA graph, the states copied
back; and each projection's columns (CSC) for the kernels that gather without atomics."""

from __future__ import annotations

import numpy as np

from refsim.backends import codes
from refsim.backends.cupy.source import _module
from refsim.backends.plan import Plan, poisson_tables

_THREADS = 256  # threads per block


def _csc(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_cols: int, *per_synapse: np.ndarray
):
    """The CSR matrix reordered by column: per column, rows ascending and, within one row,
    storage order (a stable sort of the CSR's own order), which is the order in which the
    CPU loop adds a target's events.  Returns (colptr, rows, data) and each array of
    ``per_synapse`` (a delay per synapse, say) in the same order."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    colptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_cols), out=colptr[1:])
    return (colptr, rows[order].astype(np.int32), data[order], *(a[order] for a in per_synapse))


class _Device:
    """The plan's arrays on the GPU, and the launches of one step.

    Every launch argument stays the same from step to step (the step number is read from
    ``clock`` on the GPU), so a chunk of steps can be captured once as a CUDA graph and
    replayed: one launch from Python per chunk instead of a few per step.
    """

    def __init__(self, pl: Plan, first_step: int, dt: float, recorded: set, record_rows: int):
        import cupy

        self.cp, self.pl = cupy, pl
        self.kernels = _module(tuple(pl.declared), tuple(pl.declared_synapses))
        up, up_or_stub = cupy.asarray, self._up_or_stub
        # [this step, the run's first step]; begin_populations advances it before each step
        self.clock = up(np.asarray([first_step - 1, first_step], dtype=np.int64))

        self.V = [up(v) for v in pl.neurons.V]
        self.extra = [up_or_stub(x) for x in pl.neurons.extra]
        self.last = [up(v) for v in pl.neurons.last_spike]
        self.flag = [up_or_stub(f) for f in pl.neurons.in_refractory]
        self.params = [up(p) for p in pl.neurons.params]
        self.G = [up(g) for g in pl.rows.g]
        self.TAU = [up(t) for t in pl.rows.tau]
        self.STATE = [up_or_stub(d) for d in pl.rows.state]
        # the stored spikes of the initial states (the plan's), as flags and as the list
        # of the neurons that fired
        self.spiking, self.fired, counts = [], [], []
        for flags in pl.neurons.spiking:
            self.spiking.append(up(flags.astype(np.uint8)))
            listed = np.zeros(flags.size, dtype=np.int32)
            listed[: np.count_nonzero(flags)] = np.flatnonzero(flags)
            self.fired.append(up(listed))
            counts.append(np.count_nonzero(flags))
        self.n_fired_all = up(np.asarray(counts, dtype=np.int32))  # one counter per population
        self.n_fired = [self.n_fired_all[p : p + 1] for p in range(len(pl.neurons.V))]
        # spike flags of the recorded populations, a row per step of a chunk
        self.record = {
            p: cupy.zeros((record_rows, pl.neurons.V[p].size), dtype=np.uint8) for p in recorded
        }
        # each delay's ring (feeds, then AlignPreProj; an empty one: no delay) and the
        # row it writes this step, kept on the GPU
        rings = pl.feeds.ring + pl.pre.ring
        self.rings = [up_or_stub(ring) for ring in rings]
        self.ring_at = up_or_stub(np.concatenate([pl.feeds.ring_at, pl.pre.ring_at]))
        self.ring_length = up_or_stub(np.asarray([r.shape[0] for r in rings], dtype=np.int64))
        self._feed_launches(pl)
        self._pre_launches(pl, dt)
        self._population_launches(pl, dt, recorded, record_rows)

    def _up_or_stub(self, a: np.ndarray):
        """``a`` on the GPU; an empty table still needs a valid pointer (never read)."""
        return self.cp.asarray(a) if a.size else self.cp.zeros(1, dtype=a.dtype)

    def _feed_launches(self, pl: Plan) -> None:
        """The launches of each AlignPostProj (a feed): its events counted, gathered or
        delayed into its buffer of sums or counts per target (``feed_data``)."""
        cupy, up = self.cp, self.cp.asarray
        rings = pl.feeds.ring + pl.pre.ring
        self.launches = []  # the launches of a step before the populations': (kernel,
        #                     threads, arguments)
        self.feed_data = []  # per feed: its counts (int32) or sums (float64) per target
        self.counted = []  # per feed: whether feed_data counts events (one weight for all)
        # count_events: a grid of 4 blocks (32 warps) per multiprocessor, each warp taking
        # every so many of the neurons that fired
        warps = 32 * cupy.cuda.Device().attributes["MultiProcessorCount"]
        no_values = cupy.zeros(1)
        for f in range(len(pl.feeds.indptr)):
            indptr, indices, weights = (
                pl.feeds.indptr[f],
                pl.feeds.indices[f],
                pl.feeds.weights[f],
            )
            n_post, pre, delay = pl.feeds.buffer[f].size, pl.feeds.pre[f], pl.feeds.delay_kind[f]
            spiking, start = self.spiking[pre], np.int64(pl.feeds.start[f])
            ring, length, at = self.rings[f], np.int64(rings[f].shape[0]), self.ring_at[f : f + 1]
            self.counted.append(bool(pl.feeds.uniform[f]) and delay == codes.NO_DELAY_KIND)
            if self.counted[-1]:
                counts = cupy.zeros(n_post, dtype=np.int32)
                self.launches.append(
                    (
                        "count_events",
                        32 * warps,
                        (
                            self.fired[pre],
                            self.n_fired[pre],
                            start,
                            np.int64(pl.feeds.stop[f]),
                            up(indptr),
                            up(indices),
                            counts,
                        ),
                    )
                )
                self.feed_data.append(counts)
                continue
            sums = cupy.zeros(n_post, dtype=np.float64)
            self.feed_data.append(sums)
            if delay == codes.SYNAPTIC_DELAY_KIND:
                colptr, rows, w, steps = _csc(
                    indptr, indices, weights, n_post, pl.feeds.delay_steps[f]
                )
                self.launches.append(
                    (
                        "delay_events",
                        n_post,
                        (
                            np.int64(n_post),
                            spiking,
                            start,
                            up(colptr),
                            up(rows),
                            up(w),
                            up(steps),
                            ring,
                            length,
                            at,
                            sums,
                            np.int32(pl.single),
                        ),
                    )
                )
                continue
            x = no_values
            if delay == codes.SPIKE_DELAY_KIND:  # the delayed input, then through W
                x = cupy.zeros(pl.feeds.x[f].size)
                self.launches.append(
                    (
                        "delay_spikes",
                        x.size,
                        (
                            np.int64(x.size),
                            spiking,
                            start,
                            ring,
                            length,
                            at,
                            np.int64(pl.feeds.delay_low[f]),
                            np.float64(pl.feeds.delay_frac[f]),
                            x,
                        ),
                    )
                )
            colptr, rows, w = _csc(indptr, indices, weights, n_post)
            self.launches.append(
                (
                    "gather_events",
                    n_post,
                    (
                        np.int64(n_post),
                        spiking,
                        start,
                        x,
                        np.int32(x is not no_values),
                        up(colptr),
                        up(rows),
                        up(w),
                        sums,
                        np.int32(0),
                    ),
                )
            )

    def _pre_launches(self, pl: Plan, dt: float) -> None:
        """The launches of each AlignPreProj: its presynaptic synapses, then their output
        through W into its row of the target population's conductances."""
        cupy, up, up_or_stub = self.cp, self.cp.asarray, self._up_or_stub
        rings = pl.feeds.ring + pl.pre.ring
        # each AlignPreProj: its presynaptic synapses, then their output through W into its
        # row of the target population's conductances
        self.pre_S = [up(table) for table in pl.pre.state]
        self.pre_Q = [up_or_stub(table) for table in pl.pre.stp_state]
        for q in range(len(pl.pre.indptr)):
            r, n_pre = len(pl.feeds.indptr) + q, pl.pre.out[q].size
            out = cupy.zeros(n_pre)
            self.launches.append(
                (
                    "pre_synapses",
                    n_pre,
                    (
                        np.int64(n_pre),
                        self.spiking[pl.pre.source[q]],
                        np.int64(pl.pre.start[q]),
                        self.rings[r],
                        np.int64(rings[r].shape[0]),
                        self.ring_at[r : r + 1],
                        np.int64(pl.pre.delay_low[q]),
                        np.float64(pl.pre.delay_frac[q]),
                        np.int32(pl.pre.syn_kind[q]),
                        np.int32(pl.pre.slot[q]),
                        self.pre_S[q],
                        up(pl.pre.param[q]),
                        np.int32(pl.pre.stp_kind[q]),
                        self.pre_Q[q],
                        up_or_stub(pl.pre.stp_param[q]),
                        out,
                        self.clock,
                        np.float64(dt),
                        np.int32(pl.single),
                    ),
                )
            )
            p = pl.pre.pop[q]
            n_post = pl.neurons.V[p].size
            colptr, rows, w = _csc(pl.pre.indptr[q], pl.pre.indices[q], pl.pre.weights[q], n_post)
            self.launches.append(
                (
                    "gather_events",
                    n_post,
                    (
                        np.int64(n_post),
                        self.spiking[pl.pre.source[q]],
                        np.int64(0),
                        out,
                        np.int32(1),
                        up(colptr),
                        up(rows),
                        up(w),
                        self.G[p][pl.pre.row[q]],
                        np.int32(pl.single),
                    ),
                )
            )

    def _population_launches(self, pl: Plan, dt: float, recorded: set, record_rows: int) -> None:
        """Per population, the arguments of its ``population_step`` launch."""
        cupy, up, up_or_stub = self.cp, self.cp.asarray, self._up_or_stub
        self.populations = []  # per population: (neurons, launch arguments)
        no_record = cupy.zeros(1, dtype=np.uint8)
        poisson = poisson_tables(pl.jumps.poisson, dt)
        for p in range(len(pl.neurons.V)):
            n = pl.neurons.V[p].size
            mine = [f for f in range(len(pl.feeds.indptr)) if pl.feeds.pop[f] == p]
            o0, o1 = pl.rows.out_start[p], pl.rows.out_start[p + 1]
            self.populations.append(
                (
                    n,
                    (
                        np.int64(n),
                        np.int32(pl.neurons.kind[p]),
                        np.int32(pl.neurons.declared_slot[p]),
                        np.int32(pl.neurons.method[p]),
                        np.int32(pl.neurons.narrow[p]),
                        np.int32(pl.neurons.refractory[p]),
                        np.int32(pl.neurons.hard[p]),
                        np.int32(pl.single),
                        self.clock,
                        np.float64(dt),
                        self.V[p],
                        self.extra[p],
                        np.int32(pl.neurons.extra[p].shape[0]),
                        self.last[p],
                        self.flag[p],
                        np.int32(pl.neurons.in_refractory[p].size > 0),
                        self.spiking[p],
                        self.fired[p],
                        self.n_fired[p],
                        self.record.get(p, no_record),
                        np.int64(record_rows if p in recorded else 0),
                        self.params[p],
                        np.int64(pl.neurons.params[p].shape[1]),
                        self.G[p],
                        self.TAU[p],
                        np.int32(self.G[p].shape[0]),
                        up(pl.rows.kind[p].astype(np.int32)),
                        up_or_stub(pl.rows.slot[p].astype(np.int32)),
                        self.STATE[p],
                        np.int32(pl.rows.state[p].shape[1]),
                        up_or_stub(pl.rows.param[p]),
                        np.int32(pl.rows.param[p].shape[1]),
                        np.int32(len(mine)),
                        up(np.asarray(pl.feeds.row[mine], dtype=np.int32)),
                        up(np.asarray([self.counted[f] for f in mine], dtype=np.int32)),
                        up(
                            np.asarray(
                                [pl.feeds.weights[f][0] if self.counted[f] else 0.0 for f in mine],
                                dtype=np.float64,
                            )
                        ),
                        up(np.asarray([self.feed_data[f].data.ptr for f in mine], dtype=np.uint64)),
                        np.int32(o1 - o0),
                        up(np.asarray(pl.rows.out_row[o0:o1], dtype=np.int32)),
                        up(np.asarray(pl.rows.out_kind[o0:o1], dtype=np.int32)),
                        up(np.asarray(pl.rows.out_value[o0:o1], dtype=np.float64)),
                        *self._poisson_arguments(pl, p, n, poisson),
                    ),
                )
            )

    def _poisson_arguments(self, pl: Plan, p: int, n: int, poisson: tuple) -> tuple:
        """The jumps' arguments of population ``p``'s launch: whether its potential has any,
        and its PoissonInputs' tables (``poisson``: every input's, from
        :func:`poisson_tables`) and rows (``JUMP_ROW``: the potential; else a synaptic row)."""
        up_or_stub = self._up_or_stub
        counts, cdf, ends = poisson
        mine = np.flatnonzero(pl.jumps.poisson_pop == p)
        weights = [pl.jumps.poisson_weight[q] for q in mine]
        return (
            np.int32(pl.jumps.sources[p].size > 0),
            np.int32(mine.size),
            up_or_stub(np.ascontiguousarray(counts[mine])),
            up_or_stub(np.ascontiguousarray(cdf[mine])),
            up_or_stub(np.ascontiguousarray(ends[mine])),
            up_or_stub(np.concatenate(weights) if weights else np.zeros(0)),
            up_or_stub(np.ascontiguousarray(pl.jumps.poisson_key[mine])),
            up_or_stub(np.ascontiguousarray(pl.jumps.poisson_draws[mine])),
            up_or_stub(pl.jumps.poisson_row[mine].astype(np.int32)),
        )

    def launch(self, name: str, threads: int, args) -> None:
        if threads > 0:
            self.kernels[name](((threads + _THREADS - 1) // _THREADS,), (_THREADS,), args)

    def step(self) -> None:
        """One step (the order of the module text), at the step on the GPU's clock."""
        for name, threads, args in self.launches:
            self.launch(name, threads, args)
        self.kernels["begin_populations"](
            (1,),
            (128,),
            (
                self.clock,
                self.n_fired_all,
                np.int32(len(self.populations)),
                self.ring_at,
                self.ring_length,
                np.int32(len(self.rings)),
            ),
        )
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
        for p in range(len(pl.neurons.V)):
            pairs += [(pl.neurons.V[p], self.V[p]), (pl.neurons.last_spike[p], self.last[p])]
            if pl.neurons.in_refractory[p].size:
                pairs.append((pl.neurons.in_refractory[p], self.flag[p]))
            pairs += [
                (pl.neurons.extra[p][r], self.extra[p][r])
                for r in range(pl.neurons.extra[p].shape[0])
            ]
            pairs += [(pl.rows.g[p][r], self.G[p][r]) for r in range(pl.rows.g[p].shape[0])]
            pairs += [
                (pl.rows.state[p][r, i], self.STATE[p][r, i])
                for r in range(pl.rows.state[p].shape[0])
                for i in range(pl.rows.state[p].shape[1])
            ]
        for host, gpu in zip(pl.pre.state + pl.pre.stp_state, self.pre_S + self.pre_Q, strict=True):
            pairs += [(host[r], gpu[r]) for r in range(host.shape[0])]
        n_feeds = len(pl.feeds.ring)
        pairs += [
            (ring, gpu)
            for ring, gpu in zip(pl.feeds.ring + pl.pre.ring, self.rings, strict=True)
            if ring.size
        ]
        pairs += [
            (pl.feeds.ring_at, self.ring_at[:n_feeds]),
            (pl.pre.ring_at, self.ring_at[n_feeds : n_feeds + pl.pre.ring_at.size]),
        ]
        return pairs

    def copy_of(self, state: np.ndarray):
        """The GPU array that mirrors one of the plan's state arrays (or one of its
        tables' rows)."""
        return next(
            gpu
            for host, gpu in self.mirrors()
            if host.ctypes.data == state.ctypes.data and host.shape == state.shape
        )

    def copy_back(self) -> None:
        """The final states into the plan's host arrays (which the models view)."""
        for host, gpu in self.mirrors():
            host[...] = gpu.get()
