"""Benchmark layoutgen against raw gdstk, gdsfactory and KLayout on the W-CSP and W-CAP
workloads (issue 6), and write ``benchmarks/RESULTS.md`` and ``benchmarks/results.json``.

Every figure is a whole process (interpreter start, imports, work, exit), timed from
outside: the median wall time of ``--runs`` runs after one warm-up run, the largest
peak resident memory of those runs (``wait4`` rusage), and the size of the file written.
All anchors run in the same invocation on the same machine; the builds, hierarchical
checks and their anchors are timed interleaved (one run of each in turn), so a machine
whose load changes during the run burdens them alike. CPU time (user + system) is
recorded beside wall time.

What is timed (units: seconds, MB):

* ``layoutgen build SPEC --no-check --no-report``: the build (layout, wafer map, ball
  map and layer properties written); ``layoutgen build SPEC``: the default full build
  (also checks the layout, draws its pictures and writes report.html).
* ``layoutgen check FILE`` (hierarchical) and ``layoutgen check --flat FILE``.
* raw gdstk (``anchors/gdstk_wafer.py``) and gdsfactory (``anchors/gf_wafer.py``)
  writing the same wafer; ``anchors/klayout_check.py`` in deep and flat mode.
* the W-CSP and W-CAP wafers again on a 450 mm wafer (more than twice the dies).

Usage (not a test; never run by CI)::

    pip install -e '.[bench]'
    nice python benchmarks/run.py [--runs 5] [--quick] [--out DIR] [--only fast|slow]
    python benchmarks/report.py    # RESULTS.md again from results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
BIN = Path(PY).parent
LAYOUTGEN = str(BIN / "layoutgen") if (BIN / "layoutgen").exists() else shutil.which("layoutgen")
ANCHORS = HERE / "anchors"
RULES = {"csp": "amkor-400", "cap": "default"}
NAMES = {"csp": "W-CSP", "cap": "W-CAP"}


@dataclass
class Timing:
    """One benchmarked command: medians over its runs."""

    key: str
    label: str
    cmd: list[str]
    runs: int
    seconds: list[float] = field(default_factory=list)
    median_s: float = 0.0
    min_s: float = 0.0
    cpu_s: float = 0.0
    peak_mb: float = 0.0
    output: str | None = None
    output_mb: float | None = None
    exit_codes: list[int] = field(default_factory=list)
    stdout_tail: str = ""


def run_once(cmd: list[str], cwd: Path) -> tuple[float, float, float, int, str]:
    """(wall s, user+sys CPU s, peak RSS MB, exit code, stdout tail) of one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    out, err = b"", b""
    # read pipes to the end, then reap with wait4 for the child's own rusage
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = (out.decode(errors="replace") + err.decode(errors="replace")).strip()[-400:]
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, proc.returncode, tail


def bench(key: str, label: str, cmd: list[str], runs: int, cwd: Path,
          output: Path | None = None, warmup: bool = True, ok: tuple[int, ...] = (0,)
          ) -> Timing:
    """Run ``cmd`` once to warm up, then ``runs`` times; print and return the timing."""
    t = Timing(key, label, cmd, runs, output=str(output) if output else None)
    if warmup:
        run_once(cmd, cwd)
    cpus = []
    peaks = []
    for _ in range(runs):
        wall, cpu, peak, code, tail = run_once(cmd, cwd)
        t.seconds.append(round(wall, 4))
        cpus.append(cpu)
        peaks.append(peak)
        t.exit_codes.append(code)
        t.stdout_tail = tail
    _finish(t, cpus, peaks, ok)
    return t


def _finish(t: Timing, cpus: list[float], peaks: list[float], ok: tuple[int, ...] = (0,)
            ) -> None:
    """Fill ``t``'s medians, peak and output size from its runs, and print its line (with
    the output of runs whose exit code is not in ``ok``)."""
    t.median_s = round(statistics.median(t.seconds), 4)
    t.min_s = round(min(t.seconds), 4)
    t.cpu_s = round(statistics.median(cpus), 4)
    t.peak_mb = round(max(peaks), 1)
    if t.output is not None and Path(t.output).exists():
        t.output_mb = round(Path(t.output).stat().st_size / 1e6, 3)
    bad = [c for c in t.exit_codes if c not in ok]
    flag = f"  EXIT {bad}" if bad else ""
    print(f"{t.key:34s} {t.median_s:8.3f} s  (cpu {t.cpu_s:7.3f} s, peak {t.peak_mb:7.1f} MB)"
          f"{flag}", flush=True)
    if bad:
        print("   " + t.stdout_tail.replace("\n", "\n   "), flush=True)


