"""The ``refsim`` command.

``refsim validate [--quick] [--case PATTERN] [--out DIR] [--json FILE] [--jobs N] [--backend B]``
    Run the validation cases, print a table (case, quantity, error, tolerance, pass),
    write an HTML report, its Markdown twin and plots to DIR, exit 1 if any case fails.
``refsim compare REFERENCE.npz CANDIDATE.npz [--atol A] [--rtol R] [--max-step-offset K] ...``
    Compare traces and spike trains of another simulator against a reference, print the
    table, optionally write the same report, exit 1 if a check fails.
``refsim bench [--model M] [--N N ...] [--backend B] [--repeats K] [--peers] ...``
    Time the COBA and CUBA benchmark networks per backend (:mod:`refsim.validation.bench`).
``refsim compile [--backend B]``
    Compile the numba loop (and the GPU kernels where CuPy runs) ahead of a sweep or a job,
    so that the first run of each worker loads them from the cache; say where and how long.
``refsim info``
    Versions of refsim and its dependencies.

A numeric option out of its range (``--jobs 0``, ``--N 2.5``, ``--rtol -1``) is refused by
argparse with exit status 2, naming the option, what it expects and what came.
``refsim --version``
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
from pathlib import Path

from refsim._version import __version__


def at_least(kind: type, least: float, strict: bool = False):
    """An argparse ``type``: the option's text as ``kind`` (int or float), finite and
    ``>= least`` (``> least`` where ``strict``); argparse reports a bad value naming the
    option, what it expected and what came."""
    bound = f"{'>' if strict else '>='} {least:g}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {kind.__name__} {bound}, got {text!r}"
            ) from None
        if not math.isfinite(value) or not (value > least if strict else value >= least):
            raise argparse.ArgumentTypeError(f"expected {kind.__name__} {bound}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def writable(kind: str):
    """An argparse ``type`` for an output path, checked before any work is done so that
    no run is lost to a path that cannot be written at its end: ``kind='folder'`` creates
    the folder (and its parents); ``kind='file'`` creates the file's folder and refuses an
    existing folder in its place."""

    def parse(text: str) -> str:
        path = Path(text)
        folder = path if kind == "folder" else path.parent
        existing = next((f for f in (folder, *folder.parents) if f.exists()), None)
        if existing is not None and not existing.is_dir():
            raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise argparse.ArgumentTypeError(
                f"cannot create the folder {folder}: {exc.strerror or exc}"
            ) from None
        if kind == "file" and path.is_dir():
            raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
        if not os.access(folder, os.W_OK):
            raise argparse.ArgumentTypeError(f"cannot write in the folder {folder}")
        return text

    parse.__name__ = f"writable {kind}"
    return parse


def _run_named(name: str, backend: str | None = None):
    """Run one case by name (in a worker process)."""
    from refsim.backends import use_backend
    from refsim.validation import CASES, run_case, select

    select()  # registers the cases in this process
    if backend is None:
        return run_case(CASES[name])
    with use_backend(backend):
        return run_case(CASES[name])


def _validate_on(backend: str, names: list, jobs: int) -> list:
    """The validation cases ``names`` run on ``backend`` in ``jobs`` processes, with a bar
    (or, where stderr is not a terminal, a line per case)."""
    from tqdm.auto import tqdm

    print(
        f"refsim validate: {len(names)} cases on {backend}, {jobs} process"
        f"{'es' if jobs > 1 else ''}"
        + (
            " (with a cold cache Numba first compiles the loops the cases use: minutes;"
            " the cases driven by a step function that does not compile, such as a"
            " synapse alone, run their NumPy code)"
            if backend != "numpy"
            else ""
        ),
        file=sys.stderr,
        flush=True,
    )
    bar = tqdm(
        total=len(names), desc=f"validating ({backend})", unit="case", disable=None, leave=False
    )
    piped = not sys.stderr.isatty()  # no bar there: a line per case instead
    batch = []

    def done(result):
        batch.append(result)
        bar.update()
        if piped:
            print(
                f"[{len(batch)}/{len(names)}] {result.name}: "
                f"{'pass' if result.passed else 'FAIL'} ({result.seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

    if jobs > 1 and len(names) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # a CUDA context does not survive fork(): cupy workers start afresh
        context = multiprocessing.get_context("spawn" if backend == "cupy" else None)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for result in pool.map(_run_named, names, [backend] * len(names)):
                done(result)
    else:
        for name in names:
            done(_run_named(name, backend))
    bar.close()
    return batch


def _validate(args: argparse.Namespace) -> int:
    from refsim.validation import select
    from refsim.validation.report import format_table, write_json, write_report

    cases = select(args.case, quick=args.quick)
    if not cases:
        print(f"no validation case matches {args.case!r}", file=sys.stderr)
        return 2
    from refsim import backends
    from refsim.backends.plan import usable_cores

    if args.backend == "all":
        chosen = [b for b, (ok, _) in backends.available().items() if ok]
    else:
        chosen = [args.backend or backends.get_backend()]
    names = [c.name for c in cases]
    jobs = args.jobs or min(2, usable_cores())
    results = []
    for backend in chosen:
        batch = _validate_on(backend, names, jobs)
        if len(chosen) > 1:
            for result in batch:
                result.name = f"{result.name} [{backend}]"
        results.extend(batch)
    args.backend = ",".join(chosen)
    print(format_table(results))
    failed = [r.name for r in results if not r.passed]
    total_s = sum(r.seconds for r in results)
    print(
        f"\n{len(results)} cases, {len(results) - len(failed)} passed, {len(failed)} failed "
        f"({total_s:.1f} s of case time, backend {args.backend})"
    )
    if failed:
        print("failed: " + ", ".join(failed))
    if args.out:
        files = write_report(results, Path(args.out), backend=args.backend)
        print(
            f"report: {files['html']} (and {files['summary'].name}, {files['json'].name}, plots/)"
        )
    if args.json:
        print(f"json: {write_json(results, Path(args.json), backend=args.backend)}")
    return 1 if failed else 0


def _compare(args: argparse.Namespace) -> int:
    from refsim.validation.compare import compare_files
    from refsim.validation.report import format_table, write_json, write_report

    try:
        result = compare_files(
            args.reference,
            args.candidate,
            atol=args.atol,
            rtol=args.rtol,
            max_step_offset=args.max_step_offset,
            max_count_difference=args.max_count_difference,
            van_rossum_tau_ms=args.van_rossum,
            van_rossum_tol=args.van_rossum_tol,
        )
    except ValueError as exc:  # a file that cannot be read, or holds nothing to compare
        print(f"refsim compare: {exc}", file=sys.stderr)
        return 2
    print(format_table([result]))
    print("\nPASS" if result.passed else "\nFAIL")
    if args.out:
        print(f"report: {write_report([result], Path(args.out))['html']}")
    if args.json:
        print(f"json: {write_json([result], Path(args.json))}")
    return 0 if result.passed else 1


def _compile(args: argparse.Namespace) -> int:
    """Compile (or load) each backend's loop for the networks users start from (the COBA,
    CUBA and Brunel benchmarks, small: an AlignPostProj of Expon into COBA, into CUBA, and
    delayed DeltaProj with a PoissonInput); a line per backend.  A network that needs
    other passes compiles them at its first run (numba compiles only what a network uses,
    ``docs/backends.md``)."""
    import quantities as pq

    import refsim
    from refsim import backends
    from refsim.validation.networks import BrunelNet, COBANet, CUBANet

    usable = backends.available()
    chosen = ["numba", "cupy"] if args.backend == "all" else [args.backend]
    failed = 0
    for backend in chosen:
        ok, detail = usable[backend]
        if not ok:
            print(f"{backend}: not compiled, not usable here: {detail}")
            failed += args.backend != "all"
            continue
        took, engines = 0.0, set()
        for net in (COBANet(200, 1), CUBANet(200, 1), BrunelNet(200, 1)):
            refsim.init_all_states(net)
            with backends.use_backend(backend):
                res = refsim.run(net, 1 * pq.ms, progress=True)
            took += res.compile_s
            engines.add(res.engine)
        if engines != {backend}:
            print(f"{backend}: not compiled: {', '.join(sorted(engines - {backend}))}")
            failed += 1
            continue
        print(f"{backend}: ready ({took:.1f} s to compile or load){_where(backend)}")
    return 1 if failed else 0


def _where(backend: str) -> str:
    """Where ``backend`` keeps what it compiled, for a message."""
    if backend != "numba":
        return ""
    from refsim.backends.numba.cache import cache_folder, last_cold_compile

    last = last_cold_compile()
    cold = f"; the last cold compile here took {last:.0f} s" if last else ""
    return f", cached in {cache_folder()}{cold}"


def _info(args: argparse.Namespace) -> int:
    import numpy
    import quantities
    import scipy

    print(f"refsim {__version__}")
    print(f"python {platform.python_version()} ({platform.machine()}, {platform.system()})")
    for name, mod in (("numpy", numpy), ("scipy", scipy), ("quantities", quantities)):
        print(f"{name} {mod.__version__}")
    from refsim import backends

    print("backends (* in use):")
    try:
        for line in backends.backend_versions():
            print("  " + line)
    except (ValueError, backends.BackendError) as exc:  # e.g. a bad REFSIM_BACKEND
        print(f"  error: {exc}")
        return 1
    if backends.available()["numba"][0]:
        print(f"numba optimisation level: {_numba_level()}")
    return 0


def _numba_level() -> str:
    """The optimisation level the numba backend compiles at, and who chose it (refsim sets
    2 where ``NUMBA_OPT`` is not set: ``refsim/backends/numba/__init__.py``)."""
    chosen = os.environ.get("NUMBA_OPT")
    if chosen is not None:
        return f"{chosen} (NUMBA_OPT)"
    return "2 (refsim's, as NUMBA_OPT is not set; Numba's own default is 3)"


def _validate_options(p: argparse.ArgumentParser) -> None:
    """The options of ``refsim validate``."""
    p.add_argument(
        "--out",
        metavar="DIR",
        type=writable("folder"),
        help="write report.html, summary.md, results.json and plots/ here",
    )
    p.add_argument(
        "--json", metavar="FILE", type=writable("file"), help="write machine-readable results here"
    )
    p.add_argument(
        "--case",
        metavar="PATTERN",
        help="only cases whose name matches (shell pattern or substring; comma-separated)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="skip the statistical and convergence cases (about 1 min on 2 cores "
        "with a warm Numba cache; docs/validation.md)",
    )
    p.add_argument(
        "--jobs",
        type=at_least(int, 1),
        default=None,
        help="cases run in parallel processes (default: 2, or the cores this "
        "process may use if fewer)",
    )
    p.add_argument(
        "--backend",
        choices=["numpy", "numba", "cupy", "all"],
        default=None,
        help="backend to validate on (default: the one in use); all: every "
        "backend that runs here, one after the other",
    )
    p.set_defaults(func=_validate)


def _compare_options(p: argparse.ArgumentParser) -> None:
    """The options of ``refsim compare``."""
    p.add_argument("reference", help="reference .npz (layout: docs/validation.md)")
    p.add_argument("candidate", help="candidate .npz")
    p.add_argument(
        "--atol", type=at_least(float, 0.0), default=0.0, help="absolute tolerance of traces"
    )
    p.add_argument(
        "--rtol",
        type=at_least(float, 0.0),
        default=1e-9,
        help="tolerance of traces relative to max |reference| (default 1e-9)",
    )
    p.add_argument(
        "--max-step-offset",
        type=at_least(int, 0),
        default=0,
        help="largest allowed offset of matched spikes, in steps",
    )
    p.add_argument(
        "--max-count-difference",
        type=at_least(int, 0),
        default=0,
        help="largest allowed total spike-count difference",
    )
    p.add_argument(
        "--van-rossum",
        type=at_least(float, 0.0, strict=True),
        metavar="TAU_MS",
        help="also report the van Rossum distance with this kernel time constant",
    )
    p.add_argument("--van-rossum-tol", type=at_least(float, 0.0), default=0.5)
    p.add_argument("--out", metavar="DIR", type=writable("folder"), help="write the report here")
    p.add_argument(
        "--json", metavar="FILE", type=writable("file"), help="write machine-readable results here"
    )
    p.set_defaults(func=_compare)


def _parser() -> argparse.ArgumentParser:
    """``refsim``'s parser: validate, compare, bench (its own parser), compile, info."""
    parser = argparse.ArgumentParser(
        prog="refsim", description="A reference simulator for spiking neural networks."
    )
    parser.add_argument("--version", action="version", version=f"refsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _validate_options(sub.add_parser("validate", help="run the validation suite"))
    _compare_options(
        sub.add_parser("compare", help="compare another simulator's output with a reference")
    )
    p = sub.add_parser(
        "bench",
        help="time the benchmark networks (COBA, CUBA, COBAHH, Brunel, the microcircuit)",
        add_help=False,
    )
    p.set_defaults(func=None)
    p = sub.add_parser("compile", help="compile the backends' code ahead of a sweep or job")
    p.add_argument(
        "--backend",
        choices=["numba", "cupy", "all"],
        default="numba",
        help="what to compile (default numba; all: numba and, where CuPy runs, the GPU kernels)",
    )
    p.set_defaults(func=_compile)
    p = sub.add_parser("info", help="print versions and the backend in use")
    p.set_defaults(func=_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"]:  # its own parser: refsim bench --help lists its options
            from refsim.validation.bench import main as bench_main

            return bench_main(argv[1:])
        args = parser.parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:  # a Ctrl-C: one line, not a traceback, and the shell's status
        print("refsim: stopped by Ctrl-C", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
