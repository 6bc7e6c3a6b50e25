"""Models declared outside refsim, on the numba backend: one adapter each.

The compiled loop is cached once for all networks, so it cannot name a model it has never
seen.  It calls a declared model (:class:`refsim.NeuronTwins`,
:class:`refsim.SynapseTwins`) through an *adapter*: a function of one fixed signature,
generated and compiled for that model as a C-callable (``numba.cfunc``), that runs the
model's twins over a block of neurons with their arguments bound by name.  A neuron
model's adapter is called twice a block and step, in the order of one step
(``refsim/compiled.py``)::

    adapter(0, ...)   reset: the post-reset states into the scratch rows
    (the loop)        the input at each post-reset V into two more scratch rows
    adapter(1, ...)   step, refractory hold, states stored, spike

or, for a population that jumps (a DeltaProj or a PoissonInput aimed at it; its
declaration says ``takes_jumps=True``), the step and the rest apart::

    adapter(2, ...)   step, into the scratch rows after the input's
    (the loop)        the jumps added to the stepped V (``jumps._add_jumps``)
    adapter(3, ...)   refractory hold, states stored, spike

and a synapse's once a block and step, after the loop has summed the row's events::

    adapter(...)      step, states stored, output stored

Inside the adapter the twins are inlined in a plain loop, as in refsim's own model
passes; only the call into the adapter is indirect.  The loop takes the adapters'
addresses (an int64 array) and calls them through :func:`call_neuron` and
:func:`call_synapse`, so that its cached code serves any model.
"""

from __future__ import annotations

import ast
import re
from types import FunctionType

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, register_jitable

from refsim.backends.codes import PARAMS, NotCompilable
from refsim.backends.cupy.translate import TranslationError, _Function
from refsim.backends.numba.jumps import _add_jumps
from refsim.backends.numba.outputs import _input_current
from refsim.backends.numba.support import TWINS, _pointer, _stored
from refsim.compiled import NeuronTwins, SynapseTwins

__all__ = [
    "NEURON_SIGNATURE",
    "SYNAPSE_SIGNATURE",
    "addresses",
    "adapter_source",
    "synapse_adapter_source",
    "call_neuron",
    "call_synapse",
]

_I, _F = types.int64, types.float64
#: a neuron model's adapter: (phase, n, j0, k0, V, extra, extra_stride, spiking, par,
#: width, work, work_stride, last_spike, flag, has_flag, refractory, hard, single, t, dt);
#: the arrays as addresses (``V``, ``last_spike``, ``flag`` of float64, ``spiking`` of
#: bool, ``extra`` rows of ``extra_stride``, ``par`` rows of ``width``, ``work`` rows of
#: ``work_stride``); neurons ``j0 .. j0 + n - 1``, parameter columns ``k0 ...``
NEURON_SIGNATURE = _F(*[_I] * 18, _F, _F)
#: a synapse's adapter: (n, j0, k0, g, fed, state, state_stride, par, width, single,
#: dt); ``g``: the row's events (``fed``: any) in, its output out; ``state`` rows of
#: ``state_stride``, ``par`` rows of ``width``
SYNAPSE_SIGNATURE = _F(*[_I] * 10, _F)
#: the rows of an adapter's scratch (the ``work`` of its thread) besides the states'
INPUT_ROWS = 2  # current, slope


#: the locals of the context names in the generated code (``refsim/compiled.py``)
_CONTEXT = {
    "current": "_current",
    "slope": "_slope",
    "spike": "_spike",
    "hard": "_hard",
    "events": "_events",
    "dt": "dt",
}


def _argument(name: str, declared: NeuronTwins | SynapseTwins) -> str:
    """A twin argument's local in the generated code (:meth:`NeuronTwins.local`)."""
    return declared.local(name, _CONTEXT)


_PAD = "            "  # the body of a loop over the block in the generated code


def _call(declared: NeuronTwins, twin, name: str) -> str:
    """The generated line that calls ``twin`` (as ``name``) and takes back the states."""
    states = [_argument(s, declared) for s in declared.state_names]
    arguments = ", ".join(_argument(a, declared) for a in declared.arguments(twin))
    return f"{_PAD}{', '.join(states)} = {name}({arguments})"


