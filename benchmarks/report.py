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


def _s(r: dict[str, Any] | None, m: str = "median_s") -> str:
    return "–" if r is None else f"{r[m]:.3f}"


def _mb(r: dict[str, Any] | None) -> str:
    return "–" if r is None else f"{r['peak_mb']:.0f}"


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, m: str = "median_s"
           ) -> float | None:
    if a is None or b is None or not b[m]:
        return None
    return a[m] / b[m]


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
            "Each ratio twice: on wall time (what the targets name) and on CPU time (user + "
            "system), which is what wall time would be on an idle machine for these "
            "single-threaded processes; on this shared machine wall time also holds the "
            "time spent waiting for a core.", "",
            "| target | workload | layoutgen wall / CPU s | anchor wall / CPU s | ratio wall | "
            "ratio CPU | limit | result wall | result CPU |",
            "|---|---|---:|---:|---:|---:|---:|---|---|"]

    def row(target: str, n: str, a: dict[str, Any] | None, b: dict[str, Any] | None,
            limit: float, below: bool = True, label: str = "") -> None:
        rw, rc = _ratio(a, b), _ratio(a, b, "cpu_s")

        def ok(x: float | None) -> bool | None:
            return None if x is None else (x <= limit if below else x >= limit)

        out.append(f"| {target} | {n} | {_s(a)} / {_s(a, 'cpu_s')} | {label}{_s(b)} / "
                   f"{_s(b, 'cpu_s')} | {_fmt_ratio(rw)} | {_fmt_ratio(rc)} | {limit:g}× | "
                   f"{_pf(ok(rw))} | {_pf(ok(rc))} |")

    for w in ("csp", "cap"):
        n = NAMES[w]
        b, raw, gf = g(f"{w}.build"), g(f"{w}.gdstk"), g(f"{w}.gdsfactory")
        row("build ≤ 3× raw gdstk", n, b, raw, 3)
        row("gdsfactory ÷ build ≥ 6 (gdsfactory in the 3rd column)", n, gf, b, 6,
            below=False, label="build ")
        c, kd = g(f"{w}.check"), g(f"{w}.klayout_deep")
        row("check (hier.) ≤ 1.5× KLayout deep", n, c, kd, 1.5)
        out.append(f"| check (hier.) peak memory < 300 MB | {n} | {_mb(c)} MB | | | | 300 MB "
                   f"| {_pf(None if c is None else c['peak_mb'] < 300)} | |")
        for what in ("build", "check"):
            row(f"{what} at 450 mm / at {'300' if w == 'csp' else '200'} mm ≤ 1.2", n,
                g(f"{w}.450.{what}"), g(f"{w}.{what}"), 1.2)
    f, kf = g("csp.check_flat"), g("csp.klayout_flat")
    v = data.get("verdicts", {}).get("csp", {})
    same = bool(v.get("same"))

    def flat_ok(m: str) -> bool | None:
        return None if f is None else (f[m] < 60 and f["peak_mb"] < 4096 and same)

    out.append(f"| check --flat < 60 s, < 4 GB, same verdicts | W-CSP | {_s(f)} / "
               f"{_s(f, 'cpu_s')}, {_mb(f)} MB | KLayout flat {_s(kf)} / {_s(kf, 'cpu_s')}, "
               f"{_mb(kf)} MB | {_fmt_ratio(_ratio(f, kf))} | "
               f"{_fmt_ratio(_ratio(f, kf, 'cpu_s'))} | 60 s, 4 GB | {_pf(flat_ok('median_s'))}"
               f" | {_pf(flat_ok('cpu_s'))} |")
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
