"""Receptor kinetics with short-term plasticity, on the numpy and the numba backend.

Excitatory neurons drive every neuron through AMPA receptors whose release facilitates
and depresses (STP); inhibitory ones through GABAa receptors.  The synapses sit on the
presynaptic side (``AlignPreProj``: one AMPA and one STP state per presynaptic neuron, their
output summed through the weights), which is what nonlinear receptor kinetics need.  The
script runs the same model with the NumPy code (the oracle) and as one compiled Numba loop
and checks that the two give the same spikes and states, bit for bit.

Run::

    python examples/receptor_network_backends.py
"""

import numpy as np
import quantities as pq

import refsim

N_EXC, N_INH = 800, 200


def build(seed: int = 5) -> tuple[refsim.Network, refsim.LIFRef, refsim.AlignPreProj]:
    """1000 LIFRef neurons under a constant drive; 5 % connectivity, unitless weights (the
    receptors' conductance is in mS)."""
    n = N_EXC + N_INH
    net = refsim.Network()
    pop = net.population(
        refsim.LIFRef(
            n,
            tau=20 * pq.ms,
            V_rest=-60 * pq.mV,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            tau_ref=2 * pq.ms,
        ),
        current=10.5 * pq.mA,
    )
    exc = net.project(
        refsim.AlignPreProj(
            syn=refsim.AMPA(N_EXC),
            stp=refsim.STP(N_EXC, U=0.2, tau_f=200 * pq.ms, tau_d=100 * pq.ms),
            comm=refsim.EventFixedProb(N_EXC, n, 0.05, 0.1, seed=seed),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=N_EXC,
    )
    net.project(
        refsim.AlignPreProj(
            syn=refsim.GABAa(N_INH),
            comm=refsim.EventFixedProb(N_INH, n, 0.05, 0.2, seed=seed + 1),
            out=refsim.COBA.desc(E=-80 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=N_EXC,
        stop=n,
    )
    refsim.init_all_states(net)
    pop.V.value = np.random.default_rng(seed).uniform(-60.0, -50.0, n) * pq.mV
    return net, pop, exc


def main() -> None:
    runs = {}
    for backend in ("numpy", "numba"):
        net, pop, exc = build()
        with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(
                net,
                300 * pq.ms,
                progress=False,
                monitors={"spikes": pop, "u": refsim.StateMonitor(exc.stp.u, indices=[0, 1, 2])},
            )
        runs[backend] = res, pop.V.data.copy(), exc.syn.g.data.copy(), exc.stp.x.data.copy()
        print(
            f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes, "
            f"run {res.wall_s:.2f} s (compile {res.compile_s:.2f} s)"
        )
    (a, *a_states), (b, *b_states) = runs["numpy"], runs["numba"]
    same = (
        np.array_equal(a["spikes"].steps, b["spikes"].steps)
        and np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
        and all(np.array_equal(x, y) for x, y in zip(a_states, b_states, strict=True))
        and np.array_equal(a["u"], b["u"])
    )
    print(f"same spikes and states on numpy and numba: {same}")
    print(
        f"release fraction u of 3 presynaptic neurons recorded: {b['u'].shape}, "
        f"mean at the end {float(b['u'][-1].mean()):.4f}"
    )


if __name__ == "__main__":
    main()
