"""An adaptive exponential (AdEx) E/I network on the numpy, numba and cupy backends.

The same script runs the same model with the readable NumPy code (the oracle), as one
compiled Numba loop, and, where CuPy and an NVIDIA GPU are usable, as CUDA kernels.  The
runs give the same spikes and the same states, bit for bit; the compiled ones are faster.
Excitation reaches the neurons through a rise-and-decay synapse (DualExpon), inhibition
through an exponential one (Expon), both conductance-based (COBA).

Run::

    python examples/adex_network_backends.py
"""

import numpy as np
import quantities as pq

import refsim

N_EXC, N_INH = 800, 200


def build(seed: int = 3) -> tuple[refsim.Network, refsim.AdExIF]:
    """800 excitatory and 200 inhibitory AdEx neurons, 10 % connectivity, a constant drive."""
    n = N_EXC + N_INH
    net = refsim.Network()
    pop = net.population(
        refsim.AdExIF(n, a=0.05 * pq.S, b=2.0 * pq.mA, tau_w=30 * pq.ms, spk_reset="hard"),
        current=8.0 * pq.mA,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_EXC, n, 0.1, 0.002 * pq.mS, seed=seed),
            syn=refsim.DualExpon.desc(n, tau_rise=1 * pq.ms, tau_decay=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=N_EXC,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_INH, n, 0.1, 0.01 * pq.mS, seed=seed + 1),
            syn=refsim.Expon.desc(n, tau=10 * pq.ms),
            out=refsim.COBA.desc(E=-80 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=N_EXC,
        stop=n,
    )
    refsim.init_all_states(net)
    pop.V.value = np.random.default_rng(seed).uniform(-70.0, -55.0, n) * pq.mV
    return net, pop


def main() -> None:
    runs = {}
    cupy_usable, cupy_detail = refsim.backends.available()["cupy"]
    if not cupy_usable:
        print(f"cupy   not run here: {cupy_detail}")
    for backend in ("numpy", "numba") + (("cupy",) if cupy_usable else ()):
        net, pop = build()
        with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, 200 * pq.ms, monitors={"spikes": pop, "w": pop.w}, progress=False)
        runs[backend] = res, pop.V.data.copy(), pop.w.data.copy()
        print(
            f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes, "
            f"run {res.wall_s:.2f} s (compile {res.compile_s:.2f} s)"
        )
    a, Va, wa = runs["numpy"]
    for backend, (b, Vb, wb) in runs.items():
        same = (
            np.array_equal(a["spikes"].steps, b["spikes"].steps)
            and np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
            and np.array_equal(Va, Vb)
            and np.array_equal(wa, wb)
            and np.array_equal(a["w"].magnitude, b["w"].magnitude)
        )
        if backend != "numpy":
            print(f"same spikes and states on numpy and {backend}: {same}")
    print(
        f"adaptation current w recorded: {b['w'].shape}, mean at the end "
        f"{float(b['w'][-1].mean()):.4f} {b['w'].dimensionality}"
    )


if __name__ == "__main__":
    main()
