"""The tutorial ports run and print the tutorials' numbers."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str, tmp_path: Path) -> str:
    return _run_with(name, tmp_path)


def _run_with(name: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_tutorial_first_neuron(tmp_path):
    out = _run("tutorial_first_neuron.py", tmp_path)
    assert "membrane trace shape: (2000, 1)" in out
    assert "total spikes: 17.0" in out
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "tutorial_first_neuron_25mA.png",
        "tutorial_first_neuron_8mA.png",
    }


def test_brainpy_style_script(tmp_path):
    out = _run("brainpy_style_script.py", tmp_path)
    numpy_count, numba_count = map(int, re.search(r"spikes: (\d+) \(numpy\), (\d+)", out).groups())
    assert numpy_count == numba_count > 1000
    assert "same spikes, step by step: True" in out
    assert (
        "a step that reads the time in Python runs the NumPy code: it computes with the "
        "loop's argument 0 in Python (magnitude)" in out
    )


def test_model_anatomy(tmp_path):
    out = _run("model_anatomy.py", tmp_path)
    assert "voltage trace: (1000, 100)" in out and "total spikes:  1100" in out
    assert "g after 5 ms (mS): 0.367879" in out  # exp(-1)
    assert (tmp_path / "model_anatomy_expon.png").exists()


def test_mental_model(tmp_path):
    out = _run("mental_model.py", tmp_path)
    # the page's LIF keeps V_reset = 0 mV above V_th = -50 mV: refused, naming the relation
    assert "ValueError: parameters must satisfy V_reset < V_th, got V_reset = 0 mV" in out
    assert "spikes shape: (2000, 100)" in out
    pre, post = map(int, re.search(r"pre spikes: (\d+)\s+post spikes: (\d+)", out).groups())
    assert pre > 100 and post > 100
    assert (tmp_path / "mental_model_raster.png").exists()


def test_when_a_run_goes_wrong(tmp_path):
    out = _run("when_a_run_goes_wrong.py", tmp_path)
    assert "refused: LIF: parameters must satisfy V_reset < V_th, got V_reset = 0 mV" in out
    assert "a parameter reads back with its unit: 10.0 ms" in out
    assert "stopped after step 99: V[0] = nan; 100 steps kept, V recorded (100, 10)" in out
    first = int(re.search(r"first step that went wrong: (\d+)", out).group(1))
    assert 0 < first < 99
    assert int(re.search(r"at dt = 0.01 ms the same network runs: (\d+) spikes", out).group(1)) > 0
    assert re.search(
        r"refused: refsim.run recording V: [0-9.]+ .iB over 864000000 steps "
        r"needs [0-9.]+ .iB, [0-9.]+ .iB available",
        out,
    )
    assert "['V.npy', 'run.json', 'spikes.spikes.npy']" in out
    assert "V (2000, 1000)" in out and "the same: True" in out


def test_building_an_snn(tmp_path):
    out = _run("building_an_snn.py", tmp_path)
    assert "-59.84079734" in out
    assert "spike array shape (time, neurons): (2000, 500)" in out
    total = int(re.search(r"total spikes: (\d+)", out).group(1))
    # brainpy's seeds 0-4 gave 4364.4 +- 60.9; 3 sd covers refsim's own initial draw
    assert abs(total - 4364.4) <= 3 * 60.9
    assert "replayed from brainpy's seed 0: total spikes 4321 | identical raster: True" in out
    assert (tmp_path / "building_an_snn_raster.png").exists()


def test_check_a_candidate(tmp_path):
    out = _run("check_a_candidate.py", tmp_path)
    assert "reference: 2000 steps of 20 neurons" in out
    float32 = float(
        re.search(r"candidate_float32 +V_mV: max \|candidate - reference\| +(\S+)", out).group(1)
    )
    assert 0 < float32 < 1e-3  # float32 state: not the float64 bits, within the tolerance
    wrong = re.search(
        r"candidate_wrong_tau_ref +spike counts: sum over neurons of "
        r"\|difference\| +(\d+)",
        out,
    )
    assert int(wrong.group(1)) > 0  # a longer refractory period fires less
    assert out.split("\n")[-2:] == ["FAIL", ""] and "\nPASS\n" in out
    assert {p.name for p in tmp_path.glob("*.npz")} == {
        "reference.npz",
        "candidate_float32.npz",
        "candidate_wrong_tau_ref.npz",
    }


@pytest.mark.parametrize(
    "name",
    ["tutorial_first_neuron.py", "model_anatomy.py", "mental_model.py", "building_an_snn.py"],
)
def test_examples_only_import_refsim_numpy_quantities_matplotlib(name):
    text = (EXAMPLES / name).read_text()
    imports = set(re.findall(r"^(?:import|from) (\w+)", text, flags=re.M))
    assert imports <= {"refsim", "numpy", "quantities", "matplotlib"}


def test_readme_example_runs_as_printed(tmp_path):
    readme = (EXAMPLES.parent / "README.md").read_text()
    code = re.search(r"## Example\n\n```python\n(.*?)```", readme, flags=re.S).group(1)
    assert len(code.strip().splitlines()) <= 25
    script = tmp_path / "readme_example.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    count = int(re.match(r"(\d+) spikes; \(2000, 500\) 1.0 mV", proc.stdout).group(1))
    assert abs(count - 4364.4) <= 3 * 60.9  # brainpy's spread over seeds 0-4


#: the examples that run one network on both backends: (its spikes, its line on what it
#: recorded)
BACKEND_EXAMPLES = {
    "adex_network_backends.py": (8443, "adaptation current w recorded: (2000, 1000)"),
    "integrators_backends.py": (80823, "membrane potential of 3 neurons recorded: (5000, 3)"),
    "receptor_network_backends.py": (
        4514,
        "release fraction u of 3 presynaptic neurons recorded: (3000, 3)",
    ),
    # a neuron model defined in the example itself (refsim.NeuronTwins)
    "your_own_neuron.py": (9060, "threshold shift theta recorded: (2000, 1000)"),
    # a synapse model defined in the example itself (refsim.SynapseTwins)
    "your_own_synapse.py": (3811, "rising state h recorded: (2000, 1000)"),
}


@pytest.mark.parametrize("name", BACKEND_EXAMPLES)
def test_backend_examples_give_the_same_run_on_numpy_and_numba(name, tmp_path):
    spikes, recorded = BACKEND_EXAMPLES[name]
    out = _run(name, tmp_path)
    for backend in ("numpy", "numba"):
        assert f"{backend:6s} engine {backend}: {spikes} spikes" in out
    assert "same spikes and states on numpy and numba: True" in out
    assert recorded in out


def test_float32_precision(tmp_path):
    out = _run("float32_precision.py", tmp_path)
    assert "precision 64: V is float64, 11 spikes" in out
    assert "precision 32: V is float32, 11 spikes" in out
    assert float(re.search(r"largest \|V32 - V64\|: (\S+) mV", out).group(1)) < 1e-4
    assert "LIF one step in float32: -59.84079742 mV" in out  # brainpy's documented number


def test_stop_and_go_on(tmp_path):
    out = _run("stop_and_go_on.py", tmp_path)
    stopped = re.search(r"stopped by Ctrl-C after (\d+) of 600000 steps", out)
    assert stopped, out
    done = int(stopped.group(1))
    assert 0 < done < 600_000
    assert f"steps done: {done}, " in out and "went on for 1000 steps" in out
    assert f"one run of {done + 1000} steps" in out
    assert out.rstrip().endswith("the same spikes and potentials, bit for bit: True")


def test_checkpoint_and_resume_in_two_processes(tmp_path):
    out = _run("checkpoint_and_resume.py", tmp_path)
    assert "ran 5000 steps (" in out and "saved the state at t = 500 ms to coba_500ms.npz" in out
    out = _run_with("checkpoint_and_resume.py", tmp_path, "--resume")
    assert "loaded coba_500ms.npz at t = 500 ms and ran 5000 more steps" in out
    assert out.rstrip().endswith("the same spikes and state, bit for bit: True")


def test_time_varying_input_runs_the_staircase_compiled(tmp_path):
    out = _run("time_varying_input.py", tmp_path)
    assert "numpy  engine numpy: 32500 spikes" in out
    assert "numba  engine numba: 32500 spikes" in out
    rates = [float(x) for x in re.findall(r"mA:\s+([\d.]+) Hz", out)]
    assert rates[0] == 0.0 and all(b > a for a, b in zip(rates, rates[1:], strict=False))
    assert out.rstrip().endswith("same spikes on numpy and numba: True")


def test_brunel_network_runs_compiled_with_the_same_draws(tmp_path):
    out = _run("brunel_network.py", tmp_path)
    assert "numpy  engine numpy: 43104 spikes in 100 ms" in out
    assert "numba  engine numba: 43104 spikes in 100 ms" in out
    assert "same spikes on numpy and numba: True" in out
    rate, predicted = map(float, re.search(r"([\d.]+) Hz \(Siegert: ([\d.]+) Hz\)", out).groups())
    assert abs(rate / predicted - 1) < 0.10  # the validation case's tolerance (Brunel: ~10 %)


def test_microcircuit(tmp_path):
    out = _run_with("microcircuit.py", tmp_path, "--scale", "0.02", "--duration", "0.2")
    assert "1544 neurons, 119548 synapses" in out
    assert "first 100 ms on numpy and on numba: same spikes: True" in out
    rows = re.findall(r"^(L\d+[EI]) +(\d+\.\d+) +(\d+\.\d+|nan) +(\d+\.\d+)$", out, flags=re.M)
    assert [name for name, *_ in rows] == [
        "L23E",
        "L23I",
        "L4E",
        "L4I",
        "L5E",
        "L5I",
        "L6E",
        "L6I",
    ]
    assert [float(full) for *_, full in rows][:2] == [0.971, 2.868]  # the full model's
    assert 0.5 < np.mean([float(rate) for _, rate, _, _ in rows]) < 20  # active, not runaway
    cvs = [float(cv) for _, _, cv, _ in rows if cv != "nan"]  # irregular firing: 0.3-1.5
    assert cvs and all(0.1 < cv < 2.0 for cv in cvs)
    assert (tmp_path / "microcircuit_raster.png").exists()
