"""Bad input gets a ValueError that names the parameter, what it expects and what came:
sizes and counts, the sign of time constants, rates and spreads, run lengths, input
shapes, and the command line's numeric options."""

import inspect
import re
import sys

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim import cli
from refsim.validation import bench

MODELS = [getattr(refsim, n) for n in refsim.neurons.__all__ + refsim.synapses.__all__]


def _divisors(cls) -> list[str]:
    """The constructor parameters of ``cls`` that the step divides by: its time constants
    (``tau``, ``tau_*`` but the refractory period), ``delta_T`` and ``C``."""
    names = inspect.signature(cls).parameters
    return [
        n
        for n in names
        if (n == "tau" or n.startswith("tau_")) and n != "tau_ref" or n in ("delta_T", "C")
    ]


POSITIVE = [(cls, name) for cls in MODELS for name in _divisors(cls)]


def test_every_model_has_its_divisors_checked():
    # the list the next test runs over is not empty by accident of the signatures
    assert len(POSITIVE) >= 30
    assert {(c.__name__, n) for c, n in POSITIVE} >= {
        ("LIF", "tau"),
        ("ALIF", "tau_a"),
        ("CubaLIF", "tau_syn"),
        ("ExpIF", "delta_T"),
        ("AdExIF", "tau_w"),
        ("HH", "C"),
        ("MorrisLecar", "C"),
        ("WangBuzsakiHH", "C"),
        ("DualExpon", "tau_rise"),
        ("DualExpon", "tau_decay"),
        ("STP", "tau_f"),
        ("STP", "tau_d"),
        ("STD", "tau"),
    }


@pytest.mark.parametrize("cls,name", POSITIVE, ids=[f"{c.__name__}.{n}" for c, n in POSITIVE])
@pytest.mark.parametrize("factor", [0.0, -1.0])
def test_a_time_constant_or_other_divisor_must_be_positive(cls, name, factor):
    default = inspect.signature(cls).parameters[name].default
    given = factor * default
    with pytest.raises(
        ValueError, match=re.escape(f"parameter '{name}' must be positive (> 0), got {given}")
    ):
        cls(3, **{name: given})


@pytest.mark.parametrize("cls", [refsim.LIFRef, refsim.AdExIFRef, refsim.GifRef])
def test_a_refractory_period_may_be_zero_but_not_negative(cls):
    assert float(cls(3, tau_ref=0.0 * pq.ms).tau_ref) == 0.0
    with pytest.raises(
        ValueError, match=re.escape("parameter 'tau_ref' must be non-negative (>= 0), got -1.0 ms")
    ):
        cls(3, tau_ref=-1.0 * pq.ms)


@pytest.mark.parametrize("cls", [refsim.AMPA, refsim.GABAa])
@pytest.mark.parametrize("name", ["alpha", "beta", "T", "T_dur"])
def test_kinetic_rates_and_transmitter_pulses_must_not_be_negative(cls, name):
    default = inspect.signature(cls).parameters[name].default
    with pytest.raises(
        ValueError,
        match=re.escape(f"parameter '{name}' must be non-negative (>= 0), got {-1.0 * default}"),
    ):
        cls(3, **{name: -1.0 * default})


def test_a_per_neuron_parameter_names_the_first_bad_element():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "parameter 'tau' must be positive (> 0) everywhere; element (2,) of shape (4,) "
            "is -2.0 ms"
        ),
    ):
        refsim.LIF(4, tau=np.array([5.0, 5.0, -2.0, 0.0]) * pq.ms)
    with pytest.raises(ValueError, match=re.escape("element (1,) of shape (3,) is nan ms")):
        refsim.Expon(3, tau=np.array([5.0, np.nan, 1.0]) * pq.ms)
    # an initializer is evaluated first, then checked
    with pytest.raises(ValueError, match="parameter 'tau' must be positive"):
        refsim.LIF(50, tau=refsim.init.Normal(0.0, 1.0, unit=pq.ms, seed=0))
    # the element in the unit it was given in
    with pytest.raises(ValueError, match=re.escape("element (0,) of shape (2,) is -2.0 s")):
        refsim.LIF(2, tau=np.array([-2.0, 1.0]) * pq.s)


@pytest.mark.parametrize("size", [0, -3, 2.5, "a", True, (), (4, 0), (2.0, 3)])
def test_a_population_size_is_a_positive_integer_or_a_tuple_of_them(size):
    with pytest.raises(
        ValueError,
        match=re.escape(f"in_size must be a positive integer or a tuple of them, got {size!r}"),
    ):
        refsim.LIF(size)


