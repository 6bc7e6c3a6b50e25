"""Every neuron model of the catalog on the numba backend against the NumPy oracle, run
in the same process: seconds per simulated second, nanoseconds per neuron and step, and
numba over numpy (the baseline).

Each model is one population of ``--N`` neurons with its default parameters and initial
states, without input (a drive would time its own draws too: a PoissonInput's binomial
costs more than a LIF step); exponential Euler at dt = 0.1 ms. The compiled passes do the
same work for every neuron whether it fires or not, so this times the model's step. The
two backends must give the same spikes (the count is printed; a difference stops the run).
Where the compiled passes stop vectorising, a model's ns per neuron and step grows 3-4x
(``docs/performance.md``): this is the table to look at.

Usage::

    python benchmarks/models.py [--N 4000] [--duration 0.2] [--models HH AdExIF ...]
"""

from __future__ import annotations

import argparse
import json
import time

import quantities as pq

import refsim
from refsim.neurons import __all__ as CATALOG


def network(name: str, N: int) -> refsim.Network:
    """A population of ``name`` with its defaults, nothing else."""
    net = refsim.Network()
    net.population(getattr(refsim, name)(N))
    refsim.init_all_states(net)
    return net


def measure(name: str, backend: str, args) -> tuple[float, int]:
    """Run time per simulated second and the spike count of ``name`` on ``backend``."""
    net = network(name, args.N)
    with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        if backend != "numpy":  # compile (or load the cache) outside the timing
            refsim.run(net, 1 * pq.ms, progress=False)
            refsim.reset_all_states(net)
        start = time.perf_counter()
        res = refsim.run(net, args.duration * 1000 * pq.ms, monitors={"spikes": net.populations[0]})
        elapsed = time.perf_counter() - start
    return elapsed / args.duration, res["spikes"].count


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=0.2, help="simulated seconds")
    parser.add_argument("--models", nargs="+", default=list(CATALOG))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    steps = args.duration / 1e-4
    print(
        f"{'model':<16} {'numpy s/sim-s':>14} {'numba s/sim-s':>14} {'ns/neuron-step':>15}"
        f" {'numba/numpy':>12} {'spikes':>8}"
    )
    rows = []
    for name in args.models:
        numpy_s, numpy_spikes = measure(name, "numpy", args)
        numba_s, numba_spikes = measure(name, "numba", args)
        if numba_spikes != numpy_spikes:
            raise SystemExit(f"{name}: numba gave {numba_spikes} spikes, numpy {numpy_spikes}")
        ns = numba_s * args.duration / steps / args.N * 1e9
        rows.append(
            dict(
                model=name,
                numpy_s=numpy_s,
                numba_s=numba_s,
                ns_per_neuron_step=ns,
                ratio=numba_s / numpy_s,
                spikes=numba_spikes,
            )
        )
        print(
            f"{name:<16} {numpy_s:14.3f} {numba_s:14.4f} {ns:15.1f} {numba_s / numpy_s:12.3f}"
            f" {numba_spikes:8d}"
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)
    return rows


if __name__ == "__main__":
    main()