def bench_group(items: list[tuple[str, str, list[str], Path | None]], runs: int, cwd: Path
                ) -> list[Timing]:
    """Time several commands interleaved (A B C A B C ...) after one warm-up each, so that
    a machine whose load changes during the run burdens them alike."""
    ts = [Timing(k, label, cmd, runs, output=str(o) if o else None)
          for k, label, cmd, o in items]
    for t in ts:
        run_once(t.cmd, cwd)
    cpus: list[list[float]] = [[] for _ in ts]
    peaks: list[list[float]] = [[] for _ in ts]
    for _ in range(runs):
        for i, t in enumerate(ts):
            wall, cpu, peak, code, tail = run_once(t.cmd, cwd)
            t.seconds.append(round(wall, 4))
            cpus[i].append(cpu)
            peaks[i].append(peak)
            t.exit_codes.append(code)
            t.stdout_tail = tail
    for i, t in enumerate(ts):
        _finish(t, cpus[i], peaks[i])
    return ts


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "layoutgen",
                            "cells"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "load_average_start": os.getloadavg(),
        "layoutgen_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "versions": {d: _version(d) for d in ("layoutgen", "gdstk", "shapely", "numpy",
                                              "klayout", "gdsfactory", "kfactory")},
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def verdicts(w: str, work: Path) -> dict[str, object]:
    """Hierarchical and flat reports of one workload's layout, compared check by check."""
    gds = work / "lg" / f"w_{w}.gds"
    out: dict[str, object] = {}
    for mode in ("hierarchical", "flat"):
        js = work / f"verdict_{w}_{mode}.json"
        cmd = [LAYOUTGEN, "check", str(gds), "--rules", RULES[w], "--json", str(js)]
        subprocess.run(cmd + (["--flat"] if mode == "flat" else []), cwd=work,
                       capture_output=True)
        rep = json.loads(js.read_text(encoding="utf-8"))
        out[mode] = {"passed": rep["passed"], "violations": len(rep["violations"]),
                     "checks": {k: {"judged": r["judged"], "violations": r["violations"],
                                    "details": r.get("details", {})}
                                for k, r in rep["results"].items()}}
    h, f = out["hierarchical"], out["flat"]
    out["same"] = h == f  # type: ignore[comparison-overlap]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (after a "
                    "warm-up run)")
    ap.add_argument("--slow-runs", type=int, default=3, help="timed runs of the slow "
                    "commands (full build with pictures, flat checks)")
    ap.add_argument("--quick", action="store_true", help="skip the KLayout per-pad flat "
                    "check of W-CSP (about 100 s a run) and the 450 mm wafers")
    ap.add_argument("--out", type=Path, default=None, help="scratch folder (default: a "
                    "temporary one)")
    ap.add_argument("--only", choices=("all", "fast", "slow"), default="all",
                    help="fast: builds, hierarchical checks and their anchors, interleaved; "
                    "slow: full builds, flat checks and the hierarchical/flat verdicts")
    ap.add_argument("--update", action="store_true", help="merge into an existing --json "
                    "(keep the measurements this run does not make)")
    ap.add_argument("--json", type=Path, default=HERE / "results.json")
    ap.add_argument("--md", type=Path, default=HERE / "RESULTS.md")
    a = ap.parse_args()
    # bytecode as an installed package has it (pip compiles on install): without it, a
    # machine with PYTHONDONTWRITEBYTECODE set recompiles every changed module in every
    # timed process (tens of ms), which no user pays twice
    import compileall

    for pkg in ("layoutgen", "cells"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)
    compileall.compile_dir(str(ANCHORS), quiet=1)
    work = a.out or Path(tempfile.mkdtemp(prefix="layoutgen-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(json.dumps(info, indent=1), flush=True)
    res: dict[str, Timing] = {}
    n, slow = a.runs, a.slow_runs

    def add(t: Timing) -> None:
        res[t.key] = t

    fast = a.only in ("all", "fast")
    slow_part = a.only in ("all", "slow")
    if fast:
        for t in bench_group([
                ("startup.python", "python -c pass", [PY, "-c", "pass"], None),
                ("startup.gdstk", "python -c 'import gdstk' (numpy too)",
                 [PY, "-c", "import gdstk"], None),
                ("startup.klayout", "python -c 'import klayout.db'",
                 [PY, "-c", "import klayout.db"], None),
                ("startup.gdsfactory", "python -c 'import gdsfactory'",
                 [PY, "-c", "import gdsfactory"], None),
                ("startup.layoutgen", "layoutgen --version", [LAYOUTGEN, "--version"], None),
        ], n, work):
            add(t)
    sizes = [("", None)] if a.quick else [("", None), (".450", 450)]
    for w in ("csp", "cap"):
        group: list[tuple[str, str, list[str], Path | None]] = []
        for suffix, mm in sizes:
            spec = HERE / "specs" / f"w_{w}.toml"
            name = f"w_{w}"
            if mm:
                text = spec.read_text(encoding="utf-8")
                text = text.replace('name = "w_', 'name = "w450_').replace(
                    "diameter = 200.0", "diameter = 450.0").replace(
                    "diameter = 300.0", "diameter = 450.0")
                spec = work / f"w450_{w}.toml"
                spec.write_text(text, encoding="utf-8")
                name = f"w450_{w}"
            out = work / f"lg{suffix}"
            gds = out / f"{name}.gds"
            k = f"{w}{suffix}"
            build = [LAYOUTGEN, "build", str(spec), "-o", str(out), "--no-check", "--no-report"]
            run_once(build, work)  # the file the checks read
            extra = [] if not mm else ["--wafer-mm", str(mm)]
            raw = work / f"raw{suffix}_{w}.gds"
            group += [
                (f"{k}.build", "layoutgen build --no-check --no-report", build, gds),
                (f"{k}.gdstk", "raw gdstk", [PY, str(ANCHORS / "gdstk_wafer.py"), w, str(raw),
                                             *extra], raw),
                (f"{k}.check", "layoutgen check (hierarchical)",
                 [LAYOUTGEN, "check", str(gds), "--rules", RULES[w]], None),
                (f"{k}.klayout_deep", "KLayout deep check",
                 [PY, str(ANCHORS / "klayout_check.py"), w, str(gds), "--mode", "deep"], None),
            ]
            if not mm:
                gfo = work / f"gf_{w}.gds"
                group.append((f"{k}.gdsfactory", "gdsfactory",
                              [PY, str(ANCHORS / "gf_wafer.py"), w, str(gfo)], gfo))
        if fast:
            for t in bench_group(group, n, work):
                add(t)
        if not slow_part:
            continue
        spec = HERE / "specs" / f"w_{w}.toml"
        gds = work / "lg" / f"w_{w}.gds"
        add(bench(f"{w}.build_full", "layoutgen build (default: check, pictures, report)",
                  [LAYOUTGEN, "build", str(spec), "-o", str(work / "full")], slow, work))
        # W-CAP flat takes minutes (its cut lanes join every die into one region outside
        # the dies, judged whole): one run
        add(bench(f"{w}.check_flat", "layoutgen check --flat",
                  [LAYOUTGEN, "check", str(gds), "--rules", RULES[w], "--flat"],
                  slow if w == "csp" else 1, work, warmup=w == "csp"))
        if w == "cap" or not a.quick:
            add(bench(f"{w}.klayout_flat", "KLayout flat check (every item)",
                      [PY, str(ANCHORS / "klayout_check.py"), w, str(gds), "--mode", "flat"],
                      n if w == "cap" else 1, work, warmup=w == "cap"))
    info["load_average_end"] = os.getloadavg()
    data: dict[str, Any] = {"machine": info, "results": {}, "verdicts": {}}
    if a.update and a.json.exists():  # keep what this run did not measure
        data = json.loads(a.json.read_text(encoding="utf-8"))
        data.setdefault("runs", []).append(info)
    data["results"].update({k: asdict(v) for k, v in res.items()})
    if slow_part:
        data["verdicts"] = {w: verdicts(w, work) for w in ("csp", "cap")}
        data["machine"] = info
    a.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {a.json}")
    from report import write_markdown  # benchmarks/report.py

    write_markdown(data, a.md)
    print(f"wrote {a.md}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
