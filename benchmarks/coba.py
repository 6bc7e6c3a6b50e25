"""The Brette et al. (2007) COBA benchmark network on refsim.

4000 LIFRef neurons (3200 E / 800 I), C = 200 pF, g_L = 10 nS (tau_m = 20 ms,
R = 100 MOhm), E_L = -60 mV, V_th = -50 mV, V_reset = -60 mV (hard reset),
5 ms refractory; Expon conductances tau_e = 5 ms, tau_i = 10 ms onto COBA
outputs E_e = 0 mV, E_i = -80 mV; weights 6 nS and 67 nS; connection
probability 0.02 drawn as brainpy draws it (a fixed out-degree of 80);
V0 ~ U[-60, -50] mV; kick-start conductances ge ~ N(40, 15) nS,
gi ~ N(200, 120) nS; no external input; dt = 0.1 ms.  The same network as
``shared/anchors/bench/bench_brainpy.py``.

Usage::

    python benchmarks/coba.py [--N 4000] [--duration 1.0] [--seed 1] [--repeats 3]

Prints one ``RESULT {json}`` line per repeat and a table with the peers'
numbers measured on this machine kind (``shared/anchors/perf.md``,
2026-11-22; not re-measured in this run).
"""

from __future__ import annotations

import argparse
import json

import refsim
from refsim.validation import bench
from refsim.validation.networks import COBANet  # noqa: F401 - tests build it from here

#: run time (s) for 1 s of biological time, COBA 4000, median of 3 (shared/anchors/perf.md)
PEERS_COBA_4000 = {
    "Brian2 cpp_standalone, 1 thread": 0.385,
    "Brian2 runtime (cython)": 0.573,
    "BrainPy brainpy.state, jit for_loop": 1.163,
    "NEST iaf_cond_exp, 2 threads": 4.388,
    "NEST iaf_cond_exp, 1 thread": 8.637,
}


def measure(N: int, duration_s: float, seed: int) -> dict:
    """Build, initialise and run the network once on the backend in use; seconds."""
    return bench.measure("coba", N, duration_s, seed, refsim.get_backend())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.repeats):
        runs.append(measure(args.N, args.duration, args.seed))
        print("RESULT " + json.dumps(runs[-1]), flush=True)
    per_s = sorted(r["run_s"] / args.duration for r in runs)
    median = per_s[len(per_s) // 2]
    print(
        f"\nCOBA N={args.N}: refsim ({runs[-1]['engine']}) {median:.3f} s per simulated second "
        f"(median of {len(runs)}; min {per_s[0]:.3f}), {runs[-1]['spikes']} spikes, "
        f"{runs[-1]['rate_hz']} Hz, build {runs[-1]['build_s']:.2f} s"
    )
    if args.N == 4000:
        print("\nPeers on this machine kind (shared/anchors/perf.md, 2026-11-22, not this run):")
        for name, seconds in PEERS_COBA_4000.items():
            print(f"  {name:40s} {seconds:7.3f} s   refsim/peer = {median / seconds:5.2f}")


if __name__ == "__main__":
    main()