def _loop_parts(declared: NeuronTwins) -> tuple[list[str], list[str], list[str]]:
    """The generated lines an adapter's loops are made of: the head of a loop over the
    block, the step (from the post-reset states and the input, in ``work``), and the rest
    (the refractory hold, the states stored, the spike)."""
    states = [_argument(name, declared) for name in declared.state_names]
    rows = {name: r for r, name in reversed(list(enumerate(PARAMS + declared.params)))}
    n_states, pad = len(declared.states), _PAD
    read_params = [f"{pad}p_{name} = par[{rows[name]}, _k]" for name in declared.params]
    each = [  # the head of each loop over the block's neurons
        "        for _w in range(n):",
        "            _j, _k = j0 + _w, k0 + _w",
        "            _spike = 1.0 if spk[_j] else 0.0",
        *read_params,
    ]
    step = [  # from the post-reset states and the input
        *[f"{pad}{s} = work[{r}, _w]" for r, s in enumerate(states)],
        f"{pad}_current, _slope = work[{n_states + 1}, _w], work[{n_states + 2}, _w]",
        _call(declared, declared.step, "step"),
    ]
    finish = [  # the refractory hold, the states stored, the spike
        f"{pad}_held = refractory != 0 and (t - last[_j]) < par[5, _k]",
        f"{pad}if _held:",
        *[f"{pad}    {s} = work[{r}, _w]" for r, s in enumerate(states)],
        *[f"{pad}{s} = stored({s}, single != 0)" for s in states],
        f"{pad}v[_j] = s_V",
        *[f"{pad}x[{r}, _j] = {s}" for r, s in enumerate(states[1:])],
        f"{pad}spk[_j] = spike("
        + ", ".join(_argument(a, declared) for a in declared.arguments(declared.spike))
        + ")",
    ]
    return each, step, finish


def adapter_source(cls, declared: NeuronTwins) -> str:
    """The Python source of ``cls``'s adapter (see the module text).  Its ``work`` rows: the
    post-reset states, the current and the slope, then (phases 2 and 3) the stepped states."""
    states = [_argument(name, declared) for name in declared.state_names]
    n_states, pad = len(declared.states), _PAD
    stepped = n_states + 1 + INPUT_ROWS  # the first row of the stepped states
    each, step, finish = _loop_parts(declared)
    lines = [
        "def adapter(phase, n, j0, k0, V_at, x_at, x_stride, spk_at, par_at, width, work_at,",
        "            work_stride, last_at, flag_at, has_flag, refractory, hard, single, t,",
        "            dt):",
        "    # indices known to be >= 0, so that numba adds no wraparound and the loops vectorise",
        "    j0, k0 = max(j0, 0), max(k0, 0)",
        "    v = carray(pointer(V_at), j0 + n, float64)",
        "    spk = carray(pointer(spk_at), j0 + n, bool_)",
        f"    par = carray(pointer(par_at), ({len(PARAMS) + len(declared.params)}, width), "
        "float64)",
        f"    work = carray(pointer(work_at), ({stepped + n_states + 1}, work_stride), float64)",
        "    _hard = hard != 0",
        "    if phase == 0:  # the reset",
        *each,
        f"{pad}s_V = v[_j]",
        *[f"{pad}{s} = x[{r}, _j]" for r, s in enumerate(states[1:])],
        *([_call(declared, declared.reset, "reset")] if declared.reset is not None else []),
        *[f"{pad}work[{r}, _w] = {s}" for r, s in enumerate(states)],
        "        return 0.0",
        "    if phase == 2:  # the step alone: the loop adds the jumps to the stepped V",
        *each,
        *step,
        *[f"{pad}work[{stepped + r}, _w] = {s}" for r, s in enumerate(states)],
        "        return 0.0",
        "    last = carray(pointer(last_at), j0 + n, float64)",
        "    flag = carray(pointer(flag_at), j0 + n, float64)",
        "    if phase == 1:  # the step and the rest",
        *each,
        *step,
        *finish,
        "    else:  # phase 3: the rest, from the stepped (and jumped) states",
        *each,
        *[f"{pad}{s} = work[{stepped + r}, _w]" for r, s in enumerate(states)],
        *finish,
        # the refractory bookkeeping in a loop of its own: its conditional stores would
        # keep the loops above from vectorising (3x slower for TraubHH)
        "    if refractory != 0:",
        "        for _w in range(n):",
        "            _j, _k = j0 + _w, k0 + _w",
        "            _held = (t - last[_j]) < par[5, _k]",
        "            _above = v[_j] >= par[2, _k]",
        "            if _above:",
        "                last[_j] = t",
        "            if has_flag != 0:",
        "                flag[_j] = 1.0 if _held or _above else 0.0",
        "    return 0.0",
    ]
    if n_states:
        lines.insert(4, f"    x = carray(pointer(x_at), ({n_states}, x_stride), float64)")
    return "\n".join(lines) + "\n"