def test_integer_sizes_of_numpy_types_are_taken():
    assert refsim.LIF(np.int64(7)).varshape == (7,)
    assert refsim.LIF((np.int32(2), 3)).varshape == (2, 3)


@pytest.mark.parametrize(
    "make,message",
    [
        (
            lambda: refsim.EventFixedProb(-1, 5, 0.1, 1 * pq.mS),
            "n_pre must be an integer >= 1, got -1",
        ),
        (
            lambda: refsim.EventFixedProb(4, 2.5, 0.1, 1 * pq.mS),
            "n_post must be an integer >= 1, got 2.5",
        ),
        (lambda: refsim.FixedProb(0, 5, 0.1, 1 * pq.mS), "n_pre must be an integer >= 1, got 0"),
        (lambda: refsim.FixedInDegree(4, 5, -1, 1 * pq.mS), "k must be an integer >= 0, got -1"),
        (lambda: refsim.FixedOutDegree(4, 5, 1.5, 1 * pq.mS), "k must be an integer >= 0, got 1.5"),
        (lambda: refsim.AllToAll(3, -2, 1 * pq.mS), "n_post must be an integer >= 1, got -2"),
        (lambda: refsim.OneToOne(0, 1 * pq.mS), "n must be an integer >= 1, got 0"),
        (lambda: refsim.Linear(3, 0, 1 * pq.mS), "n_out must be an integer >= 1, got 0"),
        (
            lambda: refsim.SparseLinear.from_indices(-2, 3, [0], [1], 1 * pq.mS),
            "n_pre must be an integer >= 1, got -2",
        ),
        (
            lambda: refsim.PoissonInput(refsim.LIF(3), -4, 10 * pq.Hz, 1 * pq.mV),
            "num_input must be an integer >= 0, got -4",
        ),
    ],
)
def test_counts_of_neurons_synapses_and_sources(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_counts_of_zero_where_zero_makes_sense():
    assert refsim.FixedInDegree(4, 5, 0, 1 * pq.mS).nnz == 0
    assert refsim.PoissonInput(refsim.LIF(3), 0, 10 * pq.Hz, 1 * pq.mV).num_input == 0


def test_rates_must_not_be_negative():
    with pytest.raises(
        ValueError, match=re.escape("parameter 'freqs' must be non-negative (>= 0), got -5.0 Hz")
    ):
        refsim.PoissonSpike(3, -5.0 * pq.Hz)
    with pytest.raises(
        ValueError, match=re.escape("parameter 'freq' must be non-negative (>= 0), got -1.0 Hz")
    ):
        refsim.PoissonInput(refsim.LIF(3), 10, -1.0 * pq.Hz, 1 * pq.mV)
    encoder = refsim.PoissonEncoder(3, seed=0)
    refsim.init_all_states(encoder)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "parameter 'freqs' must be non-negative (>= 0) everywhere; element (1,) of shape "
            "(3,) is -2.0 Hz"
        ),
    ):
        encoder.update(np.array([1.0, -2.0, 3.0]) * pq.Hz)


def test_spreads_of_initializers():
    with pytest.raises(
        ValueError, match=re.escape("Normal: std must be non-negative (>= 0), got -1.0 mV")
    ):
        refsim.init.Normal(0.0, -1.0, unit=pq.mV)
    with pytest.raises(
        ValueError,
        match=re.escape("Uniform: high must not be below low, got low=5.0 mV, high=1.0 mV"),
    ):
        refsim.init.Uniform(5.0, 1.0, unit=pq.mV)
    # compared in one unit: 4 mV is below 0.005 V
    with pytest.raises(ValueError, match="Uniform: high must not be below low"):
        refsim.init.Uniform(0.005 * pq.V, 4.0 * pq.mV)
    with pytest.raises(
        ValueError, match=re.escape("LogNormal: sigma must be non-negative (>= 0), got -0.5")
    ):
        refsim.init.LogNormal(0.0, -0.5)
    assert refsim.init.Uniform(2.0, 2.0, unit=pq.mV)((3,)).magnitude.tolist() == [2.0] * 3
    assert refsim.init.Normal(1.0, 0.0, unit=pq.mV)((2,)).magnitude.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "duration,message",
    [
        (-5.0 * pq.ms, "duration must be non-negative (>= 0), got -5.0 ms"),
        (np.nan * pq.ms, "parameter 'duration' must be finite, got nan ms"),
        (np.inf * pq.s, "parameter 'duration' must be finite, got inf s"),
    ],
)
def test_a_run_lasts_a_finite_non_negative_time(duration, message):
    neuron = refsim.LIF(2)
    refsim.init_all_states(neuron)
    with pytest.raises(ValueError, match=re.escape(message)):
        refsim.run(lambda: neuron(), duration)


