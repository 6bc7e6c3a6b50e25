"""The numba backend's cache: where it lives (as Numba locates it, NUMBA_CACHE_DIR
honoured), kept in step with the sources, written by one process at a time, and the notice
a compile gives on screen."""

import subprocess
import sys

import pytest

pytest.importorskip("numba", reason="the numba backend's cache")

from refsim.backends.numba import cache  # noqa: E402


def _in_fresh_process(code: str, env: dict) -> str:
    import os

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
        timeout=300,
    )
    return done.stdout.strip()


def test_the_cache_folder_is_numbas_own_under_NUMBA_CACHE_DIR(tmp_path):
    """A read-only install or a shared cluster cache: the folder Numba writes to, and
    the stale-cache stamp in it."""
    folder = _in_fresh_process(
        "from refsim.backends.numba.cache import cache_folder; print(cache_folder())",
        {"NUMBA_CACHE_DIR": str(tmp_path)},
    )
    assert folder.startswith(str(tmp_path))
    assert (tmp_path / folder[len(str(tmp_path)) + 1 :] / "refsim_twins.sha256").is_file()


def test_a_stale_cache_under_NUMBA_CACHE_DIR_is_dropped(tmp_path):
    """Compiled code of an older source is deleted when the package is imported, wherever
    Numba keeps it (it was left in place under NUMBA_CACHE_DIR before)."""
    code = "from refsim.backends.numba.cache import cache_folder; print(cache_folder())"
    folder = _in_fresh_process(code, {"NUMBA_CACHE_DIR": str(tmp_path)})
    from pathlib import Path

    stale = Path(folder) / "loop._advance-42.py311.nbi"
    stale.write_text("machine code of an older source")
    (Path(folder) / "refsim_twins.sha256").write_text("an older digest")
    _in_fresh_process(code, {"NUMBA_CACHE_DIR": str(tmp_path)})
    assert not stale.exists()
    assert (Path(folder) / "refsim_twins.sha256").read_text() != "an older digest"


