"""Tables, files and plots of a validation run.

``write_report`` writes, into one folder:

* ``report.html``: self-contained (every plot embedded as a PNG data URI), opens in any
  browser: the summary table, a plot per case, the environment;
* ``summary.md``: its Markdown twin, with the plots as ``plots/*.png`` files;
* ``results.json``: machine-readable results (``write_json``) for another simulator's CI.
"""

from __future__ import annotations

import base64
import html
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


def git_commit() -> str | None:
    """The commit of the checkout refsim runs from (``+ changes`` where files differ from
    it), or None where refsim is not run from a git checkout."""
    import subprocess

    folder = Path(refsim.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0:
            return None
        changed = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" + changes" if changed else "")


def environment(backend: str = "numpy") -> dict:
    """When, where and with what a report was made: the date, refsim's version and git
    commit (where run from a checkout), the versions of Python, NumPy, Numba, SciPy and
    quantities, the CPU and its usable cores, the backend, dtype and seed policy."""
    import quantities
    import scipy

    from refsim.validation.bench import machine

    host = machine()
    return {
        "date": host["date"],
        "refsim": refsim.__version__,
        "git commit": git_commit() or "not run from a git checkout",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": host["numba"] or "not installed",
        "scipy": scipy.__version__,
        "quantities": quantities.__version__,
        "backend": backend,
        "dtype": np.dtype(refsim.environ.dftype()).name,  # float32 cases set their own
        "seeds": "fixed per case (see each case)",
        "cpu": host["cpu"] + (f" (LLVM: {host['llvm_cpu']})" if host["llvm_cpu"] else ""),
        "machine": f"{platform.machine()} {platform.system()} {platform.release()}, "
        f"{host['cores']} cores usable",
    }


def _cell(text) -> str:
    """``text`` as one Markdown table cell: ``|`` escaped, no line break."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


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


def _payload(results: list[CaseResult], env: dict) -> dict:
    return {
        "environment": env,
        "summary": {
            "cases": len(results),
            "passed": sum(r.passed for r in results),
            "failed": sum(not r.passed for r in results),
        },
        "cases": [
            {
                "name": r.name,
                "kind": r.kind,
                "description": r.description,
                "passed": r.passed,
                "seconds": round(r.seconds, 4),
                "metrics": [
                    {
                        "quantity": m.quantity,
                        "error": float(m.error),
                        "tolerance": float(m.tolerance),
                        "passed": m.passed,
                        "reason": m.reason,
                    }
                    for m in r.metrics
                ],
            }
            for r in results
        ],
    }


def write_json(results: list[CaseResult], path: Path, backend: str = "numpy") -> Path:
    """Write the machine-readable results to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_payload(results, environment(backend)), indent=1))
    return path


def _html(results: list[CaseResult], env: dict, plots: dict[str, Path]) -> str:
    esc = html.escape
    n_fail = sum(not r.passed for r in results)
    rows = "\n".join(
        f"<tr class='{'pass' if m.passed else 'fail'}'><td>{esc(r.name)}</td>"
        f"<td>{esc(m.quantity)}</td><td>{m.error:.3g}</td><td>{m.tolerance:.3g}</td>"
        f"<td>{'PASS' if m.passed else 'FAIL'}</td><td>{esc(m.reason)}</td></tr>"
        for r in results
        for m in r.metrics
    )
    sections = []
    for r in results:
        img = ""
        if r.name in plots:
            data = base64.b64encode(plots[r.name].read_bytes()).decode("ascii")
            img = f"<img alt='{esc(r.name)}' src='data:image/png;base64,{data}'>"
        sections.append(
            f"<section id='{_slug(r.name)}'><h2>{esc(r.name)} "
            f"({'pass' if r.passed else 'FAIL'})</h2><p>{esc(r.description)}</p>"
            f"{img}</section>"
        )
    env_rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>" for k, v in env.items())
    toc = "".join(
        f"<li><a href='#{_slug(r.name)}'>{esc(r.name)}</a> "
        f"{'pass' if r.passed else '<b>FAIL</b>'}</li>"
        for r in results
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>refsim validation report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;font-size:0.85em}}td,th{{border:1px solid #ccc;padding:2px 6px}}
tr.fail{{background:#fdd}}tr.pass td:nth-child(5){{color:#060}}img{{max-width:100%}}</style>
</head><body><h1>refsim validation report</h1>
<p>{len(results)} cases, {len(results) - n_fail} passed, {n_fail} failed.</p>
<h2>Environment</h2><table>{env_rows}</table>
<h2>Cases</h2><ul>{toc}</ul>
<h2>Summary</h2><table><tr><th>case</th><th>quantity</th><th>error</th><th>tolerance</th>
<th>pass</th><th>reason for the tolerance</th></tr>
{rows}</table>
{"".join(sections)}
<script>/* for tests: how many plots the browser decoded */
window.addEventListener("load", function () {{
  var shown = Array.prototype.filter.call(document.images,
    function (i) {{ return i.complete && i.naturalWidth > 0; }}).length;
  document.body.setAttribute("data-images-shown", String(shown));
}});</script>
</body></html>
"""


def write_report(results: list[CaseResult], out: Path, backend: str = "numpy") -> dict[str, Path]:
    """Write ``report.html``, ``summary.md``, ``results.json`` and ``plots/`` into ``out``."""
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    env = environment(backend)
    plots: dict[str, Path] = {}
    for r in results:
        if r.curves:
            path = out / "plots" / f"{_slug(r.name)}.png"
            if _plot(r, path):
                plots[r.name] = path
    n_fail = sum(not r.passed for r in results)
    lines = [
        "# refsim validation report",
        "",
        f"{len(results)} cases, {len(results) - n_fail} passed, {n_fail} failed.",
        "",
        "## Environment",
        "",
        "| | |",
        "|---|---|",
        *[f"| {_cell(k)} | {_cell(v)} |" for k, v in env.items()],
        "",
        "## Cases",
        "",
        *[f"- [{r.name}](#{_slug(r.name)}) {'pass' if r.passed else '**FAIL**'}" for r in results],
        "",
        "## Summary",
        "",
        "| " + " | ".join(_HEADER) + " | reason |",
        "|" + "---|" * (len(_HEADER) + 1),
    ]
    for r in results:
        for m in r.metrics:
            lines.append(
                f"| {_cell(r.name)} | {_cell(m.quantity)} | {m.error:.3g} | "
                f"{m.tolerance:.3g} | {'PASS' if m.passed else 'FAIL'} | "
                f"{_cell(m.reason)} |"
            )
    lines.append("")
    for r in results:
        lines += [f'<a id="{_slug(r.name)}"></a>', "", f"## {r.name}", "", r.description, ""]
        if r.name in plots:
            lines += [f"![{r.name}](plots/{plots[r.name].name})", ""]
    (out / "summary.md").write_text("\n".join(lines))
    (out / "report.html").write_text(_html(results, env, plots))
    json_path = write_json(results, out / "results.json", backend)
    return {"summary": out / "summary.md", "html": out / "report.html", "json": json_path}