def test_a_run_of_zero_length_runs_no_step():
    neuron = refsim.LIF(2)
    refsim.init_all_states(neuron)
    result = refsim.run(lambda: neuron(), 0.0 * pq.ms, monitors={"V": neuron.V})
    assert result["V"].shape == (0, 2)


def test_arange_needs_a_non_zero_step():
    with pytest.raises(
        ValueError, match=re.escape("step must be a finite, non-zero time, got 0.0 ms")
    ):
        refsim.arange(0 * pq.ms, 5 * pq.ms, 0 * pq.ms)
    assert refsim.arange(0 * pq.ms, 0.3 * pq.ms, 0.1 * pq.ms).magnitude.tolist() == pytest.approx(
        [0.0, 0.1, 0.2], abs=1e-15
    )  # np.arange's own rounding of 0.1 * k


def test_a_direct_input_must_fit_the_population():
    neuron, synapse = refsim.LIF(10), refsim.Expon(4)
    refsim.init_all_states(neuron)
    refsim.init_all_states(synapse)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "LIF.update input x has shape (7,), which does not fit the population shape (10,)"
        ),
    ):
        neuron(np.ones(7) * pq.mA)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Expon input x has shape (3,), which does not fit the population shape (4,)"
        ),
    ):
        synapse(np.ones(3) * pq.mS)
    neuron(np.ones(10) * pq.mA)  # a fitting one steps
    assert neuron.V.value.shape == (10,)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["validate", "--jobs", "0"], "argument --jobs: expected int >= 1, got 0"),
        (["validate", "--jobs", "two"], "argument --jobs: expected int >= 1, got 'two'"),
        (
            ["compare", "a.npz", "b.npz", "--rtol=-1e-9"],
            "argument --rtol: expected float >= 0, got -1e-9",
        ),
        (
            ["compare", "a.npz", "b.npz", "--max-step-offset", "-1"],
            "argument --max-step-offset: expected int >= 0, got -1",
        ),
        (
            ["compare", "a.npz", "b.npz", "--van-rossum", "0"],
            "argument --van-rossum: expected float > 0, got 0",
        ),
    ],
)
def test_the_command_line_refuses_numbers_out_of_range(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--N", "0"], "argument --N: expected int >= 1, got 0"),
        (["--N", "2.5"], "argument --N: expected int >= 1, got '2.5'"),
        (["--repeats", "0"], "argument --repeats: expected int >= 1, got 0"),
        (["--duration", "-1"], "argument --duration: expected float > 0, got -1"),
        (["--duration", "nan"], "argument --duration: expected float > 0, got nan"),
        (["--in-degree", "-5"], "argument --in-degree: expected float >= 0, got -5"),
        (
            ["--N", "50"],
            "--in-degree 80 exceeds --N 50: each neuron draws its inputs from the N "
            "neurons (p = in-degree / N <= 1)",
        ),
        (["--backend", "jax"], "argument --backend: invalid choice: 'jax'"),
    ],
)
def test_refsim_bench_refuses_bad_options_before_it_runs(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_refsim_bench_on_a_backend_that_cannot_run_here_says_why(capsys, monkeypatch):
    from refsim import backends

    monkeypatch.setattr(
        backends,
        "available",
        lambda: {
            "numpy": (True, "2.x"),
            "numba": (True, "0.x"),
            "cupy": (False, "cupy is not installed; install CuPy"),
        },
    )
    with pytest.raises(SystemExit) as exc:
        bench.main(["--backend", "cupy", "--N", "100", "--in-degree", "10"])
    assert exc.value.code == 2
    assert (
        "the cupy backend cannot run here: cupy is not installed; install CuPy"
        in capsys.readouterr().err
    )


def test_validate_jobs_default_is_two_or_the_usable_cores(monkeypatch):
    import refsim.backends.plan as plan

    seen = []

    class Pool:  # records max_workers instead of starting processes
        def __init__(self, max_workers, mp_context):
            seen.append(max_workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, names, backends):
            return [fn(n, b) for n, b in zip(names, backends, strict=True)]

    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    for cores, expected in ((1, None), (2, 2), (16, 2)):
        monkeypatch.setattr(plan, "usable_cores", lambda cores=cores: cores)
        seen.clear()
        assert (
            cli.main(
                [
                    "validate",
                    "--case",
                    "analytic/lif_subthreshold,golden/tut1a",
                    "--backend",
                    "numpy",
                ]
            )
            == 0
        )
        assert seen == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    "monitor,message",
    [
        (
            lambda n: refsim.StateMonitor(n.V, indices=[3, 10]),
            "monitor 'm': indices must lie in [0, 10), got 10",
        ),
        (
            lambda n: refsim.StateMonitor(n.V, indices=[-1]),
            "monitor 'm': indices must lie in [0, 10), got -1",
        ),
        (
            lambda n: refsim.SpikeMonitor(n, indices=[20]),
            "monitor 'm': indices must lie in [0, 10), got 20",
        ),
    ],
)
def test_monitor_indices_must_name_neurons_of_the_population(monitor, message):
    neuron = refsim.LIF(10)
    refsim.init_all_states(neuron)
    with pytest.raises(ValueError, match=re.escape(message)):
        refsim.run(lambda: neuron(), 1 * pq.ms, monitors={"m": monitor(neuron)})


