"""Brunel's (2000) network, compiled: delta synapses with a delay and a Poisson drive.

10000 LIF neurons (8000 excitatory), each receiving 800 excitatory and 200 inhibitory
jumps (``DeltaProj``, 0.1 mV and -0.5 mV, 1.5 ms after the spike) and the jumps of 800
external Poisson sources (``PoissonInput``) at twice the rate that would bring the mean
input to threshold: Brunel's asynchronous irregular state (model A, g = 5, eta = 2).

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
from refsim.validation.statistical import BRUNEL, brunel_prediction

N_E, N_I = 8000, 2000
C_E, C_I = N_E // 10, N_I // 10
J, G, DELAY = 0.1, 5.0, 1.5  # mV, relative inhibition, ms


def build() -> tuple[refsim.Network, refsim.LIFRef, float]:
    """The network, and the external rate per source (Hz)."""
    _, nu_ext = brunel_prediction(J, G, BRUNEL["eta"], C_E)
    refsim.random.seed(1)
    net = refsim.Network()
    pop = net.population(
        refsim.LIFRef(
            N_E + N_I,
            tau=20 * pq.ms,
            tau_ref=2 * pq.ms,
            V_th=20 * pq.mV,
            V_reset=10 * pq.mV,
            spk_reset="hard",
            V_initializer=refsim.init.Uniform(0.0, 20.0, unit=pq.mV),
        )
    )
    excitatory = refsim.FixedInDegree(N_E, N_E + N_I, C_E, J * pq.mV, seed=1)
    inhibitory = refsim.FixedInDegree(N_I, N_E + N_I, C_I, -G * J * pq.mV, seed=2)
    net.project(refsim.DeltaProj(comm=excitatory, post=pop, delay=DELAY * pq.ms), pop, 0, N_E)
    net.project(refsim.DeltaProj(comm=inhibitory, post=pop, delay=DELAY * pq.ms), pop, N_E)
    net.drive = refsim.PoissonInput(pop, C_E, nu_ext * 1000 * pq.Hz, J * pq.mV, seed=3)
    refsim.init_all_states(net)
    return net, pop, nu_ext * 1000


def main() -> None:
    first = {}
    with refsim.environ.context(dt=0.1 * pq.ms):
        for backend in ("numpy", "numba"):
            net, pop, nu_ext = build()
            with refsim.use_backend(backend):
                res = refsim.run(net, 100 * pq.ms, monitors={"spikes": pop}, progress=False)
            first[backend] = res["spikes"]
            print(f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes in 100 ms")
        same = np.array_equal(first["numpy"].steps, first["numba"].steps) and np.array_equal(
            first["numpy"].indices_fired, first["numba"].indices_fired
        )
        print(f"same spikes on numpy and numba: {same}")
        with refsim.use_backend("numba"):  # go on from where the numba run stopped
            res = refsim.run(
                net, 500 * pq.ms, monitors={"spikes": pop}, t_start=100 * pq.ms, progress=False
            )
    rate = res["spikes"].count / (N_E + N_I) / 0.5
    predicted, _ = brunel_prediction(J, G, BRUNEL["eta"], C_E)
    print(f"external drive: {C_E} sources at {nu_ext:.1f} Hz each")
    print(f"rate over 100-600 ms: {rate:.1f} Hz (Siegert: {predicted * 1000:.1f} Hz)")
    print(f"500 ms compiled in {res.wall_s:.2f} s")


if __name__ == "__main__":
    main()
