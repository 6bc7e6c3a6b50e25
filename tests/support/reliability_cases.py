"""The adversarial harness: what a user who means harm, or makes mistakes, tries.

Each :class:`Case` does one thing refsim must refuse with a named error, or get right; the
harness runs it and sorts the outcome into one of five kinds, the columns of the table in
``docs/reliability.md``:

* **named error**: the error type expected, with a message that names what is wrong (the
  parameter, the state, the file);
* **correct**: no error, and the numbers checked are right;
* **silently wrong**: no error, and a number is wrong (or an error was due and none came);
* **raw exception**: another exception (a bare ``MemoryError``, ``KeyError``, ...);
* **crash**: the process died (cases run in a child process: Ctrl-C, concurrency).

``tests/reliability/test_reliability.py`` runs every case and asserts the expected kind;
``python tests/support/reliability_cases.py`` prints the table (``--markdown`` for the docs).
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import quantities as pq
import scipy.sparse as sp

import refsim
from refsim.validation.networks import COBANet

KINDS = ("named error", "correct", "silently wrong", "raw exception", "crash")
CATEGORIES = (
    "bad input",
    "numerical blow-ups",
    "resource limits",
    "checkpoints",
    "Ctrl-C",
    "concurrency",
)


@dataclass
class Case:
    """One adversarial try.  ``run()`` does it (in a child process where ``child``);
    ``error``/``pattern``: the named error expected (``pattern`` a regular expression the
    message must match, naming what is wrong), or ``check``: a function of what ``run``
    returned that is True when the numbers are right."""

    category: str
    name: str
    run: Callable
    error: type | tuple | None = None
    pattern: str = ""
    check: Callable | None = None
    child: bool = False
    after: Callable | None = None  # a check after a named error (nothing was changed)
    expect: str = field(init=False)

    def __post_init__(self):
        assert self.category in CATEGORIES, self.category
        self.expect = "named error" if self.error is not None else "correct"


def outcome(case: Case) -> tuple[str, str]:
    """(kind, detail) of running ``case``."""
    if case.child:
        return _in_child(case)
    return _outcome_here(case)


def _outcome_here(case: Case) -> tuple[str, str]:
    try:
        value = case.run()
    except BaseException as exc:  # noqa: BLE001 - sorted below
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        text = f"{type(exc).__name__}: {exc}"
        if (
            case.error is not None
            and isinstance(exc, case.error)
            and re.search(case.pattern, str(exc))
        ):
            if case.after is not None and not case.after():
                return "silently wrong", f"named, but it changed something: {text}"
            return "named error", text
        return "raw exception", text
    if case.error is not None:
        return "silently wrong", f"no error; returned {value!r}"[:300]
    try:
        ok = case.check(value)
    except Exception as exc:  # noqa: BLE001 - a check that cannot read the value
        return "silently wrong", f"the check failed: {type(exc).__name__}: {exc}"
    return ("correct", "") if ok else ("silently wrong", f"returned {value!r}"[:300])


def _child_main(queue, index: int) -> None:
    case = all_cases()[index]
    queue.put(_outcome_here(case))


def _in_child(case: Case) -> tuple[str, str]:
    index = next(i for i, c in enumerate(all_cases()) if c.name == case.name)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child_main, args=(queue, index))
    process.start()
    process.join(300)
    if process.exitcode is None:
        process.kill()
        return "crash", "hung for 300 s"
    if process.exitcode != 0:
        return "crash", f"exit code {process.exitcode}"
    return queue.get(timeout=10)


# -- helpers ----------------------------------------------------------------------------


def _lif(n=3, **kw):
    return refsim.LIF(
        n,
        **{
            "tau": 10 * pq.ms,
            "V_th": -50 * pq.mV,
            "V_reset": -60 * pq.mV,
            "V_rest": -60 * pq.mV,
            **kw,
        },
    )


def _coba(n=200):
    refsim.random.seed(1)
    net = COBANet(n, 1, 40.0)
    refsim.init_all_states(net)
    net.kick_start(1)
    return net


def _run(step, ms, backend="numpy", **kw):
    with refsim.use_backend(backend):
        return refsim.run(step, ms * pq.ms, progress=False, **kw)


def _blow_up(model, method, dt_ms, current, backend, n=4, **params):
    """A network of one population of ``model`` driven by ``current``, run 200 ms."""

    def run():
        with refsim.use_backend(backend), refsim.environ.context(dt=dt_ms * pq.ms):
            net = refsim.Network()
            net.population(getattr(refsim, model)(n, method=method, **params), current=current)
            refsim.init_all_states(net)
            return refsim.run(net, 200 * pq.ms, progress=False)

    return run


# -- bad input --------------------------------------------------------------------------


def _bad_input() -> list[Case]:
    out = []

    def named(name, run, pattern, error=(ValueError, TypeError), after=None):
        out.append(Case("bad input", name, run, error=error, pattern=pattern, after=after))

    def correct(name, run, check):
        out.append(Case("bad input", name, run, check=check))

    for label, p in (
        ("np.float32(0.5)", np.float32(0.5)),
        ("np.array(0.5)", np.array(0.5)),
        ("np.float16(0.5)", np.float16(0.5)),
        ("0.5", 0.5),
    ):
        correct(
            f"EventFixedProb probability {label}",
            lambda p=p: refsim.EventFixedProb(10, 20, p, 1 * pq.nS, seed=0).nnz,
            lambda nnz: nnz == 10 * 10,
        )
    correct(
        "EventFixedProb out-degree np.int64(5)",
        lambda: refsim.EventFixedProb(10, 20, np.int64(5), 1 * pq.nS, seed=0).nnz,
        lambda nnz: nnz == 50,
    )
    for label, p in (
        ("1.5", 1.5),
        ("True", True),
        ("'0.1'", "0.1"),
        ("nan", float("nan")),
        ("-3", -3),
    ):
        named(
            f"EventFixedProb conn_num {label}",
            lambda p=p: refsim.EventFixedProb(10, 20, p, 1 * pq.nS, seed=0),
            "conn_num",
        )
    correct(
        "FixedProb probability np.float32(0.1)",
        lambda: refsim.FixedProb(200, 200, np.float32(0.1), 1 * pq.nS, seed=0).nnz,
        lambda nnz: abs(nnz - 4000) < 5 * 60,
    )
    named("FixedProb prob nan", lambda: refsim.FixedProb(5, 5, np.nan, 1 * pq.nS), "prob")
    correct(
        "FixedProb p = 1e-19 (a drawn gap of 2**63 - 1: its sum overflowed, then hung)",
        lambda: refsim.FixedProb(5, 5, 1e-19, 1 * pq.nS, seed=1).nnz,
        lambda n: n == 0,
    )
    named("FixedOutDegree k 2.5", lambda: refsim.FixedOutDegree(5, 5, 2.5, 1 * pq.nS), "k must")
    correct(
        "FixedOutDegree k np.int32(3)",
        lambda: refsim.FixedOutDegree(5, 5, np.int32(3), 1 * pq.nS, seed=0).nnz,
        lambda nnz: nnz == 15,
    )
    # relations a model needs
    named("LIF V_reset > V_th", lambda: _lif(V_reset=-40 * pq.mV), r"V_reset < V_th.*V_reset")
    named("LIF V_reset == V_th", lambda: _lif(V_reset=-50 * pq.mV), r"V_reset < V_th")
    named(
        "LIF one neuron's V_reset above its V_th",
        lambda: _lif(V_reset=np.array([-60.0, -60.0, -45.0]) * pq.mV),
        r"V_reset < V_th.*element \(2,\)",
    )
    for model in ("LIFRef", "ALIF", "CubaLIF", "CobaLIF", "ExpIF", "AdExIFRef", "QuaIF", "AdQuaIF"):
        named(
            f"{model} V_reset above V_th",
            lambda m=model: getattr(refsim, m)(2, V_th=-50 * pq.mV, V_reset=-40 * pq.mV),
            r"V_reset < V_th",
        )
    named(
        "Gif V_reset above V_th_inf",
        lambda: refsim.Gif(2, V_reset=-40 * pq.mV),
        r"V_reset < V_th_inf",
    )
    for model in ("HH", "WangBuzsakiHH", "MorrisLecar"):
        named(
            f"{model} V_th below 0 (brainpy's spike test inverted)",
            lambda m=model: getattr(refsim, m)(2, V_th=-20 * pq.mV),
            r"V_th > 0",
        )
    named("IF V_th = 0", lambda: refsim.IF(2, V_th=0 * pq.mV), r"V_th > 0")
    named("Izhikevich reset c above V_th", lambda: refsim.Izhikevich(2, c=40 * pq.mV), r"c < V_th")
    named("HH negative gNa", lambda: refsim.HH(2, gNa=-1 * pq.mS), "'gNa'")
    named("MorrisLecar V2 = 0", lambda: refsim.MorrisLecar(2, V2=0 * pq.mV), "'V2'")
    named("MgBlock beta = 0", lambda: refsim.MgBlock(beta=0.0), "'beta'")
    named("LIF negative R", lambda: _lif(R=-1 * pq.ohm), "'R'")
    named("STP U = 1.5", lambda: refsim.STP(2, U=1.5), "'U'")
    # non-finite values, every model: its first parameter with a unit, NaN and inf
    for name in refsim.neurons.__all__ + refsim.synapses.__all__:
        cls = getattr(refsim, name)
        params = inspect.signature(cls).parameters
        first = next(p for p in params.values() if isinstance(p.default, pq.Quantity))
        for bad in (np.nan, np.inf):
            named(
                f"{name} {first.name} = {bad}",
                lambda c=cls, p=first, b=bad: c(2, **{p.name: b * p.default.units}),
                rf"parameter '{first.name}' must be finite",
            )
    named(
        "V_initializer Constant(nan)",
        lambda: refsim.init.Constant(np.nan * pq.mV),
        "must be finite",
    )
    named(
        "V_initializer Normal with std inf",
        lambda: refsim.init.Normal(-60.0, np.inf, unit=pq.mV),
        "std must be finite",
    )
    named(
        "V_initializer a NaN array",
        lambda: refsim.init_all_states(_lif(V_initializer=np.array([1, np.nan, 2]) * pq.mV)),
        "parameter 'V' must be finite",
    )
    named(
        "direct input NaN", lambda: refsim.init_all_states(_lif())(np.nan * pq.mA), "must be finite"
    )
    named(
        "a network's current inf",
        lambda: _run(_network_with_current(np.inf * pq.mA), 1),
        "must be finite",
    )
    named(
        "weights NaN (EventFixedProb)",
        lambda: refsim.EventFixedProb(5, 5, 2, np.nan * pq.nS),
        "'conn_weight' must be finite",
    )
    named(
        "weights NaN (SparseLinear of a scipy matrix)",
        lambda: refsim.SparseLinear(sp.csr_matrix(np.array([[np.nan, 1.0]])), unit=pq.nS),
        "'weights' must be finite",
    )
    named(
        "weights inf (a plain array)",
        lambda: refsim.SparseLinear(np.array([[np.inf, 1.0]])),
        "'weights' must be finite",
    )
    named("weights as text", lambda: refsim.SparseLinear("abc"), "'weights'")
    for label, dt in (("inf", np.inf), ("nan", np.nan), ("0", 0.0), ("-0.1", -0.1)):
        named(f"dt = {label}", lambda dt=dt: refsim.environ.set(dt=dt * pq.ms), "dt")
    named(
        "refsim.run of a Network before init_all_states",
        lambda: _run(COBANet(50, 1, 10.0), 1),
        "init_all_states",
        error=RuntimeError,
    )
    for backend in ("numpy", "numba"):
        named(
            f"a projection onto a population outside the Network ({backend})",
            lambda b=backend: _run(_outside_target(), 1, b),
            "not a population of the network",
        )
    correct(
        "SpikeMonitor.times() read outside the run's dt",
        _times_outside_the_run,
        lambda pair: np.allclose(pair[0], pair[1]),
    )
    for backend in ("numpy", "numba"):
        correct(
            f"per-synapse delays listed with SparseLinear.from_indices pairs ({backend})",
            lambda b=backend: _delays_with_pairs(b),
            lambda steps: steps == [5, 30],
        )
    correct("PoissonInput aimed at a projection's synapse", _poisson_onto_synapse, lambda g: g > 0)
    named(
        "PoissonInput aimed at an AMPA synapse (it takes no jumps)",
        lambda: refsim.PoissonInput(refsim.AMPA(3), 10, 10 * pq.Hz, 0.1),
        "takes no jumps",
        error=TypeError,
    )
    named(
        "DeltaProj onto a Poisson source",
        lambda: refsim.DeltaProj(
            comm=refsim.OneToOne(3, 1 * pq.mV), post=refsim.PoissonSpike(3, 1 * pq.Hz)
        ),
        "takes no jumps",
        error=TypeError,
    )
    named(
        "a model of one's own whose update leaves its jumps unread",
        _unread_jumps,
        r"LIF '.*': its update left the inputs 'PoissonInput.*' unread, so they would be lost",
        error=RuntimeError,
    )
    named(
        "a model of one's own whose update never sums its currents (a COBA output)",
        _unread_currents,
        r"LIF '.*': its update left the inputs 'AlignPostProj.*' unread, so they would be lost",
        error=RuntimeError,
    )
    named(
        "init_all_states given a list of modules",
        lambda: refsim.init_all_states([refsim.LIF(2), refsim.LIF(3)]),
        r"init_all_states: expected a refsim module \(a population, .*got list",
        error=TypeError,
    )
    correct(
        "a parameter read back carries its unit",
        lambda: refsim.LIF(2, R=2 * pq.ohm, tau=3 * pq.ms),
        lambda n: float(n.R.rescale(pq.ohm)) == 2.0 and float(n.tau.rescale(pq.ms)) == 3.0,
    )
    named(
        "a parameter assigned after construction",
        lambda: setattr(refsim.LIF(2), "tau", 5 * pq.ms),
        "tau is a parameter",
        error=AttributeError,
    )
    named(
        "a state set to NaN",
        lambda: setattr(refsim.init_all_states(_lif()).V, "value", np.nan * pq.mV),
        "must be finite",
    )
    named("a run of 1e30 ms", lambda: _run(refsim.init_all_states(_lif()), 1e30), "'duration'")
    named(
        "check_every = 0",
        lambda: _run(refsim.init_all_states(_lif()), 1, check_every=0),
        "check_every",
    )
    named("a monitor index outside the population", _monitor_outside, "indices")
    named(
        "a bare number for a time constant",
        lambda: refsim.LIF(2, tau=5.0),
        "'tau'",
        error=refsim.UnitError,
    )
    named("in_size 2.5", lambda: refsim.LIF(2.5), "in_size")
    return out


def _monitor_outside():
    n = refsim.init_all_states(_lif())
    return _run(n, 1, monitors={"V": refsim.StateMonitor(n.V, indices=[7])})


def _network_with_current(current):
    net = refsim.Network()
    net.population(_lif(), current=current)
    refsim.init_all_states(net)
    return net


def _outside_target():
    net = refsim.Network()
    a, b = net.population(_lif()), _lif()
    net.project(
        refsim.AlignPostProj(
            comm=refsim.OneToOne(3, 1 * pq.nS),
            syn=refsim.Expon.desc(3, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=b,
        ),
        a,
    )
    refsim.init_all_states(net)
    refsim.init_all_states(b)
    return net


def _times_outside_the_run():
    n = refsim.init_all_states(_lif(3))
    with refsim.environ.context(dt=0.05 * pq.ms):
        res = refsim.run(lambda: n(30 * pq.mA), 20 * pq.ms, monitors={"s": n}, progress=False)
        inside = res["s"].times().magnitude.copy()
    return res["s"].times().magnitude, inside


def _delays_with_pairs(backend):
    """Two synapses listed out of storage order, (1 -> 0, 3 ms) then (0 -> 1, 0.5 ms), both
    sources starting above threshold (their spike is fed at step 0): the steps at which
    target 1 and target 0 first conduct, 5 and 30 (swapped delays give [30, 5])."""
    with refsim.use_backend(backend):
        net = refsim.Network()
        src = net.population(_lif(2, V_initializer=refsim.init.Constant(-40 * pq.mV)))
        dst = net.population(_lif(2, V_initializer=refsim.init.Constant(-60 * pq.mV)))
        comm = refsim.SparseLinear.from_indices(2, 2, [1, 0], [0, 1], [1.0, 1.0] * pq.uS)
        net.project(
            refsim.AlignPostProj(
                comm=comm,
                syn=refsim.Expon.desc(2, tau=5 * pq.ms),
                out=refsim.COBA.desc(E=0 * pq.mV),
                post=dst,
                delay=[3.0, 0.5] * pq.ms,
            ),
            src,
        )
        refsim.init_all_states(net)
        res = refsim.run(net, 5 * pq.ms, monitors={"g": net.feeds[0][0].syn.g}, progress=False)
    assert res.engine == backend
    g = np.asarray(res["g"])
    return [int(np.argmax(g[:, 1] > 0)), int(np.argmax(g[:, 0] > 0))]


def _poisson_onto_synapse():
    n = _lif(5)
    proj = refsim.AlignPostProj(
        comm=refsim.OneToOne(5, 1 * pq.nS),
        syn=refsim.Expon.desc(5, tau=5 * pq.ms),
        out=refsim.COBA.desc(E=0 * pq.mV),
        post=n,
    )
    refsim.PoissonInput(proj.syn, 100, 50 * pq.Hz, 1 * pq.nS, seed=0)
    refsim.init_all_states(n)
    refsim.run(lambda: n(), 20 * pq.ms, progress=False)
    return float(np.sum(proj.syn.g.data))


# -- numerical blow-ups -----------------------------------------------------------------


def _blow_ups() -> list[Case]:
    out = []
    for backend in ("numpy", "numba"):
        for label, run in (
            ("HH, euler at dt = 0.5 ms", _blow_up("HH", "euler", 0.5, 10 * pq.uA, backend)),
            ("QuaIF, rk4 at dt = 2 ms", _blow_up("QuaIF", "rk4", 2.0, 100 * pq.mA, backend)),
            (
                "WangBuzsakiHH, euler at dt = 0.5 ms",
                _blow_up("WangBuzsakiHH", "euler", 0.5, 10 * pq.uA, backend),
            ),
            (
                "HindmarshRose, euler at dt = 0.5 ms",
                _blow_up("HindmarshRose", "euler", 0.5, 3.0, backend),
            ),
            (
                "AdExIF, adaptation driving V below -1000 mV",
                _blow_up(
                    "AdExIF", "exp_euler", 0.1, 0 * pq.mA, backend, a=1e3 * pq.S, tau_w=0.1 * pq.ms
                ),
            ),
            (
                "FitzHughNagumo, euler at dt = 20 ms",
                _blow_up("FitzHughNagumo", "euler", 20.0, 5.0, backend),
            ),
        ):
            out.append(
                Case(
                    "numerical blow-ups",
                    f"{label} ({backend})",
                    run,
                    error=refsim.NumericalInstability,
                    pattern=r"after step \d+ .*'\.V\[\d+\] = .* (is not finite|lies "
                    r"outside)",
                )
            )
    out.append(
        Case(
            "numerical blow-ups",
            "HH, euler at dt = 0.5 ms (cupy kernels on the host)",
            _host_cupy(_blow_up("HH", "euler", 0.5, 10 * pq.uA, "cupy")),
            error=refsim.NumericalInstability,
            pattern=r"HH '.*'\.V\[\d+\] = nan",
        )
    )
    out.append(
        Case(
            "numerical blow-ups",
            "the result of a blown-up run holds the steps done",
            _steps_kept,
            check=lambda pair: pair[0] == pair[1] == 100,
        )
    )
    return out


def _host_cupy(run):
    def wrapped():
        import host_cupy

        with host_cupy.installed():
            return run()

    return wrapped


def _steps_kept():
    try:
        _blow_up("HH", "euler", 0.5, 10 * pq.uA, "numpy")()
    except refsim.NumericalInstability as exc:
        return exc.result.n_steps, len(exc.result.t)
    return None


# -- resource limits --------------------------------------------------------------------


def _resources() -> list[Case]:
    out = []
    for backend in ("numpy", "numba"):
        net = {}

        def huge_monitor(b=backend, net=net):
            net["n"] = _coba(200)
            net["before"] = net["n"].pop.V.data.copy()
            return _run(net["n"], 1e9, b, monitors={"V": net["n"].pop.V})

        out.append(
            Case(
                "resource limits",
                f"a monitor of 1e10 steps x 200 neurons ({backend})",
                huge_monitor,
                error=refsim.ResourceError,
                pattern=r"recording V: .*iB over 10000000000 steps needs .*iB, "
                r".*iB available",
                after=lambda net=net: np.array_equal(net["n"].pop.V.data, net["before"]),
            )
        )
    out.append(
        Case(
            "resource limits",
            "a callable monitor too large",
            lambda: _run(
                refsim.init_all_states(_lif()), 1e9, monitors={"x": lambda: np.zeros(10_000)}
            ),
            error=refsim.ResourceError,
            pattern=r"recording x: ",
        )
    )
    for label, make in (
        (
            "EventFixedProb(1e6, 1e6, 0.1)",
            lambda: refsim.EventFixedProb(10**6, 10**6, 0.1, 1 * pq.nS),
        ),
        ("FixedProb(1e6, 1e6, 0.1)", lambda: refsim.FixedProb(10**6, 10**6, 0.1, 1 * pq.nS)),
        (
            "FixedInDegree(1e6, 1e6, 1e5)",
            lambda: refsim.FixedInDegree(10**6, 10**6, 10**5, 1 * pq.nS),
        ),
        (
            "FixedOutDegree(1e6, 1e6, 1e5)",
            lambda: refsim.FixedOutDegree(10**6, 10**6, 10**5, 1 * pq.nS),
        ),
        ("AllToAll(1e6, 1e6)", lambda: refsim.AllToAll(10**6, 10**6, 1 * pq.nS)),
        ("Linear(1e6, 1e6)", lambda: refsim.Linear(10**6, 10**6, 1 * pq.nS)),
    ):
        out.append(
            Case(
                "resource limits",
                label,
                make,
                error=refsim.ResourceError,
                pattern=r"synapses.*needs .*B, .*B available",
            )
        )
    out.append(
        Case(
            "resource limits",
            "a 1e5 s run without monitors allocates nothing per step",
            _no_allocation_per_step,
            check=lambda peak: peak < 2**20,
        )
    )
    return out


class _Stop(Exception):
    pass


def _no_allocation_per_step():
    n = refsim.init_all_states(_lif())
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 2:
            raise _Stop
        n()

    tracemalloc.start()
    try:
        refsim.run(step, 1e8 * pq.ms, progress=False)
    except _Stop:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# -- checkpoints ------------------------------------------------------------------------


def _saved(tmp: Path) -> tuple[Path, dict, dict]:
    net = _coba(100)
    res = refsim.run(net, 5 * pq.ms, progress=False)
    path = refsim.save_state(net, tmp / "good", t=res.next_t)
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "manifest"}
        manifest = __import__("json").loads(str(archive["manifest"]))
    return path, manifest, arrays


def _write(path: Path, manifest: dict, arrays: dict) -> Path:
    import json

    np.savez(path, manifest=np.array(json.dumps(manifest)), **arrays)
    return path


def _load_into_fresh(make_file):
    """Make a file (a function of a temporary folder), load it into a fresh network;
    return what load_state returned.  The network's V before and after are kept for
    ``after``."""
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    path = make_file(tmp)
    net = _coba(100)
    _LAST["net"], _LAST["V"] = net, net.pop.V.data.copy()
    return refsim.load_state(net, path)


_LAST: dict = {}


def _untouched() -> bool:
    return np.array_equal(_LAST["net"].pop.V.data, _LAST["V"])


def _variant(change):
    def make(tmp):
        import copy

        path, manifest, arrays = _saved(tmp)
        manifest, arrays = copy.deepcopy(manifest), {k: v.copy() for k, v in arrays.items()}
        change(manifest, arrays)
        return _write(tmp / "bad.npz", manifest, arrays)

    return make


def _bytes(change):
    def make(tmp):
        path = _saved(tmp)[0]
        bad = tmp / "bad.npz"
        bad.write_bytes(change(path.read_bytes()))
        return bad

    return make


def _checkpoints() -> list[Case]:
    out = []

    def refused(name, make, pattern):
        out.append(
            Case(
                "checkpoints",
                name,
                lambda: _load_into_fresh(make),
                error=refsim.CheckpointError,
                pattern=pattern,
                after=_untouched,
            )
        )

    def last_state(arrays):
        return [k for k in arrays if k.startswith("state:")][-1]

    refused("a truncated file", _bytes(lambda b: b[: len(b) // 2]), "not a readable")
    refused("an empty file", _bytes(lambda b: b""), "not a readable")
    refused(
        "bytes overwritten in the middle",
        _bytes(lambda b: b[: len(b) // 2] + b"\0" * 64 + b[len(b) // 2 + 64 :]),
        "not a readable",
    )
    refused(
        "a single .npy array",
        lambda tmp: (np.save(tmp / "x.npy", np.zeros(3)), tmp / "x.npy")[1],
        "single array",
    )
    refused(
        "an .npz without a manifest",
        lambda tmp: (np.savez(tmp / "x.npz", a=np.zeros(2)), tmp / "x.npz")[1],
        "without a manifest",
    )
    refused("a missing file", lambda tmp: tmp / "none.npz", "no such checkpoint file")
    for key in ("t_ms", "dt_ms", "states", "queued", "attributes", "refsim.random", "format"):
        refused(
            f"a manifest without {key!r}",
            _variant(lambda m, a, k=key: m.pop(k)),
            rf"'{re.escape(key)}'|format",
        )
    refused("a manifest whose t_ms is text", _variant(lambda m, a: m.update(t_ms="5")), "'t_ms'")
    refused(
        "the last state one element short",
        _variant(lambda m, a: a.update({last_state(a): a[last_state(a)][:-1]})),
        "has shape",
    )
    refused(
        "a NaN written into a state",
        _variant(lambda m, a: a[last_state(a)].__setitem__(0, np.nan)),
        "not finite",
    )
    refused(
        "a corrupt random-stream state",
        _variant(lambda m, a: m["refsim.random"].update(state={"state": "x"})),
        "random stream refsim.random",
    )
    refused("another dt", _variant(lambda m, a: m.update(dt_ms=0.05)), "dt = 0.05")
    refused(
        "another model's states",
        _variant(
            lambda m, a: (
                m["states"].update(extra=[[3], "float64"]) or a.update({"state:extra": np.zeros(3)})
            )
        ),
        "another model",
    )
    refused(
        "a queued input of an unknown queue",
        _variant(
            lambda m, a: (
                m["queued"].append(["populations[0]", "elsewhere", "k"])
                or a.update({f"queued:{len(m['queued']) - 1}": np.zeros(100)})
            )
        ),
        "queue",
    )
    out.append(
        Case(
            "checkpoints",
            "a file written by a newer refsim loads, with a warning",
            _newer_file_warns,
            check=lambda warned: warned,
        )
    )
    out.append(
        Case(
            "checkpoints",
            "saving NaN states",
            _save_nan,
            error=refsim.CheckpointError,
            pattern="not finite",
        )
    )
    out.append(
        Case(
            "checkpoints",
            "saving into a folder that does not exist yet",
            _save_into_new_folder,
            check=lambda ok: ok,
        )
    )
    out.append(
        Case(
            "checkpoints",
            "saving over a folder",
            _save_over_folder,
            error=refsim.CheckpointError,
            pattern="is a folder",
        )
    )
    out.append(
        Case(
            "checkpoints",
            "a Ctrl-C while saving keeps the old file whole",
            _ctrl_c_while_saving,
            check=lambda ok: ok,
        )
    )
    return out


def _newer_file_warns():
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _load_into_fresh(_variant(lambda m, a: m.update(refsim="99.0.0")))
    return any(
        issubclass(w.category, refsim.CheckpointWarning) and "99.0.0" in str(w.message)
        for w in seen
    )


def _save_nan():
    import tempfile

    net = _coba(100)
    net.pop.V.data[3] = np.nan  # as a run that ended in NumericalInstability leaves it
    return refsim.save_state(net, Path(tempfile.mkdtemp()) / "x", t=0 * pq.ms)


def _save_into_new_folder():
    import tempfile

    net = _coba(100)
    path = refsim.save_state(net, Path(tempfile.mkdtemp()) / "a" / "b" / "x", t=0 * pq.ms)
    refsim.load_state(_coba(100), path)
    return path.is_file()


def _save_over_folder():
    import tempfile

    folder = Path(tempfile.mkdtemp()) / "x.npz"
    folder.mkdir()
    return refsim.save_state(_coba(100), folder, t=0 * pq.ms)


def _ctrl_c_while_saving():
    """A KeyboardInterrupt raised while the archive is written: the old file is whole and
    no temporary file is left."""
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    net = _coba(100)
    path = refsim.save_state(net, tmp / "x", t=0 * pq.ms)
    old = path.read_bytes()
    real = np.savez

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    np.savez = interrupted
    try:
        refsim.save_state(net, tmp / "x", t=1 * pq.ms)
    except KeyboardInterrupt:
        pass
    finally:
        np.savez = real
    return path.read_bytes() == old and sorted(p.name for p in tmp.iterdir()) == ["x.npz"]


# -- Ctrl-C -----------------------------------------------------------------------------


def _sigint_during(where: str, backend: str):
    """A Ctrl-C sent as a terminal sends it while ``where`` runs ('plan': the compiled
    run's preparation; 'steps': the steps); returns (steps done, the run's total) from
    RunInterrupted."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if where == "steps":  # compiled (or loaded) before the timer starts
        _run(_coba(200), 1, backend)
    if where == "plan":
        from refsim.backends import numba as numba_backend

        real = numba_backend.plan

        def plan_then_ctrl_c(n):
            os.kill(os.getpid(), signal.SIGINT)
            return real(n)

        numba_backend.plan = plan_then_ctrl_c
    # a signal sent too early for 'steps' (a busy machine still preparing the run) stops
    # it before step 0: then a fresh run gets one later
    for delay in (0.5, 1, 2, 4, 8):
        net = _coba(2000)
        if where == "steps":
            import threading

            threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            with refsim.use_backend(backend):
                refsim.run(net, 20_000 * pq.ms, progress=False)
        except refsim.RunInterrupted as stop:
            if where == "plan" or stop.result.n_steps > 0:
                return stop.result.n_steps, net.pop.V.data.size
        else:
            return None
    return 0, net.pop.V.data.size


