import json
import os
import re
import subprocess
import sys

import pytest

import refsim
from refsim import cli
from refsim.validation import CASES, Metric, case


def test_version(capsys):
    try:
        cli.main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"refsim {refsim.__version__}"


def test_validate_selected_cases_writes_table_json_and_plots(tmp_path, capsys):
    rc = cli.main(["validate", "--case", "tut1b,lif_subthreshold", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "case" in out and "tolerance" in out and "PASS" in out and "FAIL" not in out
    assert "2 cases, 2 passed, 0 failed" in out
    data = json.loads((tmp_path / "results.json").read_text())
    assert sorted(c["name"] for c in data["cases"]) == [
        "analytic/lif_subthreshold",
        "golden/tut1b_lifref_25mA_soft",
    ]
    assert all(m["reason"] for c in data["cases"] for m in c["metrics"])
    summary = (tmp_path / "summary.md").read_text()
    assert "![golden/tut1b_lifref_25mA_soft](plots/golden_tut1b_lifref_25mA_soft.png)" in summary
    assert (tmp_path / "plots" / "golden_tut1b_lifref_25mA_soft.png").stat().st_size > 1000


def test_validate_exits_nonzero_when_a_case_fails(capsys):
    @case("test/deliberately_broken", "analytic", "a wrong parameter")
    def broken():
        import quantities as pq

        n = refsim.init_all_states(refsim.LIF(1, tau=11 * pq.ms))  # should be 10 ms
        with refsim.environ.context(t=0 * pq.ms):
            n(1 * pq.mA)
        exact = 1 - np.exp(-0.1 / 10)
        return [Metric("V (mV)", abs(float(n.V.data[0]) - exact), 1e-12, "closed form")], []

    import numpy as np

    try:
        rc = cli.main(["validate", "--case", "test/deliberately_broken"])
    finally:
        del CASES["test/deliberately_broken"]
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL" in out and "failed: test/deliberately_broken" in out


def test_unknown_case_pattern(capsys):
    assert cli.main(["validate", "--case", "no-such-case"]) == 2
    assert "no validation case matches 'no-such-case'" in capsys.readouterr().err


def test_console_script_runs_info():
    proc = subprocess.run(
        [sys.executable, "-m", "refsim.cli", "info"], capture_output=True, text=True, check=True
    )
    assert f"refsim {refsim.__version__}" in proc.stdout
    assert "backends (* in use):" in proc.stdout
    assert "  * numba  ok " in proc.stdout or "  * numpy  ok " in proc.stdout
    assert "cupy" in proc.stdout


@pytest.mark.parametrize(
    "env, level",
    [
        ({}, "2 (refsim's, as NUMBA_OPT is not set; Numba's own default is 3)"),
        ({"NUMBA_OPT": "3"}, "3 (NUMBA_OPT)"),
    ],
)
def test_info_says_the_numba_optimisation_level_and_who_chose_it(env, level):
    pytest.importorskip("numba", reason="the level is the numba backend's")
    clean = {k: v for k, v in os.environ.items() if k != "NUMBA_OPT"}
    proc = subprocess.run(
        [sys.executable, "-m", "refsim.cli", "info"],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
    )
    assert f"numba optimisation level: {level}\n" in proc.stdout


def test_html_report_references_a_valid_image_for_every_plotted_case(tmp_path, capsys):
    import base64
    from html.parser import HTMLParser

    rc = cli.main(
        [
            "validate",
            "--case",
            "analytic/*,golden/tut1*,golden/outputs_grid,einet_seed0",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    page = (tmp_path / "report.html").read_text()

    class Images(HTMLParser):
        def __init__(self):
            super().__init__()
            self.images = {}

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "img":
                self.images[a["alt"]] = a["src"]

    parser = Images()
    parser.feed(page)
    data = json.loads((tmp_path / "results.json").read_text())
    names = [c["name"] for c in data["cases"]]
    assert len(names) >= 15 and set(parser.images) == set(names)  # every case has a plot
    for src in parser.images.values():
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    md = (tmp_path / "summary.md").read_text()
    for name in names:
        assert f"plots/{name.replace('/', '_')}.png" in md
    assert data["environment"]["backend"] == refsim.get_backend()  # the one in use
    assert data["environment"]["dtype"] == "float64"


def test_quick_leaves_out_statistical_and_convergence_cases():
    from refsim.validation import select

    quick = {c.kind for c in select(quick=True)}
    full = {c.kind for c in select()}
    assert quick == {"analytic", "golden", "float32"}
    assert full == {"analytic", "golden", "float32", "statistical", "convergence"}


def test_json_flag_writes_results(tmp_path, capsys):
    assert cli.main(["validate", "--case", "golden/tut1a", "--json", str(tmp_path / "r.json")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"] == {"cases": 1, "passed": 1, "failed": 0}


CHROMIUM = next(
    (p for p in ("chromium", "chromium-browser", "google-chrome") if __import__("shutil").which(p)),
    None,
)


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium to render the report (apt-get install chromium)"
)
def test_report_renders_every_plot_in_a_browser(tmp_path, capsys):
    rc = cli.main(["validate", "--case", "analytic/lif*,golden/tut1*", "--out", str(tmp_path)])
    assert rc == 0
    n_cases = len(json.loads((tmp_path / "results.json").read_text())["cases"])
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    shown = int(re.search(r'data-images-shown="(\d+)"', dom).group(1))
    assert shown == n_cases >= 6


@pytest.mark.parametrize("command", [["validate", "--jobs", "1", "--case", "lif"], ["bench"]])
def test_a_ctrl_c_ends_the_command_with_one_line_and_status_130(
    command, monkeypatch, capsys, python_handles_ctrl_c
):
    import signal

    from refsim.validation import bench

    def interrupted(*args):  # Ctrl-C while a case (or the benchmark) runs
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(cli, "_run_named", interrupted)
    monkeypatch.setattr(bench, "main", interrupted)
    assert cli.main(command) == 130
    err = capsys.readouterr().err  # (after validate's first line, which names the cases)
    assert err.endswith("\nrefsim: stopped by Ctrl-C\n") or err == "refsim: stopped by Ctrl-C\n"
    assert "Traceback" not in err and len(err.splitlines()) <= 2


def test_the_report_says_when_where_and_with_what_and_keeps_every_row_whole(tmp_path, capsys):
    @case("test/pipes", "analytic", "a quantity whose name holds | bars")
    def pipes():
        return [Metric("|V| (mV) | max", 0.0, 1e-12, "a | in the reason too")], []

    try:
        assert (
            cli.main(
                [
                    "validate",
                    "--case",
                    "test/pipes,lif_subthreshold",
                    "--out",
                    str(tmp_path),
                    "--jobs",
                    "1",
                ]
            )
            == 0
        )
    finally:
        del CASES["test/pipes"]
    err = capsys.readouterr().err
    # piped (pytest captures stderr): a first line, then a line per case as it ends
    assert re.search(r"refsim validate: 2 cases on \w+, 1 process", err)
    assert re.search(r"\[1/2\] \S+: pass \(\d+\.\d s\)\n.*\[2/2\] \S+: pass", err, re.S)
    md = (tmp_path / "summary.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    table = [r for r in rows if "test/pipes" in r or "lif_subthreshold" in r]
    assert len(table) == 2
    for row in table:  # six cells: a bar inside a cell is escaped, so the row keeps its shape
        assert len(re.split(r"(?<!\\)\|", row.strip())) - 2 == 6, row
    assert r"\|V\| (mV) \| max" in md
    # a list of cases linking to their sections
    assert "- [test/pipes](#test_pipes) pass" in md and '<a id="test_pipes"></a>' in md
    data = json.loads((tmp_path / "results.json").read_text())
    env = data["environment"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \w+", env["date"])
    assert re.fullmatch(
        r"[0-9a-f]{40}( \+ changes)?|not run from a git checkout", env["git commit"]
    )
    assert env["numba"] and env["cpu"] and "cores usable" in env["machine"]
    html = (tmp_path / "report.html").read_text()
    assert "<a href='#test_pipes'>test/pipes</a>" in html and "git commit" in html


def test_compile_warms_the_numba_cache_and_says_where(capsys):
    pytest.importorskip("numba", reason="refsim compile compiles the numba loop")
    from refsim.backends.numba.cache import cache_folder

    assert cli.main(["compile"]) == 0
    out = capsys.readouterr().out
    line = out.strip().splitlines()[-1]
    assert line.startswith("numba: ready (")
    assert f"s to compile or load), cached in {cache_folder()}" in line
    # a second time: loaded from the cache, well under a cold compile (5 s and more)
    assert cli.main(["compile"]) == 0
    again = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(again.split("(")[1].split(" s")[0]) < 5.0


def test_compile_of_a_backend_that_cannot_run_here_says_why_and_fails(capsys):
    from refsim import backends

    usable, detail = backends.available()["cupy"]
    if usable:
        pytest.skip("cupy runs here: nothing to refuse")
    assert cli.main(["compile", "--backend", "cupy"]) == 1
    assert capsys.readouterr().out == f"cupy: not compiled, not usable here: {detail}\n"
