"""Hostile and broken files for ``layoutgen check`` (issue 7, file reading).

Every input of :func:`hostile.catalogue` (random bytes, truncated, header-only and
empty files, absurd record lengths, reference cycles, missing cells, a million-wide
and a 2^40 reference tree, deep chains, zero-area and bowtie polygons, polygons over
8190 vertices, OASIS with bad tables, folders, unreadable files, bad units and
non-finite or huge numbers) is run through the command line under a time and memory
limit: each must exit 2 with one ``layoutgen: error:`` line, or — valid but strange —
give the correct verdict; never a traceback, a crash, a hang or a half-written
report. The same inputs through the Python API raise ``LayoutReadError``. The fuzz
findings in ``tests/data/fuzz/`` are regression inputs.

The runs are forked children of this process (``hostile.ForkRunner``: no interpreter
start-up per input); a sample also runs the installed ``layoutgen`` script. Known bugs
are strict xfails naming the bug. Big inputs run only with ``LAYOUTGEN_SLOW=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import hostile as H
import pytest

SLOW = bool(os.environ.get("LAYOUTGEN_SLOW"))
slow = pytest.mark.skipif(not SLOW, reason="big input: run with LAYOUTGEN_SLOW=1")

CASES = H.catalogue(include_slow=True)


def _param(case: H.Case, bug: str | None = None) -> object:
    marks = []
    if case.slow:
        marks.append(slow)
    bug = case.bug if bug is None else bug
    if bug:
        marks.append(pytest.mark.xfail(strict=True, reason=bug))
    return pytest.param(case, id=case.name, marks=marks)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the inputs, with the valid seed layouts in ``seeds/``."""
    f = tmp_path_factory.mktemp("hostile")
    H.seeds_in(f)
    return f


@pytest.fixture(scope="module")
def runner() -> H.ForkRunner:
    """Runs ``layoutgen check`` in forked children, 60 s and 4 GiB each."""
    return H.ForkRunner(timeout=H.TIMEOUT, memory=H.MEMORY)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_cli_on_hostile_file(case: H.Case, folder: Path, runner: H.ForkRunner) -> None:
    """Exit 2 with one line, or the correct verdict; nothing half-written."""
    outcome = H.run_case(case, case.make(folder), runner)
    problem = case.judge(outcome)
    assert problem is None, problem


#: (a --timeout is the command line's: the API has none)
API_CASES = [c for c in CASES if c.allowed == H.ERR and not c.needs_exec
             and "--timeout" not in c.args]


@pytest.mark.parametrize("case", [_param(c) for c in API_CASES])
def test_api_raises_layout_read_error(case: H.Case, folder: Path,
                                      runner: H.ForkRunner) -> None:
    """``layoutgen.check.check(path)`` raises LayoutReadError (one line) for each."""
    outcome = runner.run(case.make(folder), *case.args, api=True, timeout=case.timeout,
                         memory=case.memory)
    assert outcome.verdict == "exit2", f"{case.name}: {outcome.describe()}"


@pytest.mark.parametrize("case", [_param(c) for c in H.preview_cases(CASES, one_per_kind=True)])
def test_preview_refuses_unusable_file(case: H.Case, folder: Path,
                                       runner: H.ForkRunner) -> None:
    """``layoutgen preview`` reads through the same reader: one input of each unusable
    kind gives exit 2 with one line and no picture (all of them: scripts/reliability.py)."""
    outcome = runner.run(case.make(folder), command="preview", timeout=case.timeout,
                         memory=case.memory)
    assert outcome.verdict == "exit2", f"{case.name}: {outcome.describe()}"
    assert not outcome.lost, outcome.lost


SAMPLE = ("random-64", "empty-gds", "trunc-capped.gds-0.5", "trunc-capped.oas-0.5",
          "reclen-xy-ffff", "cycle-a-b-a", "missing-sref", "directory", "gds-units-zero",
          "bowtie-active-open", "aref-100x100")


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.name in SAMPLE])
def test_console_script_on_hostile_file(case: H.Case, folder: Path) -> None:
    """The installed ``layoutgen`` script itself (a new process), one input per kind."""
    outcome = H.run_cli(case.make(folder), *case.args, timeout=case.timeout,
                        memory=case.memory, hard_memory=case.hard_memory,
                        no_root_read=case.no_root_read)
    problem = case.judge(outcome)
    assert problem is None, problem


# ----------------------------------------------------------------------------- every cut point
SWEEPS = ["capped.gds", "capped.oas", "capped-klayout.oas"]


