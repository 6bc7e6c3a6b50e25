"""Brunel's (2000) network, compiled: delta synapses with a delay and a Poisson drive.

10000 LIF neurons (8000 excitatory), each receiving 800 excitatory and 200 inhibitory
jumps (``DeltaProj``, 0.1 mV and -0.5 mV, 1.5 ms after the spike) and the jumps of 800
external Poisson sources (``PoissonInput``) at twice the rate that would bring the mean
input to threshold: Brunel's asynchronous irregular state (model A, g = 5, eta = 2).
The network is ``refsim.validation.networks.BrunelNet``; read it there.

The Poisson draws come from a counter-based generator (``refsim.philox``: keyed by the
input's seed, counted by neuron and step), so the NumPy code and the compiled loop, on
any number of threads, draw the same numbers.  The script runs 100 ms on both backends,
checks that the spikes are the same, then runs 500 ms more on numba and compares the
rate with Brunel's mean-field (Siegert) prediction.

Run::

    python examples/brunel_network.py
"""

import numpy as np
import quantities as pq

import refsim
from refsim.validation.networks import BRUNEL, BrunelNet
from refsim.validation.statistical import brunel_prediction

N = 10000
C_E = N * 8 // 10 // 10  # excitatory inputs per neuron (p = 0.1)
ETA = 2.0  # the drive over the threshold rate


def build() -> tuple[BrunelNet, float]:
    """The network, and the external rate per source (Hz)."""
    _, nu_ext = brunel_prediction(BRUNEL["J"], BRUNEL["g"], ETA, C_E)
    refsim.random.seed(1)
    net = BrunelNet(N, seed=1, drive=(C_E, nu_ext * 1000))
    refsim.init_all_states(net)
    return net, nu_ext * 1000


def main() -> None:
    first = {}
    with refsim.environ.context(dt=0.1 * pq.ms):
        for backend in ("numpy", "numba"):
            net, nu_ext = build()
            with refsim.use_backend(backend):
                res = refsim.run(net, 100 * pq.ms, monitors={"spikes": net.pop}, progress=False)
            first[backend] = res["spikes"]
            print(f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes in 100 ms")
        same = np.array_equal(first["numpy"].steps, first["numba"].steps) and np.array_equal(
            first["numpy"].indices_fired, first["numba"].indices_fired
        )
        print(f"same spikes on numpy and numba: {same}")
        with refsim.use_backend("numba"):  # go on from where the numba run stopped
            res = refsim.run(
                net,
                500 * pq.ms,
                monitors={"spikes": net.pop},
                t_start=100 * pq.ms,
                progress=False,
            )
    rate = res["spikes"].count / N / 0.5
    predicted, _ = brunel_prediction(BRUNEL["J"], BRUNEL["g"], ETA, C_E)
    print(f"external drive: {C_E} sources at {nu_ext:.1f} Hz each")
    print(f"rate over 100-600 ms: {rate:.1f} Hz (Siegert: {predicted * 1000:.1f} Hz)")
    print(f"500 ms compiled in {res.wall_s:.2f} s")


if __name__ == "__main__":
    main()