def synapse_adapter_source(cls, declared: SynapseTwins) -> str:
    """The Python source of the adapter of ``cls``, a declared synapse (see the module
    text): for each element, its events, the step, the states as stored, the output."""
    states = [_argument(name, declared) for name in declared.states]
    step = ", ".join(_argument(a, declared) for a in declared.arguments(declared.step))
    if declared.output is None:
        output = states[0]
    else:
        arguments = declared.arguments(declared.output)
        output = f"output({', '.join(_argument(a, declared) for a in arguments)})"
    lines = [
        "def adapter(n, j0, k0, g_at, fed, x_at, x_stride, par_at, width, single, dt):",
        "    # indices known to be >= 0, so that numba adds no wraparound and the loops vectorise",
        "    j0, k0 = max(j0, 0), max(k0, 0)",
        "    g = carray(pointer(g_at), j0 + n, float64)",
        f"    x = carray(pointer(x_at), ({len(states)}, x_stride), float64)",
        f"    par = carray(pointer(par_at), ({max(len(declared.params), 1)}, width), float64)",
        "    for _w in range(n):",
        "        _j, _k = j0 + _w, k0 + _w",
        *[f"        p_{name} = par[{r}, _k]" for r, name in enumerate(declared.params)],
        *[f"        {s} = x[{r}, _j]" for r, s in enumerate(states)],
        "        _events = g[_j] if fed != 0 else 0.0",
        f"        {', '.join(states)} = step({step})",
        *[f"        {s} = stored({s}, single != 0)" for s in states],
        *[f"        x[{r}, _j] = {s}" for r, s in enumerate(states)],
        f"        g[_j] = stored({output}, single != 0)",
        "    return 0.0",
    ]
    return "\n".join(lines) + "\n"


_REGISTERED: set = set()  # the functions made jittable here, once each


def _jittable(function) -> None:
    """Make ``function`` and the Python functions it calls callable from compiled code
    (refsim's own twins are so already, :data:`refsim.backends.numba.support.TWINS`; a
    model declared in a module of the ``refsim`` namespace, such as ``refsim.validation``,
    is not one of them)."""
    if function in _REGISTERED or function in TWINS:
        return
    _REGISTERED.add(function)
    register_jitable(forceinline=True)(function)
    for callee in _callees(function):
        _jittable(callee)


def _callees(function) -> list:
    """The plain Python functions that ``function`` calls (by name or attribute)."""
    twin, found = _Function(function), []
    for node in ast.walk(twin.tree):
        if isinstance(node, ast.Call):
            try:
                target = twin.resolve(node.func)
            except TranslationError:  # a name it does not know: numba will say
                continue
            if isinstance(target, FunctionType):
                found.append(target)
    return found


