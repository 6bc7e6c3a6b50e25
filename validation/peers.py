"""The benchmark networks in Brian2 and NEST: ``refsim bench --peers``.

The Brette et al. (2007) COBA, CUBA and COBAHH networks, Brunel's (2000) network and the
Potjans-Diesmann (2014) microcircuit (``peers_microcircuit.py``, ``--scale``), in Brian2
and NEST.

This file runs as a script in whichever Python has the peer simulator installed, and
imports nothing of refsim (Brian2 2.9, the last release for Python 3.11, needs
``numpy<2.4``, so it usually lives in a virtual environment of its own)::

    python peers.py --sim brian2 --mode cpp_standalone --model cuba --N 4000

It prints one line ``RESULT {json}``.  Timings, in seconds:

``build_s``
    Python-side construction: groups, initial values, synapses (NEST: also ``Prepare``).
``compile_s``
    Brian2 cpp_standalone: code generation and the C++ compile; Brian2 runtime: the first
    run (Cython compile or cache load, plus one simulation); NEST: 0.
``run_s``
    The simulation loop of ``duration`` biological seconds only: Brian2 cpp_standalone's
    own timer of its loop, Brian2 runtime's second run after ``restore()``, NEST's ``Run``.

The networks are those of :mod:`refsim.validation.networks` (parameters in
:data:`NETWORKS`, checked against refsim's in ``tests/validation/test_benchmarks.py``), with the
peers' own connectivity rule: each pair connected with probability ``in_degree / N``
(refsim draws brainpy's fixed out-degree), so spike counts agree in rate, not spike for
spike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time

import numpy as np

try:  # run as a script by refsim bench: this file's folder is on the path
    import peers_microcircuit
except ImportError:  # imported as refsim.validation.peers
    from refsim.validation import peers_microcircuit

#: parameters of both networks, in ms, mV, nS, pF; weights: COBA nS, CUBA mV jumps
NETWORKS = {
    "coba": dict(
        C=200.0,
        g_L=10.0,
        E_L=-60.0,
        V_th=-50.0,
        V_reset=-60.0,
        t_ref=5.0,
        tau_e=5.0,
        tau_i=10.0,
        E_e=0.0,
        E_i=-80.0,
        w_e=6.0,
        w_i=67.0,
        g_e0=(40.0, 15.0),
        g_i0=(200.0, 120.0),
    ),
    "cuba": dict(
        tau_m=20.0,
        E_L=-49.0,
        V_th=-50.0,
        V_reset=-60.0,
        t_ref=5.0,
        tau_e=5.0,
        tau_i=10.0,
        w_e=1.62,
        w_i=-9.0,
    ),
    # COBAHH (Brette et al. 2007, benchmark 3), as refsim.validation.networks.COBAHHNet:
    # Traub-Miles cells of 20000 um^2 (C in pF, conductances in nS), spikes at -20 mV
    "cobahh": dict(
        C=200.0,
        g_L=10.0,
        g_Na=20000.0,
        g_K=6000.0,
        E_L=-60.0,
        E_Na=50.0,
        E_K=-90.0,
        V_T=-63.0,
        V_th=-20.0,
        tau_e=5.0,
        tau_i=10.0,
        E_e=0.0,
        E_i=-80.0,
        w_e=6.0,
        w_i=67.0,
    ),
    # Brunel (2000) model A, as refsim.validation.networks.BRUNEL: p the connection
    # probability, J the excitatory jump (mV), g the relative inhibition, the drive
    # poisson_n sources at poisson_hz each
    "brunel": dict(
        tau_m=20.0,
        t_ref=2.0,
        V_th=20.0,
        V_reset=10.0,
        J=0.1,
        g=5.0,
        p=0.1,
        delay=1.5,
        poisson_n=1000,
        poisson_hz=20.0,
    ),
}
#: what the peers are run as: (simulator, mode, threads) -> label in refsim bench's table
CONFIGS = {
    ("brian2", "cpp_standalone", 1): "brian2-cpp",
    ("brian2", "runtime", 1): "brian2-cython",
    ("nest", "native", 1): "nest-1t",
    ("nest", "native", 2): "nest-2t",
}
EXC_FRACTION = 0.8
DT_MS = 0.1


def brian2_network(
    model: str, N: float, in_degree: float, mode: str, threads: int, seed: int, workdir: str | None
):
    """The network as Brian2 objects; returns (brian2 module, Network, SpikeMonitor, synapses);
    ``N``: the microcircuit's scale (a float)."""
    import brian2 as b2
    from brian2 import ms, mV, nS, pF

    if mode == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
        if threads > 1:
            b2.prefs.devices.cpp_standalone.openmp_threads = threads
    else:
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = DT_MS * ms
    b2.seed(seed)
    if model == "microcircuit":
        objects, pops, synapses = peers_microcircuit.brian2_microcircuit(b2, N, seed)
        spikes = _Spikes([b2.SpikeMonitor(pop, record=False) for pop in pops])
        return b2, b2.Network(*objects, *spikes.monitors), spikes, synapses
    q = NETWORKS[model]
    if model == "brunel":
        return _brian2_brunel(b2, dict(q, N=N))
    if model == "cobahh":
        return _brian2_cobahh(b2, dict(q, N=N, in_degree=in_degree))
    if model == "coba":  # exponential Euler, conductances in the Jacobian
        eqs = """
        dv/dt = (g_L * (E_L - v) + ge * (E_e - v) + gi * (E_i - v)) / C : volt (unless refractory)
        dge/dt = -ge / tau_e : siemens
        dgi/dt = -gi / tau_i : siemens
        """
        method = "exponential_euler"
        names = dict(
            C=q["C"] * pF,
            g_L=q["g_L"] * nS,
            E_e=q["E_e"] * mV,
            E_i=q["E_i"] * mV,
            w_e=q["w_e"] * nS,
            w_i=q["w_i"] * nS,
        )
    else:  # linear: exact propagators
        eqs = """
        dv/dt = (ge + gi - (v - E_L)) / tau_m : volt (unless refractory)
        dge/dt = -ge / tau_e : volt
        dgi/dt = -gi / tau_i : volt
        """
        method = "exact"
        names = dict(tau_m=q["tau_m"] * ms, w_e=q["w_e"] * mV, w_i=q["w_i"] * mV)
    names.update(
        E_L=q["E_L"] * mV,
        V_th=q["V_th"] * mV,
        V_reset=q["V_reset"] * mV,
        tau_e=q["tau_e"] * ms,
        tau_i=q["tau_i"] * ms,
    )
    pop = b2.NeuronGroup(
        N,
        eqs,
        threshold="v > V_th",
        reset="v = V_reset",
        refractory=q["t_ref"] * ms,
        method=method,
        namespace=names,
    )
    pop.v = "V_reset + rand() * (V_th - V_reset)"
    if model == "coba":
        pop.ge = f"({q['g_e0'][0]} + {q['g_e0'][1]} * randn()) * nS"
        pop.gi = f"({q['g_i0'][0]} + {q['g_i0'][1]} * randn()) * nS"
    n_exc = int(EXC_FRACTION * N)
    exc = b2.Synapses(pop, pop, on_pre="ge += w_e", namespace=names)
    inh = b2.Synapses(pop, pop, on_pre="gi += w_i", namespace=names)
    exc.connect(f"i < {n_exc}", p=in_degree / N)
    inh.connect(f"i >= {n_exc}", p=in_degree / N)
    spikes = b2.SpikeMonitor(pop, record=False)  # a count, as refsim bench keeps
    return b2, b2.Network(pop, exc, inh, spikes), spikes, (exc, inh)


