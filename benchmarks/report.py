"""Turn ``benchmarks/results.json`` (from ``run.py``) into ``benchmarks/RESULTS.md``.

The part of RESULTS.md above the ``<!-- results:begin -->`` marker is kept as written
by hand (the summary); everything below it is regenerated. Usage::

    python benchmarks/report.py [results.json] [RESULTS.md]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BEGIN = "<!-- results:begin -->"
NAMES = {"csp": "W-CSP", "cap": "W-CAP"}


def _s(r: dict[str, Any] | None) -> str:
    return "–" if r is None else f"{r['median_s']:.3f}"


def _mb(r: dict[str, Any] | None) -> str:
    return "–" if r is None else f"{r['peak_mb']:.0f}"


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if a is None or b is None or not b["median_s"]:
        return None
    return a["median_s"] / b["median_s"]


def _pf(ok: bool | None) -> str:
    return "–" if ok is None else ("**pass**" if ok else "**MISS**")


def _fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def tables(data: dict[str, Any]) -> str:
    """The generated part of RESULTS.md."""
    R = data["results"]
    m = data["machine"]
    g = R.get
    out = [BEGIN, "", "## Machine and versions", ""]
    out.append(f"- {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['platform']}, "
               f"Python {m['python']}; measured {m['date']}")
    out.append(f"- load average at start {', '.join(f'{x:.2f}' for x in m['load_average_start'])}"
               f", at end {', '.join(f'{x:.2f}' for x in m.get('load_average_end', []))} "
               "(the machine is shared: other work ran at the same time)")
    out.append(f"- layoutgen commit {m['layoutgen_commit']}; "
               + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    out += ["", "## Every measurement", "",
            "Whole processes, median wall time of the timed runs after one warm-up run "
            "(the KLayout per-pad flat check of W-CSP: one run, no warm-up), the peak "
            "resident memory of the largest run, CPU = user + system time (median).", "",
            "| key | what | runs | median s | min s | CPU s | peak MB | output MB |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for k, r in R.items():
        om = "" if r.get("output_mb") is None else f"{r['output_mb']:.3f}"
        bad = [c for c in r["exit_codes"] if c not in (0,)]
        flag = f" (exit {bad})" if bad else ""
        out.append(f"| `{k}` | {r['label']}{flag} | {r['runs']} | {r['median_s']:.3f} | "
                   f"{r['min_s']:.3f} | {r['cpu_s']:.3f} | {r['peak_mb']:.0f} | {om} |")
    out += ["", "## Targets", "",
            "| target | workload | layoutgen | anchor | ratio | limit | result |",
            "|---|---|---:|---:|---:|---:|---|"]
    for w in ("csp", "cap"):
        n = NAMES[w]
        b, raw, gf = g(f"{w}.build"), g(f"{w}.gdstk"), g(f"{w}.gdsfactory")
        r1 = _ratio(b, raw)
        out.append(f"| build ≤ 3× raw gdstk | {n} | {_s(b)} s | {_s(raw)} s | "
                   f"{_fmt_ratio(r1)} | 3× | {_pf(None if r1 is None else r1 <= 3)} |")
        r2 = _ratio(gf, b)
        out.append(f"| build ≥ 6× faster than gdsfactory | {n} | {_s(b)} s | {_s(gf)} s | "
                   f"{_fmt_ratio(r2)} faster | 6× | {_pf(None if r2 is None else r2 >= 6)} |")
        c, kd = g(f"{w}.check"), g(f"{w}.klayout_deep")
        r3 = _ratio(c, kd)
        out.append(f"| check (hier.) ≤ 1.5× KLayout deep | {n} | {_s(c)} s | {_s(kd)} s | "
                   f"{_fmt_ratio(r3)} | 1.5× | {_pf(None if r3 is None else r3 <= 1.5)} |")
        out.append(f"| check (hier.) peak memory < 300 MB | {n} | {_mb(c)} MB | | | 300 MB | "
                   f"{_pf(None if c is None else c['peak_mb'] < 300)} |")
        for what in ("build", "check"):
            a, d = g(f"{w}.{what}"), g(f"{w}.450.{what}")
            r4 = _ratio(d, a)
            out.append(f"| {what} at 450 mm within 20 % | {n} | {_s(d)} s | {_s(a)} s | "
                       f"{_fmt_ratio(r4)} | 1.20× | {_pf(None if r4 is None else r4 <= 1.2)} |")
    f, kf = g("csp.check_flat"), g("csp.klayout_flat")
    v = data.get("verdicts", {}).get("csp", {})
    ok = None if f is None else (f["median_s"] < 60 and f["peak_mb"] < 4096 and bool(v.get("same")))
    out.append(f"| check --flat < 60 s, < 4 GB, same verdicts | W-CSP | {_s(f)} s, {_mb(f)} MB"
               f" | KLayout flat {_s(kf)} s, {_mb(kf)} MB | {_fmt_ratio(_ratio(f, kf))} | "
               f"60 s, 4 GB | {_pf(ok)} |")
    out += ["", "## Verdicts, hierarchical and flat", ""]
    for w, v in data.get("verdicts", {}).items():
        h = v.get("hierarchical", {})
        fl = v.get("flat", {})
        out.append(f"- {NAMES[w]}: hierarchical {'passed' if h.get('passed') else 'FAILED'}, "
                   f"flat {'passed' if fl.get('passed') else 'FAILED'}; every check's judged "
                   f"count, violation count and details identical: **{v.get('same')}**")
        for k in ("emboss.ratio", "seal.closed"):
            if k in h.get("checks", {}):
                hc, fc = h["checks"][k], fl["checks"].get(k, {})
                out.append(f"  - `{k}`: judged {hc['judged']} (hierarchical), "
                           f"{fc.get('judged')} (flat); details {json.dumps(fc.get('details'))}")
    out.append("")
    return "\n".join(out)


def write_markdown(data: dict[str, Any], path: Path) -> None:
    """Regenerate the tables of ``path``, keeping the hand-written part above them."""
    head = "# Benchmarks\n\n(summary to be written)\n\n"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN in text:
            head = text.split(BEGIN)[0]
    path.write_text(head + tables(data), encoding="utf-8")


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results.json"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "RESULTS.md"
    write_markdown(json.loads(src.read_text(encoding="utf-8")), dst)
