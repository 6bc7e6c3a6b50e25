"""The numba backend: a whole :func:`refsim.run` of a :class:`refsim.Network` as one loop.

:func:`plan` reads a network into flat arrays (it says why when a component has no
compiled twin); :func:`run_compiled` advances it with :func:`_advance`, one jitted
loop over the steps of a chunk, with no Python inside a step.  The arithmetic of each
model is the scalar twin beside its NumPy code (``lif_drift_scalar`` in
``neurons/lif.py``, ``expon_decay_scalar`` in ``synapses/expon.py``, ``coba_scalar`` in
``outputs.py``...), performed in the oracle's order, so spikes and states equal the
numpy backend's bit for bit (``tests/backends/test_backends.py``).

Order inside one step (as :meth:`refsim.Network.update` on the numpy backend):

1. each projection adds the weights of the rows of its spiking presynaptic neurons
   (the spikes stored at the end of the previous step) into its own buffer, rows in
   index order and each row in storage order (as ``np.bincount``); each AlignPreProj
   steps its presynaptic plasticity and synapses on those spikes (``_pre_synapses``) and
   sums ``g_pre @ W`` into the row of its output (``_pre_propagate``); a delayed
   projection goes through its ring buffer (``_spike_input`` then ``_feed_values`` for
   one delay, ``_feed_synaptic_delay`` for one per synapse);
2. each population in turn: its synapses decay and add their projections' buffers
   (in feeding order), then each neuron resets from its stored spike, sums the output
   currents (in registration order) and integrates; refractory neurons keep the reset
   value; spikes are taken and monitors read.

Three membrane kernels share this order: ``_membrane`` runs the LIF family in vectorised
passes over a block (and ``_lif_cuba_pass`` runs a CUBA-only LIF population's synapses
and membranes in one pass, the same operations per neuron); ``_membrane_scalar`` (and
``_gif_block``) the other models with a reset, and ``_continuous_scalar`` those without,
also in passes over a block (reset, input current, one loop of the model's step twin,
``expif_step_scalar``, ``hh_step_scalar``..., then the spike), which vectorise because
the twins are compiled inline (``numba_support``); for ``method='euler'``, ``'rk2'`` or
``'rk4'``, neuron by neuron through ``_explicit_step`` and the model's derivatives twin
(``hh_derivatives_scalar``...).  Their
parameter rows and further states are named in ``plan.KIND_PARAMS`` and
``plan.NEURON_KINDS``.

Float sums run in that fixed order: a rerun gives the same bits.

A network built under ``precision=32`` (:attr:`Plan.single`) runs the same loop on the
same float64 arrays, and every state is rounded to the nearest float32 where it is
written (:func:`_stored`), before anything reads it: float32 storage, float64
arithmetic (``docs/precision.md``).  The run gives the states back in float32.

What makes it fast (figures in ``docs/performance.md``), none of which changes a bit:

* the loop's lists of arrays (per population, projection, monitor) arrive as tables of
  addresses and shapes (:func:`~refsim.backends.numba_support.array_table`), each array
  viewed with a load, not as Numba typed Lists (35 ns an item, and reference counts that
  the threads shared);
* ``error_model="numpy"``: a division by zero gives inf as in NumPy instead of raising,
  which removes the exit branch that kept every loop scalar (3x on COBA);
* each neuron pass is a flat loop over one block of ``_BLOCK`` neurons with offsets the
  compiler knows are non-negative, so LLVM vectorises it (AVX2 or AVX-512);
* the LIF and Expon passes read the parameters a whole population shares as numbers
  held in registers (:func:`~refsim.backends.numba_support.param_at`), not as a row per
  parameter streamed from memory; a CUBA-only population computes its constant
  ``exprel`` once;
* a projection visits only the rows of the neurons that fired (an index list taken once
  per step, eight spike flags at a time), prefetches the rows a few spikes ahead, reads
  int32 column indices, and skips the weight array when every weight is the same bit
  pattern;
* the loop runs on one thread per core (:func:`threads_for`), started once per chunk of
  steps and kept in step by barriers, each with its share of the neurons; each thread
  delivers every spike onto its own share of the targets only (rows sorted by target and
  cut per thread: :func:`_sorted_rows`, :func:`_cut_rows`), so no buffer's cache line
  moves between cores (see :func:`_advance`).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import numba
import numpy as np

from refsim.backends.numba_declared import addresses as declared_addresses
from refsim.backends.numba_declared import call_adapter
from refsim.backends.numba_support import (  # also registers the scalar twins
    array_table,
    atomic_add,
    atomic_load,
    cube_at,
    eight_flags,
    matrix_at,
    param_at,
    prefetch,
    unowned,
    vector_at,
    yield_cpu,
)
from refsim.backends.plan import ADEX_KIND as _ADEX
from refsim.backends.plan import ADQUAIF_KIND as _ADQUAIF
from refsim.backends.plan import ALIF_KIND as _ALIF
from refsim.backends.plan import ALPHA_KIND as _ALPHA
from refsim.backends.plan import AMPA_KIND as _AMPA
from refsim.backends.plan import BIONMDA_KIND as _BIONMDA
from refsim.backends.plan import COBA_KIND as _COBA
from refsim.backends.plan import COBALIF_KIND as _COBALIF
from refsim.backends.plan import CUBA_KIND as _CUBA
from refsim.backends.plan import CUBALIF_KIND as _CUBALIF
from refsim.backends.plan import DECLARED_KIND as _DECLARED
from refsim.backends.plan import DUAL_ALPHA_KIND as _DUAL_ALPHA
from refsim.backends.plan import EULER_METHOD as _EULER
from refsim.backends.plan import EXP_EULER_METHOD as _EXP_EULER
from refsim.backends.plan import EXPIF_KIND as _EXPIF
from refsim.backends.plan import EXPON_KIND as _EXPON
from refsim.backends.plan import FITZHUGH_NAGUMO_KIND as _FITZHUGH_NAGUMO
from refsim.backends.plan import GIF_KIND as _GIF
from refsim.backends.plan import HH_KIND as _HH
from refsim.backends.plan import IF_KIND as _IF
from refsim.backends.plan import IZHIKEVICH_KIND as _IZHIKEVICH
from refsim.backends.plan import LIF_KIND as _LIF
from refsim.backends.plan import MORRIS_LECAR_KIND as _MORRIS_LECAR
from refsim.backends.plan import NO_DELAY_KIND as _NO_DELAY
from refsim.backends.plan import (
    PARAMS,
    NotCompilable,
    Plan,
    add_spikes,
    checked_vectors,
    deliver,
    first_found,
    monitored,
    usable_cores,
)
from refsim.backends.plan import PRE_OUTPUT_KIND as _PRE_OUTPUT
from refsim.backends.plan import QUAIF_KIND as _QUAIF
from refsim.backends.plan import RK2_METHOD as _RK2
from refsim.backends.plan import SPIKE_DELAY_KIND as _SPIKE_DELAY
from refsim.backends.plan import STD_KIND as _STD
from refsim.backends.plan import STP_KIND as _STP
from refsim.backends.plan import WANG_BUZSAKI_KIND as _WANG_BUZSAKI
from refsim.backends.plan import plan as plan_network
from refsim.fmath import _EXPREL_SERIES_BELOW as EXPREL_SERIES_BELOW
from refsim.fmath import _poly_exprel as exprel_series
from refsim.fmath import exp_scalar, exprel_scalar
from refsim.integrators import exp_euler_scalar
from refsim.neurons.base import level_spike_scalar, reset_scalar, spike_scalar
from refsim.neurons.exponential import expif_derivatives_scalar, expif_step_scalar
from refsim.neurons.gif import gif_reset_scalar, gif_step_scalar
from refsim.neurons.hh import (
    hh_derivatives_scalar,
    hh_step_scalar,
    morris_lecar_derivatives_scalar,
    morris_lecar_step_scalar,
    wang_buzsaki_derivatives_scalar,
    wang_buzsaki_step_scalar,
)
from refsim.neurons.izhikevich import (
    izhikevich_derivatives_scalar,
    izhikevich_reset_scalar,
    izhikevich_step_scalar,
)
from refsim.neurons.lif import (
    alif_spike_scalar,
    alif_step_scalar,
    if_reset_scalar,
    if_step_scalar,
    lif_drift_scalar,
    lif_synapse_step_scalar,
)
from refsim.neurons.quadratic import quaif_derivatives_scalar, quaif_step_scalar
from refsim.neurons.reduced import (
    fitzhugh_nagumo_derivatives_scalar,
    fitzhugh_nagumo_step_scalar,
    hindmarsh_rose_derivatives_scalar,
    hindmarsh_rose_step_scalar,
)
from refsim.outputs import coba_scalar, cuba_scalar
from refsim.synapses.alpha import alpha_step_scalar
from refsim.synapses.expon import (
    dual_expon_step_scalar,
    expon_decay_scalar,
    expon_factor_scalar,
)
from refsim.synapses.kinetic import ampa_step_scalar, bionmda_step_scalar, transmitter_scalar
from refsim.synapses.stp import std_step_scalar, stp_step_scalar

if TYPE_CHECKING:
    from refsim.interrupt import CtrlC
    from refsim.stability import Finding

__all__ = ["NotCompilable", "plan", "run_compiled"]


def _drop_stale_cache() -> None:
    """Delete Numba's cached loops of this module when a scalar twin's source changed.

    Numba keys its cache on this file alone; the twins it inlines live in other files
    (``fmath.py``, the model files), so a change there would otherwise leave stale
    machine code in use.  A stamp of their sources sits beside the cache.
    """
    import hashlib
    import inspect
    import os
    import pathlib

    from refsim.backends import numba_support
    from refsim.backends import plan as plan_module  # the kind constants

    files = sorted({inspect.getsourcefile(f) for f in numba_support.TWINS}
                   | {__file__, numba_support.__file__, plan_module.__file__})
    digest = hashlib.sha256(b"".join(pathlib.Path(f).read_bytes() for f in files)).hexdigest()
    here = pathlib.Path(__file__)
    dirs = [here.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        dirs.append(pathlib.Path(os.environ["NUMBA_CACHE_DIR"]))
    for cache_dir in dirs:
        stamp = cache_dir / "refsim_twins.sha256"
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            for old in cache_dir.rglob(f"{here.stem}.*.nb[ic]"):
                old.unlink()
            cache_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
        except OSError:  # a read-only install: Numba then caches elsewhere or not at all
            pass


@contextlib.contextmanager
def _compile_lock():
    """Hold an exclusive lock (a file beside Numba's cache of this module) while this
    process compiles or loads the loop.

    Numba's cache is not safe against processes that compile the same functions at the
    same time (``refsim validate`` workers, MPI ranks, ``pytest -n``): files written by two
    of them can disagree on the native names of a parallel function and crash a later
    load (numba issue 10128).  With the lock the first process compiles and writes, the
    others wait and load.  Without ``fcntl`` (Windows) or a writable cache folder there is
    no lock.
    """
    import os
    import pathlib

    folder = pathlib.Path(os.environ.get("NUMBA_CACHE_DIR") or
                          pathlib.Path(__file__).parent / "__pycache__")
    try:
        import fcntl

        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "refsim_compile.lock", "a")  # noqa: SIM115 - held below
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


with _compile_lock():
    _drop_stale_cache()


def plan(net) -> Plan:
    """Read ``net`` into a :class:`~refsim.backends.plan.Plan` (shared parameters one
    block wide, the rows of undelayed projections sorted by target: :func:`_sorted_rows`).
    Raises :class:`NotCompilable`."""
    pl = plan_network(net, narrow_width=_BLOCK, single_ok=True, unmerged=True, explicit=True)
    declared_addresses(pl.declared)  # the declared models' twins compile, or NotCompilable
    for f in range(len(pl.feed_indptr)):
        if pl.feed_delay_kind[f] == _NO_DELAY:
            pl.feed_indices[f], pl.feed_weights[f] = _sorted_rows(
                pl.feed_indptr[f], pl.feed_indices[f], pl.feed_weights[f], pl.feed_uniform[f])
    return pl


@numba.njit(cache=True, error_model="numpy")
def _sorted_rows(indptr, indices, weights, uniform):
    """A CSR matrix's ``indices`` and ``weights`` with each row's synapses in ascending
    column order, synapses of one column in their order (a stable sort): new arrays where
    a row was out of order, else the same ones; ``weights`` are not copied when
    ``uniform`` (all the same bits).

    No sum changes: a neuron's buffer still receives the rows that fired in index order
    and, within a row, its own synapses in storage order.  Sorted, a row splits into one
    contiguous piece per thread (:func:`_cut_rows`)."""
    in_order = True
    for row in range(indptr.size - 1):
        for s in range(indptr[row] + 1, indptr[row + 1]):
            in_order = in_order and indices[s - 1] <= indices[s]
    if in_order:
        return indices, weights
    indices = indices.copy()
    if not uniform:
        weights = weights.copy()
    for row in range(indptr.size - 1):
        a, b = indptr[row], indptr[row + 1]
        order = np.argsort(indices[a:b], kind="mergesort")
        indices[a:b] = indices[a:b][order]
        if not uniform:
            weights[a:b] = weights[a:b][order]
    return indices, weights


@numba.njit(cache=True, error_model="numpy")
def _cut_rows(indptr, indices, n_post, parts):
    """Each row of a CSR matrix with sorted rows (:func:`_sorted_rows`) cut into ``parts``
    pieces, piece ``part`` holding the synapses onto that thread's share of the ``n_post``
    targets (:func:`_share`): piece ``part`` of row ``row`` is
    ``cut[row * parts + part] .. cut[row * parts + part + 1] - 1``.  For one part,
    ``cut`` is ``indptr``."""
    n_rows = indptr.size - 1
    cut = np.empty(n_rows * parts + 1, dtype=np.int64)
    for row in range(n_rows):
        s = indptr[row]
        for part in range(parts):  # (part 0's share starts at 0: its piece at indptr[row])
            first = _share(n_post, part, parts)
            while s < indptr[row + 1] and indices[s] < first:
                s += 1
            cut[row * parts + part] = s
    cut[n_rows * parts] = indptr[n_rows]
    return cut


@numba.njit(cache=True, error_model="numpy")
def _list_fired(spk, fired, lo, hi):
    """Write the indices of the set flags of ``spk[lo:hi]`` into ``fired`` from ``lo``
    on, in ascending order; return their count.  Flags are tested eight at a time (a
    step's spikes are few: most words are zero)."""
    lo, n = max(lo, 0), 0
    j = lo
    while j + 8 <= hi:
        if eight_flags(spk, j) != 0:
            for k in range(j, j + 8):
                if spk[k]:
                    fired[lo + n] = k
                    n += 1
        j += 8
    for k in range(j, hi):
        if spk[k]:
            fired[lo + n] = k
            n += 1
    return n


@numba.njit(cache=True, error_model="numpy")
def _decay_factors(TAU, dt):
    """Per synapse element of a population, the constant ``dt * exprel(-dt / tau)`` of
    its decay."""
    F = np.empty_like(TAU)
    for r in range(TAU.shape[0]):
        for j in range(TAU.shape[1]):
            F[r, j] = expon_factor_scalar(TAU[r, j], dt)
    return F


@numba.njit(cache=True, error_model="numpy")
def _dual_factors(syn_kind, DUAL_PARAM, TAU, dt):
    """Per DualExpon element of a population: the decay constant of its rise, ``dt *
    exprel(-dt / tau_rise)``, and the equal-tau propagator ``exp(-dt / tau_decay)`` (0
    elsewhere)."""
    F = np.zeros_like(DUAL_PARAM)
    for r in range(TAU.shape[0]):
        if syn_kind[r] != _EXPON:
            for k in range(TAU.shape[1]):
                F[r, 0, k] = expon_factor_scalar(DUAL_PARAM[r, 0, k], dt)
                F[r, 1, k] = exp_scalar(-dt / TAU[r, k])
    return F


@numba.njit(cache=True, error_model="numpy")
def _linear_exprel(par, linear, dt):
    """For a population whose outputs are all CUBA (no slope, ``linear``): ``exprel(dt *
    J)`` per column of its parameter table, with the Jacobian ``J = -1/tau`` constant
    through the run; else empty."""
    R, tau, V_rest = par[0], par[1], par[4]
    e = np.empty(R.size if linear else 0)
    for j in range(e.size):
        jacobian = lif_drift_scalar(0.0, 0.0, 0.0, R[j], tau[j], V_rest[j])[1]
        e[j] = exprel_scalar(dt * jacobian)
    return e


@numba.njit(cache=True, error_model="numpy", inline="always")
def _stored(x, single):
    """``x`` as a state holds it: rounded to the nearest float32 in a network built under
    ``precision=32`` (``single``, :attr:`Plan.single`), else unchanged."""
    return np.float64(np.float32(x)) if single else x


# The block kernels below index state arrays at ``j = b0 + w``, tables at ``k = k0 + w``
# and scratch at ``w``, with ``w`` counting from 0 and both offsets clamped at 0: so the
# compiler knows no index is negative (Numba would otherwise test each one for Python's
# wrap-around) and vectorises the loops.  Slicing instead would cost two atomic
# reference counts per view.

@numba.njit(cache=True, error_model="numpy")
def _synapses(b0, b1, shift, narrow, p, G, TAU, FACTOR, KIND, DUAL, DUAL_PARAM, DUAL_FACTOR,
              f_pop, f_row, f_buffer, dt, single):
    """Neurons ``b0 .. b1 - 1`` of population ``p``: each synapse decays, then adds its
    feeds' buffers in feeding order (the oracle's delta queue) and clears them.
    Tables (``TAU``, ``FACTOR``, ``DUAL_PARAM``, ``DUAL_FACTOR``) are read at column
    ``j - shift``, or, ``narrow`` (one value for the population), as numbers; a DualExpon
    row keeps its states in ``DUAL[r]`` and its output in ``G[r]``, which first sums this
    step's events."""
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    for r in range(G.shape[0]):
        if KIND[r] == _PRE_OUTPUT:  # filled by its AlignPreProj, in step 1
            continue
        if KIND[r] != _EXPON:
            _dual_expon(b0, k0, n, r, p, G, TAU, FACTOR, KIND, DUAL, DUAL_PARAM, DUAL_FACTOR,
                        f_pop, f_row, f_buffer, dt, single)
            continue
        decayed = False
        for f in range(f_pop.size):
            if f_pop[f] != p or f_row[f] != r:
                continue
            buf = vector_at(f_buffer, f, np.float64)
            if decayed:
                for w in range(n):
                    j = b0 + w
                    G[r, j] = _stored(G[r, j] + buf[j], single)
                    buf[j] = 0.0
            elif narrow:  # the decay and the first feed in one pass
                _expon_decay(b0, n, G[r], TAU[r, 0], FACTOR[r, 0], True, buf, single)
            else:
                _expon_decay(b0, n, G[r], TAU[r], FACTOR[r], True, buf, single)
            decayed = True
        if not decayed and narrow:  # no feed: the decay alone (``G[r]`` stands for a buffer)
            _expon_decay(b0, n, G[r], TAU[r, 0], FACTOR[r, 0], False, G[r], single)
        elif not decayed:
            _expon_decay(b0, n, G[r], TAU[r], FACTOR[r], False, G[r], single)


@numba.njit(cache=True, error_model="numpy")
def _expon_decay(b0, n, g, tau, factor, fed, buf, single):
    """``g[j]`` of neurons ``b0 .. b0 + n - 1`` (an Expon's conductance): its decay, then,
    if ``fed``, ``+ buf[j]`` (clearing ``buf``).  ``tau``, ``factor``: rows of the
    population's tables, or numbers (:func:`param_at`)."""
    b0 = max(b0, 0)
    if fed:
        for w in range(n):
            j = b0 + w
            decayed = expon_decay_scalar(g[j], param_at(tau, j), param_at(factor, j))
            g[j] = _stored(decayed + buf[j], single)
            buf[j] = 0.0
    else:
        for w in range(n):
            j = b0 + w
            g[j] = _stored(expon_decay_scalar(g[j], param_at(tau, j), param_at(factor, j)),
                           single)


@numba.njit(cache=True, error_model="numpy")
def _dual_expon(b0, k0, n, r, p, G, TAU, FACTOR, KIND, DUAL, DUAL_PARAM, DUAL_FACTOR, f_pop,
                f_row, f_buffer, dt, single):
    """Row ``r`` (a DualExpon) over neurons ``b0 .. b0 + n - 1``: the events
    ``0.0 + x_1 + x_2 ...`` (the oracle's ``sum_delta_inputs(0.0)``) into ``G[r]``, then
    the step twin, whose output replaces them."""
    b0, k0 = max(b0, 0), max(k0, 0)
    first = True
    for f in range(f_pop.size):
        if f_pop[f] != p or f_row[f] != r:
            continue
        buf = vector_at(f_buffer, f, np.float64)
        for w in range(n):
            j = b0 + w
            G[r, j] = _stored((0.0 if first else G[r, j]) + buf[j], single)
            buf[j] = 0.0
        first = False
    alpha = KIND[r] == _DUAL_ALPHA
    for w in range(n):
        j, k = b0 + w, k0 + w
        events = 0.0 if first else G[r, j]
        rise, decay, g = dual_expon_step_scalar(
            DUAL[r, 0, j], DUAL[r, 1, j], events, DUAL_PARAM[r, 0, k], TAU[r, k],
            DUAL_FACTOR[r, 0, k], FACTOR[r, k], DUAL_PARAM[r, 1, k], alpha,
            DUAL_FACTOR[r, 1, k], dt)
        DUAL[r, 0, j], DUAL[r, 1, j] = _stored(rise, single), _stored(decay, single)
        G[r, j] = _stored(g, single)


@numba.njit(cache=True, error_model="numpy")
def _membrane(b0, b1, narrow, v, last, flag, spk, par, is_hard, refractory_model, G, out_row,
              out_kind, out_value, o_begin, o_end, e_linear, floor, work, t, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a LIF/LIFRef population: one step (:func:`_lif_block`)
    with its parameters (and ``e_linear``) read from the columns of the table ``par``,
    or, ``narrow``, as one number each (and the spike tested against ``floor``)."""
    if narrow:
        _lif_block(b0, b1, v, last, flag, spk, is_hard, refractory_model, G, out_row,
                   out_kind, out_value, o_begin, o_end, par[0, 0], par[1, 0], par[2, 0],
                   par[3, 0], par[4, 0], par[5, 0], par[6, 0], e_linear.size > 0,
                   e_linear[0] if e_linear.size else 0.0, floor, work, t, dt, single)
    else:
        _lif_block(b0, b1, v, last, flag, spk, is_hard, refractory_model, G, out_row,
                   out_kind, out_value, o_begin, o_end, par[0], par[1], par[2], par[3],
                   par[4], par[5], par[6], e_linear.size > 0, e_linear, np.nan, work, t, dt,
                   single)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _currents(n, V, V0, c0, direct, d0, cur, slope, G, out_row, out_kind, out_value, o_begin,
              o_end):
    """The input of ``n`` neurons at the potentials ``V[V0 + w]`` into ``cur[w]`` and
    ``slope[w]``: the direct input (:func:`param_at` ``d0 + w``), then every output's
    current in registration order (conductance column ``c0 + w``); a pass per output, so
    that each vectorises (:func:`_input_current` is the same sum for one neuron)."""
    for w in range(n):
        cur[w] = param_at(direct, d0 + w)
        slope[w] = 0.0
    for o in range(o_begin, o_end):
        row, value = out_row[o], out_value[o]
        if out_kind[o] == _COBA:
            for w in range(n):
                I, dI = coba_scalar(G[row, c0 + w], value, V[V0 + w])
                cur[w] = cur[w] + I
                slope[w] = slope[w] + dI
        else:
            for w in range(n):
                I, dI = cuba_scalar(G[row, c0 + w], value, V[V0 + w])
                cur[w] = cur[w] + I
                slope[w] = slope[w] + dI


@numba.njit(cache=True, error_model="numpy", inline="never")
def _exprel_rarely(z):
    """:func:`exprel_scalar` as a call, for a branch that is rarely taken: inlined, as every
    twin is, it would let LLVM vectorise its loop by computing both of its sides for every
    neuron (COBA 4000: 20 % slower)."""
    return exprel_scalar(z)


@numba.njit(cache=True, error_model="numpy")
def _lif_block(b0, b1, v, last, flag, spk, is_hard, refractory_model, G, out_row, out_kind,
               out_value, o_begin, o_end, R, tau_m, V_th, V_reset, V_rest, tau_ref, direct,
               linear, e_linear, floor, work, t, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a LIF/LIFRef population: one step, in passes that
    vectorise; ``work`` is scratch.  Each parameter is a row (read at ``j``) or one number
    (:func:`param_at`).  ``linear``: the Jacobian is constant (all outputs CUBA) and
    ``e_linear`` holds ``exprel(dt * J)``; ``floor``: see :func:`_integrate`.
    """
    b0, n = max(b0, 0), b1 - b0
    V_r, cur, slope, z, e = work[0], work[1], work[2], work[3], work[4]
    for w in range(n):
        j = b0 + w
        V_r[w] = reset_scalar(v[j], spk[j], param_at(V_th, j), param_at(V_reset, j), is_hard)
    # the oracle's sum starts from the direct input (or 0), outputs in registration order
    _currents(n, V_r, 0, b0, direct, b0, cur, slope, G, out_row, out_kind, out_value, o_begin,
              o_end)
    if linear:
        _integrate(b0, b0, n, v, last, flag, spk, R, tau_m, V_th, V_reset, V_rest, tau_ref,
                   refractory_model, V_r, cur, slope, e_linear, floor, t, dt, single)
        return
    for w in range(n):
        j = b0 + w
        z[w] = dt * lif_drift_scalar(V_r[w], cur[w], slope[w], param_at(R, j),
                                     param_at(tau_m, j), param_at(V_rest, j))[1]
        e[w] = exprel_series(z[w])  # exprel_scalar's value wherever |z| < 1/2 ...
    for w in range(n):
        if not abs(z[w]) < EXPREL_SERIES_BELOW:  # ... and its other branch elsewhere
            e[w] = _exprel_rarely(z[w])
    _integrate(b0, 0, n, v, last, flag, spk, R, tau_m, V_th, V_reset, V_rest, tau_ref,
               refractory_model, V_r, cur, slope, e, floor, t, dt, single)


@numba.njit(cache=True, error_model="numpy")
def _integrate(b0, e0, n, v, last, flag, spk, R, tau_m, V_th, V_reset, V_rest, tau_ref,
               refractory_model, V_r, cur, slope, e, floor, t, dt, single):
    """The exponential-Euler step of a block given ``e = exprel(dt * J)`` (at ``e0 + w``,
    or one number); parameters as in :func:`_lif_block`.  The spike is ``V - V_th >=
    floor`` where ``floor`` is a number (:func:`spike_floor` of shared ``V_th`` and
    ``V_reset``: ``spike_scalar``'s test without its division, which made COBA 5 to 18 %
    faster on the Intel host), else (NaN) ``spike_scalar``."""
    b0, e0 = max(b0, 0), max(e0, 0)
    by_floor = not np.isnan(floor)
    for w in range(n):
        j = b0 + w
        V_th_j = param_at(V_th, j)
        drift = lif_drift_scalar(V_r[w], cur[w], slope[w], param_at(R, j),
                                 param_at(tau_m, j), param_at(V_rest, j))[0]
        V_new = _stored(exp_euler_scalar(V_r[w], drift, param_at(e, e0 + w), dt), single)
        if refractory_model:
            held = (t - last[j]) < param_at(tau_ref, j)
            if held:
                V_new = V_r[w]
            # Refractory._note_spikes written here, not called: a call, even one Numba
            # inlines, kept LLVM from vectorising the pass (9x)
            if V_new >= V_th_j:
                last[j] = t
            if flag.size:  # ref_var=True: the refractory flag of the step
                flag[j] = 1.0 if held or V_new >= V_th_j else 0.0
        v[j] = V_new
        if by_floor:
            spk[j] = V_new - V_th_j >= floor
        else:
            spk[j] = spike_scalar(V_new, V_th_j, param_at(V_reset, j))


#: the first of a kind's own rows in a parameter table (``plan.KIND_PARAMS``)
_OWN = len(PARAMS)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _input_current(j, V, direct, G, out_row, out_kind, out_value, o_begin, o_end):
    """Neuron ``j``'s input at potential ``V``: the direct input plus every output's
    current (in registration order), and their slope."""
    current, slope = direct, 0.0
    for o in range(o_begin, o_end):
        if out_kind[o] == _COBA:
            I, dI = coba_scalar(G[out_row[o], j], out_value[o], V)
        else:
            I, dI = cuba_scalar(G[out_row[o], j], out_value[o], V)
        current = current + I
        slope = slope + dI
    return current, slope


@numba.njit(cache=True, error_model="numpy")
def _membrane_scalar(b0, b1, shift, kind, method, v, extra, last, flag, spk, par, is_hard,
                     refractory_model, G, out_row, out_kind, out_value, o_begin, o_end, work,
                     t, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a population with a reset, other than LIF: one step
    through the model's scalar twins, in the order of its ``update``: reset (and the jump
    of its second state), the input at the post-reset potential, the step, the
    refractory hold, the spike.  Each of these is a pass over the block through the rows
    of ``work`` (so that each vectorises); an explicit method steps neuron by neuron.
    ``extra`` holds the states besides ``V`` (rows named in ``plan.NEURON_KINDS``: ``w``,
    ``a``, ``u`` or ``g``; Gif's ``I1, I2, V_th`` in :func:`_gif_block`); parameter
    tables are read at column ``j - shift``."""
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    R, tau_m, V_th, V_reset, V_rest, tau_ref, direct = (
        par[0], par[1], par[2], par[3], par[4], par[5], par[6])
    own = par[_OWN:]  # the kind's rows, named in plan.KIND_PARAMS
    if kind == _GIF:
        _gif_block(b0, n, k0, v, extra, last, flag, spk, par, is_hard, refractory_model, G,
                   out_row, out_kind, out_value, o_begin, o_end, work, t, dt, single)
        return
    adaptive = kind == _ADEX or kind == _ADQUAIF  # own: ..., tau_w, a, b
    V_r, x_r, cur, slope, V_new, x_new = work[0], work[1], work[2], work[3], work[4], work[5]
    has_x = extra.shape[0] > 0
    # 1. the reset from the stored spike, and the jump of the second state
    for w in range(n):
        x_r[w] = extra[0, b0 + w] if has_x else 0.0
    if kind == _IZHIKEVICH:  # own: a, b, c, d, p1, p2, p3
        for w in range(n):
            j, k = b0 + w, k0 + w
            V_r[w], x_r[w] = izhikevich_reset_scalar(v[j], x_r[w], spk[j], own[2, k], own[3, k])
    elif kind == _IF:
        for w in range(n):
            V_r[w] = if_reset_scalar(v[b0 + w], spk[b0 + w], V_th[k0 + w], is_hard)
    else:
        for w in range(n):
            j, k = b0 + w, k0 + w
            V_r[w] = reset_scalar(v[j], spk[j], V_th[k], V_reset[k], is_hard)
        if kind == _ALIF:
            for w in range(n):
                x_r[w] = x_r[w] + (1.0 if spk[b0 + w] else 0.0)
        elif adaptive:
            for w in range(n):
                x_r[w] = x_r[w] + own[4, k0 + w] * (1.0 if spk[b0 + w] else 0.0)
    # 2. the step: exponential Euler from the input at V_r, or an explicit method (the
    #    whole ODE system, the input at each stage's V)
    if method != _EXP_EULER:
        for w in range(n):
            V_new[w], x_new[w] = _explicit_step(kind, method, b0 + w, k0 + w,
                                                (V_r[w], x_r[w], 0.0, 0.0), par, own, G,
                                                out_row, out_kind, out_value, o_begin, o_end,
                                                dt)[:2]
    else:
        _currents(n, V_r, 0, b0, direct, k0, cur, slope, G, out_row, out_kind, out_value,
                  o_begin, o_end)
        if kind == _ALIF:  # own: beta, tau_a
            for w in range(n):
                k = k0 + w
                V_new[w], x_new[w] = alif_step_scalar(V_r[w], x_r[w], cur[w], slope[w], R[k],
                                                      tau_m[k], V_rest[k], own[1, k], dt)
        elif kind == _IZHIKEVICH:
            for w in range(n):
                k = k0 + w
                V_new[w], x_new[w] = izhikevich_step_scalar(
                    V_r[w], x_r[w], cur[w], slope[w], own[0, k], own[1, k], own[4, k],
                    own[5, k], own[6, k], dt)
        elif kind == _IF:
            for w in range(n):
                k = k0 + w
                V_new[w] = if_step_scalar(V_r[w], cur[w], slope[w], R[k], tau_m[k], dt)
                x_new[w] = x_r[w]
        elif kind == _CUBALIF or kind == _COBALIF:  # own: tau_syn (, E); extra: g
            coba = kind == _COBALIF
            for w in range(n):
                k = k0 + w
                V_new[w], x_new[w] = lif_synapse_step_scalar(
                    V_r[w], x_r[w], cur[w], slope[w], coba, R[k], tau_m[k], V_rest[k],
                    own[0, k], own[1, k] if coba else 0.0, dt)
        elif kind == _QUAIF or kind == _ADQUAIF:  # own: V_c, c (, tau_w, a, b)
            # (a loop per twin, as for each kind: one loop choosing its twin per neuron
            # computed both, ExpIF and QuaIF 1.2-1.7x slower)
            for w in range(n):
                k = k0 + w
                tau_w, a = (own[2, k], own[3, k]) if adaptive else (1.0, 0.0)
                V_new[w], x_new[w] = quaif_step_scalar(
                    V_r[w], x_r[w], cur[w], slope[w], adaptive, R[k], tau_m[k], V_rest[k],
                    own[0, k], own[1, k], tau_w, a, dt)
        else:  # ExpIF, AdExIF; own: V_T, delta_T (, tau_w, a, b)
            for w in range(n):
                k = k0 + w
                tau_w, a = (own[2, k], own[3, k]) if adaptive else (1.0, 0.0)
                V_new[w], x_new[w] = expif_step_scalar(
                    V_r[w], x_r[w], cur[w], slope[w], adaptive, R[k], tau_m[k], V_rest[k],
                    own[0, k], own[1, k], tau_w, a, dt)
    # 3. the refractory hold, the states as stored, the bookkeeping of a refractory model
    #    (Refractory._note_spikes, written here as in _integrate)
    for w in range(n):
        j, k = b0 + w, k0 + w
        V_j, x_j = V_new[w], x_new[w]
        held = False
        if refractory_model:
            held = (t - last[j]) < tau_ref[k]
        if held:
            V_j, x_j = V_r[w], x_r[w]
        V_j, x_j = _stored(V_j, single), _stored(x_j, single)
        if refractory_model:
            if V_j >= V_th[k]:
                last[j] = t
            if flag.size:
                flag[j] = 1.0 if held or V_j >= V_th[k] else 0.0
        v[j], x_new[w] = V_j, x_j
    if has_x:
        for w in range(n):
            extra[0, b0 + w] = x_new[w]
    # 4. the spike
    if kind == _ALIF:
        for w in range(n):
            k = k0 + w
            spk[b0 + w] = alif_spike_scalar(v[b0 + w], x_new[w], V_th[k], V_reset[k],
                                            own[0, k])
    elif kind == _IZHIKEVICH or kind == _IF:
        for w in range(n):
            spk[b0 + w] = level_spike_scalar(v[b0 + w], V_th[k0 + w])
    else:
        for w in range(n):
            spk[b0 + w] = spike_scalar(v[b0 + w], V_th[k0 + w], V_reset[k0 + w])


@numba.njit(cache=True, error_model="numpy")
def _declared_block(b0, b1, shift, adapter, v, extra, last, flag, spk, par, is_hard,
                    refractory_model, G, out_row, out_kind, out_value, o_begin, o_end, work,
                    t, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a population of a declared model
    (:class:`refsim.NeuronTwins`) through its ``adapter``
    (:mod:`refsim.backends.numba_declared`): the reset into ``work``, the input at each
    post-reset potential (two more rows of ``work``), then the step, the refractory hold,
    the states as stored and the spike."""
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    rows = extra.shape[0]
    arrays = (v.ctypes.data, extra.ctypes.data, extra.shape[1], spk.ctypes.data,
              par.ctypes.data, par.shape[1], work.ctypes.data, work.shape[1],
              last.ctypes.data, flag.ctypes.data, 1 if flag.size else 0,
              1 if refractory_model else 0, 1 if is_hard else 0, 1 if single else 0)
    call_adapter(adapter, 0, n, b0, k0, *arrays, t, dt)
    direct = par[6]
    for w in range(n):
        current, slope = _input_current(b0 + w, work[0, w], direct[k0 + w], G, out_row,
                                        out_kind, out_value, o_begin, o_end)
        work[rows + 1, w] = current
        work[rows + 2, w] = slope
    call_adapter(adapter, 1, n, b0, k0, *arrays, t, dt)


@numba.njit(cache=True, error_model="numpy")
def _gif_block(b0, n, k0, v, extra, last, flag, spk, par, is_hard, refractory_model, G,
               out_row, out_kind, out_value, o_begin, o_end, work, t, dt, single):
    """Neurons ``b0 .. b0 + n - 1`` of a Gif/GifRef population (its states I1, I2 and the
    moving threshold V_th in the rows of ``extra``), in passes as
    :func:`_membrane_scalar`: every state held while refractory, and the spike tested
    against the state threshold."""
    R, tau_m, V_reset, V_rest, tau_ref, direct = par[0], par[1], par[3], par[4], par[5], par[6]
    own = par[_OWN:]  # V_th_inf, V_th_reset, a, b, k1, k2, R1, R2, A1, A2
    I1, I2, th = extra[0], extra[1], extra[2]
    V_r, I1_r, I2_r, th_r, cur, slope = work[0], work[1], work[2], work[3], work[4], work[5]
    for w in range(n):  # 1. the reset
        j, k = b0 + w, k0 + w
        V_r[w], I1_r[w], I2_r[w], th_r[w] = gif_reset_scalar(
            v[j], I1[j], I2[j], th[j], spk[j], V_reset[k], own[1, k], own[6, k], own[7, k],
            own[8, k], own[9, k], is_hard)
    _currents(n, V_r, 0, b0, direct, k0, cur, slope, G, out_row, out_kind, out_value,
              o_begin, o_end)  # 2. the input at V_r
    for w in range(n):  # 3. the step
        j, k = b0 + w, k0 + w
        v[j], I1[j], I2[j], th[j] = gif_step_scalar(
            V_r[w], I1_r[w], I2_r[w], th_r[w], cur[w], slope[w], not refractory_model, R[k],
            tau_m[k], V_rest[k], own[0, k], own[2, k], own[3, k], own[4, k], own[5, k], dt)
    for w in range(n):  # 4. the hold, the states as stored, the bookkeeping
        j, k = b0 + w, k0 + w
        held = False
        if refractory_model:
            held = (t - last[j]) < tau_ref[k]
        if held:
            v[j], I1[j], I2[j], th[j] = V_r[w], I1_r[w], I2_r[w], th_r[w]
        v[j], I1[j] = _stored(v[j], single), _stored(I1[j], single)
        I2[j], th[j] = _stored(I2[j], single), _stored(th[j], single)
        if refractory_model:  # against the state threshold
            if v[j] >= th[j]:
                last[j] = t
            if flag.size:
                flag[j] = 1.0 if held or v[j] >= th[j] else 0.0
    for w in range(n):  # 5. the spike
        spk[b0 + w] = spike_scalar(v[b0 + w], th[b0 + w], V_reset[k0 + w])


@numba.njit(cache=True, error_model="numpy")
def _continuous_scalar(b0, b1, shift, kind, method, v, extra, spk, par, G, out_row, out_kind,
                       out_value, o_begin, o_end, work, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a population without reset (HH, WangBuzsakiHH,
    MorrisLecar, FitzHughNagumo, HindmarshRose): the input at the old potential, then the
    model's step twin (its further states are the rows of ``extra``, named in
    ``plan.NEURON_KINDS``); the stored spike is the level ``(V - V_th) / V_th >= 0``.
    Exponential Euler runs in passes over the block (the input into ``work``, then one
    loop of the model's twin, which vectorises); an explicit method, neuron by neuron."""
    b0, n = max(b0, 0), b1 - b0
    k0 = max(b0 - shift, 0)
    tau, V_th, direct = par[1], par[2], par[6]
    own = par[_OWN:]  # the kind's rows, named in plan.KIND_PARAMS
    rows = extra.shape[0]
    if method != _EXP_EULER:  # the whole ODE system, the input at each stage's V
        for w in range(n):
            j, k = b0 + w, k0 + w
            y = _explicit_step(kind, method, j, k, (v[j], extra[0, j] if rows > 0 else 0.0,
                                                    extra[1, j] if rows > 1 else 0.0,
                                                    extra[2, j] if rows > 2 else 0.0),
                               par, own, G, out_row, out_kind, out_value, o_begin, o_end, dt)
            v[j] = y[0]
            for r in range(rows):
                extra[r, j] = y[1 + r]
    else:
        cur = work[0]
        _currents(n, v, b0, b0, direct, k0, cur, work[1], G, out_row, out_kind, out_value,
                  o_begin, o_end)
        if kind == _HH:  # own: ENa, EK, EL, gNa, gK, gL, C; extra: m, h, n
            m, h, n_K = extra[0], extra[1], extra[2]
            for w in range(n):
                j, k = b0 + w, k0 + w
                v[j], m[j], h[j], n_K[j] = hh_step_scalar(
                    v[j], m[j], h[j], n_K[j], cur[w], own[0, k], own[1, k], own[2, k],
                    own[3, k], own[4, k], own[5, k], own[6, k], dt)
        elif kind == _WANG_BUZSAKI:  # own: ENa, EK, EL, gNa, gK, gL, C, phi; extra: h, n
            h, n_K = extra[0], extra[1]
            for w in range(n):
                j, k = b0 + w, k0 + w
                v[j], h[j], n_K[j] = wang_buzsaki_step_scalar(
                    v[j], h[j], n_K[j], cur[w], own[0, k], own[1, k], own[2, k], own[3, k],
                    own[4, k], own[5, k], own[6, k], own[7, k], dt)
        elif kind == _MORRIS_LECAR:  # own: V_Ca, V_K, V_leak, g_Ca, g_K, g_leak, C,
            W = extra[0]               # V1, V2, V3, V4, phi; extra: W
            for w in range(n):
                j, k = b0 + w, k0 + w
                v[j], W[j] = morris_lecar_step_scalar(
                    v[j], W[j], cur[w], own[0, k], own[1, k], own[2, k], own[3, k], own[4, k],
                    own[5, k], own[6, k], own[7, k], own[8, k], own[9, k], own[10, k],
                    own[11, k], dt)
        elif kind == _FITZHUGH_NAGUMO:  # own: a, b, tau_w; extra: w
            W = extra[0]
            for w in range(n):
                j, k = b0 + w, k0 + w
                v[j], W[j] = fitzhugh_nagumo_step_scalar(v[j], W[j], cur[w], own[0, k],
                                                         own[1, k], tau[k], own[2, k], dt)
        else:  # Hindmarsh-Rose; own: a, b, c, d, r, s, V_r; extra: y, z
            Y, Z = extra[0], extra[1]
            for w in range(n):
                j, k = b0 + w, k0 + w
                v[j], Y[j], Z[j] = hindmarsh_rose_step_scalar(
                    v[j], Y[j], Z[j], cur[w], own[0, k], own[1, k], own[2, k], own[3, k],
                    own[4, k], own[5, k], own[6, k], tau[k], dt)
    if single:
        for w in range(n):
            v[b0 + w] = _stored(v[b0 + w], single)
        for r in range(rows):
            for w in range(n):
                extra[r, b0 + w] = _stored(extra[r, b0 + w], single)
    for w in range(n):
        spk[b0 + w] = level_spike_scalar(v[b0 + w], V_th[k0 + w])


# -- the explicit methods: each model's right-hand side, one stepper for all ------------
# A right-hand side takes the states ``y = (V, s0, s1, s2)`` (the rows of ``extra`` in the
# order of ``plan.NEURON_KINDS``, 0.0 past the model's), the input current at ``V``, the
# parameter table ``par`` and its kind's rows ``own`` (``plan.KIND_PARAMS``), read at
# column ``k``; it returns the derivatives in the same order (0.0 past the model's).
# :func:`_derivatives` picks one by kind, :func:`_explicit_step` combines the stages.
# All are inlined by Numba (``inline="always"``) into the neuron loops: as calls, each
# passed its arrays with a reference count taken and dropped (an atomic operation on a
# counter that both threads touch) and Izhikevich's Euler step cost 77 ns a neuron
# instead of 19 ns.  The stages run in a loop, so the right-hand sides are compiled once
# per caller, not once per stage (a cold compile of 55 s otherwise, 26 s so).

@numba.njit(cache=True, error_model="numpy", inline="always")
def _exp_or_quadratic_rhs(kind, y, current, par, own, k):
    """ExpIF and AdExIF (own: V_T, delta_T, then tau_w, a, b), QuaIF and AdQuaIF (own: V_c,
    c, then tau_w, a, b); ``y[1]`` is ``w`` with adaptation, unused without."""
    adaptive = kind == _ADEX or kind == _ADQUAIF
    w, tau_w, a = (y[1], own[2, k], own[3, k]) if adaptive else (0.0, 1.0, 0.0)
    if kind == _QUAIF or kind == _ADQUAIF:
        dV, dw = quaif_derivatives_scalar(y[0], w, current, adaptive, par[0, k], par[1, k],
                                          par[4, k], own[0, k], own[1, k], tau_w, a)
    else:
        dV, dw = expif_derivatives_scalar(y[0], w, current, adaptive, par[0, k], par[1, k],
                                          par[4, k], own[0, k], own[1, k], tau_w, a)
    return dV, dw, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _izhikevich_rhs(y, current, par, own, k):  # own: a, b, c, d, p1, p2, p3
    dV, du = izhikevich_derivatives_scalar(y[0], y[1], current, own[0, k], own[1, k],
                                           own[4, k], own[5, k], own[6, k])
    return dV, du, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _hh_rhs(y, current, par, own, k):  # own: ENa, EK, EL, gNa, gK, gL, C
    return hh_derivatives_scalar(y[0], y[1], y[2], y[3], current, own[0, k], own[1, k],
                                 own[2, k], own[3, k], own[4, k], own[5, k], own[6, k])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _wang_buzsaki_rhs(y, current, par, own, k):  # own: ENa, EK, EL, gNa, gK, gL, C, phi
    dV, dh, dn = wang_buzsaki_derivatives_scalar(y[0], y[1], y[2], current, own[0, k],
                                                 own[1, k], own[2, k], own[3, k], own[4, k],
                                                 own[5, k], own[6, k], own[7, k])
    return dV, dh, dn, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _morris_lecar_rhs(y, current, par, own, k):  # own: V_Ca, V_K, V_leak, g_Ca, g_K,
    #                                              g_leak, C, V1, V2, V3, V4, phi
    dV, dW = morris_lecar_derivatives_scalar(y[0], y[1], current, own[0, k], own[1, k],
                                             own[2, k], own[3, k], own[4, k], own[5, k],
                                             own[6, k], own[7, k], own[8, k], own[9, k],
                                             own[10, k], own[11, k])
    return dV, dW, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _fitzhugh_nagumo_rhs(y, current, par, own, k):  # own: a, b, tau_w
    dV, dw = fitzhugh_nagumo_derivatives_scalar(y[0], y[1], current, own[0, k], own[1, k],
                                                par[1, k], own[2, k])
    return dV, dw, 0.0, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _hindmarsh_rose_rhs(y, current, par, own, k):  # own: a, b, c, d, r, s, V_r
    dV, dy, dz = hindmarsh_rose_derivatives_scalar(y[0], y[1], y[2], current, own[0, k],
                                                   own[1, k], own[2, k], own[3, k],
                                                   own[4, k], own[5, k], own[6, k], par[1, k])
    return dV, dy, dz, 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _shifted(y, slope, h):
    """``y + h * slope``, element by element (``explicit_step``'s ``shifted``)."""
    return (y[0] + h * slope[0], y[1] + h * slope[1], y[2] + h * slope[2],
            y[3] + h * slope[3])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _derivatives(kind, j, k, y, par, own, outputs):
    """The derivatives of neuron ``j`` at ``y``: the input current at ``y[0]``
    (:func:`_input_current`; ``outputs`` are its arguments after the potential and the
    direct input), then the right-hand side of population kind ``kind``."""
    G, out_row, out_kind, out_value, o_begin, o_end = outputs
    current = _input_current(j, y[0], par[6, k], G, out_row, out_kind, out_value, o_begin,
                             o_end)[0]
    if kind == _EXPIF or kind == _ADEX or kind == _QUAIF or kind == _ADQUAIF:
        return _exp_or_quadratic_rhs(kind, y, current, par, own, k)
    if kind == _IZHIKEVICH:
        return _izhikevich_rhs(y, current, par, own, k)
    if kind == _HH:
        return _hh_rhs(y, current, par, own, k)
    if kind == _WANG_BUZSAKI:
        return _wang_buzsaki_rhs(y, current, par, own, k)
    if kind == _MORRIS_LECAR:
        return _morris_lecar_rhs(y, current, par, own, k)
    if kind == _FITZHUGH_NAGUMO:
        return _fitzhugh_nagumo_rhs(y, current, par, own, k)
    return _hindmarsh_rose_rhs(y, current, par, own, k)  # HindmarshRose, the last kind


@numba.njit(cache=True, error_model="numpy", inline="always")
def _explicit_step(kind, method, j, k, y, par, own, G, out_row, out_kind, out_value, o_begin,
                   o_end, dt):
    """One step of :func:`refsim.integrators.explicit_step` (euler, rk2 or rk4) of neuron
    ``j`` from ``y``, the same operations in the same order (:func:`_derivatives` at each
    stage)."""
    outputs = (G, out_row, out_kind, out_value, o_begin, o_end)
    stages = 1 if method == _EULER else (2 if method == _RK2 else 4)
    at, total = y, y  # where the next stage is taken; rk4's k1 + 2 k2 + 2 k3 + k4 so far
    for stage in range(stages):  # one call site: the right-hand sides compile once
        slope = _derivatives(kind, j, k, at, par, own, outputs)
        last = stage == stages - 1
        if stages < 4:  # euler: y + dt k1; rk2: k2 at y + dt/2 k1, then y + dt k2
            at = _shifted(y, slope, dt if last else dt / 2)
        else:  # rk4: k2 and k3 at half steps, k4 at a whole one
            total = slope if stage == 0 else _shifted(total, slope, 1.0 if last else 2.0)
            at = _shifted(y, slope, dt / 2 if stage < 2 else dt)
    return at if stages < 4 else _shifted(y, total, dt / 6)


@numba.njit(cache=True, error_model="numpy")
def _spike_input(spk, start, ring, at, low, frac, x):
    """``x[j]``: the spike (1.0 or 0.0) of neuron ``start + j``, or, through a
    :class:`~refsim.delays.SpikeDelay` (``ring`` has rows), its ``__call__``: this step's
    spikes go into row ``at`` of the ring and ``x`` is the value ``low + frac`` steps back
    (two rows mixed when ``frac`` is not 0).  Returns the ring's next row."""
    length = ring.shape[0]
    if length == 0:
        for j in range(x.size):
            x[j] = 1.0 if spk[start + j] else 0.0
        return at
    for j in range(x.size):
        ring[at, j] = 1.0 if spk[start + j] else 0.0
    older, oldest = (at - low) % length, (at - low - 1) % length
    for j in range(x.size):
        x[j] = ring[older, j]
        if frac != 0.0:
            x[j] = x[j] * (1.0 - frac) + ring[oldest, j] * frac
    return (at + 1) % length


@numba.njit(cache=True, error_model="numpy")
def _feed_values(x, indptr, idx, w, buf):
    """Add ``w * x`` of the rows where ``x`` is nonzero into ``buf``, rows in index order
    and each in storage order (``event_csr_propagate`` of float input)."""
    for j in range(x.size):
        if x[j] != 0.0:
            for s in range(indptr[j], indptr[j + 1]):
                buf[idx[s]] += w[s] * x[j]


@numba.njit(cache=True, error_model="numpy")
def _feed_synaptic_delay(cells, counts, start, stop, ring, at, steps, indptr, idx, w, buf,
                         single):
    """A feed through a :class:`~refsim.delays.SynapticDelay`: each synapse of a row that
    fired (``cells``: the threads' spike lists, each from the start of its share,
    ``counts[part]`` long) adds its weight into the ring row of its arrival (rows in
    index order, each in storage order, as ``np.add.at``); then row ``at`` arrives into
    ``buf`` and is cleared.  Returns the ring's next row."""
    length = ring.shape[0]
    for part in range(counts.size):
        first = _share(cells.size, part, counts.size)
        for k in range(counts[part]):
            if start <= cells[first + k] < stop:
                row = cells[first + k] - start
                for s in range(indptr[row], indptr[row + 1]):
                    slot = (at + steps[s]) % length
                    ring[slot, idx[s]] = _stored(ring[slot, idx[s]] + w[s], single)
    for j in range(buf.size):
        buf[j] = ring[at, j]
        ring[at, j] = 0.0
    return (at + 1) % length


@numba.njit(cache=True, error_model="numpy")
def _pre_synapses(x_in, kind, S, P, stp_kind, Q, QP, out, t, dt, single):
    """The presynaptic side of one AlignPreProj, neuron by neuron: the input ``x_in[j]``
    (:func:`_spike_input`) through the plasticity (states ``Q``, parameters ``QP``), into
    the synapse (states ``S``, parameters ``P``; rows named in ``plan.PRE_SYNAPSES``);
    ``out[j]`` is the synapse's output."""
    for j in range(out.size):
        x = x_in[j]
        if stp_kind == _STP:  # QP: U, tau_f, tau_d
            Q[0, j], Q[1, j], x = stp_step_scalar(Q[0, j], Q[1, j], x, QP[0, j], QP[1, j],
                                                  QP[2, j], dt)
        elif stp_kind == _STD:  # QP: tau, U
            Q[0, j], x = std_step_scalar(Q[0, j], x, QP[0, j], QP[1, j], dt)
        if kind == _EXPON:  # P: tau
            S[0, j] = expon_decay_scalar(S[0, j], P[0, j], expon_factor_scalar(P[0, j], dt)) + x
            out[j] = S[0, j]
        elif kind == _ALPHA:  # P: tau; S: g, h
            S[0, j], S[1, j] = alpha_step_scalar(S[0, j], S[1, j], x, P[0, j], dt)
            out[j] = S[0, j]
        elif kind == _AMPA:  # P: alpha, beta, T, T_dur, g_max; S: g, spike_arrival_time
            S[1, j], TT = transmitter_scalar(S[1, j], x, P[2, j], P[3, j], t)
            S[0, j] = ampa_step_scalar(S[0, j], TT, P[0, j], P[1, j], P[4, j], dt)
            out[j] = S[0, j]
        elif kind == _BIONMDA:  # P: alpha1, beta1, alpha2, beta2, T, T_dur, g_max;
            #                     S: g, x, spike_arrival_time
            S[2, j], TT = transmitter_scalar(S[2, j], x, P[4, j], P[5, j], t)
            S[0, j], S[1, j] = bionmda_step_scalar(S[0, j], S[1, j], TT, P[0, j], P[1, j],
                                                   P[2, j], P[3, j], P[6, j], dt)
            out[j] = S[0, j]
        else:  # DualExpon; P: tau_rise, tau_decay, factor; S: g_rise, g_decay
            S[0, j], S[1, j], out[j] = dual_expon_step_scalar(
                S[0, j], S[1, j], 0.0 + x, P[0, j], P[1, j], expon_factor_scalar(P[0, j], dt),
                expon_factor_scalar(P[1, j], dt), P[2, j], kind == _DUAL_ALPHA,
                exp_scalar(-dt / P[1, j]), dt)
        if single:  # the states (but an event time, the last row of AMPA and BioNMDA)
            for r in range(Q.shape[0]):
                Q[r, j] = _stored(Q[r, j], single)
            for r in range(S.shape[0] - (kind == _AMPA or kind == _BIONMDA)):
                S[r, j] = _stored(S[r, j], single)
            out[j] = _stored(out[j], single)


@numba.njit(cache=True, error_model="numpy")
def _pre_propagate(g_pre, indptr, idx, w, G, row, single):
    """``G[row] = g_pre @ W`` as the oracle sums it (``event_csr_propagate``): from zero,
    through :func:`_feed_values`."""
    out = G[row]
    for j in range(out.size):
        out[j] = 0.0
    _feed_values(g_pre, indptr, idx, w, out)
    if single:
        for j in range(out.size):
            out[j] = _stored(out[j], single)


#: rows ahead of the one being delivered whose synapses are prefetched (measured best:
#: a row of 80 synapses costs about 1 ns per event so, against 6 ns from main memory)
_AHEAD = 4
#: neurons advanced together through all the passes of a step, so that a block's columns
#: stay in the L2 cache (measured on COBA 64k: 1024 2.74, 4096 2.43, unblocked 3.28 s per
#: simulated second; smaller blocks pay more per-call overhead than they save)
_BLOCK = 4096
#: how long a thread spins at a barrier before it yields its core (a barrier between two
#: cores takes about 0.2 us here)
_SPINS = 2000
#: the fewest neurons per thread worth the barriers (two or three a step, 0.3-0.5 us in all)
MIN_NEURONS_PER_THREAD = 1000


@numba.njit(cache=True, error_model="numpy")
def _prefetch_row(begin, end, idx, w, uniform):
    """Ask for the cache lines of synapses ``begin .. end - 1`` of a CSR matrix (their
    indices, and weights unless uniform)."""
    for s in range(begin, end, 64 // idx.itemsize):
        prefetch(idx, s)
    if not uniform:
        for s in range(begin, end, 8):
            prefetch(w, s)


@numba.njit(cache=True, error_model="numpy")
def _step_range(b0, b1, p, narrow, kind, slot, declared_models, method, v, extra, last, flag,
                spk, par, is_hard, refractory_model,
                G, TAU, FACTOR, KIND, DUAL, DUAL_PARAM, DUAL_FACTOR, f_pop, f_row, f_buffer,
                out_row, out_kind, out_value, o_begin, o_end, e_lin, floor, work, t, dt,
                single):
    """Neurons ``b0 .. b1 - 1`` (at most ``_BLOCK``) of population ``p``: their synapses,
    then their membranes; ``floor``: a LIF population's :func:`spike_floor` (NaN: the
    spike test divides); ``work`` is the scratch of the thread running them; ``single``:
    each state written is rounded to float32 (:func:`_stored`)."""
    shift = b0 if narrow else 0  # narrow tables: one block, reused
    _synapses(b0, b1, shift, narrow, p, G, TAU, FACTOR, KIND, DUAL, DUAL_PARAM, DUAL_FACTOR,
              f_pop, f_row, f_buffer, dt, single)
    if kind == _LIF:
        _membrane(b0, b1, narrow, v, last, flag, spk, par, is_hard, refractory_model, G,
                  out_row, out_kind, out_value, o_begin, o_end, e_lin, floor, work, t, dt,
                  single)
    elif kind == _DECLARED:
        _declared_block(b0, b1, shift, declared_models[slot], v, extra, last, flag, spk, par,
                        is_hard, refractory_model, G, out_row, out_kind, out_value, o_begin,
                        o_end, work, t, dt, single)
    elif kind >= _HH:
        _continuous_scalar(b0, b1, shift, kind, method, v, extra, spk, par, G, out_row,
                           out_kind, out_value, o_begin, o_end, work, dt, single)
    else:
        _membrane_scalar(b0, b1, shift, kind, method, v, extra, last, flag, spk, par, is_hard,
                         refractory_model, G, out_row, out_kind, out_value, o_begin, o_end,
                         work, t, dt, single)


@numba.njit(cache=True, error_model="numpy")
def _cuba_rows(p, KIND, f_pop, f_row, out_row, out_kind, o_begin, o_end):
    """The feeds of population ``p``'s synapse rows when :func:`_lif_cuba_pass` can step
    it: one or two Expon rows, each fed by exactly one projection and read by one CUBA
    output, outputs in row order (else ``(-1, -1)``).  For two rows ``(f0, f1)``, for one
    ``(f0, f0)``."""
    rows = KIND.size
    if rows < 1 or rows > 2 or o_end - o_begin != rows:
        return -1, -1
    feed0, feed1 = -1, -1
    for r in range(rows):
        if KIND[r] != _EXPON or out_row[o_begin + r] != r or out_kind[o_begin + r] != _CUBA:
            return -1, -1
        found = -1
        for f in range(f_pop.size):
            if f_pop[f] == p and f_row[f] == r:
                if found >= 0:  # a second feed into one row: the general passes
                    return -1, -1
                found = f
        if found < 0:
            return -1, -1
        if r == 0:
            feed0 = found
        feed1 = found
    return feed0, feed1


@numba.njit(cache=True, error_model="numpy")
def spike_floor(V_th, V_reset):
    """The number ``-t`` with which :func:`~refsim.neurons.base.spike_scalar`'s test
    ``(V - V_th) / (V_th - V_reset) >= 0`` equals ``V - V_th >= -t`` for every ``V``; NaN
    unless ``d = V_th - V_reset`` is positive and finite.

    ``t`` is the largest float whose quotient by ``d`` rounds to zero (0 unless ``d >= 2``).
    With ``x = V - V_th``: the quotient is ``>= 0`` for ``x >= 0`` (``-0.0`` and ``inf``
    too) and, for ``x < 0``, only where it underflows to ``-0.0``, that is ``|x| <= t``
    (a rounded quotient never shrinks as ``|x|`` grows); a NaN fails both tests.  Found
    by bisection over the bit patterns of the floats from 0 to inf.
    """
    d = V_th - V_reset
    if not 0.0 < d < np.inf:
        return np.nan
    bits = np.zeros(1, dtype=np.int64)
    value = bits.view(np.float64)
    below, above = 0, 0x7FF0000000000000  # quotients 0.0 (of 0.0) and inf (of inf)
    while above - below > 1:
        bits[0] = (below + above) // 2
        if value[0] / d == 0.0:
            below = bits[0]
        else:
            above = bits[0]
    bits[0] = below
    return -value[0]


@numba.njit(cache=True, error_model="numpy")
def _lif_cuba_pass(b0, b1, v, last, flag, spk, is_hard, refractory_model, G, TAU, FACTOR,
                   f_buffer, feed0, feed1, scale, R, tau_m, V_th, V_reset, V_rest, tau_ref,
                   direct, e, floor, t, dt, single):
    """Neurons ``b0 .. b1 - 1`` of a LIF/LIFRef population with shared parameters whose
    one or two Expon rows each take one feed and drive one CUBA output (the CUBA
    benchmark's E and I): :func:`_synapses` and :func:`_lif_block` in one pass that
    vectorises, each neuron through the same operations in the same order (each row's
    decay and event, then the reset, ``direct + I_0 (+ I_1)``, the step, the refractory
    hold, the spike).  ``e`` is the population's constant ``exprel(dt * J)``; the spike is
    ``V - V_th >= floor`` (:func:`spike_floor`): the same test as ``spike_scalar``
    without its division, which cost a quarter of the pass (three remain: the two decays
    and the drift, each the oracle's own rounding)."""
    b0, n = max(b0, 0), b1 - b0
    two = G.shape[0] == 2
    g0, buf0 = G[0], vector_at(f_buffer, feed0, np.float64)
    g1, buf1 = G[G.shape[0] - 1], vector_at(f_buffer, feed1, np.float64)
    tau0, factor0, scale0 = TAU[0, 0], FACTOR[0, 0], scale[0]
    tau1, factor1, scale1 = TAU[-1, 0], FACTOR[-1, 0], scale[-1]
    for w in range(n):
        j = b0 + w
        x0 = _stored(expon_decay_scalar(g0[j], tau0, factor0) + buf0[j], single)
        g0[j], buf0[j] = x0, 0.0
        V_r = reset_scalar(v[j], spk[j], V_th, V_reset, is_hard)
        current = direct + cuba_scalar(x0, scale0, V_r)[0]
        if two:
            x1 = _stored(expon_decay_scalar(g1[j], tau1, factor1) + buf1[j], single)
            g1[j], buf1[j] = x1, 0.0
            current = current + cuba_scalar(x1, scale1, V_r)[0]
        drift = lif_drift_scalar(V_r, current, 0.0, R, tau_m, V_rest)[0]
        V_new = _stored(exp_euler_scalar(V_r, drift, e, dt), single)
        if refractory_model:  # _integrate's lines (a call would unvectorise the pass)
            held = (t - last[j]) < tau_ref
            if held:
                V_new = V_r
            if V_new >= V_th:
                last[j] = t
            if flag.size:
                flag[j] = 1.0 if held or V_new >= V_th else 0.0
        v[j] = V_new
        spk[j] = V_new - V_th >= floor


@numba.njit(cache=True, error_model="numpy")
def _share(n, part, parts):
    """The first index of ``part``'s share of ``n`` neurons, or ``n`` for ``part ==
    parts``: a multiple of 64, so that in the plan's arrays (which start on a cache line,
    :func:`~refsim.backends.plan.aligned_zeros`) no cache line, of floats or of one-byte
    flags, holds the neurons of two threads."""
    return n if part >= parts else (n * part // parts) // 64 * 64


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _barrier(sync, parts):
    """Wait until all ``parts`` threads have arrived (``sync``: count, generation).  The
    last to arrive resets the count and opens the next generation; the atomics order
    every write before the barrier ahead of every read after it."""
    if parts == 1:
        return
    generation = atomic_load(sync, 1)
    if atomic_add(sync, 0, 1) == parts - 1:
        atomic_add(sync, 0, -parts)
        atomic_add(sync, 1, 1)
        return
    spins = 0
    while atomic_load(sync, 1) == generation:
        spins += 1
        if spins > _SPINS:  # a thread without a core of its own: let it run
            yield_cpu()


@numba.njit(cache=True, error_model="numpy")
def _first_unstable(k, v, low, high, lo, hi, found, found_value):
    """Note in ``found`` (pop.. left to the caller: here the checked vector ``k`` and the
    index) and ``found_value`` the first element of ``v[lo:hi]`` outside ``[low, high]``
    (NaN and inf included), unless one is noted already."""
    if found[1] >= 0:
        return
    ok = True  # a pass without branches, which LLVM vectorises; the search only if needed
    for j in range(lo, hi):
        x = v[j]
        ok &= (x >= low) & (x <= high)
    if ok:
        return
    for j in range(lo, hi):
        x = v[j]
        if not (x >= low and x <= high):
            found[1], found[2], found_value[0] = k, j, x
            return


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _advance(part, parts, sync, part_fired, i_begin, i_end, first_step, dt, single,
             V, extra, last_spike, in_refractory, params, narrow, kind, method, refractory,
             hard,
             spiking, fired,
             pop_g, pop_tau, pop_factor, pop_syn_kind, pop_dual, pop_dual_param,
             pop_dual_factor, pop_e_linear, scratch,
             out_row, out_kind, out_value, out_start, declared_slot, declared_models,
             f_indptr, f_cut, f_indices, f_weights, f_uniform, f_pre, f_start, f_stop, f_pop,
             f_row, f_buffer, f_delay_kind, f_ring, f_ring_at, f_delay_steps, f_delay_low,
             f_delay_frac, f_x,
             pre_kind, pre_state, pre_param, pre_stp_kind, pre_stp_state, pre_stp_param,
             pre_indptr, pre_indices, pre_weights, pre_from, pre_start, pre_pop, pre_row,
             pre_out, pre_ring, pre_ring_at, pre_delay_low, pre_delay_frac, pre_x,
             spike_steps, spike_index, n_spikes,
             rec_src, rec_indices, rec_every, rec_buffer, rec_count,
             check_every, last_step, checked, check_bounds, found, found_value):
    """Advance steps ``i_begin .. i_end - 1`` of a run; return the next step.

    Each list of arrays (one per population, projection or monitor: ``V``, ``pop_g``,
    ``f_buffer``...) arrives as an :func:`~refsim.backends.numba_support.array_table`,
    read with ``vector_at``, ``matrix_at`` or ``cube_at`` (``V[p]`` is
    ``vector_at(V, p, np.float64)``).

    ``parts`` threads run this loop at once, each with its ``part``, meeting at two or
    three barriers a step (``sync``: the barrier's count and generation, a stop asked for,
    and part 0's decision to stop, taken before the second barrier so that every part
    returns before the same step): each delivers the spikes
    of every undelayed projection onto its own share of the targets (piece ``part`` of
    each row, ``f_cut``), steps its share of the delayed projections and AlignPreProj
    (``f % parts``); then, after a barrier, its share of every population's neurons (a
    contiguous range), listing its spikes from the start of that range (``fired[p]``,
    counted in ``part_fired[p, part]``): the parts' lists, one after the other, are the
    step's spikes in index order, read where they lie.  After a second barrier part 0
    records the spikes and the state monitors while the others go on to the next step; a
    third barrier holds them only when there are state monitors (which read states that
    the next step's projections may write).  Every float sum
    stays with one thread, in the serial order: the bits do not depend on ``parts``.

    ``single``: each state written is rounded to float32 (:func:`_stored`).

    Every ``check_every``-th global step and at ``last_step`` (:mod:`refsim.stability`;
    ``check_every`` 0: never) each part scans its share of the vectors ``checked`` (every
    population's V, extra states and synaptic rows, population by population, each
    against its row of ``check_bounds``) before the second barrier, noting the first bad
    value in its row of ``found`` (step, vector, index; -1: none) and ``found_value``;
    after the barrier every part sees every row, and all return after that step (once it
    is recorded).

    Spikes of population ``p`` go to ``spike_steps[p]`` / ``spike_index[p]`` (an empty
    buffer: not recorded), ``n_spikes[p]`` counting; the loop returns early, before a
    step that could overflow a buffer, for the caller to enlarge it.  Each thread counts
    the recorded spikes itself (``recorded``, from ``part_fired``), so all take that
    decision at the same step without waiting for part 0.
    """
    f8, i8, i4 = np.float64, np.int64, np.int32
    n_pops = V.shape[0]
    # read by every neuron's input current, through functions not always inlined
    out_row, out_kind, out_value = unowned(out_row), unowned(out_kind), unowned(out_value)
    recorded = n_spikes.copy()
    cuba_feeds = np.full((n_pops, 2), -1)  # the populations _lif_cuba_pass steps
    spike_floors = np.full(n_pops, np.nan)  # LIF populations' spike_floor (NaN: divide)
    for p in range(n_pops):
        par = matrix_at(params, p, f8)
        if kind[p] == _LIF and narrow[p]:
            spike_floors[p] = spike_floor(par[2, 0], par[3, 0])
            if not np.isnan(spike_floors[p]) and pop_e_linear[p, 1] > 0:
                cuba_feeds[p] = _cuba_rows(p, vector_at(pop_syn_kind, p, i8), f_pop, f_row,
                                           out_row, out_kind, out_start[p], out_start[p + 1])
    for i in range(i_begin, i_end):
        for p in range(n_pops):  # (a table's row: address, then the sizes)
            if spike_steps[p, 1] > 0 and recorded[p] + V[p, 1] > spike_steps[p, 1]:
                return i
        if sync[3]:  # a stop asked for (Ctrl-C): part 0's decision of the last step
            return i
        t = (first_step + i) * dt
        # 1. projections: the rows of the presynaptic neurons that fired, in index
        #    order, into buffers that are zero (cleared where they are consumed)
        for f in range(f_pre.size):
            buf, pre = vector_at(f_buffer, f, f8), f_pre[f]
            start, stop, cells = f_start[f], f_stop[f], vector_at(fired, pre, i8)
            idx, w = vector_at(f_indices, f, i4), vector_at(f_weights, f, f8)
            if f_delay_kind[f] == _NO_DELAY:  # every thread, onto its share of the targets
                cut = vector_at(f_cut, f, i8)
                for by in range(parts):  # the spikes listed by each thread, in turn
                    first, n = _share(cells.size, by, parts), part_fired[pre, by]
                    for k in range(first, first + n):
                        if k + _AHEAD < first + n and start <= cells[k + _AHEAD] < stop:
                            ahead = (cells[k + _AHEAD] - start) * parts + part
                            _prefetch_row(cut[ahead], cut[ahead + 1], idx, w, f_uniform[f])
                        if start <= cells[k] < stop:
                            piece = (cells[k] - start) * parts + part
                            if f_uniform[f]:
                                w0 = w[0]
                                for s in range(cut[piece], cut[piece + 1]):
                                    buf[idx[s]] += w0
                            else:
                                for s in range(cut[piece], cut[piece + 1]):
                                    buf[idx[s]] += w[s]
                continue
            if f % parts != part:  # a delayed feed: one thread
                continue
            indptr, ring = vector_at(f_indptr, f, i8), matrix_at(f_ring, f, f8)
            if f_delay_kind[f] == _SPIKE_DELAY:
                x = vector_at(f_x, f, f8)
                f_ring_at[f] = _spike_input(vector_at(spiking, pre, np.bool_), start, ring,
                                            f_ring_at[f], f_delay_low[f], f_delay_frac[f], x)
                _feed_values(x, indptr, idx, w, buf)
            else:
                f_ring_at[f] = _feed_synaptic_delay(cells, part_fired[pre], start, stop, ring,
                                                    f_ring_at[f], vector_at(f_delay_steps, f,
                                                                            i8),
                                                    indptr, idx, w, buf, single)
        #    and each AlignPreProj: its synapses, then their outputs through W
        for q in range(pre_kind.size):
            if (f_pre.size + q) % parts != part:
                continue
            x, out = vector_at(pre_x, q, f8), vector_at(pre_out, q, f8)
            pre_ring_at[q] = _spike_input(vector_at(spiking, pre_from[q], np.bool_),
                                          pre_start[q], matrix_at(pre_ring, q, f8),
                                          pre_ring_at[q], pre_delay_low[q], pre_delay_frac[q],
                                          x)
            _pre_synapses(x, pre_kind[q], matrix_at(pre_state, q, f8),
                          matrix_at(pre_param, q, f8), pre_stp_kind[q],
                          matrix_at(pre_stp_state, q, f8), matrix_at(pre_stp_param, q, f8),
                          out, t, dt, single)
            _pre_propagate(out, vector_at(pre_indptr, q, i8), vector_at(pre_indices, q, i4),
                           vector_at(pre_weights, q, f8), matrix_at(pop_g, pre_pop[q], f8),
                           pre_row[q], single)
        _barrier(sync, parts)
        # 2. populations in order, each thread its share: synapses, then membranes
        for p in range(n_pops):
            v, spk = vector_at(V, p, f8), vector_at(spiking, p, np.bool_)
            lo, hi = _share(v.size, part, parts), _share(v.size, part + 1, parts)
            if cuba_feeds[p, 0] >= 0:  # the whole share in one pass
                par = matrix_at(params, p, f8)
                _lif_cuba_pass(lo, hi, v, vector_at(last_spike, p, f8),
                               vector_at(in_refractory, p, f8), spk, hard[p], refractory[p],
                               matrix_at(pop_g, p, f8), matrix_at(pop_tau, p, f8),
                               matrix_at(pop_factor, p, f8), f_buffer, cuba_feeds[p, 0],
                               cuba_feeds[p, 1], out_value[out_start[p]:out_start[p + 1]],
                               par[0, 0], par[1, 0], par[2, 0], par[3, 0], par[4, 0],
                               par[5, 0], par[6, 0], vector_at(pop_e_linear, p, f8)[0],
                               spike_floors[p], t, dt, single)
            else:  # in blocks, through the passes of its kind
                for b0 in range(lo, hi, _BLOCK):
                    _step_range(b0, min(b0 + _BLOCK, hi), p, narrow[p], kind[p],
                                declared_slot[p], declared_models, method[p], v,
                                matrix_at(extra, p, f8), vector_at(last_spike, p, f8),
                                vector_at(in_refractory, p, f8), spk, matrix_at(params, p, f8),
                                hard[p], refractory[p], matrix_at(pop_g, p, f8),
                                matrix_at(pop_tau, p, f8), matrix_at(pop_factor, p, f8),
                                vector_at(pop_syn_kind, p, i8), cube_at(pop_dual, p, f8),
                                cube_at(pop_dual_param, p, f8), cube_at(pop_dual_factor, p, f8),
                                f_pop, f_row, f_buffer, out_row, out_kind, out_value,
                                out_start[p], out_start[p + 1], vector_at(pop_e_linear, p, f8),
                                spike_floors[p], cube_at(scratch, p, f8)[part], t, dt, single)
            part_fired[p, part] = _list_fired(spk, vector_at(fired, p, i8), lo, hi)
        step = first_step + i
        checking = check_every > 0 and ((step + 1) % check_every == 0 or step == last_step)
        if checking:
            for k in range(check_bounds.shape[0]):
                v = vector_at(checked, k, f8)
                _first_unstable(k, v, check_bounds[k, 0], check_bounds[k, 1],
                                _share(v.size, part, parts), _share(v.size, part + 1, parts),
                                found[part], found_value[part:part + 1])
            if found[part, 1] >= 0:
                found[part, 0] = step
        if part == 0 and atomic_load(sync, 2):  # decided once, read by all after the barrier
            sync[3] = 1
        _barrier(sync, parts)
        unstable = False
        if checking:
            for k in range(parts):
                unstable = unstable or found[k, 1] >= 0
        for p in range(n_pops):
            if spike_steps[p, 1] > 0:
                recorded[p] += part_fired[p].sum()
        if part == 0:
            _record_spikes(first_step + i, part_fired, fired, spike_steps, spike_index,
                           n_spikes)
            # 3. state monitors, read after the step
            for m in range(rec_every.size):
                if i % rec_every[m] == 0:
                    src, sel = vector_at(rec_src, m, f8), vector_at(rec_indices, m, i8)
                    buf, row = matrix_at(rec_buffer, m, f8), rec_count[m]
                    for k in range(sel.size):
                        buf[row, k] = src[sel[k]]
                    rec_count[m] = row + 1
        if rec_every.size:
            _barrier(sync, parts)
        if unstable:  # this step recorded: every part returns after it
            return i + 1
    return i_end


@numba.njit(cache=True, error_model="numpy")
def _record_spikes(step, part_fired, fired, spike_steps, spike_index, n_spikes):
    """Each recorded population's spikes of this step as (step, index) pairs, in index
    order: the threads' lists one after the other (tables of arrays, as in
    :func:`_advance`)."""
    parts = part_fired.shape[1]
    for p in range(part_fired.shape[0]):
        if spike_steps[p, 1] == 0:
            continue
        cells = vector_at(fired, p, np.int64)
        steps, index = vector_at(spike_steps, p, np.int64), vector_at(spike_index, p, np.int64)
        n = n_spikes[p]
        for by in range(parts):
            first = _share(cells.size, by, parts)
            for k in range(part_fired[p, by]):
                steps[n], index[n] = step, cells[first + k]
                n += 1
        n_spikes[p] = n


#: entries of a spike record's first buffers (steps and indices), at least four steps of
#: the population firing at once; the loop stops before a step that could fill them and
#: :func:`run_compiled` doubles them
_FIRST_SPIKES = 1 << 20


def _spike_buffers(pl: Plan, mons: dict, n_steps: int):
    """Per population: step and index buffers when a monitor records it, else empty;
    per state monitor: its source, indices, period and buffer."""
    recorded, readers = monitored(pl, mons)
    rec_src = [source for _, source, _ in readers]
    rec_idx = [sel for _, _, sel in readers]
    rec_every = np.array([mon.every for mon, _, _ in readers], dtype=np.int64)
    rec_buf = [mon.allocate((sel.size,)) for mon, _, sel in readers]  # (in memory or mapped)
    rec_mons = [mon for mon, _, _ in readers]
    steps, index = [], []
    for p, pop in enumerate(pl.pops):
        size = 0
        if p in recorded:
            size = max(4 * pop.num, min(pop.num * n_steps, _FIRST_SPIKES))
        steps.append(np.zeros(size, dtype=np.int64))
        index.append(np.zeros(size, dtype=np.int64))
    return (steps, index, np.zeros(len(pl.pops), dtype=np.int64), rec_src, rec_idx,
            rec_every, rec_buf, np.zeros(len(rec_mons), np.int64), rec_mons)


@contextlib.contextmanager
def _sigint_blocked():
    """SIGINT blocked in this thread (POSIX), and so in the threads it starts."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def threads_for(pl: Plan) -> int:
    """How many threads run a planned network: Numba's thread count
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), :func:`usable_cores`, and at
    least :data:`MIN_NEURONS_PER_THREAD` neurons each, whichever is fewest."""
    neurons = sum(v.size for v in pl.V)
    return max(1, min(numba.get_num_threads(), usable_cores(),
                      neurons // MIN_NEURONS_PER_THREAD))


def run_compiled(pl: Plan, first_step: int, n_steps: int, dt: float, mons: dict,
                 bar=None, ctrl_c: CtrlC | None = None, check_every: int | None = None,
                 chunk: int = 1000) -> tuple[float, float, int, Finding | None]:
    """Run ``n_steps`` of a planned network, filling ``mons``; return (compile s, run s,
    steps done, the instability found or None).

    The loop is compiled (or loaded from Numba's cache) by a call of zero steps, timed
    apart; the run proceeds in chunks of ``chunk`` steps so that ``bar`` can advance.  A
    Ctrl-C (``ctrl_c``, from :func:`refsim.run`) stops it before the next step: fewer
    steps are done, and the monitors hold every one of them.  So does a state that the
    check of ``check_every`` (:mod:`refsim.stability`) finds bad, after its step.
    """
    import time

    (steps, index, n_spikes, rec_src, rec_idx, rec_every, rec_buf, rec_count,
     rec_mons) = _spike_buffers(pl, mons, n_steps)

    def spikes_of(p):  # the pairs in population p's buffer, not yet handed over
        return steps[p][: n_spikes[p]].copy(), index[p][: n_spikes[p]].copy()

    parts = threads_for(pl)
    sync = np.zeros(4, dtype=np.int64)  # barrier count, generation; stop asked, stop decided
    if ctrl_c is not None:
        ctrl_c.then(lambda: sync.__setitem__(2, 1))  # read by part 0 before a mid-step barrier
        if ctrl_c.asked:  # while the run was prepared: decided before the first step
            sync[3] = 1
    part_fired = np.zeros((len(pl.V), parts), dtype=np.int64)
    checked, check_bounds, names = checked_vectors(pl)
    found = np.full((parts, 3), -1, dtype=np.int64)  # step, checked vector, index
    found_value = np.zeros(parts)
    check = (int(check_every or 0), first_step + n_steps - 1, array_table(checked, np.float64, 1),
             check_bounds, found, found_value)

    table = array_table

    def advance(i0, i1):
        # the records' tables, made again for each call (a few microseconds)
        records = (table(steps, np.int64, 1), table(index, np.int64, 1), n_spikes,
                   table(rec_src, np.float64, 1), table(rec_idx, np.int64, 1), rec_every,
                   table(rec_buf, np.float64, 2), rec_count)

        def advance_part(part):
            return _advance(part, parts, sync, part_fired, i0, i1, first_step, dt, pl.single,
                            *populations, *feeds, *pre, *records, *check)

        # every part in a thread of its own, while the main thread waits in join(), where
        # a Ctrl-C reaches it at once: refsim.run's handler asks the parts to stop before
        # the next step
        reached = [i0] * parts
        workers = [threading.Thread(target=lambda k: reached.__setitem__(k, advance_part(k)),
                                    args=(k,)) for k in range(parts)]
        with _sigint_blocked():  # in the workers, which inherit it: the main thread
            for worker in workers:  # receives a Ctrl-C, and its join() is interrupted
                worker.start()
        for worker in workers:
            worker.join()
        return reached[0]  # every part returns the same step (the same test, same data)

    t0 = time.perf_counter()
    with _compile_lock():  # the first call of each jitted function compiles or loads it
        factors = [_decay_factors(TAU, dt) for TAU in pl.pop_tau]
        dual_factors = [_dual_factors(*arrays, dt) for arrays
                        in zip(pl.pop_syn_kind, pl.pop_dual_param, pl.pop_tau, strict=True)]
        e_linear = [_linear_exprel(par, linear, dt)
                    for par, linear in zip(pl.params, pl.linear, strict=True)]
        # per population and thread: six rows of a block (a declared model: its states,
        # V, current and slope)
        scratch = [np.zeros((parts, max(6, x.shape[0] + 3), min(v.size, _BLOCK)))
                   for v, x in zip(pl.V, pl.extra, strict=True)]
        cuts = [_cut_rows(indptr, indices, buffer.size, parts) for indptr, indices, buffer
                in zip(pl.feed_indptr, pl.feed_indices, pl.feed_buffer, strict=True)]
        f8 = np.float64
        populations = (
            table(pl.V, f8, 1), table(pl.extra, f8, 2), table(pl.last_spike, f8, 1),
            table(pl.in_refractory, f8, 1), table(pl.params, f8, 2), pl.narrow, pl.kind,
            pl.method, pl.refractory, pl.hard, table(pl.spiking, np.bool_, 1),
            table(pl.fired, np.int64, 1), table(pl.pop_g, f8, 2),
            table(pl.pop_tau, f8, 2), table(factors, f8, 2),
            table(pl.pop_syn_kind, np.int64, 1), table(pl.pop_dual, f8, 3),
            table(pl.pop_dual_param, f8, 3), table(dual_factors, f8, 3),
            table(e_linear, f8, 1), table(scratch, f8, 3),
            pl.out_row, pl.out_kind, pl.out_value, pl.out_start, pl.declared_slot,
            declared_addresses(pl.declared))
        feeds = (
            table(pl.feed_indptr, np.int64, 1), table(cuts, np.int64, 1),
            table(pl.feed_indices, np.int32, 1), table(pl.feed_weights, f8, 1),
            pl.feed_uniform, pl.feed_pre, pl.feed_start, pl.feed_stop, pl.feed_pop,
            pl.feed_row, table(pl.feed_buffer, f8, 1), pl.feed_delay_kind,
            table(pl.feed_ring, f8, 2), pl.feed_ring_at,
            table(pl.feed_delay_steps, np.int64, 1), pl.feed_delay_low, pl.feed_delay_frac,
            table(pl.feed_x, f8, 1))
        pre = (
            pl.pre_syn_kind, table(pl.pre_state, f8, 2), table(pl.pre_param, f8, 2),
            pl.pre_stp_kind, table(pl.pre_stp_state, f8, 2), table(pl.pre_stp_param, f8, 2),
            table(pl.pre_indptr, np.int64, 1), table(pl.pre_indices, np.int32, 1),
            table(pl.pre_weights, f8, 1), pl.pre_from, pl.pre_start, pl.pre_pop, pl.pre_row,
            table(pl.pre_out, f8, 1), table(pl.pre_ring, f8, 2), pl.pre_ring_at,
            pl.pre_delay_low, pl.pre_delay_frac, table(pl.pre_x, f8, 1))
        for p, spk in enumerate(pl.spiking):  # the stored spikes of the initial states,
            for part in range(parts):           # listed as the threads list them
                lo, hi = _share(spk.size, part, parts), _share(spk.size, part + 1, parts)
                part_fired[p, part] = _list_fired(spk, pl.fired[p], lo, hi)
        advance(0, 0)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    i = 0
    try:
        while i < n_steps and not sync[3] and found[:, 1].max() < 0:
            stop = min(n_steps, i + chunk) if bar is not None else n_steps
            reached = advance(i, stop)
            if reached < stop and not sync[3] and found[:, 1].max() < 0:  # a spike buffer
                # is full: its pairs go to the monitors (to disk, when streamed), go on
                full = [p for p in range(len(steps))
                        if steps[p].size and n_spikes[p] + pl.V[p].size > steps[p].size]
                add_spikes(pl, mons, spikes_of, full)
                n_spikes[full] = 0
            if bar is not None:
                bar.update(reached - i)
            i = reached
    finally:  # whatever happens, the monitors get every step done (the states' last)
        run_s = time.perf_counter() - t0
        deliver(pl, mons, spikes_of, [(mon, count) for mon, count
                                      in zip(rec_mons, rec_count, strict=True)])
    return compile_s, run_s, i, first_found(found, found_value, names, dt)
