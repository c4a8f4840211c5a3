#!/usr/bin/env python3
"""A time-boxed fuzzing run of the file-reading path of ``layoutgen check``.

    python scripts/fuzz_read.py --seconds 300 --seed 1 --out fuzz-findings/

Valid seed layouts (a capped die array and a CSP-like die, as GDS and OASIS, written
by gdstk and by KLayout: ``tests/hostile.py``) are mutated by bit flips, byte
insertions and deletions, record-length edits, record-type and payload edits,
truncations and record duplication; each mutant is run through ``layoutgen check``
(its ``main``, in a forked child of this process with a time and memory limit, with
``--json`` and ``--lyrdb`` targets that must be absent after exit 2) and classified:
exit0 / exit1 / exit2 (one ``layoutgen: error:`` line) / exit2-bad-message / traceback /
crash / hang / oom. Mutants that got past the reader (exit 0 or 1) join the pool of
seeds, so later mutations go deeper.

Every input that gives a traceback, a crash, a hang, an out-of-memory or a badly
worded exit 2 is saved in ``--out`` with a ``.json`` beside it (mutations, outcome,
stderr, the Python stack for a crash or hang); identical failures (same verdict,
same place in the code) are saved at most ``--keep`` times. ``summary.json`` holds
the counts. Not run in CI; every finding becomes a regression input in
``tests/data/fuzz/`` (see ``tests/test_hostile.py``).

``--exec`` runs a new ``layoutgen`` process per input instead (slower, the real thing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import hostile as H  # noqa: E402

BAD = ("traceback", "crash", "hang", "oom", "exit2-bad-message", "other")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:,)? in (\S+)')


def signature(outcome: H.Outcome) -> str:
    """Where a failure happened: verdict plus the innermost frame in layoutgen (or the
    exception line)."""
    err = outcome.stderr
    where = ""
    if outcome.verdict in ("crash", "hang"):
        # faulthandler: most recent call first
        frames = _FRAME.findall(outcome.stack or err)
        ours = [f for f in frames if "/layoutgen/" in f[0]]
        pick = ours[0] if ours else (frames[0] if frames else None)
        if pick:
            where = f"{Path(pick[0]).name}:{pick[1]} {pick[2]}"
        sig = f"signal {-outcome.returncode}" if outcome.returncode and outcome.returncode < 0 \
            else ""
        return f"{outcome.verdict} {sig} {where}".strip()
    if outcome.verdict in ("traceback", "oom"):
        frames = _FRAME.findall(err)
        ours = [f for f in frames if "/layoutgen/" in f[0]]
        pick = ours[-1] if ours else (frames[-1] if frames else None)
        last = [ln for ln in err.strip().splitlines() if ln and not ln.startswith(" ")]
        exc = last[-1].split(":")[0] if last else "?"
        if pick:
            where = f"{Path(pick[0]).name}:{pick[1]} {pick[2]}"
        return f"{outcome.verdict} {exc} {where}".strip()
    first = err.strip().splitlines()[:1]
    return f"{outcome.verdict} {re.sub(r'[0-9]+', 'N', first[0])[:80] if first else ''}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="how long to fuzz")
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument("--out", type=Path, default=Path("fuzz-findings"),
                    help="folder for findings and summary.json")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per input (hang)")
    ap.add_argument("--memory", type=float, default=4.0, help="GiB of address space per input")
    ap.add_argument("--keep", type=int, default=3, help="inputs kept per distinct failure")
    ap.add_argument("--max-mutations", type=int, default=4, help="mutations stacked per input")
    ap.add_argument("--exec", action="store_true",
                    help="a new layoutgen process per input instead of a fork")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    memory = int(args.memory * 1024**3)
    runner = None if args.exec else H.ForkRunner(timeout=args.timeout, memory=memory,
                                                  stacks=True)
    work = Path(tempfile.mkdtemp(prefix="fuzz-read-"))
    seeds = H.seed_files(work / "seeds")
    pool: list[tuple[str, bytes]] = [(name, p.read_bytes()) for name, p in sorted(seeds.items())]
    n_seeds = len(pool)

    counts: dict[str, int] = {}
    per_seed: dict[str, dict[str, int]] = {}
    sigs: dict[str, dict] = {}
    findings: list[dict] = []
    runs = lost = 0
    slowest = 0.0
    t0 = time.monotonic()
    last_report = t0
    try:
        while time.monotonic() - t0 < args.seconds:
            # original seeds half of the time, grown pool otherwise
            idx = rng.randrange(n_seeds) if rng.random() < 0.5 or len(pool) == n_seeds else \
                rng.randrange(len(pool))
            origin, data = pool[idx]
            ops = []
            for _ in range(rng.randint(1, args.max_mutations)):
                data, op = H.mutate(data, rng)
                ops.append(op)
            suffix = ".oas" if origin.endswith(".oas") else ".gds"
            path = work / f"input{suffix}"
            path.write_bytes(data)
            if runner is not None:
                outcome = runner.run(path)
            else:
                outcome = H.run_cli(path, timeout=args.timeout, memory=memory)
            runs += 1
            lost += bool(outcome.lost)
            slowest = max(slowest, outcome.seconds)
            counts[outcome.verdict] = counts.get(outcome.verdict, 0) + 1
            ps = per_seed.setdefault(origin.split("+")[0], {})
            ps[outcome.verdict] = ps.get(outcome.verdict, 0) + 1
            if outcome.verdict in ("exit0", "exit1") and len(pool) < 400 and data not in (
                    d for _, d in pool[-50:]):
                pool.append((origin + "+m", data))
            if outcome.verdict in BAD:
                sig = signature(outcome)
                entry = sigs.setdefault(sig, {"signature": sig, "count": 0, "files": []})
                entry["count"] += 1
                if len(entry["files"]) < args.keep:
                    h = hashlib.sha1(data).hexdigest()[:12]
                    name = f"{outcome.verdict}-{h}{suffix}"
                    (out / name).write_bytes(data)
                    info = {"file": name, "seed": origin, "mutations": ops,
                            "verdict": outcome.verdict, "returncode": outcome.returncode,
                            "seconds": round(outcome.seconds, 3), "signature": sig,
                            "stderr": outcome.stderr[-4000:], "stack": outcome.stack[-4000:]}
                    (out / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n")
                    entry["files"].append(name)
                    findings.append(info)
                    if not args.quiet:
                        print(f"[{time.monotonic() - t0:6.0f}s] {outcome.verdict}: {sig} "
                              f"-> {name}", flush=True)
            if not args.quiet and time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                print(f"[{last_report - t0:6.0f}s] {runs} inputs, {counts}", flush=True)
    finally:
        elapsed = time.monotonic() - t0
        summary = {
            "seconds": round(elapsed, 1), "seed": args.seed, "inputs": runs,
            "per_second": round(runs / elapsed, 1) if elapsed else 0.0,
            "runner": "exec" if args.exec else "fork", "timeout": args.timeout,
            "memory_gib": args.memory, "verdicts": dict(sorted(counts.items())),
            "lost": lost, "slowest": round(slowest, 2),
            "per_seed": {k: dict(sorted(v.items())) for k, v in sorted(per_seed.items())},
            "pool": len(pool), "failures": sorted(sigs.values(), key=lambda e: -e["count"]),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        if not args.quiet:
            print(json.dumps({k: summary[k] for k in ("seconds", "inputs", "per_second",
                                                      "verdicts")}, indent=1))
            for e in summary["failures"]:
                print(f"  {e['count']:5d} x {e['signature']}  e.g. {e['files'][0]}")
    return 1 if sigs else 0


if __name__ == "__main__":
    sys.exit(main())
