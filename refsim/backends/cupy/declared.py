"""Models declared outside refsim, on the GPU: generated C functions.

The kernels' source is compiled per set of declared models (CuPy caches each source), so
unlike the numba loop they can name the models.  :func:`declared_source` writes
``declared_neuron``, which ``population_step`` calls for a population of
:data:`refsim.backends.codes.DECLARED_KIND`, and ``declared_synapse``, which it calls for
a synaptic row of :data:`refsim.backends.codes.DECLARED_SYNAPSE_KIND`, with one branch per
model (its slot).  Each branch is the order of one step of :mod:`refsim.compiled`, with
the model's parameters read by name from its table and its twins (translated by
:mod:`refsim.backends.cupy.translate`) called with their arguments bound by name::

    neuron:   reset -> input at the post-reset V -> step -> refractory hold -> stored
              -> spike
    synapse:  (the row's events, summed by the kernel) -> step -> stored -> output
"""

from __future__ import annotations

from refsim.backends.codes import PARAMS
from refsim.compiled import NeuronTwins, SynapseTwins

__all__ = ["declared_source", "declared_twins"]

#: what the context names of a twin are in C (``refsim/compiled.py``'s CONTEXT)
_CONTEXT = {
    "current": "current",
    "slope": "slope",
    "spike": "(double)spike",
    "hard": "(double)P.hard",
    "events": "events",
    "dt": "dt",
}


def declared_twins(classes: tuple) -> tuple:
    """The twins of the declared models ``classes`` (neurons and synapses), to translate
    with the kernels'."""
    return tuple(twin for cls in classes for twin in cls.compiled.twins())


def _c(name: str, declared: NeuronTwins | SynapseTwins) -> str:
    """The C spelling of a twin's argument (:meth:`NeuronTwins.local`)."""
    return declared.local(name, _CONTEXT)


def _call(declared: NeuronTwins | SynapseTwins, twin, pad: str) -> list[str]:
    """``(*states) = twin(arguments by name)`` (a neuron's: ``V`` first): every value
    first, then the names."""
    names = [_c(name, declared) for name in declared.state_names]
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
    if declared.takes_jumps:  # the DeltaProj's and PoissonInputs' jumps, after the step
        lines += [f"{pad}s_V = jumped(P, j, s_V);"]
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


def _synapse_branch(slot: int, cls) -> list[str]:
    declared: SynapseTwins = cls.compiled
    states = [_c(name, declared) for name in declared.states]
    pad = "        "
    if declared.output is None:
        output = states[0]
    else:
        arguments = ", ".join(_c(a, declared) for a in declared.arguments(declared.output))
        output = f"{declared.output.__name__}({arguments})"
    return [
        f"    if (slot == {slot}) {{  /* {cls.__module__}.{cls.__qualname__} */",
        *[
            f"{pad}const double p_{name} = par[{r} * width + k];"
            for r, name in enumerate(declared.params)
        ],
        *[f"{pad}double {s} = x[{r} * n + j];" for r, s in enumerate(states)],
        *_call(declared, declared.step, pad),
        *[f"{pad}x[{r} * n + j] = {s} = stored({s}, single);" for r, s in enumerate(states)],
        *[f"{pad}(void)p_{name};" for name in declared.params],
        f"{pad}return stored({output}, single);",
        "    }",
    ]


def declared_source(neurons: tuple, synapses: tuple = ()) -> str:
    """C of ``declared_neuron`` for the declared neuron models ``neurons`` and of
    ``declared_synapse`` for the declared synapses ``synapses`` (each in their slots'
    order), to append after the kernels' own code (which declares them)."""
    lines = [
        "/* The declared models of this network (refsim/backends/cupy/declared.py) */",
        "REFSIM_FN int declared_neuron(const Population &P, long long j, long long k,",
        "                              int slot, int spike, double t, double dt)",
        "{",
    ]
    for slot, cls in enumerate(neurons):
        lines += _branch(slot, cls)
    lines += [
        "    (void)P; (void)j; (void)k; (void)slot; (void)spike; (void)t; (void)dt;",
        "    return 0;",
        "}",
        "",
        "REFSIM_FN double declared_synapse(int slot, long long j, long long k, double *x,",
        "                                  long long n, const double *par, long long width,",
        "                                  double events, int single, double dt)",
        "{",
    ]
    for slot, cls in enumerate(synapses):
        lines += _synapse_branch(slot, cls)
    lines += [
        "    (void)slot; (void)j; (void)k; (void)x; (void)n; (void)par; (void)width;",
        "    (void)events; (void)single; (void)dt;",
        "    return 0.0;",
        "}",
    ]
    return "\n".join(lines) + "\n"
