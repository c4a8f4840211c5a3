#!/usr/bin/env python3
"""The README's generated tables, each derived from the one place that defines it.

    python scripts/readme_tables.py           # exit 1 naming every stale block
    python scripts/readme_tables.py --write   # rewrite the stale blocks in README.md

A block is the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in
README.md. ``tests/test_readme.py`` keeps every block equal to what :func:`blocks`
makes, so a new parameter, check or rule shows up in the README or fails a test:

* ``layers``: the layer map (:meth:`layoutgen.layers.LayerMap.markdown_table`).
* ``params-<kind>``: the declared parameters of a product kind (``layoutgen.spec.Param``);
  for a wafer kind only those its die kind does not have.
* ``checks``: the checker's registry (``layoutgen.check.checks``): id, claims, what it
  judges, the rule keys it reads, the layers that make it run.
* ``rulesets``: every rule value of the built-in rule sets (``layoutgen.rules``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

#: product kind -> the kind whose parameters its table leaves out (shown there already)
PARAM_TABLES: dict[str, str | None] = {
    "capped_die": None,
    "capped_wafer": "capped_die",
    "csp_die": None,
    "csp_wafer": "csp_die",
}
#: claim prefixes of the checker -> the seed they name
SEEDS = {"cap": "000", "csp": "004"}


def toml_value(value: Any) -> str:
    """``value`` as it is written in a spec file (``2000``, ``"chamfer"``, ``[]``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def params_table(params: Iterable[Any]) -> str:
    """A Markdown table of declared parameters: key, default (as in a spec file), unit,
    allowed values, meaning."""
    rows = ["| key | default | unit | allowed | meaning |", "|---|---|---|---|---|"]
    for p in params:
        rows.append(f"| `{p.key}` | `{toml_value(p.default)}` | {p.unit} | "
                    f"{_cell(p.allowed())} | {_cell(p.doc)} |")
    return "\n".join(rows)


def kind_params_table(kind: str) -> str:
    """The parameter table of product kind ``kind`` (minus those of its die kind)."""
    from cells.products import KINDS

    base = PARAM_TABLES[kind]
    skip = {p.key for p in KINDS[base].params} if base else set()
    return params_table(p for p in KINDS[kind].params if p.key not in skip)


def claims_text(claims: Iterable[str]) -> str:
    """``("cap:1", "cap:12", "csp:7")`` -> ``000: 1, 12 · 004: 7``."""
    by_seed: dict[str, list[str]] = {}
    for c in claims:
        prefix, _, number = c.partition(":")
        by_seed.setdefault(prefix, []).append(number)
    return " · ".join(f"{SEEDS.get(p, p)}: {', '.join(n)}" for p, n in by_seed.items())


def rule_keys_in_checks() -> set[str]:
    """The rule keys the checks read: the DRC rules' keys and the keys looked up by name
    in ``layoutgen/check/checks.py``."""
    from layoutgen.check.checks import DRC_RULES

    source = (REPO / "layoutgen" / "check" / "checks.py").read_text(encoding="utf-8")
    found = set(re.findall(r"rules(?:\[|\.get\()\"([a-z0-9_]+\.[a-z0-9_]+)\"", source))
    return found | {r.rule for r in DRC_RULES}


def known_rule_keys() -> set[str]:
    """Every rule key a check may use: those the checks read and the built-in sets' keys."""
    from layoutgen.rules import BUILTIN_RULESETS, load_ruleset

    keys = rule_keys_in_checks()
    for name in BUILTIN_RULESETS:
        keys |= set(load_ruleset(name).rules)
    return keys


def check_rule_keys() -> dict[str, list[str]]:
    """Check id -> the rule keys it uses: those named in its description (the registry
    names every rule a check judges against), the DRC rule's own key for ``drc.*``."""
    from layoutgen.check.checks import CHECKS, DRC_RULES

    known = known_rule_keys()
    drc = {r.id: r.rule for r in DRC_RULES}
    out = {}
    for cid, info in CHECKS.items():
        named = [k for k in sorted(known)
                 if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.]*\w)", info.description)]
        if cid in drc and drc[cid] not in named:
            named.insert(0, drc[cid])
        out[cid] = named
    return out


def checks_table() -> str:
    """The checker's registry as a Markdown table."""
    from layoutgen.check.checks import ANY_LAYERS, CHECK_LAYERS, CHECKS

    keys = check_rule_keys()
    rows = ["| check | claims (seed: numbers) | what it judges | rule keys | runs when drawn |",
            "|---|---|---|---|---|"]
    for cid, info in CHECKS.items():
        layers = " + ".join(CHECK_LAYERS[cid])
        if cid in ANY_LAYERS:
            layers += " + any of " + ", ".join(ANY_LAYERS[cid])
        rule = ", ".join(f"`{k}`" for k in keys[cid]) or "—"
        rows.append(f"| `{cid}` | {claims_text(info.claims)} | {_cell(info.description)} "
                    f"| {rule} | {layers} |")
    return "\n".join(rows)


def rulesets_table() -> str:
    """Every rule of the built-in rule sets, with its value in each (— where absent)."""
    from layoutgen.rules import BUILTIN_RULESETS, load_ruleset

    sets = [load_ruleset(n) for n in BUILTIN_RULESETS]
    keys: list[str] = []
    for s in sets:
        keys += [k for k in s.rules if k not in keys]
    rows = ["| rule key | " + " | ".join(s.name for s in sets) + " | meaning |",
            "|---|" + "---|" * len(sets) + "---|"]
    for k in keys:
        vals = [f"{s[k]:g}" if k in s else "—" for s in sets]
        doc = next(s.rules[k].doc for s in sets if k in s)
        rows.append(f"| `{k}` | " + " | ".join(vals) + f" | {_cell(doc)} |")
    return "\n".join(rows)


def blocks() -> dict[str, str]:
    """Block name -> its generated Markdown."""
    from layoutgen.layers import DEFAULT_LAYERS

    out = {"layers": DEFAULT_LAYERS.markdown_table()}
    for kind in PARAM_TABLES:
        out[f"params-{kind}"] = kind_params_table(kind)
    out["checks"] = checks_table()
    out["rulesets"] = rulesets_table()
    return out


def block_re(name: str) -> re.Pattern[str]:
    """The pattern of block ``name`` in the README; group 1 is its content."""
    return re.compile(rf"<!-- {re.escape(name)}:begin -->\n(.*?)\n?<!-- {re.escape(name)}:end -->",
                      flags=re.S)


def readme_blocks(text: str) -> dict[str, str | None]:
    """Block name -> its current content in ``text`` (None when the block is missing)."""
    out: dict[str, str | None] = {}
    for name in blocks():
        m = block_re(name).search(text)
        out[name] = m.group(1).strip() if m else None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="rewrite the stale blocks in README.md")
    args = ap.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    want = blocks()
    have = readme_blocks(text)
    missing = [n for n, v in have.items() if v is None]
    if missing:
        print(f"README.md lacks the blocks {', '.join(missing)}: add "
              "<!-- NAME:begin --> and <!-- NAME:end --> lines", file=sys.stderr)
        return 1
    stale = [n for n in want if have[n] != want[n]]
    if not stale:
        print("README.md: every generated block is current")
        return 0
    if not args.write:
        print(f"README.md: stale blocks: {', '.join(stale)} (run with --write)", file=sys.stderr)
        return 1
    for n in stale:
        text = block_re(n).sub(lambda _m, n=n: f"<!-- {n}:begin -->\n{want[n]}\n<!-- {n}:end -->",
                               text, count=1)
    README.write_text(text, encoding="utf-8")
    print(f"README.md: rewrote {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