class _Spikes:
    """The spike counts of several Brian2 monitors, as one (``num_spikes``)."""

    def __init__(self, monitors: list):
        self.monitors = monitors

    @property
    def num_spikes(self) -> int:
        return sum(int(m.num_spikes) for m in self.monitors)


def _brian2_brunel(b2, q: dict):
    """Brunel's network in Brian2 (as its own examples write it): delta synapses with a
    delay, connected with probability ``p`` (refsim draws a fixed in-degree), a
    PoissonInput onto ``v``."""
    from brian2 import Hz, ms, mV

    N = q.get("N", 5000)
    names = dict(tau=q["tau_m"] * ms, theta=q["V_th"] * mV, V_r=q["V_reset"] * mV)
    pop = b2.NeuronGroup(
        N,
        "dv/dt = -v / tau : volt (unless refractory)",
        threshold="v > theta",
        reset="v = V_r",
        refractory=q["t_ref"] * ms,
        method="exact",
        namespace=names,
    )
    pop.v = "rand() * theta"
    n_exc = int(EXC_FRACTION * N)
    exc = b2.Synapses(pop, pop, on_pre=f"v += {q['J']} * mV", delay=q["delay"] * ms)
    inh = b2.Synapses(pop, pop, on_pre=f"v += {-q['g'] * q['J']} * mV", delay=q["delay"] * ms)
    exc.connect(f"i < {n_exc}", p=q["p"])
    inh.connect(f"i >= {n_exc}", p=q["p"])
    drive = b2.PoissonInput(pop, "v", q["poisson_n"], q["poisson_hz"] * Hz, weight=q["J"] * mV)
    spikes = b2.SpikeMonitor(pop, record=False)
    return b2, b2.Network(pop, exc, inh, drive, spikes), spikes, (exc, inh)


