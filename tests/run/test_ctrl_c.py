"""A Ctrl-C during ``refsim.run`` stops it between two steps and loses nothing.

On every backend the run stops before a step (the step in progress is finished), the
monitors hold every step done, ``RunInterrupted.result`` says how many and where to go
on, and a run continued from there equals one uninterrupted run, bit for bit.  The
signal is sent as a terminal sends it, to the main thread, with Python's own handler in
place (a process started in the background of a shell, as CI may be, inherits SIGINT
ignored, so each test installs the handler itself: ``python_handles_ctrl_c`` in
``conftest.py``).
"""

import signal
import threading

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.validation.networks import COBANet

DT_MS = 0.1  # the default dt (tests/conftest.py)
#: the tests that send SIGINT to the main thread from a timer
SENDS_SIGINT = pytest.mark.skipif(
    not hasattr(signal, "pthread_kill"), reason="sends SIGINT to the main thread (POSIX only)"
)


def _network(n: int):
    refsim.random.seed(1)  # the initial potentials' stream
    net = COBANet(n, 1, 80.0)
    refsim.init_all_states(net)
    net.kick_start(1)
    return net


def _stopped_run(n: int, after_s: float, record_V: bool):
    """A 20 s run of a COBA network of ``n`` neurons, stopped by a Ctrl-C sent ``after_s``
    into it: (the network, its monitors, the ``RunInterrupted``).  A signal that comes
    while the run is still being prepared stops it before step 0 (a busy CI machine can
    take longer than ``after_s`` to prepare): then it is sent again, later, to a fresh run,
    so that the stop comes between steps."""
    for attempt in range(5):
        net = _network(n)
        monitors = {"spikes": refsim.SpikeMonitor(net.pop)}
        if record_V:
            monitors["V0"] = refsim.StateMonitor(net.pop.V, indices=[0])  # a record a step
        main = threading.main_thread().ident
        threading.Timer(after_s * 2**attempt, signal.pthread_kill, (main, signal.SIGINT)).start()
        with pytest.raises(
            refsim.RunInterrupted, match=r"stopped by Ctrl-C after \d+ of 200000 steps"
        ) as stop:
            refsim.run(net, 20 * pq.s, monitors=monitors)
        if len(stop.value.result.t) > 0:
            break
        assert "after 0 of 200000 steps" in str(stop.value)  # stopped while preparing
    return net, monitors, stop


def stop_and_go_on(n: int = 1000, after_s: float = 0.3, record_V: bool = True) -> int:
    """Send a Ctrl-C ``after_s`` into a 20 s run of a COBA network of ``n`` neurons on
    the backend in use (recording its spikes, and one potential if ``record_V``); check
    what the stopped run kept, go on for 50 steps, and compare with a run of all those
    steps in one go.  Returns the number of steps the stopped run did."""
    refsim.run(_network(n), 1 * pq.ms)  # compiled (or loaded) before the timer starts
    net, monitors, stop = _stopped_run(n, after_s, record_V)
    spikes = monitors["spikes"]
    assert isinstance(stop.value, KeyboardInterrupt)  # what a script's handler expects
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    result = stop.value.result
    done = len(result.t)
    assert 0 < done < 200_000
    if record_V:
        assert result["V0"].shape == (done, 1) and monitors["V0"].steps[-1] == done - 1
    assert float(result.next_t.rescale(pq.ms).magnitude) == pytest.approx(done * DT_MS, rel=1e-15)
    assert spikes.count > 0 and spikes.steps.max() < done
    assert f"t_start = {done * DT_MS:g} ms" in str(stop.value)

    more = refsim.run(net, 50 * DT_MS * pq.ms, monitors={"spikes": net.pop}, t_start=result.next_t)
    straight = _network(n)
    whole = refsim.run(straight, (done + 50) * DT_MS * pq.ms, monitors={"spikes": straight.pop})
    assert whole.engine == result.engine == more.engine
    np.testing.assert_array_equal(
        whole["spikes"].steps, np.concatenate([spikes.steps, more["spikes"].steps])
    )
    np.testing.assert_array_equal(
        whole["spikes"].indices_fired,
        np.concatenate([spikes.indices_fired, more["spikes"].indices_fired]),
    )
    np.testing.assert_array_equal(straight.pop.V.data, net.pop.V.data)
    np.testing.assert_array_equal(straight.E.syn.g.data, net.E.syn.g.data)
    return done


@SENDS_SIGINT
def test_ctrl_c_stops_a_numpy_run_between_steps_and_it_goes_on_bit_for_bit(python_handles_ctrl_c):
    with refsim.use_backend("numpy"):
        stop_and_go_on(n=400)


@SENDS_SIGINT
def test_ctrl_c_stops_a_compiled_run_between_steps_and_it_goes_on_bit_for_bit(
    python_handles_ctrl_c,
):
    pytest.importorskip("numba", reason="the numba backend needs numba installed")
    with refsim.use_backend("numba"):
        stop_and_go_on(n=1000)


@SENDS_SIGINT
@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
@pytest.mark.parametrize("record_V", [True, False], ids=["step by step", "graphs"])
def test_ctrl_c_stops_a_cupy_run_between_steps_and_it_goes_on_bit_for_bit(
    python_handles_ctrl_c, record_V
):
    # the GPU kernels on the CPU (tests/support/host_cupy.py); a state monitor reads between steps,
    # else a CUDA graph of 1000 steps replays whole, and the stop comes at a chunk's end
    with host_cupy.installed(), refsim.use_backend("cupy"):
        done = stop_and_go_on(n=100, after_s=0.5, record_V=record_V)
    if not record_V:
        assert done % 1000 == 0


# -- the step in progress, exactly: the signal raised from inside a step (numpy path) --


class _RaisesAt:
    """A step that counts its calls and raises SIGINT (to this process) during call
    ``at``; ``steps`` says how many ran."""

    def __init__(self, at: int):
        self.at, self.steps = at, 0

    def __call__(self) -> None:
        if self.steps == self.at:
            signal.raise_signal(signal.SIGINT)
        self.steps += 1


def test_the_step_in_progress_is_finished_and_then_the_run_stops(python_handles_ctrl_c):
    step = _RaisesAt(10)
    clock = refsim.StateMonitor(lambda: np.asarray(refsim.environ.get("i")))
    with pytest.raises(refsim.RunInterrupted, match="after 11 of 100 steps") as stop:
        refsim.run(step, 10 * pq.ms, monitors={"i": clock}, check_every=None)  # no model
    assert step.steps == 11
    assert clock.steps.tolist() == list(range(11))  # recorded after each step done
    assert stop.value.result.next_t.magnitude == pytest.approx(1.1, rel=1e-15)


def test_a_ctrl_c_in_the_last_step_is_not_swallowed(python_handles_ctrl_c):
    step = _RaisesAt(99)
    with pytest.raises(refsim.RunInterrupted, match="after 100 of 100 steps") as stop:
        refsim.run(step, 10 * pq.ms, check_every=None)  # no model
    assert step.steps == 100 and len(stop.value.result.t) == 100


def test_a_handler_of_the_users_is_left_in_place_and_the_run_goes_to_its_end():
    came = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        step = _RaisesAt(10)
        result = refsim.run(step, 10 * pq.ms, check_every=None)  # no model
        assert step.steps == 100 and len(result.t) == 100
        assert came == [signal.SIGINT]  # the user's handler ran, once
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigint_ignored_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        step = _RaisesAt(10)
        assert len(refsim.run(step, 10 * pq.ms, check_every=None).t) == 100  # no model
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
