"""Ctrl-C during a run: a flag the loops read between two steps, not an exception.

While :func:`refsim.run` goes on (its preparation included), :func:`stop_between_steps`
puts a handler of refsim's in place of Python's own: a Ctrl-C sets :attr:`CtrlC.asked`,
which every loop reads before a step (the numba loop through its ``sync`` array, by
:meth:`CtrlC.then`), instead of raising in whatever line is running and leaving a step
half done.  ``refsim.run`` then raises ``refsim.RunInterrupted`` with the steps done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

__all__ = ["CtrlC", "stop_between_steps"]


class CtrlC:
    """Whether a Ctrl-C has asked the run in progress to stop (:attr:`asked`), and what
    a compiled loop does when one comes (:meth:`then`): set the flag it reads."""

    def __init__(self) -> None:
        self.asked = False
        self._actions: list[Callable[[], None]] = []

    def then(self, action: Callable[[], None]) -> None:
        """Call ``action`` when a Ctrl-C comes (at once if one came already)."""
        self._actions.append(action)
        if self.asked:
            action()

    def _come(self, signum, frame) -> None:
        self.asked = True
        for action in self._actions:
            action()


@contextlib.contextmanager
def stop_between_steps() -> Iterator[CtrlC]:
    """While a run goes on, a Ctrl-C sets :attr:`CtrlC.asked` (the loops stop before
    their next step) instead of raising in whatever line is running, which could leave a
    step half done.  Only where Python's own handler is in place, in the main thread: a
    handler of the user's, or SIGINT ignored (a process started in the background of a
    shell), stays as it is, and then a Ctrl-C does what it would do anyway."""
    ctrl_c = CtrlC()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield ctrl_c
        return
    signal.signal(signal.SIGINT, ctrl_c._come)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