def _brian2_cobahh(b2, q: dict):
    """COBAHH in Brian2, as its own example writes it: exponential Euler, a spike where
    ``v > -20 mV`` and, with the refractory condition ``v > -20 mV``, once per crossing;
    pairs connected with probability ``in_degree / N``."""
    from brian2 import ms, mV, nS, pF

    N, q = q["N"], dict(q)
    names = dict(
        Cm=q["C"] * pF,
        gl=q["g_L"] * nS,
        g_na=q["g_Na"] * nS,
        g_kd=q["g_K"] * nS,
        El=q["E_L"] * mV,
        ENa=q["E_Na"] * mV,
        EK=q["E_K"] * mV,
        VT=q["V_T"] * mV,
        Ee=q["E_e"] * mV,
        Ei=q["E_i"] * mV,
        taue=q["tau_e"] * ms,
        taui=q["tau_i"] * ms,
        we=q["w_e"] * nS,
        wi=q["w_i"] * nS,
    )
    eqs = """
    dv/dt = (gl*(El-v) + ge*(Ee-v) + gi*(Ei-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK))/Cm : volt
    dm/dt = alpha_m*(1-m) - beta_m*m : 1
    dn/dt = alpha_n*(1-n) - beta_n*n : 1
    dh/dt = alpha_h*(1-h) - beta_h*h : 1
    dge/dt = -ge/taue : siemens
    dgi/dt = -gi/taui : siemens
    alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
    beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
    alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
    beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
    alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
    beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
    """  # noqa: E501 - Brian2's equations, one per line
    threshold = f"v > {q['V_th']}*mV"
    pop = b2.NeuronGroup(
        N, eqs, threshold=threshold, refractory=threshold, method="exponential_euler",
        namespace=names,
    )  # fmt: skip
    pop.v = "El + (randn() * 5 - 5) * mV"
    pop.ge = "(randn() * 1.5 + 4) * 10 * nS"
    pop.gi = "(randn() * 12 + 20) * 10 * nS"
    n_exc = int(EXC_FRACTION * N)
    exc = b2.Synapses(pop, pop, on_pre="ge += we", namespace=names)
    inh = b2.Synapses(pop, pop, on_pre="gi += wi", namespace=names)
    exc.connect(f"i < {n_exc}", p=q["in_degree"] / N)
    inh.connect(f"i >= {n_exc}", p=q["in_degree"] / N)
    spikes = b2.SpikeMonitor(pop, record=False)
    return b2, b2.Network(pop, exc, inh, spikes), spikes, (exc, inh)


