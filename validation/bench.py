"""``refsim bench``: the benchmark networks (Brette et al. 2007's COBA, CUBA and COBAHH,
Brunel 2000, the Potjans-Diesmann 2014 microcircuit), timed per backend.

Each measurement runs in a fresh Python process (so peak memory and the cold-start
cost are its own) and prints one JSON line; the parent prints a line naming the machine
(date, CPU, cores, versions: :func:`machine`) and a table.  Reported:
build s (connectivity, states, and the compiled loop's arrays: ``plan_s`` of the JSON),
compile s (Numba: compile or cache load), run s per simulated second, spikes, rate,
synaptic events per second of run time (recurrent: a Poisson drive's are not counted),
peak resident memory (and per synapse, ``bytes_per_syn`` in the JSON), and the whole
process time (import + build + compile + run).

Peers: ``--peers`` runs Brian2 (cpp_standalone and runtime) and NEST (1 and 2 threads) on
the same networks, in the same run, each in a fresh process of ``--peer-python`` (default
``$REFSIM_PEER_PYTHON``, else this Python; :mod:`refsim.validation.peers` is the script it
runs), and prints each refsim backend's run time as a ratio to the fastest peer.  A peer
that the peer Python cannot import is named as such; when neither can be imported it
prints the figures measured on this machine kind in ``shared/anchors/perf.md``
(2026-11-22), marked as not re-measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from functools import partial

from refsim.cli import at_least, writable

#: run time (s) per simulated second measured on this machine kind (shared/anchors/perf.md)
PEERS = {
    ("coba", 4000): {
        "Brian2 cpp_standalone": 0.385,
        "Brian2 runtime": 0.573,
        "BrainPy (JAX CPU)": 1.163,
        "NEST 1 thread": 8.637,
    },
    ("cuba", 4000): {"Brian2 cpp_standalone": 0.090, "NEST 2 threads": 0.347},
    ("coba", 16000): {
        "Brian2 cpp_standalone": 1.58,
        "BrainPy (JAX CPU)": 1.68,
        "Brian2 runtime": 1.74,
        "NEST 2 threads": 17.8,
    },
    ("coba", 64000): {
        "BrainPy (JAX CPU)": 3.44,
        "Brian2 runtime": 6.60,
        "Brian2 cpp_standalone": 6.79,
        "NEST 2 threads": 75.9,
    },
}


def measure(
    model: str,
    N: float,
    duration_s: float,
    seed: int,
    backend: str,
    in_degree: float = 80.0,
    precision: int = 64,
) -> dict:
    """Build (under ``precision``, 64 or 32) and run one network in this process (``N``:
    its neurons; the microcircuit's scale); timings in seconds."""
    t_import = time.perf_counter()
    import quantities as pq

    import refsim

    imported = time.perf_counter() - t_import
    with refsim.use_backend(backend), refsim.environ.context(precision=precision):
        refsim.random.seed(seed)
        t0 = time.perf_counter()
        net, pops, sources = _build(model, N, seed, in_degree)
        build_s = time.perf_counter() - t0
        with refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, duration_s * 1000 * pq.ms, monitors=pops, progress=False)
    spikes = sum(res[name].count for name in pops)
    n_neurons = sum(pop.num for pop in pops.values())
    n_syn = sum(comm.nnz for comm, _, _ in sources)
    if model in ("brunel", "microcircuit"):  # their own in-degrees
        in_degree = round(n_syn / n_neurons, 1)
    threads, device_mib = 1, 0.0
    if res.engine == "numba":  # blocks of a large population run on every Numba thread
        import numba

        threads = numba.get_num_threads()
    if res.engine == "cupy":  # what CuPy's pool holds at the end: the network's arrays
        import cupy

        device_mib = cupy.get_default_memory_pool().total_bytes() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(
        model=model,
        N=n_neurons,
        **({"scale": N} if model == "microcircuit" else {}),
        in_degree=in_degree,
        backend=backend,
        engine=res.engine,
        precision=precision,
        threads=threads,
        device_mib=round(device_mib, 1),
        seed=seed,
        duration_s=duration_s,
        import_s=round(imported, 3),
        build_s=round(build_s + res.plan_s, 3),
        plan_s=round(res.plan_s, 3),
        compile_s=round(res.compile_s, 3),
        run_s=round(res.wall_s, 4),
        run_per_sim_s=round(res.wall_s / duration_s, 4),
        spikes=spikes,
        rate_hz=round(spikes / n_neurons / duration_s, 3),
        n_syn=n_syn,
        events_per_s=round(_events(res, sources) / res.wall_s),
        peak_mib=round(peak / 2**20, 1),
        bytes_per_syn=round(peak / max(n_syn, 1), 1),
    )