def _ctrl_c() -> list[Case]:
    out = []
    for backend in ("numpy", "numba"):
        out.append(
            Case(
                "Ctrl-C",
                f"a Ctrl-C during the steps ({backend})",
                lambda b=backend: _sigint_during("steps", b),
                check=lambda r: r is not None and 0 < r[0] < 200_000,
                child=True,
            )
        )
    out.append(
        Case(
            "Ctrl-C",
            "a Ctrl-C while the numba run is prepared (planned, sorted)",
            lambda: _sigint_during("plan", "numba"),
            check=lambda r: r is not None and r[0] == 0,
            child=True,
        )
    )
    out.append(
        Case(
            "Ctrl-C",
            "a Ctrl-C during the cupy kernels on the host",
            _host_cupy(lambda: _sigint_during("steps", "cupy")),
            check=lambda r: r is not None and 0 < r[0] < 200_000,
            child=True,
        )
    )
    out.append(
        Case(
            "Ctrl-C",
            "refsim validate stopped by Ctrl-C ends with one line, status 130",
            _validate_ctrl_c,
            check=lambda r: r[0] == 130 and r[1] == 1,
        )
    )
    return out


def _validate_ctrl_c():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "refsim.cli",
            "validate",
            "--quick",
            "--jobs",
            "1",
            "--backend",
            "numpy",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    process.stderr.readline()  # its first progress line: the cases have begun
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return process.returncode, err.count("stopped by Ctrl-C")


