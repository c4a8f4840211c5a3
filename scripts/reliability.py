#!/usr/bin/env python3
"""The reliability table of ``layoutgen check`` on hostile and broken files.

    python scripts/reliability.py                      # the catalogue (small inputs)
    python scripts/reliability.py --slow               # plus the big ones (minutes)
    python scripts/reliability.py --fuzz-seconds 300   # plus a fuzzing run
    python scripts/reliability.py --slow --fuzz-seconds 300 --write report.md
    python scripts/reliability.py --slow --readme docs/reliability.md   # or README.md

Reruns every input of ``tests/hostile.py``'s catalogue (and the saved fuzz findings in
``tests/data/fuzz/``) through ``layoutgen check`` under a time limit (60 s) and a
memory limit (4 GiB), each with ``--json`` and ``--lyrdb`` targets, and prints a
Markdown table: per input kind, how many inputs were tried, their verdicts (exit 0,
exit 1, exit 2 with one ``layoutgen: error:`` line, exit 2 otherwise, traceback, crash,
hang, out of memory), how many were wrong (a verdict the input does not allow, a
wrong count or message), and whether nothing was lost (no report written after exit
2, no temporary file left, a complete report after exit 0/1). The wrong ones are
listed under the table with the bug they show. Every unusable input that ``check``
refuses in its reader is also given to ``layoutgen preview`` (its own row).

``--readme FILE`` replaces what lies between the lines ``<!-- reliability:begin -->``
and ``<!-- reliability:end -->`` in FILE (the README's reliability section, or
``docs/reliability.md``) with the table and the line saying how it was made.

Runs are forked children of this process (fast); ``--exec`` starts the installed
``layoutgen`` for each input instead.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))

import hostile as H  # noqa: E402

COLUMNS = (("exit0", "exit 0"), ("exit1", "exit 1"), ("exit2", "exit 2, one line"),
           ("exit2-bad-message", "exit 2, other"), ("traceback", "traceback"),
           ("crash", "crash"), ("hang", "hang"), ("oom", "out of memory"))


def _row(t: H.Tally, nothing_lost: str | None = None) -> str:
    cells = [t.kind, str(t.tried)]
    cells += [str(t.verdicts.get(k, 0) or "") for k, _ in COLUMNS]
    cells.append(str(len(t.wrong)) if t.wrong else "0")
    cells.append(nothing_lost if nothing_lost is not None else
                 ("yes" if not t.lost else f"**no ({t.lost})**"))
    cells.append(f"{t.seconds:.1f}")
    return "| " + " | ".join(cells) + " |"


def _header() -> list[str]:
    names = ["input kind", "tried"] + [n for _, n in COLUMNS] + [
        "wrong", "nothing lost", "slowest (s)"]
    return ["| " + " | ".join(names) + " |",
            "|" + "|".join(["---"] + ["--:"] * (len(names) - 1)) + "|"]


def _git() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "layoutgen"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return rev + (" (with uncommitted changes to layoutgen/)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slow", action="store_true", help="also the big inputs")
    ap.add_argument("--fuzz-seconds", type=float, default=0.0,
                    help="also fuzz the reader this long (scripts/fuzz_read.py)")
    ap.add_argument("--seed", type=int, default=1, help="fuzzing seed")
    ap.add_argument("--exec", action="store_true",
                    help="a new layoutgen process per input instead of a fork")
    ap.add_argument("--write", type=Path, help="also write the Markdown to this file")
    ap.add_argument("--readme", type=Path, metavar="FILE",
                    help="replace the table between the reliability markers in FILE")
    ap.add_argument("--only", help="only the cases whose name contains this")
    args = ap.parse_args(argv)

    t_start = time.monotonic()
    runner = None if args.exec else H.ForkRunner(timeout=H.TIMEOUT, memory=H.MEMORY)
    folder = Path(tempfile.mkdtemp(prefix="reliability-"))
    H.seeds_in(folder)
    tallies: dict[str, H.Tally] = {}
    problems: list[tuple[H.Case, str]] = []
    skipped = 0
    for case in H.catalogue(include_slow=True):
        if case.slow and not args.slow or args.only and args.only not in case.name:
            skipped += 1
            continue
        outcome = H.run_case(case, case.make(folder), runner)
        problem = case.judge(outcome)
        tallies.setdefault(case.kind, H.Tally(case.kind)).add(outcome, problem)
        if problem:
            problems.append((case, problem))
        print(f"{'ok ' if not problem else 'BAD'} {case.name} {outcome.verdict} "
              f"{outcome.seconds:.1f}s", file=sys.stderr, flush=True)

    pv = H.Tally("`preview` of the unusable inputs")
    for case in H.preview_cases(H.catalogue(include_slow=True)):
        if case.slow and not args.slow or args.only and args.only not in case.name:
            continue
        path = case.make(folder)
        outcome = (runner.run(path, command="preview", timeout=case.timeout, memory=case.memory)
                   if runner is not None else
                   H.run_cli(path, timeout=case.timeout, memory=case.memory, command="preview"))
        why = None if outcome.verdict == "exit2" and not outcome.lost else \
            f"preview {case.name}: {outcome.verdict} {outcome.lost or ''}".strip()
        pv.add(outcome, why)
        if why:
            problems.append((case, why))
        print(f"{'ok ' if not why else 'BAD'} preview {case.name} {outcome.verdict}",
              file=sys.stderr, flush=True)

    findings = H.fuzz_findings()
    fz = H.Tally("fuzz findings (regression inputs)")
    fz_problems = []
    for path, notes in findings:
        outcome = (runner.run(path) if runner is not None else H.run_cli(path))
        bad = outcome.verdict not in ("exit0", "exit1", "exit2") or outcome.lost
        why = f"{path.name}: {outcome.verdict}" if bad else None
        fz.add(outcome, why)
        if why:
            fz_problems.append((path.name, notes.get("bug", ""), outcome.verdict))

    fuzz_summary = None
    if args.fuzz_seconds > 0:
        import fuzz_read

        out = folder / "fuzz-findings"
        fuzz_read.main(["--seconds", str(args.fuzz_seconds), "--seed", str(args.seed),
                        "--out", str(out), "--quiet"] + (["--exec"] if args.exec else []))
        fuzz_summary = json.loads((out / "summary.json").read_text())

    block = [
        f"Produced by `python scripts/reliability.py{' --slow' if args.slow else ''}"
        f"{f' --fuzz-seconds {args.fuzz_seconds:g} --seed {args.seed}' if fuzz_summary else ''}"
        f"{f' --only {args.only}' if args.only else ''}{' --exec' if args.exec else ''}`"
        f" on {datetime.date.today().isoformat()}, commit {_git()}, Python "
        f"{platform.python_version()}, gdstk {__import__('gdstk').__version__}; "
        f"{'a new process' if args.exec else 'a forked child'} per input, each limited to "
        f"{H.TIMEOUT:g} s and {H.MEMORY // 1024**3} GiB of address space, each asked for "
        "`--json` and `--lyrdb` reports. The inputs are made by `tests/hostile.py` (the same "
        "ones `tests/test_hostile.py` runs); *wrong* counts verdicts the input does not "
        "allow (a valid but strange file must get the right verdict and counts; an unusable "
        "one exit 2 with one line) and stray stderr; *nothing lost* means no report or "
        "temporary file after exit 2 and a complete report after exit 0/1.",
        "",
        *_header(),
    ]
    lines = block
    rows = list(tallies.values()) + [t for t in (pv, fz) if t.tried]
    if fuzz_summary:
        ft = H.Tally(f"fuzzed mutants ({fuzz_summary['seconds']:g} s, seed {args.seed})")
        ft.tried = fuzz_summary["inputs"]
        ft.verdicts = fuzz_summary["verdicts"]
        ft.lost = fuzz_summary.get("lost", 0)
        ft.seconds = fuzz_summary.get("slowest", 0.0)
        ft.wrong = [e["signature"] for e in fuzz_summary["failures"] for _ in range(e["count"])]
        rows.append(ft)
    total = H.Tally("**all**")
    for t in rows:
        lines.append(_row(t))
        total.tried += t.tried
        total.lost += t.lost
        total.wrong += t.wrong
        total.seconds = max(total.seconds, t.seconds)
        for k, v in t.verdicts.items():
            total.verdicts[k] = total.verdicts.get(k, 0) + v
    lines.append(_row(total))
    lines.append("")
    if skipped:
        lines.append(f"{skipped} big inputs not run (add `--slow`)." if not args.only else
                     f"{skipped} inputs not run (`--only {args.only}`).")
        lines.append("")
    if problems or fz_problems or (fuzz_summary and fuzz_summary["failures"]):
        lines += ["## Wrong answers", ""]
        for case, problem in problems:
            first = problem.splitlines()[0]
            if case.bug:
                lines.append(f"- `{case.name}` ({case.kind}): {case.bug}.")
            else:
                lines.append(f"- `{case.name}` ({case.kind}): {first}")
        for name, bug, verdict in fz_problems:
            lines.append(f"- fuzz finding `{name}`: {verdict}" + (f": {bug}." if bug else ""))
        if fuzz_summary:
            for e in fuzz_summary["failures"]:
                lines.append(f"- fuzzing: {e['count']} x {e['signature']} "
                             f"(e.g. `{e['files'][0]}`)")
        lines.append("")
    lines.append(f"Run time: {time.monotonic() - t_start:.0f} s on {_machine()}.")
    table = "\n".join(lines)
    text = "# Reliability of `layoutgen check` on hostile and broken files\n\n" + table + "\n"
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
    if args.readme:
        replace_block(args.readme, table)
    return 1 if problems or fz_problems else 0


BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"


def replace_block(path: Path, table: str) -> None:
    """Put ``table`` between the reliability markers of ``path`` (each alone on a line).

    Raises:
        SystemExit: the file lacks the markers (or has them in the wrong order).
    """
    text = path.read_text(encoding="utf-8")
    head, sep1, rest = text.partition(BEGIN + "\n")
    _, sep2, tail = rest.partition(END)
    if not sep1 or not sep2:
        raise SystemExit(f"{path}: no '{BEGIN}' ... '{END}' lines to replace")
    path.write_text(head + BEGIN + "\n" + table.rstrip("\n") + "\n" + END + tail,
                    encoding="utf-8")


def _machine() -> str:
    """CPU count and model, memory: where the times were measured."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text(
        ).splitlines() if line.startswith("MemTotal")) / 1024**2
        return f"{os.cpu_count()} × {model}, {mem:.0f} GiB, {platform.system()}"
    except (OSError, StopIteration, ValueError, IndexError):
        return f"{os.cpu_count()} × {model}, {platform.system()}"


if __name__ == "__main__":
    sys.exit(main())