def run_brian2(
    model: str, N: float, in_degree: float, duration: float, mode: str, threads: int, seed: int
) -> dict:
    """Build, compile and run the network in Brian2; timings in seconds (``N``: neurons, or
    the microcircuit's scale)."""
    workdir = tempfile.mkdtemp(prefix="refsim_brian2_") if mode == "cpp_standalone" else None
    try:
        t0 = time.perf_counter()
        b2, net, spikes, synapses = brian2_network(
            model, N, in_degree, mode, threads, seed, workdir
        )
        build_s = time.perf_counter() - t0
        if mode == "cpp_standalone":
            net.run(duration * b2.second)
            t0 = time.perf_counter()
            b2.device.build(directory=workdir, compile=True, run=False)
            compile_s = time.perf_counter() - t0
            b2.device.run(directory=workdir)
            run_s = float(b2.device._last_run_time)
        else:
            net.store()
            t0 = time.perf_counter()
            net.run(duration * b2.second)
            compile_s = time.perf_counter() - t0
            net.restore()
            t0 = time.perf_counter()
            net.run(duration * b2.second)
            run_s = time.perf_counter() - t0
        n_syn = sum(len(s) for s in synapses)
        return dict(
            version=b2.__version__,
            build_s=build_s,
            compile_s=compile_s,
            run_s=run_s,
            spikes=int(spikes.num_spikes),
            n_syn=int(n_syn),
        )
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run_nest(
    model: str,
    N: float,
    in_degree: float,
    duration: float,
    threads: int,
    seed: int,
    transient_ms: float = 0.0,
) -> dict:
    """Build and run the network in NEST (iaf_cond_exp, iaf_psc_exp, iaf_psc_delta,
    hh_cond_exp_traub); seconds.

    NEST's smallest delay is one step, so the synapses of COBA, CUBA and COBAHH deliver one
    step later than refsim's and Brian2's; CUBA jumps become currents through C (tau_m / C
    in mV per pA).  ``N``: neurons, or the microcircuit's scale, whose populations' rates
    and CVs of their intervals after ``transient_ms`` are returned too (``populations``).
    """
    import nest

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus(
        {"resolution": DT_MS, "local_num_threads": threads, "rng_seed": seed, "print_time": False}
    )
    t0 = time.perf_counter()
    if model == "microcircuit":  # a recorder per population, for its statistics
        pops, n_syn = peers_microcircuit.nest_microcircuit(nest, N)
        recorders = [nest.Create("spike_recorder") for _ in pops]
        for pop, recorder in zip(pops, recorders, strict=True):
            nest.Connect(pop, recorder)
    else:
        recorder, n_syn = _nest_network(nest, model, N, in_degree)
        pops, recorders = [], [recorder]
    nest.Prepare()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(duration * 1000.0)
    run_s = time.perf_counter() - t0
    nest.Cleanup()
    result = dict(
        version=nest.__version__,
        build_s=build_s,
        compile_s=0.0,
        run_s=run_s,
        spikes=sum(int(r.n_events) for r in recorders),
        n_syn=n_syn,
    )
    if pops:  # the microcircuit: each population's rate and CV of its intervals
        result["populations"] = {
            name: peers_microcircuit.microcircuit.spike_statistics(
                r.events["times"],
                np.asarray(r.events["senders"]) - pop[0].global_id,
                len(pop),
                transient_ms,
                duration * 1000.0,
            )
            for name, pop, r in zip(
                peers_microcircuit.microcircuit.POPULATIONS, pops, recorders, strict=True
            )
        }
    return result


def _nest_network(nest, model: str, N: int, in_degree: float):
    """One of the Brette or Brunel networks in NEST: (its spike recorder, its synapses)."""
    q = NETWORKS[model]
    pop, (w_e, w_i), delay, p = _nest_population(nest, model, N, q, in_degree)
    n_exc = int(EXC_FRACTION * N)
    rule = {"rule": "pairwise_bernoulli", "p": p}
    nest.Connect(pop[:n_exc], pop, rule, {"weight": w_e, "delay": delay})
    nest.Connect(pop[n_exc:], pop, rule, {"weight": w_i, "delay": delay})
    devices = 1 + (2 * N if model == "cobahh" else 0)  # the recorder's, the kick's
    if model == "brunel":  # the Poisson drive: one generator of the sources' summed rate
        drive = nest.Create("poisson_generator", params={"rate": q["poisson_n"] * q["poisson_hz"]})
        nest.Connect(drive, pop, syn_spec={"weight": q["J"], "delay": DT_MS})
        devices += N
    recorder = nest.Create("spike_recorder")
    nest.Connect(pop, recorder)
    return recorder, int(nest.GetKernelStatus("num_connections")) - N - devices + 1