# -- concurrency ------------------------------------------------------------------------

_SAVER = textwrap.dedent("""
    import sys, quantities as pq, refsim
    from refsim.validation.networks import COBANet
    refsim.random.seed(1)
    net = COBANet(2000, 1, 40.0)
    refsim.init_all_states(net)
    for k in range(20):
        refsim.save_state(net, sys.argv[1], t=k * 0.1 * pq.ms)
""")


def _two_savers():
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(tmp / "same")], stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    codes = [(p.wait(120), p.stderr.read()) for p in procs]
    refsim.load_state(_coba(2000), tmp / "same.npz")
    return [c for c, _ in codes], sorted(p.name for p in tmp.iterdir())


def _killed_saver():
    """A saver killed (SIGKILL) mid-way: the file at the path is whole (loads) or absent;
    only the dead writer's own temporary file may be left, under a hidden name."""
    import tempfile
    import time

    tmp = Path(tempfile.mkdtemp())
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(tmp / "x")])
    time.sleep(4)
    proc.kill()
    proc.wait()
    target = tmp / "x.npz"
    if target.exists():
        refsim.load_state(_coba(2000), target)
    return all(
        p.name == "x.npz" or (p.name.startswith(".x.npz.") and p.name.endswith(".part"))
        for p in tmp.iterdir()
    )


