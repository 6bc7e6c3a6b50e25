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
the twins are compiled inline (``numba.support``); for ``method='euler'``, ``'rk2'`` or
``'rk4'``, neuron by neuron through ``_explicit_step`` and the model's derivatives twin
(``hh_derivatives_scalar``...).  Their
parameter rows and further states are named in ``codes.KIND_PARAMS`` and
``codes.NEURON_KINDS``.

Float sums run in that fixed order: a rerun gives the same bits.

A network built under ``precision=32`` (:attr:`Plan.single`) runs the same loop on the
same float64 arrays, and every state is rounded to the nearest float32 where it is
written (:func:`_stored`), before anything reads it: float32 storage, float64
arithmetic (``docs/precision.md``).  The run gives the states back in float32.

What makes it fast (figures in ``docs/performance.md``), none of which changes a bit:

* the loop's lists of arrays (per population, projection, monitor) arrive as tables of
  addresses and shapes (:func:`~refsim.backends.numba.support.array_table`), each array
  viewed with a load, not as Numba typed Lists (35 ns an item, and reference counts that
  the threads shared);
* ``error_model="numpy"``: a division by zero gives inf as in NumPy instead of raising,
  which removes the exit branch that kept every loop scalar (3x on COBA);
* each neuron pass is a flat loop over one block of ``_BLOCK`` neurons with offsets the
  compiler knows are non-negative, so LLVM vectorises it (AVX2 or AVX-512);
* the LIF and Expon passes read the parameters a whole population shares as numbers
  held in registers (:func:`~refsim.backends.numba.support.param_at`), not as a row per
  parameter streamed from memory; a CUBA-only population computes its constant
  ``exprel`` once;
* a delay per synapse hands the ring row that arrives over as the feed's buffer (an
  address in the table) instead of copying it (the microcircuit at full scale: 30.6 to
  22.0 s per simulated second);
* a projection visits only the rows of the neurons that fired (an index list taken once
  per step, eight spike flags at a time), prefetches the rows a few spikes ahead, reads
  int32 column indices, and skips the weight array when every weight is the same bit
  pattern;
* the loop runs on one thread per core (:func:`threads_for`), started once per chunk of
  steps and kept in step by barriers, each with its share of the neurons; each thread
  delivers every spike onto its own share of the targets only (rows sorted by target and
  cut per thread: :func:`_sorted_rows`, :func:`_cut_rows`), so no buffer's cache line
  moves between cores (see :func:`_advance`).

One concern a file:

* ``cache``: Numba's cache on disk, kept in step with the sources, one writer at a time;
* ``prepare``: :func:`plan` and the per-run constants (rows sorted by target and cut per
  thread, decay factors);
* ``propagate``: spikes into the projections' buffers (delays, ring buffers);
* ``synapses``: the synaptic rows of a population, and the AlignPreProj synapses;
* ``outputs``: a neuron's input current (its direct input and every output);
* ``lif``: the LIF family's vectorised passes; ``neurons``: the other models with a reset,
  and the choice of pass by kind (``_step_range``); ``continuous``: the models without
  reset; ``explicit``: Euler, RK2 and RK4;
* ``declared``: models declared outside refsim (:class:`refsim.NeuronTwins`);
* ``loop``: :func:`_advance`, the steps of a chunk on one thread, and its barriers;
* ``driver``: :func:`run_compiled`, the threads and the chunks;
* ``support``: what the jitted code shares (array tables, atomics, the twins registered).
"""

import os

from numba.core import config as _numba_config

# Numba's optimisation level where the user has not chosen one (``NUMBA_OPT``): LLVM's -O2
# instead of Numba's default -O3, set before anything compiles.  -O3 cost a cold compile
# 12 % more (COBA 4000: 7.3 against 6.4 s) for the same speed and the same bits here
# (docs/decisions.md).  It holds for the process's Numba code compiled from then on;
# ``NUMBA_OPT=3`` gives Numba's default back.
if "NUMBA_OPT" not in os.environ:
    _numba_config.OPT = _numba_config._OptLevel(2)

from refsim.backends.numba.cache import _compile_lock, _drop_stale_cache  # noqa: E402

with _compile_lock():
    _drop_stale_cache()

from refsim.backends.codes import NotCompilable  # noqa: E402
from refsim.backends.numba.driver import run_compiled, threads_for  # noqa: E402
from refsim.backends.numba.prepare import plan  # noqa: E402

__all__ = ["NotCompilable", "plan", "run_compiled", "threads_for"]
