"""The Brette et al. (2007) COBAHH benchmark (benchmark 3) on refsim.

4000 Hodgkin-Huxley neurons of the Traub-Miles type (3200 E / 800 I), membrane area
20000 um^2: C = 1 uF/cm^2, g_L = 5e-5 S/cm^2, E_L = -60 mV, g_Na = 100 mS/cm^2,
g_Kd = 30 mS/cm^2, E_Na = 50 mV, E_K = -90 mV, V_T = -63 mV; exponential conductances
tau_e = 5 ms, tau_i = 10 ms, E_e = 0 mV, E_i = -80 mV, weights 6 nS and 67 nS,
connection probability 0.02 (brainpy's fixed out-degree draw); a spike is an upward
crossing of -20 mV; V0 = E_L + (5 N(0,1) - 5) mV, ge0 = (1.5 N(0,1) + 4) * 10 nS,
gi0 = (12 N(0,1) + 20) * 10 nS (Brian2's example).  dt = 0.1 ms.

The Traub-Miles neuron (:class:`refsim.validation.networks.TraubHH`) is declared as a user
declares a model of their own: its NumPy update and its scalar twins, with
``compiled = refsim.NeuronTwins(...)``; so it compiles on numba and cupy.  ``refsim bench
--model cobahh --peers`` times it beside Brian2.

Usage::

    python benchmarks/cobahh.py [--N 4000] [--duration 1.0] [--seed 1] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json

import refsim
from refsim.validation import bench
from refsim.validation.networks import COBAHHNet, TraubHH  # noqa: F401 - tests build them here


def measure(N: int, duration_s: float, seed: int) -> dict:
    """Build, initialise and run the network once on the backend in use; seconds."""
    return bench.measure("cobahh", N, duration_s, seed, refsim.get_backend())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    for _ in range(args.repeats):
        r = measure(args.N, args.duration, args.seed)
        print("RESULT " + json.dumps(r), flush=True)
    print(
        f"\nCOBAHH N={args.N}: {r['run_s'] / args.duration:.3f} s per simulated second, "
        f"{r['spikes']} spikes, {r['rate_hz']} Hz ({r['engine']})"
    )


if __name__ == "__main__":
    main()