def _what_and_where(message: str) -> str:
    """The line of numba's long message that says what failed, and the file and line of
    the twin where (the adapter's own lines aside)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    found = [
        i
        for i, line in enumerate(lines)
        if line.startswith(
            (
                "No implementation",
                "Cannot",
                "Unknown attribute",
                "Use of unsupported",
                "Invalid use",
                "NameError",
                "Untyped global",
                "Unsupported",
            )
        )
    ]
    i = found[-1] if found else 0  # the innermost: the twin's own line, not its caller's
    what = lines[i]
    if i + 1 < len(lines) and lines[i + 1].startswith(">>>"):  # the signature tried
        what += " " + lines[i + 1][3:].strip()
    where = re.search(r'File "(?!<refsim adapter)([^"]+)", line (\d+)', message)
    return what + (f" in {where[1]}, line {where[2]}" if where else "")


_COMPILED: dict = {}  # (class, source) -> adapter, for the life of the process


def adapter(cls):
    """``cls``'s compiled adapter (made once per class and declaration in a process): a
    declared neuron model's or a declared synapse's."""
    declared = cls.compiled
    is_synapse = isinstance(declared, SynapseTwins)
    source = (synapse_adapter_source if is_synapse else adapter_source)(cls, declared)
    key = (cls, source)
    if key not in _COMPILED:
        for twin in declared.twins():
            _jittable(twin)
        space = {
            "carray": numba.carray,
            "pointer": _pointer,
            "float64": np.float64,
            "bool_": np.bool_,
            "stored": _stored,  # the loops' rounding (support.py)
            **{name: getattr(declared, name, None) for name in _TWINS},
        }
        exec(compile(source, f"<refsim adapter of {cls.__qualname__}>", "exec"), space)
        signature = SYNAPSE_SIGNATURE if is_synapse else NEURON_SIGNATURE
        try:
            _COMPILED[key] = numba.cfunc(signature, error_model="numpy")(space["adapter"])
        except numba.core.errors.NumbaError as exc:
            raise NotCompilable(
                f"{cls.__name__}.compiled: numba does not compile its twins "
                f"({_what_and_where(str(exc))})"
            ) from None
    return _COMPILED[key]


#: the names of the twins in the adapters' source
_TWINS = ("reset", "step", "spike", "output")


def addresses(classes: list) -> np.ndarray:
    """The addresses of the adapters of ``classes`` (the declared models of a network,
    in their slots' order): what the loop calls through :func:`call_neuron` or
    :func:`call_synapse`."""
    return np.array([adapter(cls).address for cls in classes] or [0], dtype=np.int64)


def _caller(signature):
    """An intrinsic ``call(address, arguments)`` that calls the C function of
    ``signature`` at ``address`` (an int64, from :func:`addresses`) with the tuple
    ``arguments`` (each cast to its type in ``signature``): one indirect call, no type
    the loop's cached code depends on."""
    c_types = {_I: ir.IntType(64), _F: ir.DoubleType()}
    c_type = ir.FunctionType(c_types[signature.return_type], [c_types[a] for a in signature.args])

    @intrinsic
    def call(typingctx, address, arguments):
        if not isinstance(arguments, types.BaseTuple) or len(arguments) != len(signature.args):
            return None

        def codegen(context, builder, _, args):
            function = builder.inttoptr(args[0], c_type.as_pointer())
            values = [
                context.cast(builder, builder.extract_value(args[1], i), arguments[i], want)
                for i, want in enumerate(signature.args)
            ]
            return builder.call(function, values)

        return signature.return_type(_I, arguments), codegen

    return call


#: call a declared neuron model's adapter: ``call_neuron(address, (phase, n, ...))``
call_neuron = _caller(NEURON_SIGNATURE)
#: call a declared synapse's adapter: ``call_synapse(address, (n, j0, ...))``
call_synapse = _caller(SYNAPSE_SIGNATURE)


@numba.njit(cache=True, error_model="numpy")
def _declared_block(
    b0,
    b1,
    shift,
    adapter,
    population,
    outputs,
    jumps,
    work,
    t,
    dt,
    single,
):
    """Neurons ``b0 .. b1 - 1`` of a population of a declared model
    (:class:`refsim.NeuronTwins`) through its ``adapter``
    (:mod:`refsim.backends.numba.declared`): the reset into ``work``, the input at each
    post-reset potential (two more rows of ``work``), then the step, the jumps
    (``jumps``, :func:`~refsim.backends.numba.jumps._add_jumps`; None: nothing in the
    network jumps), the refractory hold, the states as stored and the spike."""
    v, extra, last, flag, spk, par, is_hard, refractory_model = population
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    rows = extra.shape[0]
    arrays = (
        v.ctypes.data,
        extra.ctypes.data,
        extra.shape[1],
        spk.ctypes.data,
        par.ctypes.data,
        par.shape[1],
        work.ctypes.data,
        work.shape[1],
        last.ctypes.data,
        flag.ctypes.data,
        1 if flag.size else 0,
        1 if refractory_model else 0,
        1 if is_hard else 0,
        1 if single else 0,
    )
    call_neuron(adapter, (0, n, b0, k0) + arrays + (t, dt))
    direct = par[6]
    for w in range(n):
        current, slope = _input_current(b0 + w, work[0, w], direct[k0 + w], outputs)
        work[rows + 1, w] = current
        work[rows + 2, w] = slope
    if jumps is not None and jumps[0].size > 0:  # a DeltaProj or PoissonInput jumps it
        call_neuron(adapter, (2, n, b0, k0) + arrays + (t, dt))
        stepped = rows + 1 + INPUT_ROWS  # the stepped V's row, then the other states'
        _add_jumps(b0, n, work[stepped], 0, jumps, single, work[-2], work[-1])
        call_neuron(adapter, (3, n, b0, k0) + arrays + (t, dt))
    else:
        call_neuron(adapter, (1, n, b0, k0) + arrays + (t, dt))


@numba.njit(cache=True, error_model="numpy")
def _declared_synapse(b0, k0, n, r, adapter, G, fed, STATE, PARAM, dt, single):
    """Row ``r`` (a declared synapse, :class:`refsim.SynapseTwins`) over neurons ``b0 ..
    b0 + n - 1`` through its ``adapter``: ``G[r]`` holds the row's events (``fed``: any)
    and gets its output; its states are ``STATE[r]``, its parameters ``PARAM[r]`` (columns
    from ``k0``)."""
    arguments = (
        n,
        b0,
        k0,
        G.ctypes.data + r * G.strides[0],
        1 if fed else 0,
        STATE.ctypes.data + r * STATE.strides[0],
        STATE.shape[2],
        PARAM.ctypes.data + r * PARAM.strides[0],
        PARAM.shape[2],
        1 if single else 0,
        dt,
    )
    call_synapse(adapter, arguments)