def _threads_run_apart():
    """Two numpy runs in two threads see their own clock (refsim.environ's context is
    per thread): both equal a run alone."""
    import threading

    def spikes(out, key):
        net = refsim.Network()
        pop = net.population(
            refsim.LIFRef(
                50,
                tau=10 * pq.ms,
                V_th=-50 * pq.mV,
                V_reset=-60 * pq.mV,
                V_rest=-60 * pq.mV,
                tau_ref=5 * pq.ms,
            ),
            current=30 * pq.mA,
        )
        refsim.init_all_states(net)
        with refsim.use_backend("numpy"):
            out[key] = refsim.run(net, 50 * pq.ms, monitors={"s": pop}, progress=False)[
                "s"
            ].steps.copy()

    alone = {}
    spikes(alone, 0)
    both = {}
    threads = [threading.Thread(target=spikes, args=(both, k)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [np.array_equal(alone[0], both[k]) for k in (1, 2)]


def _two_compilers():
    """Two processes compiling (or loading) the numba loop at once, as refsim validate's
    workers do: both run and agree."""
    code = textwrap.dedent("""
        import refsim, quantities as pq
        from refsim.validation.networks import COBANet
        refsim.random.seed(1); net = COBANet(500, 1, 40.0); refsim.init_all_states(net)
        net.kick_start(1)
        with refsim.use_backend("numba"):
            print(refsim.run(net, 50 * pq.ms, monitors={"s": net.pop}, progress=False)["s"].count)
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    return [(p.wait(600), p.stdout.read().strip()) for p in procs]


def _concurrency() -> list[Case]:
    return [
        Case(
            "concurrency",
            "two processes saving a checkpoint to one path",
            _two_savers,
            check=lambda r: r[0] == [0, 0] and r[1] == ["same.npz"],
        ),
        Case("concurrency", "a save killed mid-way (SIGKILL)", _killed_saver, check=lambda ok: ok),
        Case(
            "concurrency",
            "two numpy runs in two threads",
            _threads_run_apart,
            check=lambda r: r == [True, True],
        ),
        Case(
            "concurrency",
            "two processes compiling the numba loop at once",
            _two_compilers,
            check=lambda r: r[0][0] == r[1][0] == 0 and r[0][1] == r[1][1] != "",
        ),
    ]


def _unread_jumps():
    """A LIF whose own update forgets ``sum_delta_inputs``, under a PoissonInput, stepped."""

    class DeafLIF(refsim.LIF):
        def update(self, x=None):
            V = self.V.data
            current, _ = self.sum_current_inputs(self._external(x), V)
            self.V.data = V + refsim.environ.dt_ms() * (self.p.V_rest - V + current) / self.p.tau
            return self.get_spike()

    pop = DeafLIF(3)
    refsim.PoissonInput(pop, 10, 100 * pq.Hz, 1 * pq.mV, seed=1)
    refsim.init_all_states(pop)
    with refsim.environ.context(dt=0.1 * pq.ms, t=0 * pq.ms):
        pop(0 * pq.nA)


def _unread_currents():
    """A LIF whose own update forgets ``sum_current_inputs``, the target of a COBA
    projection, stepped."""

    class NumbLIF(refsim.LIF):
        def update(self, x=None):
            V = self.V.data
            self.V.data = V + refsim.environ.dt_ms() * (self.p.V_rest - V) / self.p.tau
            return self.get_spike()

    pop = NumbLIF(3)
    proj = refsim.AlignPostProj(
        comm=refsim.EventFixedProb(3, 3, 0.5, 1 * pq.mS, seed=1),
        syn=refsim.Expon.desc(3),
        out=refsim.COBA.desc(E=0 * pq.mV),
        post=pop,
    )
    holder = refsim.Module()
    holder.pop, holder.proj = pop, proj
    refsim.init_all_states(holder)
    with refsim.environ.context(dt=0.1 * pq.ms, t=0 * pq.ms):
        proj(pop.get_spike())
        pop(0 * pq.nA)


def all_cases() -> list[Case]:
    """Every case, in the order of the table."""
    return _bad_input() + _blow_ups() + _resources() + _checkpoints() + _ctrl_c() + _concurrency()


def table(results: dict[str, tuple[str, str]] | None = None, markdown: bool = False) -> str:
    """The table of ``docs/reliability.md``: per category, how many cases were tried and
    how many ended in each kind (``results``: case name -> (kind, detail); run here when
    None)."""
    cases = all_cases()
    if results is None:
        results = {c.name: outcome(c) for c in cases}
    header = ("category", "tried", *KINDS)
    rows = []
    for category in CATEGORIES:
        mine = [c for c in cases if c.category == category]
        counts = [sum(results[c.name][0] == kind for c in mine) for kind in KINDS]
        rows.append((category, str(len(mine)), *(str(n) for n in counts)))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    return "\n".join("  ".join(f"{cell:>14}" for cell in row) for row in [header, *rows])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    found = {}
    for case in all_cases():
        found[case.name] = outcome(case)
        if found[case.name][0] != case.expect:
            print(f"{case.category} / {case.name}: {found[case.name]}", file=sys.stderr)
    print(table(found, markdown="--markdown" in sys.argv))
