"""Save a run to a file and go on from it in another process: a checkpoint.

    python examples/checkpoint_and_resume.py            # runs 500 ms, writes coba_500ms.npz
    python examples/checkpoint_and_resume.py --resume   # loads it, runs 500 ms more

The first command runs the COBA benchmark network (4000 neurons) for 500 ms and saves
its state with ``refsim.save_state``: potentials, conductances, last spike times, and
the time reached. The second, in a fresh process, builds the network again with the same
code and seeds, loads the file with ``refsim.load_state`` and runs 500 ms more from where
the first stopped. It then runs the whole second in one go and checks that the two halves
give the same spikes and the same final state, bit for bit.

A run stopped by Ctrl-C can be saved the same way, from ``RunInterrupted.result.next_t``.
"""

import sys

import numpy as np
import quantities as pq

import refsim
from refsim.validation.networks import COBANet

CHECKPOINT = "coba_500ms.npz"
SPIKES = "coba_first_500ms_spikes.npz"


def network() -> COBANet:
    """The COBA benchmark network, from the same seeds each time."""
    refsim.random.seed(1)  # the initial potentials
    net = COBANet(4000, seed=1)  # the connectivity's seeds
    refsim.init_all_states(net)
    net.kick_start(1)  # the initial conductances
    return net


if "--resume" not in sys.argv:
    net = network()
    first = refsim.run(net, 500 * pq.ms, monitors={"spikes": net.pop})
    path = refsim.save_state(net, CHECKPOINT, t=first.next_t)
    np.savez(SPIKES, steps=first["spikes"].steps, indices=first["spikes"].indices_fired)
    print(
        f"ran {len(first.t)} steps ({first['spikes'].count} spikes); saved the state at "
        f"t = {float(first.next_t.magnitude):g} ms to {path}"
    )
    print("now run: python examples/checkpoint_and_resume.py --resume")
else:
    net = network()  # built again: same connectivity and parameters
    t = refsim.load_state(net, CHECKPOINT)
    then = refsim.run(net, 500 * pq.ms, monitors={"spikes": net.pop}, t_start=t)
    print(
        f"loaded {CHECKPOINT} at t = {float(t.magnitude):g} ms and ran {len(then.t)} more "
        f"steps ({then['spikes'].count} spikes)"
    )

    straight = network()
    whole = refsim.run(straight, 1000 * pq.ms, monitors={"spikes": straight.pop})
    with np.load(SPIKES) as first:
        steps = np.concatenate([first["steps"], then["spikes"].steps])
        indices = np.concatenate([first["indices"], then["spikes"].indices_fired])
    same = (
        np.array_equal(whole["spikes"].steps, steps)
        and np.array_equal(whole["spikes"].indices_fired, indices)
        and np.array_equal(straight.pop.V.data, net.pop.V.data)
        and np.array_equal(straight.E.syn.g.data, net.E.syn.g.data)
    )
    print(
        f"one run of 1000 ms: {whole['spikes'].count} spikes; the two halves give the same "
        f"spikes and state, bit for bit: {same}"
    )
