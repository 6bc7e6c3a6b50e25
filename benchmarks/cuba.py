"""The Brette et al. (2007) CUBA benchmark network on refsim.

4000 LIFRef neurons (3200 E / 800 I), tau_m = 20 ms, V_rest (E_l) = -49 mV, V_th = -50 mV,
V_reset = -60 mV (hard), 5 ms refractory; exponential currents tau_e = 5 ms, tau_i = 10 ms
with jumps we = 1.62 mV and wi = -9 mV (as currents through R = 1 MOhm: 1.62 nA, -9 nA);
connection probability 0.02 drawn as brainpy draws it (fixed out-degree 80);
V0 ~ U[-60, -50] mV; no external input; dt = 0.1 ms.  The network of
``shared/anchors/bench/bench_brainpy.py --model cuba``.

Usage::

    python benchmarks/cuba.py [--N 4000] [--duration 1.0] [--seed 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json

import refsim
from refsim.validation import bench

#: run time (s) for 1 s of biological time, CUBA 4000, median of 3 (shared/anchors/perf.md)
PEERS_CUBA_4000 = {
    "Brian2 cpp_standalone, 1 thread": 0.090,
    "NEST iaf_psc_exp, 2 threads": 0.347,
    "Brian2 runtime (cython)": 0.346,
    "BrainPy brainpy.state, jit for_loop": 1.008,
    "NEST iaf_psc_exp, 1 thread": 1.207,
}


def measure(N: int, duration_s: float, seed: int) -> dict:
    """Build, initialise and run the network once on the backend in use; seconds."""
    return bench.measure("cuba", N, duration_s, seed, refsim.get_backend())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    runs = [measure(args.N, args.duration, args.seed) for _ in range(args.repeats)]
    for r in runs:
        print("RESULT " + json.dumps(r))
    median = sorted(r["run_s"] / args.duration for r in runs)[len(runs) // 2]
    print(
        f"\nCUBA N={args.N}: refsim ({runs[-1]['engine']}) {median:.3f} s per simulated second, "
        f"{runs[-1]['spikes']} spikes, {runs[-1]['rate_hz']} Hz"
    )
    if args.N == 4000:
        print("\nPeers on this machine kind (shared/anchors/perf.md, 2026-11-22, not this run):")
        for name, seconds in PEERS_CUBA_4000.items():
            print(f"  {name:40s} {seconds:7.3f} s   refsim/peer = {median / seconds:5.2f}")


if __name__ == "__main__":
    main()
