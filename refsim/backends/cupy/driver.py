"""The run of a planned network on the GPU (:func:`run_compiled`): chunks of steps
(graphs where nothing reads between steps), the monitors' records copied per chunk, a
Ctrl-C heard between chunks, the stability check on the GPU."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from refsim.backends.drives import drive_rows
from refsim.backends.monitoring import (
    add_spikes,
    checked_vectors,
    deliver,
    monitored,
    record_shape,
    records_of,
)
from refsim.backends.plan import Plan, count_draws
from refsim.stability import Finding, is_checked

if TYPE_CHECKING:
    from refsim.interrupt import CtrlC

from refsim.backends.cupy.device import _Device


def _first_unstable(cupy, gpu_vectors, bounds, names, step: int, dt: float):
    """The first value of the GPU's checked vectors outside its bounds (NaN and inf
    included), in the order of :func:`refsim.backends.plan.checked_vectors`, or None."""
    for k, vector in enumerate(gpu_vectors):
        low, high = bounds[k]
        bad = cupy.nonzero(~((vector >= low) & (vector <= high)))[0]
        if bad.size:
            j = int(bad[:1].get()[0])
            module, name, unit = names[k]
            return Finding(
                module,
                name,
                (j,),
                float(vector[j : j + 1].get()[0]),
                unit,
                step,
                step * dt,
                (float(low), float(high)),
            )
    return None


def run_compiled(
    pl: Plan,
    first_step: int,
    n_steps: int,
    dt: float,
    mons: dict,
    bar=None,
    ctrl_c: CtrlC | None = None,
    check_every: int | None = None,
) -> tuple[float, float, int, Finding | None]:
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
    width = sum(pl.neurons.V[p].size for p in recorded)
    chunk = int(max(1, min(1000, n_steps, (1 << 27) // max(width, 1))))  # <= 128 MiB of flags

    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        t0 = time.perf_counter()
        dev = _Device(pl, first_step, dt, recorded, chunk)
        # per state monitor: its source on the GPU, its selection, a GPU buffer of the
        # records of one chunk, and its own buffer on the host (in memory or mapped to disk)
        readers = [
            (
                mon,
                dev.copy_of(state),
                cupy.asarray(sel),
                cupy.empty((-(-chunk // mon.every) + 1, sel.size)),
                mon.allocate(record_shape(mon, sel)),
            )
            for mon, state, sel in monitored_states
        ]
        # the populations with a time-varying direct input (written before each step)
        driven = [p for p, drive in enumerate(pl.neurons.drive) if drive is not None]
        # a graph of a whole chunk, unless a state monitor reads or an input is written
        # between steps
        graph = dev.graph(chunk) if not readers and not driven and n_steps >= chunk else None
        stream.synchronize()
        compile_s = time.perf_counter() - t0

        vectors, bounds, names = checked_vectors(pl)
        gpu_vectors = [dev.copy_of(v) for v in vectors] if check_every else []
        last = first_step + n_steps - 1
        found = None

        def checked(i: int):  # the check after step i of the run, where it is due
            step = first_step + i
            return (
                _first_unstable(cupy, gpu_vectors, bounds, names, step, dt)
                if is_checked(step, check_every, last)
                else None
            )

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
                    found = _first_unstable(
                        cupy, gpu_vectors, bounds, names, first_step + c1 - 1, dt
                    )
            else:
                steps = range(first_step + c0, first_step + c1)
                drives = {
                    p: cupy.asarray(drive_rows(pl.pops[p], pl.neurons.drive[p], steps, dt))
                    for p in driven
                }
                for i in range(c0, c1):
                    if ctrl_c is not None and ctrl_c.asked:
                        c1 = i
                        break
                    for p, rows in drives.items():  # this step's direct input, row 6
                        dev.params[p][6] = rows[i - c0]
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
            for m, (mon, _, _, buffer, host) in enumerate(readers):  # this chunk's records
                rows = buffer[: counts[m] - moved[m]].get()
                host[moved[m] : counts[m]] = records_of(mon, rows, pl.single)
                moved[m] = counts[m]
            stream.synchronize()
            done = c1
            if bar is not None:
                bar.update(c1 - c0)
        run_s = time.perf_counter() - t0
        dev.copy_back()
        empty = np.zeros(0, dtype=np.int64)  # every chunk's spikes went to the monitors
        deliver(
            pl,
            mons,
            lambda p: (empty, empty),
            [(mon, count) for (mon, *_), count in zip(readers, counts, strict=True)],
        )
        count_draws(pl, done)  # each PoissonInput drew the steps done
    return compile_s, run_s, done, found
