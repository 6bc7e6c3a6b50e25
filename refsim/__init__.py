"""refsim: a reference simulator for spiking neural networks.

It speaks the model vocabulary of ``brainpy.state`` and reproduces its numbers
step for step, with every parameter carrying units through :mod:`quantities`.

>>> import quantities as pq, refsim
>>> neuron = refsim.init_all_states(
...     refsim.LIF(4, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV)
... )
>>> result = refsim.run(lambda: neuron(20 * pq.mA), 100 * pq.ms, monitors={"spikes": neuron})
>>> result["spikes"].count > 0
True
"""

from refsim import backends, environ, init, inputs, neurons, random, synapses, units
from refsim._version import __version__
from refsim.backends import get_backend, set_backend, use_backend
from refsim.checkpoint import CheckpointError, CheckpointWarning, load_state, save_state
from refsim.compiled import NeuronTwins, SynapseTwins
from refsim.connectivity import (
    AllToAll,
    EventFixedProb,
    FixedInDegree,
    FixedOutDegree,
    FixedProb,
    FixedTotalNumber,
    Linear,
    OneToOne,
    SparseLinear,
)
from refsim.inputs import *  # noqa: F403 - listed in inputs.__all__
from refsim.module import (
    ClockWarning,
    Describer,
    Dynamics,
    Module,
    Neuron,
    State,
    Synapse,
    init_all_states,
    reset_all_states,
)
from refsim.network import Network
from refsim.neurons import *  # noqa: F403 - the model catalog, listed in neurons.__all__
from refsim.outputs import COBA, CUBA, MgBlock, SynOut
from refsim.projections import AlignPostProj, AlignPreProj, CurrentProj, DeltaProj
from refsim.resources import ResourceError
from refsim.run import (
    RunInterrupted,
    RunResult,
    SpikeMonitor,
    StateMonitor,
    arange,
    for_loop,
    load_result,
    run,
)
from refsim.stability import NumericalInstability
from refsim.synapses import *  # noqa: F403 - listed in synapses.__all__
from refsim.units import UnitError

__all__ = [
    "__version__",
    "backends",
    "set_backend",
    "use_backend",
    "get_backend",
    "Network",
    "environ",
    "init",
    "random",
    "units",
    "UnitError",
    "ClockWarning",
    "NumericalInstability",
    "NeuronTwins",
    "SynapseTwins",
    "load_result",
    "CheckpointError",
    "CheckpointWarning",
    "ResourceError",
    "State",
    "Module",
    "Dynamics",
    "Neuron",
    "Synapse",
    "Describer",
    "init_all_states",
    "reset_all_states",
    *neurons.__all__,
    *synapses.__all__,
    *inputs.__all__,
    "SynOut",
    "CUBA",
    "COBA",
    "MgBlock",
    "EventFixedProb",
    "FixedProb",
    "FixedInDegree",
    "FixedTotalNumber",
    "FixedOutDegree",
    "AllToAll",
    "OneToOne",
    "SparseLinear",
    "Linear",
    "AlignPostProj",
    "AlignPreProj",
    "DeltaProj",
    "CurrentProj",
    "arange",
    "for_loop",
    "run",
    "RunResult",
    "RunInterrupted",
    "save_state",
    "load_state",
    "StateMonitor",
    "SpikeMonitor",
]
