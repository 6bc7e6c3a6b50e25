"""The codes the plan and the compiled loops share: which equations a population runs
(its *kind*), its synapses' and outputs' kinds, the integrators, delays and plasticity,
and the rows of each kind's parameter table, by name.

The plan (:mod:`refsim.backends.plan`) writes these codes into its arrays; the numba
loops compare against them as constants and the GPU kernels as generated ``#define``s
(``REFSIM_ADEX_KIND``, ``OWN(ADEX, tau_w)``), so a code has one value everywhere.
"""

from __future__ import annotations

from collections import namedtuple

from refsim import fmath, integrators, outputs, philox
from refsim.neurons import (
    adaptive,
    base,
    exponential,
    gif,
    hh,
    izhikevich,
    lif,
    morris_lecar,
    quadratic,
    reduced,
)
from refsim.neurons.exponential import AdExIF, AdExIFRef, ExpIF, ExpIFRef
from refsim.neurons.gif import Gif, GifRef
from refsim.neurons.hh import HH, WangBuzsakiHH
from refsim.neurons.izhikevich import Izhikevich, IzhikevichRef
from refsim.neurons.lif import ALIF, IF, LIF, CobaLIF, CubaLIF, LIFRef
from refsim.neurons.morris_lecar import MorrisLecar
from refsim.neurons.quadratic import AdQuaIF, AdQuaIFRef, QuaIF
from refsim.neurons.reduced import FitzHughNagumo, HindmarshRose
from refsim.synapses import alpha, expon, kinetic, stp
from refsim.synapses.alpha import Alpha
from refsim.synapses.expon import DualExpon, Expon
from refsim.synapses.kinetic import AMPA, BioNMDA, GABAa
from refsim.synapses.stp import STD, STP

__all__ = ["NotCompilable", "scalar_twins"]


class NotCompilable(Exception):
    """The network has a component without a compiled twin (the message names it): raised
    by the plan's reading and by the backends, which then run the NumPy code with a
    warning."""


#: the modules holding the scalar twins the compiled backends call: every function defined
#: in one of them whose name ends in ``_scalar`` is a twin, so a new twin needs no entry
#: here (but ``fmath._pow2_scalar``, which each backend gives natively: a bit cast in
#: Numba, ``refsim_pow2`` in C)
TWIN_MODULES = (
    fmath,
    integrators,
    outputs,
    base,
    adaptive,
    lif,
    exponential,
    quadratic,
    izhikevich,
    gif,
    hh,
    morris_lecar,
    reduced,
    expon,
    alpha,
    kinetic,
    stp,
    philox,
)


def scalar_twins() -> tuple:
    """Every scalar twin (and fmath's polynomials, named for what they are): the one-element
    functions the numba loop compiles in and the cupy kernels call, translated to C."""
    found = [fmath._poly_exp, fmath._poly_exprel]
    for module in TWIN_MODULES:
        found += [
            f
            for name, f in vars(module).items()
            if name.endswith("_scalar")
            and callable(f)
            and f.__module__ == module.__name__
            and f is not fmath._pow2_scalar
        ]
    return tuple(found)