def _build(model: str, N: float, seed: int, in_degree: float) -> tuple:
    """The network, built and initialised: (network, its populations by monitor name, and
    per projection (its comm, the name of its source population, its first neuron))."""
    import refsim
    from refsim.validation import networks

    if model == "microcircuit":
        net = networks.MicrocircuitNet(N, seed=seed)
        refsim.init_all_states(net)
        sources = [(p.comm, net.pops[j].name, 0) for (_, j), p in net.projections.items()]
        return net, {pop.name: pop for pop in net.pops}, sources
    if model == "brunel":  # its own connection probability
        net = networks.BrunelNet(N, seed)
    else:
        kind = {"coba": networks.COBANet, "cuba": networks.CUBANet, "cobahh": networks.COBAHHNet}
        net = kind[model](N, seed, in_degree)
    refsim.init_all_states(net)
    if model in ("coba", "cobahh"):
        net.kick_start(seed)
    return net, {"spikes": net.pop}, [(net.E.comm, "spikes", 0), (net.I.comm, "spikes", net.n_exc)]


def _events(res, sources: list) -> int:
    """The synaptic events of a run: each spike times its out-degree in each projection."""
    import numpy as np

    total = 0
    for comm, name, first in sources:
        fired = res[name].indices_fired - first
        fired = fired[(fired >= 0) & (fired < comm.n_pre)]
        total += int(np.diff(comm.W.indptr)[fired].sum())
    return total


def machine() -> dict:
    """What a timing depends on: the date, the CPU (its model name from ``/proc/cpuinfo``
    where there is one, and LLVM's name for it, which sets Numba's code), the cores this
    process may use, and the versions of Python, NumPy and Numba."""
    import platform

    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    try:
        import llvmlite.binding
        import numba

        llvm_cpu, numba_version = llvmlite.binding.get_host_cpu_name(), numba.__version__
    except ImportError:
        llvm_cpu, numba_version = "", ""
    from refsim.backends.plan import usable_cores

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "llvm_cpu": llvm_cpu,
        "cores": usable_cores(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
    }


def _machine_line(m: dict) -> str:
    llvm = f" (LLVM: {m['llvm_cpu']})" if m["llvm_cpu"] else ""
    numba = f", Numba {m['numba']}" if m["numba"] else ""
    return (
        f"# {m['date']}: {m['cpu']}{llvm}, {m['cores']} cores usable, {m['arch']}, "
        f"Python {m['python']}, NumPy {m['numpy']}{numba}"
    )


