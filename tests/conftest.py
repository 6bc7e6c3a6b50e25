"""Shared fixtures: every test starts from the default dt and a fixed seed."""

import signal

import pytest

import refsim


@pytest.fixture(autouse=True)
def _clean_environment():
    refsim.environ.set(dt=refsim.environ.DEFAULT_DT_MS * refsim.units.ms)
    refsim.random.seed(1234)
    yield
    refsim.environ.set(dt=refsim.environ.DEFAULT_DT_MS * refsim.units.ms)


@pytest.fixture
def python_handles_ctrl_c():
    """Python's own SIGINT handler, as in a terminal (a process started in the background
    of a shell, as CI may be, inherits SIGINT ignored); the previous one afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
