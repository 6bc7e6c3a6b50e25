"""The kernels' whole source: the scalar twins the kernels call, translated to C
(:mod:`refsim.backends.cupy.translate`), the plan's codes as ``#define``s, the
kernels' own loops (``kernels.cu``), and the declared models' function
(:mod:`refsim.backends.cupy.declared`); compiled by NVRTC (through CuPy) without fused
multiply-adds."""

from __future__ import annotations

import pathlib
import re

from refsim.backends import codes
from refsim.backends.codes import scalar_twins
from refsim.backends.cupy.declared import declared_source, declared_twins
from refsim.backends.cupy.translate import twin_source

#: the kernels' own code (the loops around the twins)
_KERNELS = (pathlib.Path(__file__).with_name("kernels.cu")).read_text()


def _called_twins() -> tuple:
    """The scalar twins that ``kernels.cu`` calls by name (its comments aside)."""
    code = re.sub(r"/\*.*?\*/", "", _KERNELS, flags=re.S)
    return tuple(f for f in scalar_twins() if re.search(rf"\b{f.__name__}\(", code))


#: the scalar twins the kernels call; the translator translates them and what they call
KERNEL_TWINS = _called_twins()


#: NVRTC options: no contraction into fused multiply-adds (the CPU's rounding, op by op)
COMPILE_OPTIONS = ("--fmad=false", "-std=c++17")


def _plan_codes() -> str:
    """``#define REFSIM_<NAME>`` for the plan's codes (``*_KIND``: neurons, synapses,
    outputs, delays, plasticity; ``*_METHOD``: integrators; ``JUMP_ROW``), and
    ``#define REFSIM_<KIND>_OWN_<name>`` for the row of each kind's own parameter
    (``codes.<KIND>_OWN``), which the kernels read as ``OWN(KIND, name)``."""
    defines = [
        f"#define REFSIM_{name} {getattr(codes, name)}\n"
        for name in dir(codes)
        if name.endswith(("_KIND", "_METHOD", "_ROW"))
        and not name.startswith("_")
        and isinstance(getattr(codes, name), int)
    ]
    rows = [
        f"#define REFSIM_{name}_{field} {row}\n"
        for name in dir(codes)
        if name.endswith("_OWN") and isinstance(getattr(codes, name), tuple)
        for field, row in getattr(codes, name)._asdict().items()
    ]
    return "".join(defines + rows)


def kernel_source(declared: tuple = (), synapses: tuple = ()) -> str:
    """The whole CUDA source: the translated twins (the kernels' and those of the
    declared models' classes: neurons ``declared``, ``synapses``), the plan's codes,
    ``kernels.cu``, then the declared models' ``declared_neuron`` and
    ``declared_synapse`` (:mod:`refsim.backends.cupy.declared`)."""
    return (
        twin_source(KERNEL_TWINS + declared_twins(declared + synapses))
        + "\n"
        + _plan_codes()
        + "\n"
        + _KERNELS
        + "\n"
        + declared_source(declared, synapses)
    )


def _module(declared: tuple = (), synapses: tuple = ()):
    import cupy

    module = cupy.RawModule(code=kernel_source(declared, synapses), options=COMPILE_OPTIONS)
    return {
        name: module.get_function(name)
        for name in (
            "count_events",
            "gather_events",
            "delay_spikes",
            "delay_events",
            "pre_synapses",
            "population_step",
            "begin_populations",
        )
    }