def test_compiling_processes_take_turns_through_the_cache_lock(tmp_path, monkeypatch):
    """While one process compiles or loads the loop, another cannot (numba issue 10128)."""
    pytest.importorskip("fcntl", reason="the compile lock needs fcntl (POSIX)")
    monkeypatch.setattr(cache, "cache_folder", lambda: tmp_path)
    probe = (
        "import fcntl, sys\nh = open(sys.argv[1], 'a')\n"
        "try:\n    fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('free')\n"
        "except BlockingIOError:\n    print('held')\n"
    )
    lock = str(tmp_path / "refsim_compile.lock")
    with cache._compile_lock():
        inside = subprocess.run(
            [sys.executable, "-c", probe, lock], capture_output=True, text=True, check=True
        ).stdout.strip()
    after = subprocess.run(
        [sys.executable, "-c", probe, lock], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (inside, after) == ("held", "free")


def _notice(monkeypatch, tmp_path, seconds: float) -> list:
    """The lines :func:`cache.compile_notice` says around a call of ``seconds``."""
    import time

    monkeypatch.setattr(cache, "cache_folder", lambda: tmp_path)
    monkeypatch.setattr(cache, "ANNOUNCE_AFTER_S", 0.2)
    monkeypatch.setattr(cache, "COLD_COMPILE_S", 0.4)
    lines = []
    with cache.compile_notice(lines.append):
        time.sleep(seconds)
    return lines


def test_a_compile_is_announced_with_where_it_is_cached_and_how_long_it_took(monkeypatch, tmp_path):
    first = _notice(monkeypatch, tmp_path, 0.6)
    assert first[0] == (
        "refsim: compiling the numba loop of this network's passes, once per install "
        f"(cached in {tmp_path}) ..."
    )
    took = float(first[1].removeprefix("refsim: compiled in ").removesuffix(" s"))
    assert 0.6 <= took < 5.0  # the sleep, and the scheduler's delay at most
    assert cache.last_cold_compile() == round(took, 1)  # recorded beside the cache
    again = _notice(monkeypatch, tmp_path, 0.6)
    assert again[0].endswith(f"; the last one here took {round(took, 1):.0f} s) ...")


def test_a_load_from_the_cache_says_nothing(monkeypatch, tmp_path):
    assert _notice(monkeypatch, tmp_path, 0.0) == []
    assert cache.last_cold_compile() is None  # not a cold compile: nothing recorded


def test_no_notice_without_progress(monkeypatch, tmp_path, capsys):
    """``progress=False`` (no ``say``): silent, but a cold compile is still recorded."""
    import time

    monkeypatch.setattr(cache, "cache_folder", lambda: tmp_path)
    monkeypatch.setattr(cache, "ANNOUNCE_AFTER_S", 0.05)
    monkeypatch.setattr(cache, "COLD_COMPILE_S", 0.1)
    with cache.compile_notice(None):
        time.sleep(0.2)
    assert capsys.readouterr() == ("", "")
    assert cache.last_cold_compile() >= 0.2


def test_a_run_with_progress_shows_the_notice_and_one_without_does_not(monkeypatch, capsys):
    """The notice goes through the run's progress bar (``progress`` not False); the
    threshold set to 0 makes the load from the cache long enough to be announced."""
    import quantities as pq

    import refsim

    monkeypatch.setattr(cache, "ANNOUNCE_AFTER_S", 0.0)

    def run(progress):
        net = refsim.Network()
        net.population(refsim.LIF(8), current=20.0 * pq.mA)
        refsim.init_all_states(net)
        with refsim.use_backend("numba"):
            return refsim.run(net, 0.5 * pq.ms, progress=progress)

    assert run(progress=True).engine == "numba"
    err = capsys.readouterr().err
    assert (
        "refsim: compiling the numba loop of this network's passes, once per install (cached in "
        in err
    )
    assert "refsim: compiled in " in err
    assert run(progress=False).engine == "numba"
    assert capsys.readouterr().err == ""


def test_a_cold_compile_compiles_only_the_passes_the_network_uses(tmp_path):
    """COBA (LIF, Expon rows into COBA outputs, no delay, jump, AlignPreProj or other
    model) with an empty cache: its loop's passes compile, the others' do not; then a
    Brunel network (delays, a PoissonInput) in the same cache compiles its own loop and
    the jumps' and delays' passes, but neither a delay per synapse's nor the jumps of
    synaptic rows. What each process compiled is read from the
    dispatchers' signatures (compiled or loaded in that process)."""
    code = """
import quantities as pq
import refsim
from refsim.validation.networks import {net}
from refsim.backends.numba import continuous, jumps, lif, neurons, propagate, synapses
net = {net}(400, 1)
refsim.init_all_states(net)
res = refsim.run(net, 1 * pq.ms, progress=False)
assert res.engine == 'numba', res.engine
for f in (lif._membrane, lif._lif_block, lif._lif_cuba_pass, synapses._dual_expon,
          neurons._membrane_scalar, continuous._continuous_scalar, jumps._add_jumps,
          propagate._feed_synaptic_delay, propagate._spike_input, synapses._pre_synapses,
          jumps._row_jumps, synapses._synapses):
    print(f.__name__, len(f.signatures))
"""
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}

    def compiled(net):
        lines = _in_fresh_process(code.format(net=net), env).splitlines()
        return {name: int(n) for name, n in (line.split() for line in lines)}

    coba = compiled("COBANet")
    assert coba["_membrane"] == coba["_lif_block"] == coba["_synapses"] == 1
    unused = set(coba) - {"_membrane", "_lif_block", "_synapses"}
    assert {name: coba[name] for name in unused} == dict.fromkeys(unused, 0)
    brunel = compiled("BrunelNet")
    assert brunel["_add_jumps"] >= 1 and brunel["_spike_input"] >= 1
    for name in ("_lif_cuba_pass", "_dual_expon", "_membrane_scalar", "_continuous_scalar",
                 "_feed_synaptic_delay", "_row_jumps", "_synapses"):  # fmt: skip
        assert brunel[name] == 0, name


def test_the_passes_a_network_uses_are_named_and_the_others_none():
    """``prepare.passes_used`` (read by ``driver._tables``): the CUBA pass, the LIF pass,
    other models with a reset, without, an explicit method, wide tables, other synapse
    rows, the LIF linear step, its nonlinear step, PoissonInputs aimed at synaptic rows,
    delays per synapse, synaptic rows at all; and None for delays, AlignPreProj and jumps
    where the network has none."""
    import quantities as pq

    import refsim
    from refsim.backends import numba as numba_backend
    from refsim.backends.numba import driver
    from refsim.validation.networks import BrunelNet, COBANet, CUBANet, MicrocircuitNet

    def used(net):
        refsim.init_all_states(net)
        tables, _ = driver._tables(numba_backend.plan(net), 1, 0.1)
        return tables

    T, N = True, None
    coba = used(COBANet(200, 1))
    assert coba["models"] == (N, T, N, N, N, N, N, N, T, N, N, T)
    assert coba["delayed"] is coba["pre"] is coba["jumps"] is None
    assert used(CUBANet(200, 1))["models"] == (T, N, N, N, N, N, N, N, N, N, N, T)
    brunel = used(BrunelNet(200, 1))
    assert brunel["models"] == (N, T, N, N, N, N, N, T, N, N, N, N)  # no outputs: linear; no rows
    assert brunel["delayed"] is not None and brunel["jumps"] is not None
    net = refsim.Network()
    net.population(refsim.AdExIF(10, method="rk4"), current=1.0 * pq.mA)
    net.population(refsim.HH(10))
    assert used(net)["models"] == (N, N, T, T, T, N, N, N, N, N, N, N)
    # its background aims at the synaptic currents, which takes it off the CUBA pass
    with refsim.environ.context(dt=0.1 * pq.ms):
        assert used(MicrocircuitNet(0.01))["models"] == (N, T, N, N, N, N, N, T, N, T, T, T)
