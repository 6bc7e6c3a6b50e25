"""The ``refsim`` command.

``refsim validate [--out DIR] [--case PATTERN]``
    Run the validation cases, print a table (case, quantity, error,
    tolerance, pass), write it with plots to DIR, exit 1 if any case fails.
``refsim info``
    Versions of refsim and its dependencies.
``refsim --version``
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

from refsim._version import __version__


def _validate(args: argparse.Namespace) -> int:
    from refsim.validation import run_case, select
    from refsim.validation.report import format_table, write_report

    cases = select(args.case)
    if not cases:
        print(f"no validation case matches {args.case!r}", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    results = []
    for c in tqdm(cases, desc="validating", unit="case", disable=None, leave=False):
        results.append(run_case(c))
    print(format_table(results))
    failed = [r.name for r in results if not r.passed]
    total_s = sum(r.seconds for r in results)
    print(f"\n{len(results)} cases, {len(results) - len(failed)} passed, {len(failed)} failed "
          f"({total_s:.1f} s)")
    if failed:
        print("failed: " + ", ".join(failed))
    if args.out:
        files = write_report(results, Path(args.out))
        print(f"report: {files['summary']} (and {files['json'].name}, plots/)")
    return 1 if failed else 0


def _info(args: argparse.Namespace) -> int:
    import numpy
    import quantities
    import scipy

    print(f"refsim {__version__}")
    print(f"python {platform.python_version()} ({platform.machine()}, {platform.system()})")
    for name, mod in (("numpy", numpy), ("scipy", scipy), ("quantities", quantities)):
        print(f"{name} {mod.__version__}")
    print("backends available: numpy")
    print("backend in use: numpy")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="refsim", description="A reference simulator for spiking neural networks."
    )
    parser.add_argument("--version", action="version", version=f"refsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="run the validation suite")
    p.add_argument("--out", metavar="DIR", help="write summary.md, results.json and plots here")
    p.add_argument("--case", metavar="PATTERN",
                   help="only cases whose name matches (shell pattern or substring; "
                        "comma-separated)")
    p.set_defaults(func=_validate)
    p = sub.add_parser("info", help="print versions and the backend in use")
    p.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
