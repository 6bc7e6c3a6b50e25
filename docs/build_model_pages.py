"""Write ``docs/models/<Model>.md`` and ``docs/models.md`` from the models' docstrings.

Run ``python docs/build_model_pages.py`` after changing a model; ``tests/interface/test_docs.py``
fails while a page differs from what this script writes, and runs every example.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import quantities as pq

import refsim
from refsim.validation import golden_data, select

DOCS = Path(__file__).resolve().parent
NEURONS = list(refsim.neurons.__all__)
SYNAPSES = list(refsim.synapses.__all__)
OUTPUTS = ["CUBA", "COBA", "MgBlock"]
_OUTPUT_ARGS = {"COBA": {"E": 0 * pq.mV}, "MgBlock": {"E": 0 * pq.mV}}

# the input each neuron's example is driven with: the golden traces' amplitude and unit
_INPUT_UNITS = {"mA": "pq.mA", "uA": "pq.uA", "mV / ms": "pq.mV / pq.ms", "dimensionless": ""}


def _example_input(name: str) -> str:
    cases = [c for c in golden_data.case_names() if c.startswith(f"neuron_{name}_")]
    meta = golden_data.meta(cases[0])
    unit = _INPUT_UNITS[meta["notes"][0].split(":")[1].strip()]
    amp = meta["params"]["I_amp"]
    return f"{amp} * {unit}" if unit else f"{amp}"


def example(name: str) -> str:
    """A runnable snippet for model ``name``."""
    head = "import numpy as np\nimport quantities as pq\nimport refsim\n\n"
    if name in NEURONS:
        return head + (
            f"n = refsim.init_all_states(refsim.{name}(3))\n"
            f"res = refsim.run(lambda: n({_example_input(name)}), 100 * pq.ms,\n"
            f"                 monitors={{'V': n.V, 'spikes': n}})\n"
            f"print(res['V'].shape, res['spikes'].count)\n"
        )
    if name in ("Expon", "DualExpon", "Alpha"):
        return head + (
            f"syn = refsim.init_all_states(refsim.{name}(1))\n"
            f"g = [syn(1 * pq.mS if k == 0 else None) for k in range(200)]  # one event\n"
            f"print(max(float(x[0]) for x in g), 'mS at most')\n"
        )
    if name in ("AMPA", "GABAa", "BioNMDA", "STP", "STD"):
        return head + (
            f"syn = refsim.init_all_states(refsim.{name}(1))\n"
            f"spikes = np.zeros(200, bool); spikes[[0, 50]] = True\n"
            f"out = [syn(s) for s in spikes] if '{name}' in ('STP', 'STD') else refsim.run(\n"
            f"    lambda: syn(spikes[refsim.environ.get('i')]), 20 * pq.ms,\n"
            f"    monitors={{'g': syn.g}})['g']\n"
            f"print(np.max(np.asarray(out)))\n"
        )
    args = "E=0 * pq.mV" if name in ("COBA", "MgBlock") else ""
    return head + (
        f"out = refsim.{name}({args})\n"
        f"out.bind_cond(np.array([0.5]) * pq.mS)\n"
        f"print(out(-65 * pq.mV).rescale(pq.uA))\n"
    )


def _markdown(doc: str) -> str:
    """numpydoc/RST to Markdown: math to $...$, section underlines to headings."""
    lines, out, i = doc.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"} and line.strip():
            out.append(f"### {line.strip()}")
            i += 2
            continue
        if line.strip() == ".. math::":
            block = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i].strip())
                i += 1
            out.append("$$\n" + "\n".join(b for b in block if b) + "\n$$")
            continue
        out.append(re.sub(r":math:`([^`]*)`", r"$\1$", line))
        i += 1
    text = "\n".join(out)
    return re.sub(r":(?:class|func|meth|mod):`~?([^`]*)`", r"`\1`", text)


def _checks(cls) -> list[str]:
    """The ranges a default-built ``cls`` checks its parameters against (``param_checks``,
    recorded where the checks are made), as a section; none for a model without."""
    model = cls(1) if cls.__name__ not in OUTPUTS else cls(**_OUTPUT_ARGS.get(cls.__name__, {}))
    checks = getattr(model, "param_checks", {})
    relations = getattr(model, "param_relations", {})
    if not checks and not relations:
        return []
    lines = [
        "### Values checked",
        "",
        "Every parameter, initial value and input must be finite. A value outside its "
        "range, or parameters that break a relation the model needs, raise `ValueError` "
        "naming them ([units.md](../units.md)):",
        "",
    ]
    lines += [f"- `{name}` {rule}" for name, rule in checks.items()]
    lines += [f"- `{relation}`: {why}" for relation, why in relations.items()]
    bounds = getattr(cls, "state_bounds", {})
    if bounds:
        lines += [
            "",
            "During a run (`refsim.run(..., check_every=...)`, "
            "[reliability.md](../reliability.md)) every state must stay finite, and "
            "these within bounds (internal units) beyond which the integration has "
            "diverged; else `refsim.NumericalInstability`:",
            "",
        ]
        lines += [f"- `{name}` in [{lo:g}, {hi:g}]" for name, (lo, hi) in bounds.items()]
    return [*lines, ""]


def page(name: str) -> str:
    cls = getattr(refsim, name)
    module = inspect.getmodule(cls)
    # sorted: the registry's order depends on which validation modules were imported first
    cases = sorted(c.name for c in select() if re.search(rf"[_/]{name}(_|$)", c.name))
    kind = "neuron" if name in NEURONS else "synapse" if name in SYNAPSES else "output"
    parts = [
        f"# {name}",
        "",
        f"refsim.{name}: {kind}, defined in `{module.__name__.replace('.', '/')}.py`.",
        "",
        _markdown(inspect.getdoc(cls)),
        "",
        *_checks(cls),
        "## Family notes",
        "",
        _markdown(inspect.getdoc(module)),
        "",
        "## Validation",
        "",
    ]
    parts += [f"- `{c}`" for c in cases] or [
        "- covered by the tests of its family (`tests/models/test_models.py`)"
    ]
    parts += ["", "## Example", "", "```python", example(name).rstrip(), "```", ""]
    return "\n".join(parts)


def index() -> str:
    rows = [
        "# Models",
        "",
        "One page per model, generated from its docstring by `docs/build_model_pages.py`.",
        "",
        "| model | kind | one line |",
        "|---|---|---|",
    ]
    for names, kind in ((NEURONS, "neuron"), (SYNAPSES, "synapse"), (OUTPUTS, "output")):
        for name in names:
            first = inspect.getdoc(getattr(refsim, name)).splitlines()[0]
            rows.append(f"| [{name}](models/{name}.md) | {kind} | {first} |")
    rows += [
        "",
        "Connectivity, projections, inputs and monitors are described in "
        "[concepts.md](concepts.md).",
        "",
    ]
    return "\n".join(rows)


def pages() -> dict[Path, str]:
    out = {DOCS / "models" / f"{n}.md": page(n) for n in NEURONS + SYNAPSES + OUTPUTS}
    out[DOCS / "models.md"] = index()
    return out


if __name__ == "__main__":
    (DOCS / "models").mkdir(exist_ok=True)
    for path, text in pages().items():
        path.write_text(text)
    print(f"wrote {len(pages())} pages")
