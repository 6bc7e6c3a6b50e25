"""A Hodgkin-Huxley E/I network integrated by classic Runge-Kutta (rk4), on numpy and numba.

brainpy.state integrates every model by exponential Euler; refsim's nonlinear neurons also
take ``method='euler'``, ``'rk2'`` or ``'rk4'``, which integrate the model's whole ODE
system (``derivatives()``), the synaptic input taken again at each stage's potential.
The numba backend compiles these methods too: the run below gives the same spikes and the
same states, bit for bit, as the NumPy code.  It then compares the spike counts of the
four methods on the same network.

Run::

    python examples/integrators_backends.py
"""

import numpy as np
import quantities as pq

import refsim

N_EXC, N_INH = 400, 100
DT = 0.01 * pq.ms  # the explicit methods need a smaller step than exponential Euler
DURATION = 50 * pq.ms


def build(method: str, seed: int = 2) -> tuple[refsim.Network, refsim.HH]:
    """500 HH neurons (a constant drive of 8 uA), 10 % connectivity, COBA synapses."""
    n = N_EXC + N_INH
    refsim.random.seed(seed)  # HH draws its initial potentials from it
    net = refsim.Network()
    pop = net.population(refsim.HH(n, method=method), current=8.0 * pq.uA)
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_EXC, n, 0.1, 3e-5 * pq.mS, seed=seed),
            syn=refsim.Expon.desc(n, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=N_EXC,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_INH, n, 0.1, 3e-4 * pq.mS, seed=seed + 1),
            syn=refsim.Expon.desc(n, tau=10 * pq.ms),
            out=refsim.COBA.desc(E=-80 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=N_EXC,
        stop=n,
    )
    refsim.init_all_states(net)
    return net, pop


def run(method: str, backend: str):
    net, pop = build(method)
    with refsim.use_backend(backend), refsim.environ.context(dt=DT):
        res = refsim.run(
            net,
            DURATION,
            progress=False,
            monitors={"spikes": pop, "V": refsim.StateMonitor(pop.V, indices=[0, 1, 2])},
        )
    return res, [pop.V.data.copy(), pop.m.data.copy(), pop.h.data.copy(), pop.n.data.copy()]


def main() -> None:
    runs = {}
    for backend in ("numpy", "numba"):
        res, states = runs[backend] = run("rk4", backend)
        print(
            f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes, "
            f"run {res.wall_s:.2f} s (compile {res.compile_s:.2f} s)"
        )
    (a, a_states), (b, b_states) = runs["numpy"], runs["numba"]
    same = (
        np.array_equal(a["spikes"].steps, b["spikes"].steps)
        and np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
        and all(np.array_equal(x, y) for x, y in zip(a_states, b_states, strict=True))
        and np.array_equal(a["V"].magnitude, b["V"].magnitude)
    )
    print(f"same spikes and states on numpy and numba: {same}")
    print(f"membrane potential of 3 neurons recorded: {b['V'].shape}")
    # HH's spike is the level V >= V_th: a count of steps above threshold, so it moves a
    # little with the integrator, not with the step size of the spikes
    for method in ("exp_euler", "euler", "rk2", "rk4"):
        res, _ = run(method, "numba")
        print(f"{method:9s} on numba: {res['spikes'].count} spike steps, run {res.wall_s:.3f} s")


if __name__ == "__main__":
    main()
