"""A brainpy-style script runs compiled: no refsim.Network declared.

An E/I network written as brainpy.state scripts write it: a Module whose ``update`` reads
the last step's spikes, feeds the projections and steps the populations, driven by
``refsim.for_loop``; a Poisson source feeds it and an Ornstein-Uhlenbeck current drives it.
On the numba backend refsim watches the first two steps, builds the network those calls
make and runs the rest as one compiled loop (``docs/backends.md``): the same spikes as the
NumPy run, bit for bit.  A step that computes in Python with what it reads (here, a drive
switched on after 100 ms) runs the NumPy code, and a warning says why and where.
"""

import time
import warnings

import numpy as np
import quantities as pq

import refsim


class EINet(refsim.Module):
    def __init__(self, n_exc=800, n_inh=200, seed=1):
        super().__init__()
        n = n_exc + n_inh
        self.n_exc = n_exc
        self.inp = refsim.PoissonSpike(100, 30 * pq.Hz, seed=seed)
        self.N = refsim.LIFRef(
            n, tau=20 * pq.ms, tau_ref=2 * pq.ms, V_rest=-60 * pq.mV, V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV, R=1 * pq.ohm,
            V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
        )  # fmt: skip

        def expon(pre, p, w, tau, E, seed):
            return refsim.AlignPostProj(
                comm=refsim.EventFixedProb(pre, n, p, w, seed=seed),
                syn=refsim.Expon.desc(n, tau=tau),
                out=refsim.COBA.desc(E=E),
                post=self.N,
            )

        self.E = expon(n_exc, 0.02, 0.6 * pq.mS, 5 * pq.ms, 0 * pq.mV, seed)
        self.I = expon(n_inh, 0.02, 6.7 * pq.mS, 10 * pq.ms, -80 * pq.mV, seed + 1)
        self.In = expon(100, 0.1, 1.0 * pq.mS, 5 * pq.ms, 0 * pq.mV, seed + 2)
        self.noise = refsim.OUProcessInput(
            mean=11 * pq.mA, sigma=4 * pq.mA, tau=5 * pq.ms, duration=10 * pq.s, size=n,
            seed=seed + 3,
        )  # fmt: skip

    def update(self, t):
        with refsim.environ.context(t=t):
            spikes = self.N.get_spike() != 0  # the last step's spikes
            self.E(spikes[: self.n_exc])
            self.I(spikes[self.n_exc :])
            self.In(self.inp.get_spike() != 0)
            self.inp()
            self.N(self.noise())
            return self.N.get_spike()


def simulate(backend, late_drive=False):
    with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        refsim.random.seed(0)
        net = refsim.init_all_states(EINet())
        times = refsim.arange(0 * pq.ms, 300 * pq.ms)
        if late_drive:  # Python that computes with the loop's time: not the same each step
            step = lambda t: net.update(t) if t > 100 * pq.ms else net.N.get_spike()  # noqa: E731
        else:
            step = net.update
        started = time.perf_counter()
        spikes = refsim.for_loop(step, times)
        return spikes, time.perf_counter() - started


oracle, numpy_s = simulate("numpy")
simulate("numba")  # compiles (or loads) the loop once
compiled, numba_s = simulate("numba")
print(f"spikes: {int(oracle.sum())} (numpy), {int(compiled.sum())} (numba)")
print("same spikes, step by step:", np.array_equal(oracle, compiled))
print(f"for_loop: numpy {numpy_s:.2f} s, numba {numba_s:.2f} s")

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", refsim.backends.BackendFallbackWarning)
    simulate("numba", late_drive=True)
reason = str(caught[0].message).split("does not compile: ")[1].split(", at ")[0]
print("a step that reads the time in Python runs the NumPy code:", reason)
