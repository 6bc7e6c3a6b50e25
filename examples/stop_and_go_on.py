"""Stop a long run with Ctrl-C, keep what it did, and go on from there.

A 60 s run of the COBA benchmark network (4000 neurons) is stopped by a Ctrl-C. The run
finishes the step in progress and raises ``refsim.RunInterrupted``, whose ``result`` holds
the steps done: the spike monitor has every one of them and the network is in the state
after the last. The script then goes on for 100 ms from ``result.next_t`` and checks that
the two pieces give the same spikes and the same potentials as one run of the same length.

Press Ctrl-C while it runs; so that it also runs unattended, the script sends itself one
after 1 s (``--no-timer`` leaves it to you).

Run: python examples/stop_and_go_on.py [--no-timer]
"""

import signal
import sys
import threading

import numpy as np
import quantities as pq

import refsim
from refsim.validation.networks import COBANet

DT_MS = 0.1  # refsim's default step


def network() -> COBANet:
    """The COBA benchmark network, from the same seeds each time."""
    refsim.random.seed(1)  # the initial potentials
    net = COBANet(4000, seed=1)
    refsim.init_all_states(net)
    net.kick_start(1)  # the initial conductances
    return net


# a script started in the background of a shell inherits SIGINT ignored: take Python's
# handler, as in a terminal, so that a Ctrl-C (or the timer's) reaches the run
signal.signal(signal.SIGINT, signal.default_int_handler)
net = network()
refsim.run(network(), 1 * pq.ms)  # compiles (or loads) the loop before the timer starts
timer = threading.Timer(1.0, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
if "--no-timer" not in sys.argv:
    timer.start()

try:
    first = refsim.run(net, 60 * pq.s, monitors={"spikes": net.pop})
    print("the run was not stopped: all 60 s done")
except refsim.RunInterrupted as stop:
    print(stop)
    first = stop.result
timer.cancel()  # (if the run ended first)
done = len(first.t)
print(
    f"steps done: {done}, spikes: {first['spikes'].count}, the network is at "
    f"t = {float(first.next_t.magnitude):g} ms"
)

rest = refsim.run(net, 100 * pq.ms, monitors={"spikes": net.pop}, t_start=first.next_t)
print(f"went on for {len(rest.t)} steps: {rest['spikes'].count} spikes")

straight = network()
whole = refsim.run(
    straight, (done + len(rest.t)) * DT_MS * pq.ms, monitors={"spikes": straight.pop}
)
same = (
    np.array_equal(
        whole["spikes"].steps, np.concatenate([first["spikes"].steps, rest["spikes"].steps])
    )
    and np.array_equal(
        whole["spikes"].indices_fired,
        np.concatenate([first["spikes"].indices_fired, rest["spikes"].indices_fired]),
    )
    and np.array_equal(straight.pop.V.data, net.pop.V.data)
)
print(
    f"one run of {len(whole.t)} steps ({whole.engine}): "
    f"{whole['spikes'].count} spikes; the same spikes and potentials, bit for bit: {same}"
)
