"""Tables, files and plots of a validation run."""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import numpy as np

import refsim
from refsim.validation import CaseResult

__all__ = ["table_rows", "format_table", "write_report"]

_HEADER = ("case", "quantity", "error", "tolerance", "pass")


def table_rows(results: list[CaseResult]) -> list[tuple[str, str, str, str, str]]:
    """One row per metric: (case, quantity, error, tolerance, PASS/FAIL)."""
    return [
        (r.name, m.quantity, f"{m.error:.3g}", f"{m.tolerance:.3g}", "PASS" if m.passed else "FAIL")
        for r in results
        for m in r.metrics
    ]


def format_table(results: list[CaseResult]) -> str:
    """A fixed-width text table of every metric."""
    rows = [_HEADER, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    widths[1] = min(widths[1], 70)
    lines = []
    for k, row in enumerate(rows):
        cells = [row[i][: widths[i]].ljust(widths[i]) for i in range(len(row))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _environment() -> dict:
    import quantities
    import scipy

    return {
        "refsim": refsim.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "quantities": quantities.__version__,
        "backend": "numpy",
        "dtype": "float64",
        "machine": f"{platform.machine()} {platform.system()} {platform.release()}",
    }


def _plot(result: CaseResult, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    curves = result.curves
    fig, axes = plt.subplots(2, len(curves), figsize=(5 * len(curves), 5), squeeze=False)
    for k, c in enumerate(curves):
        top, bottom = axes[0, k], axes[1, k]
        top.plot(c.x, c.reference, color="0.6", lw=3, label="reference")
        top.plot(c.x, c.refsim, color="C0", lw=1, label="refsim")
        top.set_title(c.title, fontsize=9)
        top.set_ylabel(c.ylabel)
        top.legend(fontsize=8)
        bottom.plot(c.x, np.asarray(c.refsim, float) - np.asarray(c.reference, float), color="C3")
        bottom.set_xlabel(c.xlabel)
        bottom.set_ylabel("refsim - reference")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def write_report(results: list[CaseResult], out: Path) -> dict[str, Path]:
    """Write ``summary.md``, ``results.json`` and one PNG per case with curves into ``out``."""
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    env = _environment()
    plots: dict[str, str] = {}
    for r in results:
        if r.curves:
            path = out / "plots" / f"{_slug(r.name)}.png"
            if _plot(r, path):
                plots[r.name] = f"plots/{path.name}"
    n_fail = sum(not r.passed for r in results)
    lines = [
        "# refsim validation report",
        "",
        f"{len(results)} cases, {len(results) - n_fail} passed, {n_fail} failed.",
        "",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()),
        "",
        "| " + " | ".join(_HEADER) + " | reason |",
        "|" + "---|" * (len(_HEADER) + 1),
    ]
    for r in results:
        for m in r.metrics:
            lines.append(f"| {r.name} | {m.quantity} | {m.error:.3g} | {m.tolerance:.3g} | "
                         f"{'PASS' if m.passed else 'FAIL'} | {m.reason} |")
    lines.append("")
    for r in results:
        lines += [f"## {r.name}", "", r.description, ""]
        if r.name in plots:
            lines += [f"![{r.name}]({plots[r.name]})", ""]
    (out / "summary.md").write_text("\n".join(lines))
    payload = {
        "environment": env,
        "cases": [
            {"name": r.name, "kind": r.kind, "passed": r.passed, "seconds": round(r.seconds, 4),
             "metrics": [{"quantity": m.quantity, "error": m.error, "tolerance": m.tolerance,
                          "passed": m.passed, "reason": m.reason} for m in r.metrics]}
            for r in results
        ],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=1))
    return {"summary": out / "summary.md", "json": out / "results.json"}
