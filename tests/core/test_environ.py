import pytest
import quantities as pq

import refsim
from refsim import environ


def test_default_dt_is_0_1_ms():
    assert float(environ.get_dt().rescale(pq.ms)) == 0.1


def test_context_overrides_and_restores():
    environ.set(dt=0.2 * pq.ms)
    with environ.context(dt=0.05 * pq.ms, t=3 * pq.ms):
        assert environ.dt_ms() == 0.05
        assert float(environ.get("t").rescale(pq.ms)) == 3.0
        with environ.context(t=4 * pq.ms):
            assert environ.t_ms() == 4.0
            assert environ.dt_ms() == 0.05
        assert environ.t_ms() == 3.0
    assert environ.dt_ms() == 0.2
    with pytest.raises(KeyError, match="'t' is not set"):
        environ.get("t")


def test_time_in_seconds_is_converted_to_ms():
    with environ.context(t=0.5 * pq.s):
        assert environ.t_ms() == 500.0


def test_other_keys_are_stored_as_given():
    with environ.context(i=7):
        assert environ.get("i") == 7
    assert environ.get("i", None) is None


def test_dt_must_be_positive():
    with pytest.raises(ValueError, match="dt must be positive"):
        environ.set(dt=0 * pq.ms)


def test_refractory_model_without_time_says_what_to_do():
    n = refsim.init_all_states(refsim.LIFRef(1))
    with pytest.raises(
        RuntimeError,
        match=r"LIFRef needs the current time: step it inside "
        r"refsim.environ.context\(t=...\)",
    ):
        n(1 * pq.mA)
