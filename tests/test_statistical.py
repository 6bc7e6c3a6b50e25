import numpy as np
import pytest

from refsim.validation import run_case, select
from refsim.validation.statistical import PEER_RATES, network_rates

STATISTICAL = select("statistical/*")


@pytest.mark.slow
@pytest.mark.parametrize("case", STATISTICAL, ids=[c.name for c in STATISTICAL])
def test_statistical_case(case):
    result = run_case(case)
    for m in result.metrics:
        assert m.error <= m.tolerance, f"{m.quantity}: {m.error} > {m.tolerance}"


def test_small_networks_fire_at_a_plausible_rate_and_are_reproducible():
    a = network_rates("cuba", seeds=(7,), N=800, duration_ms=100.0)
    b = network_rates("cuba", seeds=(7,), N=800, duration_ms=100.0)
    np.testing.assert_array_equal(a, b)  # same seed, same network, bit for bit
    assert 0.5 < a[0] < 100.0
    assert set(PEER_RATES) == {"coba", "cuba"}