# population kinds (the equations a loop runs) and output kinds, as the loops see them
# (the models without reset last, from HH_KIND on)
(
    LIF_KIND,
    ALIF_KIND,
    EXPIF_KIND,
    ADEX_KIND,
    QUAIF_KIND,
    ADQUAIF_KIND,
    IZHIKEVICH_KIND,
    IF_KIND,
    CUBALIF_KIND,
    COBALIF_KIND,
    GIF_KIND,
    HH_KIND,
    WANG_BUZSAKI_KIND,
    MORRIS_LECAR_KIND,
    FITZHUGH_NAGUMO_KIND,
    HINDMARSH_ROSE_KIND,
) = range(16)
#: a model that declares its twins (``compiled = refsim.NeuronTwins(...)``, refsim/compiled.py)
#: instead of having a code path of its own in the loops: the loops call them by name
#: through an adapter (numba) or a generated function (cupy); tested before ``HH_KIND``
DECLARED_KIND = 16
CUBA_KIND, COBA_KIND = 0, 1
#: synapse kinds: Expon, DualExpon, DualExpon with equal time constants, normalised; on
#: the presynaptic side of an AlignPreProj also Alpha, AMPA (and GABAa), BioNMDA; the
#: row of a population's synaptic table that an AlignPreProj fills (no dynamics of its
#: own); a synapse that declares its twins (``compiled = refsim.SynapseTwins(...)``),
#: called by name as a declared neuron model is; the row a CurrentProj fills (this step's
#: weighted spikes, ``comm(x)``, no dynamics)
(
    EXPON_KIND,
    DUAL_KIND,
    DUAL_ALPHA_KIND,
    ALPHA_KIND,
    AMPA_KIND,
    BIONMDA_KIND,
    PRE_OUTPUT_KIND,
    DECLARED_SYNAPSE_KIND,
    CURRENT_PROJ_KIND,
) = range(9)
#: a population's integrator (``method=``): brainpy's exponential Euler, or an explicit
#: method on the model's whole ODE system (``integrators.explicit_step``)
EXP_EULER_METHOD, EULER_METHOD, RK2_METHOD, RK4_METHOD = range(4)
METHOD_CODES = {
    "exp_euler": EXP_EULER_METHOD,
    "euler": EULER_METHOD,
    "rk2": RK2_METHOD,
    "rk4": RK4_METHOD,
}
#: the "row" of a DeltaProj's feed: not a synaptic row but a jump of its population's
#: potential (the population's ``jumps``, in the oracle's queue order)
JUMP_ROW = -1
#: a PoissonInput aimed at the synapse of row ``r`` that its AlignPostProj steps itself
#: comes before the projection's events (``step(x)`` adds ``x`` last): row code
#: ``EARLY_ROW - r`` (a merged synapse's input comes after them: code ``r``)
EARLY_ROW = -2
#: every built-in kind takes jumps (DeltaProj, PoissonInput) as its ``update`` does
#: (``sum_delta_inputs``): after the step of V and before the refractory hold (AdEx,
#: AdQuaIF and Izhikevich by exponential Euler then step their second state again, with the
#: jumped V), or, for CubaLIF and CobaLIF, to their synapse's g between its decay and V's
#: step; a declared model (DECLARED_KIND) takes them after its step, before the hold, where
#: its NeuronTwins say takes_jumps=True, and none otherwise
#: the delay of an AlignPostProj: none, one for the projection (SpikeDelay), per synapse
NO_DELAY_KIND, SPIKE_DELAY_KIND, SYNAPTIC_DELAY_KIND = 0, 1, 2
#: short-term plasticity on an AlignPreProj: none, STP, STD
NO_STP_KIND, STP_KIND, STD_KIND = 0, 1, 2
#: synapse classes an AlignPreProj compiles with: (their states, their parameters), the
#: rows of the plan's ``pre_state`` and ``pre_param`` tables (the kind: :func:`_pre_kind`)
PRE_SYNAPSES = {
    Expon: (("g",), ("tau",)),
    DualExpon: (("g_rise", "g_decay"), ("tau_rise", "tau_decay", "factor")),
    Alpha: (("g", "h"), ("tau",)),
    AMPA: (("g", "spike_arrival_time"), ("alpha", "beta", "T", "T_dur", "g_max")),
    GABAa: (("g", "spike_arrival_time"), ("alpha", "beta", "T", "T_dur", "g_max")),
    BioNMDA: (
        ("g", "x", "spike_arrival_time"),
        ("alpha1", "beta1", "alpha2", "beta2", "T", "T_dur", "g_max"),
    ),
}
#: short-term plasticity: (kind, states, parameters), as the rows of ``pre_stp_*``
PRE_STP = {
    type(None): (NO_STP_KIND, (), ()),
    STP: (STP_KIND, ("u", "x"), ("U", "tau_f", "tau_d")),
    STD: (STD_KIND, ("x",), ("tau", "U")),
}
#: neuron classes with a compiled twin: (kind, refractory, its states besides V and
#: last_spike_time, in the rows of the plan's ``extra`` table)
NEURON_KINDS = {
    LIF: (LIF_KIND, False, ()),
    LIFRef: (LIF_KIND, True, ()),
    ALIF: (ALIF_KIND, False, ("a",)),
    ExpIF: (EXPIF_KIND, False, ()),
    ExpIFRef: (EXPIF_KIND, True, ()),
    AdExIF: (ADEX_KIND, False, ("w",)),
    AdExIFRef: (ADEX_KIND, True, ("w",)),
    QuaIF: (QUAIF_KIND, False, ()),
    AdQuaIF: (ADQUAIF_KIND, False, ("w",)),
    AdQuaIFRef: (ADQUAIF_KIND, True, ("w",)),
    Izhikevich: (IZHIKEVICH_KIND, False, ("u",)),
    IzhikevichRef: (IZHIKEVICH_KIND, True, ("u",)),
    IF: (IF_KIND, False, ()),
    CubaLIF: (CUBALIF_KIND, False, ("g",)),
    CobaLIF: (COBALIF_KIND, False, ("g",)),
    Gif: (GIF_KIND, False, ("I1", "I2", "V_th")),
    GifRef: (GIF_KIND, True, ("I1", "I2", "V_th")),
    HH: (HH_KIND, False, ("m", "h", "n")),
    WangBuzsakiHH: (WANG_BUZSAKI_KIND, False, ("h", "n")),
    MorrisLecar: (MORRIS_LECAR_KIND, False, ("W",)),
    FitzHughNagumo: (FITZHUGH_NAGUMO_KIND, False, ("w",)),
    HindmarshRose: (HINDMARSH_ROSE_KIND, False, ("y", "z")),
}
#: rows of a population's parameter table (0.0 where a model has no such parameter) ...
PARAMS = ("R", "tau", "V_th", "V_reset", "V_rest", "tau_ref", "direct input")
#: the first row of a kind's own parameters in its table (``par[OWN_START:]``, ``own``)
OWN_START = len(PARAMS)
#: ... followed by its kind's own rows
KIND_PARAMS = {
    LIF_KIND: (),
    ALIF_KIND: ("beta", "tau_a"),
    EXPIF_KIND: ("V_T", "delta_T"),
    ADEX_KIND: ("V_T", "delta_T", "tau_w", "a", "b"),
    QUAIF_KIND: ("V_c", "c"),
    ADQUAIF_KIND: ("V_c", "c", "tau_w", "a", "b"),
    IZHIKEVICH_KIND: ("a", "b", "c", "d", "p1", "p2", "p3"),
    IF_KIND: (),
    CUBALIF_KIND: ("tau_syn",),
    COBALIF_KIND: ("tau_syn", "E"),
    GIF_KIND: ("V_th_inf", "V_th_reset", "a", "b", "k1", "k2", "R1", "R2", "A1", "A2"),
    HH_KIND: ("ENa", "EK", "EL", "gNa", "gK", "gL", "C"),
    WANG_BUZSAKI_KIND: ("ENa", "EK", "EL", "gNa", "gK", "gL", "C", "phi"),
    MORRIS_LECAR_KIND: (
        "V_Ca",
        "V_K",
        "V_leak",
        "g_Ca",
        "g_K",
        "g_leak",
        "C",
        "V1",
        "V2",
        "V3",
        "V4",
        "phi",
    ),
    FITZHUGH_NAGUMO_KIND: ("a", "b", "tau_w"),
    HINDMARSH_ROSE_KIND: ("a", "b", "c", "d", "r", "s", "V_r"),
}