@pytest.mark.parametrize("seed", SWEEPS)
def test_truncated_at_every_byte(seed: str, folder: Path, tmp_path: Path) -> None:
    """A valid file cut at every byte is refused with LayoutReadError (a GDSII file cut
    only in the padding after ENDLIB is still whole)."""
    data = (H.seeds_in(folder) / seed).read_bytes()
    stem, suffix = seed.rsplit(".", 1)
    cuts = H.truncations(data, tmp_path, stem, "." + suffix)
    results = H.read_sweep([p for p, _ in cuts])
    assert len(results) == len(cuts), results[-1]
    wrong = [(p.name, r) for (p, complete), (_, r) in zip(cuts, results, strict=True)
             if (r == "ok") != complete or not (r == "ok" or r.startswith("LayoutReadError"))
             or "\n" in r]
    assert not wrong, f"{len(wrong)} of {len(cuts)} cut points misjudged, e.g. {wrong[:5]}"


# ----------------------------------------------------------------------------- nothing lost
def test_existing_reports_untouched_on_unusable_input(folder: Path, tmp_path: Path) -> None:
    """Exit 2 leaves earlier --json/--lyrdb files as they were; exit 0 replaces them."""
    js, ly = tmp_path / "r.json", tmp_path / "r.lyrdb"
    js.write_text("old json\n")
    ly.write_text("old lyrdb\n")
    bad = H._writer("cut.gds", lambda: (H.seeds_in(folder) / "capped.gds").read_bytes()[:500])(
        folder)
    argv = [*H.layoutgen_argv(), "check", "--json", str(js), "--lyrdb", str(ly)]
    proc = subprocess.run([*argv, str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert js.read_text() == "old json\n" and ly.read_text() == "old lyrdb\n"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["r.json", "r.lyrdb"]
    proc = subprocess.run([*argv, str(H.seeds_in(folder) / "capped.gds")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(js.read_text())["passed"] is True
    assert "<report-database>" in ly.read_text()


# ----------------------------------------------------------------------------- fuzz findings
FINDINGS = H.fuzz_findings()


@pytest.mark.parametrize("path,notes", [pytest.param(
    p, n, id=p.name, marks=[pytest.mark.xfail(strict=True, reason=n["bug"])] if n.get("bug")
    else []) for p, n in FINDINGS])
def test_fuzz_finding(path: Path, notes: dict, runner: H.ForkRunner,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each input the fuzzer once broke the reader with now gets exit 2 or a verdict
    (the reader's probe limit lowered to 3 s here, inherited by the forked run: a
    finding on which gdstk may loop must not cost CI the full 15 s)."""
    from layoutgen.check import reader

    monkeypatch.setattr(reader, "PROBE_SECONDS", 3.0)
    outcome = runner.run(path)
    assert outcome.verdict in ("exit0", "exit1", "exit2"), f"{path.name}: {outcome.describe()}"
    assert not outcome.lost, outcome.lost


# ----------------------------------------------------------------------------- probe limits
def test_probe_gives_up_in_time(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that never returns (as gdstk does on some malformed files) is killed at
    the probe's time limit: LayoutReadError, and the probe child is gone."""
    import time

    import gdstk

    from layoutgen.check import reader
    from layoutgen.errors import LayoutReadError

    monkeypatch.setattr(reader, "PROBE_SECONDS", 0.5)
    monkeypatch.setattr(reader, "PROBE_SECONDS_PER_MIB", 0.0)
    monkeypatch.setattr(gdstk, "read_gds", lambda *a, **k: time.sleep(60))  # in the child
    t0 = time.monotonic()
    with pytest.raises(LayoutReadError, match="reading took longer than 0.5 s"):
        reader.read_layout(H.seeds_in(folder) / "capped.gds")
    assert time.monotonic() - t0 < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child of this process is left


def test_preview_of_a_huge_tree_stops_at_its_timeout(folder: Path, runner: H.ForkRunner) -> None:
    """``layoutgen preview`` of 2^40 leaves (valid, but more than it can draw in time)
    ends with exit 2 and one line at its --timeout, writing no picture."""
    path = H._writer("tree40s.gds", lambda: H.binary_tree_gds(40, "sealed"))(folder)
    outcome = runner.run(path, "--timeout", "3", command="preview", timeout=60)
    assert outcome.verdict in ("exit0", "exit2"), outcome.describe()
    assert not outcome.lost, outcome.lost
    if outcome.verdict == "exit2":
        assert "longer than 3 s" in outcome.stderr, outcome.stderr
    assert outcome.seconds < 30
