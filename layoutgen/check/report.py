"""The checker's report: per-check results, violations, table, JSON and KLayout markers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layoutgen.layers import xml_escape as escape


@dataclass(frozen=True)
class CheckInfo:
    """What a check is.

    Attributes:
        id: dotted id (``seal.closed``).
        claims: the claims it verifies, as ``<seed>:<claim>`` (``cap:1``, ``csp:5``);
            ``cap`` is seed 000 (hermetic cap), ``csp`` seed 004 (embossed ball pad).
        description: one line.
    """

    id: str
    claims: tuple[str, ...]
    description: str


@dataclass
class Violation:
    """One violation.

    Attributes:
        check: the check id.
        message: what is wrong, with coordinates in µm.
        x, y: where (µm, top-cell coordinates).
        value: the measured value (µm, µm² or ratio) when there is one.
        limit: the rule value it was judged against.
        bbox: (x0, y0, x1, y1) of the offending region, µm, when known.
        cell: the cell the violation was judged in (hierarchical mode).
    """

    check: str
    message: str
    x: float
    y: float
    value: float | None = None
    limit: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    cell: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        d: dict[str, Any] = {"check": self.check, "message": self.message,
                             "x": round(self.x, 4), "y": round(self.y, 4)}
        if self.value is not None:
            d["value"] = round(self.value, 6)
        if self.limit is not None:
            d["limit"] = self.limit
        if self.bbox is not None:
            d["bbox"] = [round(v, 4) for v in self.bbox]
        if self.cell is not None:
            d["cell"] = self.cell
        return d


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes:
        info: the check.
        judged: how many items (rings, holes, pads, shapes...) it judged.
        violations: how many violations it found.
        details: extra facts (ring segment counts, ratios seen...).
    """

    info: CheckInfo
    judged: int = 0
    violations: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when the check found no violation."""
        return self.violations == 0


@dataclass
class Report:
    """The checker's verdict on one layout.

    Attributes:
        source: the file or cell judged.
        rules: the rule set's name.
        results: check id -> result, for every check that ran.
        violations: every violation, sorted by check id then position.
        mode: ``hierarchical`` or ``flat``.
        stats: facts about the run (cells, placements, polygons, seconds).
    """

    source: str
    rules: str
    results: dict[str, CheckResult]
    violations: list[Violation]
    mode: str = "hierarchical"
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no check found a violation."""
        return not any(r.violations for r in self.results.values())

    @property
    def checks(self) -> list[str]:
        """Ids of the checks that ran."""
        return sorted(self.results)

    def by_check(self, check_id: str) -> list[Violation]:
        """The violations of one check."""
        return [v for v in self.violations if v.check == check_id]

    def failed(self) -> list[str]:
        """Ids of the checks that found violations."""
        return sorted(k for k, r in self.results.items() if not r.passed)

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN.md JSON shape, plus per-check results."""
        return {
            "passed": self.passed,
            "checks": self.checks,
            "violations": [v.to_dict() for v in self.violations],
            "source": self.source,
            "rules": self.rules,
            "mode": self.mode,
            "results": {
                k: {"claims": list(r.info.claims), "description": r.info.description,
                    "judged": r.judged, "violations": r.violations, "passed": r.passed,
                    **({"details": r.details} if r.details else {})}
                for k, r in sorted(self.results.items())
            },
            "stats": self.stats,
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically)."""
        from layoutgen.io import write_text  # (on demand: io loads tempfile and hashlib)

        return write_text(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    def table(self, max_messages: int = 20) -> str:
        """A readable table: check id, claims, verdict, judged and violation counts."""
        cw = max([len(k) for k in self.checks] + [5])
        lw = max([len(",".join(self.results[k].info.claims)) for k in self.checks] + [6])
        rows = [f"{'check':<{cw}}  {'claims':<{lw}}  {'result':<6} {'judged':>7} "
                f"{'violations':>10}"]
        rows.append("-" * len(rows[0]))
        for k in self.checks:
            r = self.results[k]
            claims = ",".join(r.info.claims)
            verdict = "FAIL" if not r.passed else ("pass" if r.judged else "-")
            rows.append(f"{k:<{cw}}  {claims:<{lw}}  {verdict:<6} "
                        f"{r.judged:>7} {r.violations:>10}")
        if any(self.results[k].passed and not self.results[k].judged for k in self.checks):
            rows.append("(-: nothing of its kind to judge here, e.g. scribe lanes need two "
                        "dies)")
        rows.append("")
        for note in self.stats.get("reader_warnings", []):
            rows.append(f"warning: the file reader said: {note}")
        if not self.results:
            rows.append("no check applied: none of the checked layers is drawn (is the layer "
                        "map right? see --layers)")
        n = sum(r.violations for r in self.results.values())
        verdict = "PASSED" if self.passed else f"FAILED: {n} violation{'s' if n != 1 else ''}"
        rows.append(f"{self.source}: {verdict} ({len(self.results)} checks, rules "
                    f"{self.rules}, {self.mode})")
        for v in self.violations[:max_messages]:
            rows.append(f"  {v.check}: {v.message}")
        if n > min(max_messages, len(self.violations)):
            rows.append(f"  ... and {n - min(max_messages, len(self.violations))} more "
                        "(see --json or --lyrdb)")
        return "\n".join(rows)

    def lyrdb(self, top_cell: str = "TOP") -> str:
        """A KLayout marker database (``.lyrdb``) with one item per violation."""
        out = ['<?xml version="1.0" encoding="utf-8"?>', "<report-database>",
               f" <description>layoutgen check of {escape(self.source)}</description>",
               f" <original-file>{escape(self.source)}</original-file>",
               " <generator>layoutgen</generator>",
               f" <top-cell>{escape(top_cell)}</top-cell>",
               " <tags/>", " <categories>"]
        for k in self.checks:
            r = self.results[k]
            desc = f"{r.info.description} (claims {', '.join(r.info.claims)})"
            out += ["  <category>", f"   <name>{escape(k)}</name>",
                    f"   <description>{escape(desc)}</description>",
                    "   <categories/>", "  </category>"]
        out += [" </categories>", " <cells>", "  <cell>", f"   <name>{escape(top_cell)}</name>",
                "   <variant/>", "   <references/>", "  </cell>", " </cells>", " <items>"]
        for v in self.violations:
            if v.bbox is not None:
                x0, y0, x1, y1 = v.bbox
                shape = f"box: ({x0:.4f},{y0:.4f};{x1:.4f},{y1:.4f})"
            else:
                shape = f"box: ({v.x - 0.5:.4f},{v.y - 0.5:.4f};{v.x + 0.5:.4f},{v.y + 0.5:.4f})"
            out += ["  <item>", "   <tags/>", f"   <category>'{escape(v.check)}'</category>",
                    f"   <cell>{escape(top_cell)}</cell>", "   <visited>false</visited>",
                    "   <multiplicity>1</multiplicity>", "   <values>",
                    f"    <value>{escape(shape)}</value>",
                    f"    <value>text: '{escape(v.message)}'</value>",
                    "   </values>", "  </item>"]
        out += [" </items>", "</report-database>", ""]
        return "\n".join(out)

    def write_lyrdb(self, path: str | Path, top_cell: str = "TOP") -> Path:
        """Write :meth:`lyrdb` to ``path`` (atomically)."""
        from layoutgen.io import write_text

        return write_text(path, self.lyrdb(top_cell))