def _own_rows(kind: int):
    """The rows of kind ``kind``'s own parameters, by name (a named tuple: ``.tau_w`` is
    the row of ``tau_w`` in the kind's ``own`` table, the parameter table after
    :data:`PARAMS`).  The compiled loops read a parameter by its name through it (numba
    takes a global named tuple as constants); the GPU source has the same rows as
    ``#define``s (``REFSIM_ADEX_TAU_W``)."""
    names = KIND_PARAMS[kind]
    return namedtuple("OwnRows", names)(*range(len(names))) if names else ()


ALIF_OWN = _own_rows(ALIF_KIND)
#: ExpIF's rows are AdEx's first (V_T, delta_T): one pass serves both
ADEX_OWN = _own_rows(ADEX_KIND)
#: QuaIF's rows are AdQuaIF's first (V_c, c)
ADQUAIF_OWN = _own_rows(ADQUAIF_KIND)
IZHIKEVICH_OWN = _own_rows(IZHIKEVICH_KIND)
#: CubaLIF's row is CobaLIF's first (tau_syn)
COBALIF_OWN = _own_rows(COBALIF_KIND)
GIF_OWN = _own_rows(GIF_KIND)
HH_OWN = _own_rows(HH_KIND)
WANG_BUZSAKI_OWN = _own_rows(WANG_BUZSAKI_KIND)
MORRIS_LECAR_OWN = _own_rows(MORRIS_LECAR_KIND)
FITZHUGH_NAGUMO_OWN = _own_rows(FITZHUGH_NAGUMO_KIND)
HINDMARSH_ROSE_OWN = _own_rows(HINDMARSH_ROSE_KIND)
