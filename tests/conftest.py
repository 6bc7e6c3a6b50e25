"""Shared fixtures: every test starts from the default dt and a fixed seed."""

import pytest

import refsim


@pytest.fixture(autouse=True)
def _clean_environment():
    refsim.environ.set(dt=refsim.environ.DEFAULT_DT_MS * refsim.units.ms)
    refsim.random.seed(1234)
    yield
    refsim.environ.set(dt=refsim.environ.DEFAULT_DT_MS * refsim.units.ms)