def _in_fresh_process(
    model: str,
    N: int,
    duration: float,
    seed: int,
    backend: str,
    in_degree: float,
    precision: int = 64,
    cold: bool = False,
) -> dict:
    """One refsim measurement in a fresh process; ``cold``: with an empty Numba cache of
    its own (``NUMBA_CACHE_DIR``, a new folder each time), so that it compiles."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="refsim-cold-") as folder:
        env = dict(os.environ, NUMBA_CACHE_DIR=folder) if cold else None
        return _result_of(
            [
                sys.executable,
                "-m",
                "refsim.validation.bench",
                "--one",
                model,
                str(N),
                str(duration),
                str(seed),
                backend,
                str(in_degree),
                str(precision),
            ],
            f"bench of {model} N={N} on {backend} (precision {precision})",
            env,
        )


def _result_of(command: list[str], what: str, env: dict | None = None) -> dict:
    """Run ``command`` in a fresh process (environment ``env``, None: this one's): the JSON
    of its last ``RESULT`` line, with the whole process time added as ``process_s``; a
    clear error naming ``what`` if none."""
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    total = time.perf_counter() - t0
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1][7:])
    result["process_s"] = round(total, 3)
    return result


def importable(python: str, module: str) -> tuple[bool, str]:
    """Whether ``python`` can import ``module``; else the last line of its error."""
    done = subprocess.run(
        [python, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return True, ""
    lines = (done.stderr or done.stdout).strip().splitlines()
    return False, (lines[-1] if lines else f"exit status {done.returncode}")


def run_peer(
    python: str,
    sim: str,
    mode: str,
    threads: int,
    model: str,
    N: float,
    duration: float,
    seed: int,
    in_degree: float,
) -> dict:
    """One peer measurement in a fresh process of ``python`` (the peers script's JSON);
    ``N``: neurons, or the microcircuit's scale."""
    from refsim.validation import peers

    return _result_of(
        [
            python,
            peers.__file__,
            "--sim",
            sim,
            "--mode",
            mode,
            "--threads",
            str(threads),
            "--model",
            model,
            *(["--scale", str(N)] if model == "microcircuit" else ["--N", str(N)]),
            "--duration",
            str(duration),
            "--seed",
            str(seed),
            "--in-degree",
            str(in_degree),
        ],
        f"peer {sim} {mode} ({threads} threads) on {model} N={N} in {python}",
    )


def _perf_md_lines(model: str, N: int, ours: float) -> list[str]:
    return [
        f"    {name:24s} {seconds:7.3f} s/sim-s (perf.md, not this run)   "
        f"refsim/peer = {ours / seconds:5.2f}"
        for name, seconds in PEERS.get((model, N), {}).items()
    ]


def _usable_peers(python: str) -> list:
    """The peer configurations whose simulator ``python`` imports; says which it cannot."""
    from refsim.validation import peers

    usable = []
    for sim in ("brian2", "nest"):
        ok, why = importable(python, sim)
        if ok:
            usable += [
                (config, label) for config, label in peers.CONFIGS.items() if config[0] == sim
            ]
        else:
            print(
                f"peers: {python} cannot import {sim} ({why}); put the peers in a venv "
                "of their own (python -m venv peers && peers/bin/pip install 'brian2>=2.7' "
                "'nest-simulator>=3.8' 'numpy<2.4') and pass --peer-python "
                "peers/bin/python",
                flush=True,
            )
    return usable


def _repeated(run_once, repeats: int, what: str) -> list[dict]:
    """``repeats`` results of ``run_once()``.  On a terminal a line on stderr says which run
    is going on: each runs in a process whose output is captured, for minutes at large N."""
    runs = []
    for k in range(repeats):
        _status(f"running {what}: {k + 1} of {repeats}")
        runs.append(run_once())
    _status("")
    return runs


def _status(text: str) -> None:
    """Replace the terminal's status line (stderr) with ``text``; nothing off a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


def _median(runs: list[dict]) -> dict:
    """The run of median run time (the upper one of an even count), with every run's run
    time per simulated second (``run_per_sim_s_all``, in the order run)."""
    chosen = dict(sorted(runs, key=lambda r: r["run_s"])[len(runs) // 2])
    chosen["run_per_sim_s_all"] = [r["run_per_sim_s"] for r in runs]
    return chosen


def _print_row(r: dict, label: str) -> None:
    """Print a row and, under a row of several runs, the fastest and slowest of them (a
    shared machine's run times spread; the row is the median)."""
    print(_row(r, label), flush=True)
    times = r.get("run_per_sim_s_all", [])
    if len(times) > 1:
        print(
            f"{'':27s}run s/sim-s of the {len(times)} runs: {min(times):.4f} to {max(times):.4f}",
            flush=True,
        )


def _row(r: dict, label: str) -> str:
    events = f"{r['events_per_s']:10.3g}" if "events_per_s" in r else f"{'-':>10s}"
    return (
        f"{r['model']:5s} {r['N']:7d} {label:13s} {r['build_s']:8.3f} "
        f"{r['compile_s']:9.3f} {r['run_per_sim_s']:11.4f} {r['spikes']:8d} "
        f"{r['rate_hz']:8.2f} {events} {r.get('peak_mib', 0.0):8.1f} "
        f"{r['process_s']:9.2f} {r['threads']:7d} {r.get('device_mib', 0.0):8.1f}"
    )


def _label(r: dict) -> str:
    """A refsim row's backend, with ``f32`` for a float32 run."""
    return r["backend"] + (" f32" if r.get("precision") == 32 else "")


def start_to_end(r: dict) -> float:
    """A run's seconds from the network built to the simulation done: build, compile (or
    load) and the simulation itself (a measurement's JSON)."""
    return r["build_s"] + r["compile_s"] + r["run_s"]


def _cold_lines(model: str, N: int, ours: list[dict], theirs: list[dict]) -> list[str]:
    """Each refsim backend's cold start (:func:`start_to_end` with an empty cache) over
    Brian2 cpp_standalone's, whose every run generates and compiles its C++ anew."""
    brian = [r for r in theirs if r["backend"] == "brian2-cpp"]
    lines = []
    for r in ours:
        line = f"  {model} N={N}: cold start of refsim {_label(r)} {start_to_end(r):.2f} s"
        if brian:
            b = brian[0]
            line += (
                f" / Brian2 cpp_standalone's {start_to_end(b):.2f} s (build, compile and run, "
                f"this run) = {start_to_end(r) / start_to_end(b):.2f}"
            )
        lines.append(line)
    return lines


def _ratio_lines(model: str, N: int, ours: list[dict], theirs: list[dict]) -> list[str]:
    """Each refsim backend's run time over the fastest peer's of this run (perf.md's
    figures, marked, when no peer ran)."""
    if not theirs:
        best = min(r["run_per_sim_s"] for r in ours)
        return [
            f"  no peer ran; perf.md's figures for {model} N={N} "
            f"(fastest refsim {best:.4f} s/sim-s):",
            *_perf_md_lines(model, N, best),
        ]
    fastest = min(theirs, key=lambda r: r["run_per_sim_s"])
    return [
        f"  {model} N={N}: refsim {_label(r)} / fastest peer ({fastest['backend']}, "
        f"this run) = {r['run_per_sim_s'] / fastest['run_per_sim_s']:.2f}"
        for r in ours
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refsim bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        choices=["coba", "cuba", "cobahh", "brunel", "microcircuit", "all"],
        default="all",
        help="coba, cuba, cobahh (Brette et al. 2007), brunel (Brunel 2000: 0.8 N "
        "excitatory, p = 0.1, delta synapses with 1.5 ms delay, Poisson drive), "
        "microcircuit (Potjans & Diesmann 2014, sized by --scale), or all",
    )
    parser.add_argument(
        "--scale",
        type=at_least(float, 0.0, strict=True),
        nargs="+",
        default=[0.1],
        help="the microcircuit's share of its neurons and in-degrees (default 0.1, as NEST's "
        "example; 1.0: 77169 neurons, 0.3 billion synapses)",
    )
    parser.add_argument(
        "--N",
        type=at_least(int, 1),
        nargs="+",
        default=[4000],
        help="network sizes (fixed in-degree); e.g. --N 4000 16000 64000",
    )
    parser.add_argument(
        "--in-degree",
        type=at_least(float, 0.0),
        default=80.0,
        help="synapses per neuron, 0.8 of them excitatory (default 80: p = 0.02 at N = 4000; "
        "brunel keeps its p = 0.1)",
    )
    parser.add_argument(
        "--duration", type=at_least(float, 0.0, strict=True), default=1.0, help="biological seconds"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--backend",
        default="all",
        choices=["numpy", "numba", "cupy", "all"],
        help="numpy, numba, cupy, or all that run here (default)",
    )
    parser.add_argument(
        "--repeats", type=at_least(int, 1), default=1, help="median over this many runs"
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also Brian2 and NEST on the same networks, in this run",
    )
    parser.add_argument(
        "--peer-python",
        metavar="PYTHON",
        default=os.environ.get("REFSIM_PEER_PYTHON", sys.executable),
        help="the Python with brian2 and/or nest installed (default "
        "$REFSIM_PEER_PYTHON, else this one)",
    )
    parser.add_argument(
        "--precision",
        type=int,
        nargs="+",
        choices=[64, 32],
        default=[64],
        help="float precisions to run refsim in (default 64; e.g. --precision 64 32)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="each refsim run with an empty Numba cache of its own (it compiles: the first "
        "run after an install); with --peers, also the cold start against Brian2 "
        "cpp_standalone's build, compile and run",
    )
    parser.add_argument(
        "--json", metavar="FILE", type=writable("file"), help="write every measurement here"
    )
    parser.add_argument("--one", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        model, N, duration, seed, backend, in_degree, precision = args.one
        print(
            "RESULT "
            + json.dumps(
                measure(
                    model,
                    float(N) if model == "microcircuit" else int(N),
                    float(duration),
                    int(seed),
                    backend,
                    float(in_degree),
                    int(precision),
                )
            ),
            flush=True,
        )
        return 0
    too_small = [N for N in args.N if args.in_degree > N]
    if too_small:
        parser.error(
            f"--in-degree {args.in_degree:g} exceeds --N {too_small[0]}: each neuron "
            "draws its inputs from the N neurons (p = in-degree / N <= 1)"
        )
    from refsim import backends

    runs_here = backends.available()
    if args.backend != "all" and not runs_here[args.backend][0]:
        parser.error(f"the {args.backend} backend cannot run here: {runs_here[args.backend][1]}")
    chosen = (
        [b for b, (ok, _) in runs_here.items() if ok] if args.backend == "all" else [args.backend]
    )
    models = (
        ["coba", "cuba", "cobahh", "brunel", "microcircuit"]
        if args.model == "all"
        else [args.model]
    )
    rows, peer_rows = [], []
    where = machine()
    print(_machine_line(where), flush=True)
    peer_configs = _usable_peers(args.peer_python) if args.peers else []
    header = (
        f"{'model':5s} {'N':>7s} {'backend':13s} {'build s':>8s} {'compile s':>9s} "
        f"{'run s/sim-s':>11s} {'spikes':>8s} {'rate Hz':>8s} {'events/s':>10s} "
        f"{'peak MiB':>8s} {'process s':>9s} {'threads':>7s} {'GPU MiB':>8s}"
    )
    print(header, flush=True)
    for model in models:
        for N in args.scale if model == "microcircuit" else args.N:
            ours = []
            for backend in chosen:
                for precision in args.precision:
                    r = _median(
                        _repeated(
                            partial(
                                _in_fresh_process,
                                model,
                                N,
                                args.duration,
                                args.seed,
                                backend,
                                args.in_degree,
                                precision,
                                args.cold,
                            ),
                            args.repeats,
                            f"{model} N={N} on {backend} (precision {precision})",
                        )
                    )
                    ours.append(r)
                    _print_row(r, _label(r))
                    if r["engine"] != backend:
                        print(f"      (engine: {r['engine']})")
            rows += ours
            theirs = []
            for (sim, mode, threads), label in peer_configs:
                r = _median(
                    _repeated(
                        partial(
                            run_peer,
                            args.peer_python,
                            sim,
                            mode,
                            threads,
                            model,
                            N,
                            args.duration,
                            args.seed,
                            args.in_degree,
                        ),
                        args.repeats,
                        f"{model} N={N} in {label}",
                    )
                )
                r["backend"] = label
                theirs.append(r)
                _print_row(r, label)
            peer_rows += theirs
            if args.peers:
                print("\n".join(_ratio_lines(model, N, ours, theirs)), flush=True)
            if args.cold:
                print("\n".join(_cold_lines(model, N, ours, theirs)), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": where, "runs": rows, "peers": peer_rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
