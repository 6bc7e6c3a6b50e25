"""Neuron models declared outside refsim, on the GPU: one generated C function.

The kernels' source is compiled per set of declared models (CuPy caches each source), so
unlike the numba loop they can name the models: :func:`declared_source` writes
``declared_neuron``, which ``population_step`` calls for a population of
:data:`refsim.backends.plan.DECLARED_KIND`, with one branch per model (its slot).  Each
branch is the order of one step of :mod:`refsim.compiled`, with the model's parameters
read by name from the population's table and its twins (translated by
:mod:`refsim.backends.cupy.translate`) called with their arguments bound by name::

    reset -> input at the post-reset V -> step -> refractory hold -> stored -> spike
"""

from __future__ import annotations

from refsim.backends.plan import PARAMS
from refsim.compiled import NeuronTwins

__all__ = ["declared_source", "declared_twins"]

#: what the context names of a twin are in C (``refsim/compiled.py``'s CONTEXT)
_CONTEXT = {
    "current": "current",
    "slope": "slope",
    "spike": "(double)spike",
    "hard": "(double)P.hard",
    "dt": "dt",
}


def declared_twins(classes: list) -> tuple:
    """The twins of the declared models ``classes``, to translate with the kernels'."""
    return tuple(twin for cls in classes for twin in cls.compiled.twins())


def _c(name: str, declared: NeuronTwins) -> str:
    """The C spelling of a twin's argument: a context value, or the local of a state
    (``s_``) or a parameter (``p_``), prefixed so that no name of a model meets the
    kernel's own."""
    if name == "V" or name in declared.states:
        return f"s_{name}"
    return f"p_{name}" if name in declared.params else _CONTEXT[name]


def _call(declared: NeuronTwins, twin, pad: str) -> list[str]:
    """``(V, *states) = twin(arguments by name)``: every value first, then the names."""
    names = [_c(name, declared) for name in ("V", *declared.states)]
    call = f"{twin.__name__}({', '.join(_c(a, declared) for a in declared.arguments(twin))})"
    if len(names) == 1:
        return [f"{pad}{names[0]} = {call};"]
    kind = "refsim_pair" if len(names) == 2 else f"refsim_tuple{len(names)}"
    return (
        [f"{pad}{{", f"{pad}    const {kind} _r = {call};"]
        + [f"{pad}    {name} = _r.v{i};" for i, name in enumerate(names)]
        + [f"{pad}}}"]
    )


def _branch(slot: int, cls) -> list[str]:
    declared: NeuronTwins = cls.compiled
    states = [_c(name, declared) for name in ("V", *declared.states)]  # s_V first
    rows = {name: r for r, name in reversed(list(enumerate(PARAMS + declared.params)))}
    pad = "        "
    lines = [f"    if (slot == {slot}) {{  /* {cls.__module__}.{cls.__qualname__} */"]
    if declared.states:  # their rows of n in the population's extra table
        lines += [f"{pad}const long long n = P.n;", f"{pad}double *x = P.extra;"]
    lines += [f"{pad}const double p_{name} = PAR({rows[name]});" for name in declared.params]
    lines += [f"{pad}double s_V = P.V[j];"]
    lines += [f"{pad}double {s} = x[{r} * n + j];" for r, s in enumerate(states[1:])]
    if declared.reset is not None:
        lines += _call(declared, declared.reset, pad)
    lines += [f"{pad}const double {s}_reset = {s};" for s in states]
    lines += [
        f"{pad}const refsim_pair in = input_current(P, j, k, s_V);",
        f"{pad}const double current = in.v0, slope = in.v1;",
    ]
    lines += _call(declared, declared.step, pad)
    lines += [
        f"{pad}const int held = P.refractory && (t - P.last_spike[j]) < PAR(5);",
        f"{pad}P.V[j] = s_V = stored(held ? s_V_reset : s_V, P.single);",
    ]
    lines += [
        f"{pad}x[{r} * n + j] = {s} = stored(held ? {s}_reset : {s}, P.single);"
        for r, s in enumerate(states[1:])
    ]
    spike = ", ".join(_c(a, declared) for a in declared.arguments(declared.spike))
    lines += [
        f"{pad}note_refractory(P, j, held, s_V >= PAR(2), t);",
        f"{pad}(void)current; (void)slope;",
        *[f"{pad}(void)p_{name};" for name in declared.params],
        f"{pad}return {declared.spike.__name__}({spike}) != 0.0;",
        "    }",
    ]
    return lines


def declared_source(classes: list) -> str:
    """C of ``declared_neuron`` for the declared models ``classes`` (in their slots'
    order), to append after the kernels' own code (which declares it)."""
    lines = [
        "/* The declared models of this network (refsim/backends/cupy/declared.py) */",
        "REFSIM_FN int declared_neuron(const Population &P, long long j, long long k,",
        "                              int slot, int spike, double t, double dt)",
        "{",
    ]
    for slot, cls in enumerate(classes):
        lines += _branch(slot, cls)
    lines += [
        "    (void)P; (void)j; (void)k; (void)slot; (void)spike; (void)t; (void)dt;",
        "    return 0;",
        "}",
    ]
    return "\n".join(lines) + "\n"
