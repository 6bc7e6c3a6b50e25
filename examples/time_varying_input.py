"""A drive that changes in time, on a compiled network.

``Network.population(pop, current=...)`` takes a constant current or a waveform of the
time (``refsim.StepInput``, ``SectionInput``, ``RampInput``, ``SinusoidalInput``,
``ConstantInput``).  The network below is driven by a staircase of currents, the
classic f-I protocol done in one run: each level lasts 200 ms and the script prints the
population's rate at each.  It runs on numpy (the reference) and on numba (one compiled
loop, the waveform's value computed for each step as the NumPy update takes it) and
checks that both give the same spikes.

Run::

    python examples/time_varying_input.py
"""

import numpy as np
import quantities as pq

import refsim

LEVELS = [10.0, 16.0, 20.0, 25.0, 30.0]  # mA, 200 ms each
N = 500


def build() -> tuple[refsim.Network, refsim.LIF]:
    refsim.random.seed(0)
    net = refsim.Network()
    pop = net.population(
        refsim.LIF(
            N,
            V_rest=-65 * pq.mV,
            V_reset=-68 * pq.mV,
            V_th=-50 * pq.mV,
            tau=10 * pq.ms,
            V_initializer=refsim.init.Uniform(-68.0, -50.0, unit=pq.mV),
        ),
        current=refsim.StepInput(LEVELS * pq.mA, np.arange(len(LEVELS)) * 200.0 * pq.ms),
    )
    refsim.init_all_states(net)
    return net, pop


def main() -> None:
    runs = {}
    for backend in ("numpy", "numba"):
        net, pop = build()
        with refsim.use_backend(backend):
            res = refsim.run(net, 200.0 * len(LEVELS) * pq.ms, monitors={"spikes": pop})
        runs[backend] = res["spikes"]
        print(f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes")
    steps = runs["numpy"].steps
    for k, level in enumerate(LEVELS):
        fired = np.count_nonzero((steps >= 2000 * k) & (steps < 2000 * (k + 1)))
        print(f"I = {level:4.1f} mA: {fired / N / 0.2:6.1f} Hz")
    same = np.array_equal(runs["numpy"].steps, runs["numba"].steps) and np.array_equal(
        runs["numpy"].indices_fired, runs["numba"].indices_fired
    )
    print(f"same spikes on numpy and numba: {same}")


if __name__ == "__main__":
    main()
