"""``layoutgen check``: the command-line face of the checker.

Exit status: 0 no violation, 1 violations, 2 unusable input (one line on stderr),
including a file that cannot be judged within ``--timeout`` seconds or in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
import warnings
from collections.abc import Iterator

from layoutgen.errors import LayoutReadError, SpecError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``check`` subcommand on ``sub``."""
    p = sub.add_parser(
        "check",
        help="judge a GDS/OASIS file against the claims' checks and a rule set",
        description="Judge the geometry of a GDS or OASIS file (from any writer) against "
                    "the seeds' claims and a rule set. Exit 0: no violation; 1: violations; "
                    "2: unusable input.",
    )
    p.add_argument("file", help="GDS (.gds) or OASIS (.oas) file to judge")
    p.add_argument("--rules", default="default",
                   help="rule set: default, amkor-400, amkor-500, or a TOML rules file "
                        "(default: %(default)s)")
    p.add_argument("--rule", action="append", default=[], metavar="KEY=VALUE",
                   help="override one rule value, e.g. --rule seal.min_width=70 (repeatable)")
    p.add_argument("--json", metavar="PATH", help="write the report as JSON")
    p.add_argument("--lyrdb", metavar="PATH",
                   help="write a KLayout marker database to step through violations")
    p.add_argument("--flat", action="store_true",
                   help="judge the layout flattened instead of each distinct cell once")
    p.add_argument("--max-messages", type=_count, default=20, metavar="N",
                   help="violations listed in the table (default: %(default)s)")
    p.add_argument("--timeout", type=seconds_arg, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="give up (exit 2) when reading and judging take longer "
                        "(default: %(default)g; 0: no limit)")
    return p


#: seconds ``layoutgen check`` may take on one file before it gives up (exit 2)
DEFAULT_TIMEOUT = 600.0


def seconds_arg(text: str) -> float:
    """``--timeout``: a finite number of seconds >= 0 (an argparse ``type``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0 (0: no limit), "
                                         f"got {text!r}")
    return value


def _count(text: str) -> int:
    """``--max-messages``: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


class _TimedOut(Exception):
    """Raised by the SIGALRM handler of :func:`time_limit`."""


@contextlib.contextmanager
def time_limit(seconds: float, file: str, what: str = "checking") -> Iterator[None]:
    """Raise LayoutReadError when the body runs longer than ``seconds`` (0: no limit).

    A SIGALRM timer (main thread, POSIX only; elsewhere no limit). The signal is seen
    between Python bytecodes, so one long call into C finishes first. The reader's
    forked probe has its own limit (timers are not inherited by a fork).
    """
    if not seconds or seconds <= 0 or not hasattr(signal, "setitimer") \
            or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TimedOut

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimedOut:
        raise LayoutReadError(f"{file}: {what} took longer than {seconds:g} s (--timeout); "
                              "the layout is too big or too complex for that time") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def parse_overrides(items: list[str]) -> dict[str, float]:
    """``["seal.min_width=70"]`` -> ``{"seal.min_width": 70.0}``."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"--rule: expected KEY=VALUE, got {item!r}")
        try:
            out[key] = float(val)
        except ValueError:
            raise SpecError(f"--rule {key}: must be a number >= 0, got {val!r}") from None
    return out


def _import_engine() -> None:
    import layoutgen.check.engine  # noqa: F401


def run(args: argparse.Namespace, layers: object = None) -> int:
    """Run ``layoutgen check``; returns the exit status (0 or 1; errors raise).

    Nothing reaches stderr but the one error line: what the libraries say while the
    layout is judged (Python warnings such as numpy's overflow, and what C code writes
    to file descriptor 2) is kept, listed under the table as ``warning: while
    checking: ...`` and in the JSON report's ``stats.check_warnings``. Running out of
    memory, or out of time (``--timeout``), is an error (exit 2), not a traceback or a
    hang.
    """
    from layoutgen.check.reader import _captured_stderr, read_layout
    from layoutgen.rules import load_ruleset

    rules = load_ruleset(args.rules)
    overrides = parse_overrides(args.rule)
    if overrides:
        rules = rules.with_values(overrides, "--rule")
    done = False
    try:
        with _captured_stderr() as said, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with time_limit(args.timeout, args.file):
                    # the checker is imported while a forked child reads the file first
                    data = read_layout(args.file, meanwhile=_import_engine)
                    from layoutgen.check import engine

                    engine.PROGRESS = not getattr(args, "quiet", False)
                    report = engine.check(data, rules=rules, layers=layers, flat=args.flat)
            except MemoryError:
                raise LayoutReadError(f"{args.file}: not enough memory to check this "
                                      "layout") from None
            done = True
    finally:
        if not done and said.text:  # a bug's traceback must not hide what C code said
            sys.stderr.write(said.text)
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught} | {
        line.strip() for line in said.text.splitlines() if line.strip()})
    if notes:
        report.stats["check_warnings"] = notes
    if args.json:
        report.write_json(args.json)
    if args.lyrdb:
        top = report.stats.get("top") or "TOP"
        report.write_lyrdb(args.lyrdb, top_cell=str(top))
    print(report.table(max_messages=args.max_messages))
    for note in notes:
        print(f"warning: while checking: {note}")
    sys.stdout.flush()
    return 0 if report.passed else 1