def _nest_population(nest, model: str, N: int, q: dict, in_degree: float):
    """The population of ``model`` in NEST, its (excitatory, inhibitory) weights, their
    delay (ms) and the connection probability."""
    p = in_degree / N
    if model == "brunel":
        pop = nest.Create(
            "iaf_psc_delta",
            N,
            params=dict(tau_m=q["tau_m"], t_ref=q["t_ref"], V_th=q["V_th"], V_reset=q["V_reset"],
                        E_L=0.0, C_m=1.0, I_e=0.0),
        )  # fmt: skip
        pop.V_m = nest.random.uniform(0.0, q["V_th"])
        return pop, (q["J"], -q["g"] * q["J"]), q["delay"], q["p"]
    if model == "cobahh":
        pop = nest.Create(
            "hh_cond_exp_traub",
            N,
            params=dict(C_m=q["C"], g_L=q["g_L"], g_Na=q["g_Na"], g_K=q["g_K"], E_L=q["E_L"],
                        E_Na=q["E_Na"], E_K=q["E_K"], V_T=q["V_T"], E_ex=q["E_e"],
                        E_in=q["E_i"], tau_syn_ex=q["tau_e"], tau_syn_in=q["tau_i"]),
        )  # fmt: skip
        pop.V_m = q["E_L"] + nest.random.normal(-5.0, 5.0)
        # its conductances cannot be set: the initial ones arrive as one spike each at the
        # first step, (1.5 N(0,1) + 4) * 10 nS and (12 N(0,1) + 20) * 10 nS, redrawn >= 0
        kick = nest.Create("spike_generator", params={"spike_times": [DT_MS]})
        for mean, sd, sign in ((40.0, 15.0, 1.0), (200.0, 120.0, -1.0)):
            weight = nest.math.redraw(nest.random.normal(mean, sd), min=0.0, max=1e9)
            nest.Connect(kick, pop, "all_to_all", {"weight": sign * weight, "delay": DT_MS})
        return pop, (q["w_e"], -q["w_i"]), DT_MS, p
    common = dict(
        E_L=q["E_L"],
        V_th=q["V_th"],
        V_reset=q["V_reset"],
        t_ref=q["t_ref"],
        tau_syn_ex=q["tau_e"],
        tau_syn_in=q["tau_i"],
        I_e=0.0,
    )
    if model == "coba":
        pop = nest.Create(
            "iaf_cond_exp",
            N,
            params=dict(common, C_m=q["C"], g_L=q["g_L"], E_ex=q["E_e"], E_in=q["E_i"]),
        )
        pop.g_ex = nest.random.normal(*q["g_e0"])
        pop.g_in = nest.random.normal(*q["g_i0"])
        weights = q["w_e"], -q["w_i"]  # nS; NEST marks inhibition by the sign
    else:
        C = 200.0  # pF: any C works, the jump in mV is w * tau_m / C
        pop = nest.Create("iaf_psc_exp", N, params=dict(common, C_m=C, tau_m=q["tau_m"]))
        weights = q["w_e"] * C / q["tau_m"], q["w_i"] * C / q["tau_m"]  # pA
    pop.V_m = nest.random.uniform(q["V_reset"], q["V_th"])
    return pop, weights, DT_MS, p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=["brian2", "nest"], required=True)
    parser.add_argument("--mode", choices=["cpp_standalone", "runtime", "native"], default="native")
    parser.add_argument("--model", choices=[*sorted(NETWORKS), "microcircuit"], required=True)
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument(
        "--scale", type=float, default=0.1, help="the microcircuit's neurons and in-degrees"
    )
    parser.add_argument("--in-degree", type=float, default=80.0)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--transient",
        type=float,
        default=0.0,
        help="ms left out of the microcircuit's per-population statistics (NEST)",
    )
    args = parser.parse_args(argv)
    size = args.scale if args.model == "microcircuit" else args.N
    if args.sim == "brian2":
        if args.mode == "native":
            parser.error("--sim brian2 needs --mode cpp_standalone or runtime")
        result = run_brian2(
            args.model, size, args.in_degree, args.duration, args.mode, args.threads, args.seed
        )
    else:
        result = run_nest(
            args.model,
            size,
            args.in_degree,
            args.duration,
            args.threads,
            args.seed,
            args.transient,
        )
    result = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
    if args.model == "microcircuit":  # N: the neurons built
        scale = args.scale
        args.N = int(peers_microcircuit.microcircuit.scaled(scale, scale).num_neurons.sum())
        result["scale"] = scale
    result.update(
        sim=args.sim,
        mode=args.mode,
        model=args.model,
        N=args.N,
        in_degree=args.in_degree,
        threads=args.threads,
        seed=args.seed,
        duration_s=args.duration,
        cpus=os.cpu_count(),
        run_per_sim_s=round(result["run_s"] / args.duration, 4),
        rate_hz=round(result["spikes"] / args.N / args.duration, 3),
        peak_mib=round(
            max(
                resource.getrusage(who).ru_maxrss
                for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            )
            / 1024,
            1,
        ),
    )
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