def test_a_projection_needs_a_population_to_target():
    with pytest.raises(
        TypeError, match=re.escape("post must be a refsim population (a neuron model), got 5")
    ):
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(4, 10, 0.5, 1 * pq.mS, seed=0),
            syn=refsim.Expon.desc(10, tau=2 * pq.ms),
            out=refsim.CUBA.desc(),
            post=5,
        )


@pytest.mark.parametrize(
    "delay,message",
    [
        (np.nan * pq.ms, "parameter 'delay' must be finite, got nan ms"),
        (-1.0 * pq.ms, "the delay of -1.0 ms is shorter than one step"),
    ],
)
def test_a_delay_is_finite_and_at_least_one_step(delay, message):
    post = refsim.LIF(10)
    with pytest.raises(ValueError, match=re.escape(message)):  # when built, or given dt
        proj = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(4, 10, 0.5, 1 * pq.mS, seed=0),
            syn=refsim.Expon.desc(10, tau=2 * pq.ms),
            out=refsim.CUBA.desc(),
            post=post,
            delay=delay,
        )
        refsim.init_all_states(proj)


@pytest.mark.parametrize(
    "indices,times,message",
    [
        (
            [0, 1],
            [1.0, np.nan] * pq.ms,
            "parameter 'times' must be finite everywhere; element (1,) of shape (2,) is nan ms",
        ),
        (
            [0],
            [np.inf] * pq.ms,
            "parameter 'times' must be finite everywhere; element (0,) of shape (1,) is inf ms",
        ),
        (
            [0, 1.5],
            [1.0, 2.0] * pq.ms,
            "parameter 'indices' must hold integers, got float64 values such as 1.5",
        ),
    ],
)
def test_spike_times_are_finite_and_their_indices_integers(indices, times, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        refsim.SpikeTime(3, indices, times)


def test_spike_times_before_zero_are_kept_for_a_run_that_starts_before_zero():
    source = refsim.SpikeTime(2, [1, 0], [-0.3, 0.2] * pq.ms, weights=[1.0, 2.0])
    refsim.init_all_states(source)
    res = refsim.run(source, 1.0 * pq.ms, monitors={"spikes": source}, t_start=-0.5 * pq.ms)
    assert res["spikes"].steps.tolist() == [-3, 2]  # the grid of 0.1 ms, run from -5
    assert res["spikes"].indices_fired.tolist() == [1, 0]


def test_a_list_of_quantities_is_converted_element_by_element():
    spikes = refsim.SpikeTime(3, [0, 1], [1.0 * pq.ms, 0.002 * pq.s])
    assert spikes.times_ms.tolist() == [1.0, 2.0]
    waveform = refsim.SectionInput([1.0 * pq.mA, 2000.0 * pq.uA], [5 * pq.ms, 5 * pq.ms])
    assert waveform.values.tolist() == [1e6, 2e6]  # nA, reported in the first one's unit
    assert str(waveform.unit) == "1.0 mA"
    with pytest.raises(
        refsim.UnitError,
        match=re.escape("parameter 'times' expects a time (e.g. in ms), got the bare number 2"),
    ):
        refsim.SpikeTime(3, [0, 1], [1.0 * pq.ms, 2])


@pytest.mark.parametrize(
    "make,message",
    [
        (
            lambda: refsim.ConstantInput(1 * pq.mA, -5 * pq.ms),
            "parameter 'duration' must be non-negative (>= 0), got -5.0 ms",
        ),
        (
            lambda: refsim.SectionInput([1 * pq.mA], [-5 * pq.ms]),
            "parameter 'durations' must be non-negative (>= 0) everywhere; element (0,) of shape "
            "(1,) is -5.0 ms",
        ),
        (
            lambda: refsim.RampInput(0 * pq.mA, 1 * pq.mA, -1 * pq.ms),
            "parameter 'duration' must be non-negative (>= 0), got -1.0 ms",
        ),
        (
            lambda: refsim.OUProcessInput(0 * pq.mA, 1 * pq.mA, 0 * pq.ms, 10 * pq.ms),
            "parameter 'tau' must be positive (> 0), got 0.0 ms",
        ),
        (
            lambda: refsim.OUProcessInput(0 * pq.mA, -1 * pq.mA, 5 * pq.ms, 10 * pq.ms),
            "parameter 'sigma' must be non-negative (>= 0), got -1.0 mA",
        ),
        (
            lambda: refsim.WienerProcessInput(-1 * pq.mA, 10 * pq.ms),
            "parameter 'sigma' must be non-negative (>= 0), got -1.0 mA",
        ),
    ],
)
def test_waveforms_refuse_negative_durations_and_spreads(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize("cls", [refsim.STP, refsim.STD])
@pytest.mark.parametrize("U", [-0.1, 1.5])
def test_the_fraction_used_per_spike_lies_in_0_1(cls, U):
    with pytest.raises(
        ValueError,
        match=re.escape(
            "parameter 'U' must "
            + ("be non-negative" if U < 0 else f"lie in [0, 1] (a fraction), got {U}")
        ),
    ):
        cls(3, U=U)
    assert float(cls(3, U=1.0).U) == 1.0


@pytest.mark.parametrize("batch_size", [0, -2, 1.5])
def test_a_batch_size_is_a_positive_integer(batch_size):
    with pytest.raises(
        ValueError, match=re.escape(f"batch_size must be an integer >= 1, got {batch_size!r}")
    ):
        refsim.init_all_states(refsim.LIF(3), batch_size=batch_size)


@pytest.mark.parametrize("seed", [-1, 1.5, 2**32, "7"])
def test_a_seed_is_an_integer_numpy_can_take(seed):
    with pytest.raises(
        ValueError, match=re.escape(f"seed must be an integer in [0, 2**32), got {seed!r}")
    ):
        refsim.random.seed(seed)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["validate", "--out", "{file}"], "argument --out: {file} is a file, not a folder"),
        (
            ["validate", "--json", "{folder}"],
            "argument --json: {folder} is a folder; give a file name",
        ),
        (
            ["validate", "--json", "{file}/r.json"],
            "argument --json: {file} is a file, not a folder",
        ),
        (
            ["compare", "a.npz", "b.npz", "--out", "{file}/report"],
            "argument --out: {file} is a file, not a folder",
        ),
    ],
)
def test_an_output_path_that_cannot_be_written_is_refused_before_any_case_runs(
    argv, message, tmp_path, capsys
):
    names = {"file": str(tmp_path / "a_file"), "folder": str(tmp_path)}
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as exc:
        cli.main([a.format(**names) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message.format(**names) in err
    assert "validating" not in err  # refused before the cases ran


def test_output_folders_are_created_with_their_parents(tmp_path, capsys):
    out, json_file = tmp_path / "a" / "b", tmp_path / "c" / "d" / "r.json"
    assert (
        cli.main(
            [
                "validate",
                "--case",
                "golden/tut1a",
                "--out",
                str(out),
                "--json",
                str(json_file),
                "--backend",
                "numpy",
            ]
        )
        == 0
    )
    assert (out / "report.html").stat().st_size > 0
    assert json_file.stat().st_size > 0


def test_refsim_bench_checks_its_json_path_first(tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--json", str(tmp_path / "a_file" / "x.json")])
    assert exc.value.code == 2
    assert (
        f"argument --json: {tmp_path / 'a_file'} is a file, not a folder" in capsys.readouterr().err
    )


def test_refsim_bench_says_on_a_terminal_which_run_is_going_on(monkeypatch, capsys):
    # each run is a process whose output is captured: without this line a large network
    # shows nothing for minutes
    monkeypatch.setattr(
        bench,
        "_in_fresh_process",
        lambda *a: {
            "model": a[0],
            "N": a[1],
            "backend": a[4],
            "engine": a[4],
            "precision": a[6],
            "run_s": 0.01,
            "build_s": 0.0,
            "compile_s": 0.0,
            "run_per_sim_s": 0.1,
            "spikes": 1,
            "rate_hz": 1.0,
            "events_per_s": 1.0,
            "peak_mib": 1.0,
            "process_s": 0.1,
            "threads": 1,
            "device_mib": 0.0,
        },
    )
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert (
        bench.main(
            [
                "--model",
                "cuba",
                "--N",
                "100",
                "--in-degree",
                "10",
                "--backend",
                "numpy",
                "--repeats",
                "2",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert (
        "\r\033[Krunning cuba N=100 on numpy (precision 64): 1 of 2"
        "\r\033[Krunning cuba N=100 on numpy (precision 64): 2 of 2\r\033[K"
    ) in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # off a terminal: nothing
    assert (
        bench.main(["--model", "cuba", "--N", "100", "--in-degree", "10", "--backend", "numpy"])
        == 0
    )
    assert "running" not in capsys.readouterr().err


def _violating(default, rule: str):
    """A value that breaks ``rule`` in the unit of ``default``."""
    unit = default.units if isinstance(default, pq.Quantity) else 1.0
    return {"> 0": 0.0, ">= 0": -1.0, "in [0, 1]": 1.5}[rule] * unit


@pytest.mark.parametrize("cls", MODELS, ids=[c.__name__ for c in MODELS])
def test_the_checks_a_model_records_are_the_checks_it_makes(cls):
    # param_checks feeds the "Values checked" section of each model's page
    checks = cls(1).param_checks
    assert set(checks) >= set(_divisors(cls))
    for name, rule in checks.items():
        # the default where it is declared (GifRef passes **kwargs on to Gif)
        default = next(
            inspect.signature(k).parameters[name].default
            for k in cls.__mro__
            if name in inspect.signature(k).parameters
        )
        bad = _violating(default, rule)
        with pytest.raises(ValueError, match=f"parameter '{name}' must"):
            cls(1, **{name: bad})


def test_recorded_checks_of_two_models():
    assert refsim.LIFRef(1).param_checks == {"R": ">= 0", "tau": "> 0", "tau_ref": ">= 0"}
    assert list(refsim.LIFRef(1).param_relations) == ["V_reset < V_th"]
    assert refsim.STP(1).param_checks == {"U": "in [0, 1]", "tau_f": "> 0", "tau_d": "> 0"}


RELATED = [(cls, relation) for cls in MODELS for relation in cls(1).param_relations]


def test_the_models_that_need_a_relation_record_it():
    assert {(c.__name__, r) for c, r in RELATED} >= {
        ("LIF", "V_reset < V_th"),
        ("LIFRef", "V_reset < V_th"),
        ("ExpIF", "V_reset < V_th"),
        ("AdExIFRef", "V_reset < V_th"),
        ("QuaIF", "V_reset < V_th"),
        ("Gif", "V_reset < V_th_inf"),
        ("IF", "V_th > 0"),
        ("HH", "V_th > 0"),
        ("Izhikevich", "c < V_th"),
    }


@pytest.mark.parametrize("cls,relation", RELATED, ids=[f"{c.__name__}: {r}" for c, r in RELATED])
def test_each_recorded_relation_is_the_check_the_model_makes(cls, relation):
    """Break the relation with the defaults of the other side: ``A < B`` with A = B's
    default, ``A > 0`` with A = 0; the message names the relation and the values."""
    left, op, right = relation.split()
    defaults = {
        n: p.default
        for k in cls.__mro__
        if hasattr(k, "__init__")
        for n, p in inspect.signature(k).parameters.items()
        if isinstance(p.default, pq.Quantity | float)
    }
    bad = {left: 0.0 * defaults[left]} if right == "0" else {left: defaults[right]}
    with pytest.raises(
        ValueError, match=re.escape(f"parameters must satisfy {relation}, got {left} = ")
    ):
        cls(2, **bad)
    cls(2)  # the defaults keep it
