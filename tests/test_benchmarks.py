"""The benchmark networks build the published network (timings are not asserted here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import coba  # noqa: E402


def test_coba_network_has_the_published_structure_and_fires():
    result = coba.measure(N=800, duration_s=0.1, seed=1)
    assert result["n_syn"] == 800 * 80  # fixed in-degree 80 on average: out-degree 80 each
    assert result["spikes"] > 0 and 1.0 < result["rate_hz"] < 200.0
    net = coba.COBANet(800, seed=1)
    assert net.n_exc == 640
    assert net.E.comm.conn_num == net.I.comm.conn_num == 80
    assert float(net.pop.R) == 100.0  # 1 / 10 nS in MOhm
