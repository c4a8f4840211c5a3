"""Rule sets: the numbers the checker judges against and the cells design to.

Three built-in sets:

* ``default``: the claims' checks with this project's process defaults (seal width,
  clearance, emboss ratio and its tolerance, scribe width). No OSAT design rules.
* ``amkor-400`` / ``amkor-500``: ``default`` plus the Amkor WLCSP design rules for
  400 µm and 500 µm ball pitch, read from the published table shipped with the
  package (``layoutgen/data/amkor.csv``, a verbatim copy of ``shared/rules/amkor.csv``),
  never retyped. Its layers map onto ours as ``shared/rules/README.md`` says:
  amkor pi1 -> PI1, rdl -> RDL, pi2 -> PI3, ubm -> UBM, bump -> BALL, pad -> PAD,
  seal ring outer edge -> DIE outline.

A user replaces or adds values with a TOML file (``--rules FILE``)::

    base = "amkor-400"       # optional, default "default"
    [rules]
    "seal.min_width" = 70
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layoutgen.errors import SpecError


@dataclass(frozen=True)
class Rule:
    """One rule value.

    Attributes:
        key: dotted rule id (``rdl.min_width``).
        value: the number, µm (or a ratio where the key says so).
        doc: what it means.
        source: where it comes from (``amkor.csv rdl.1``, ``default``).
    """

    key: str
    value: float
    doc: str
    source: str


#: the rules every set starts from: the claims' checks with the process defaults.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("seal.min_width", 60.0, "minimum width of the solder seal bead (CAP_SOLDER), µm",
         "default: electroplated AuSn rings of 60-70 µm are reported"),
    Rule("seal.min_clearance", 20.0, "minimum distance from an ACTIVE area to its seal ring, µm",
         "default"),
    Rule("seal.metal_enclosure", 0.0,
         "minimum enclosure of the solder bead by CAP_METAL, µm (0: bead on metal everywhere)",
         "default"),
    Rule("emboss.target_ratio", 1.0,
         "target (area inside the convex ring) / (ring area), claims 5 and 16", "default"),
    Rule("emboss.ratio_tolerance", 0.10, "allowed relative deviation from the target ratio",
         "default: 10 %"),
    Rule("scribe.min_width", 50.0, "minimum scribe lane width between neighbouring dies, µm",
         "default"),
)

# (amkor section, rule number) -> (our key, meaning)
_AMKOR_MAP: dict[tuple[str, str], tuple[str, str]] = {
    ("pi1", "1"): ("pi1.min_width", "minimum width of a PI1 opening, µm"),
    ("pi1", "2"): ("pi1.min_space", "minimum space between PI1 openings, µm"),
    ("pi1", "3"): ("pad.encloses_pi1", "PAD encloses each PI1 opening by at least, µm"),
    ("rdl", "1"): ("rdl.min_width", "minimum RDL width, µm"),
    ("rdl", "2"): ("rdl.min_space", "minimum space between RDL shapes, µm"),
    ("rdl", "3"): ("rdl.encloses_pi1", "RDL encloses each PI1 opening by at least, µm"),
    ("pi2", "1"): ("pi3.min_width", "minimum width of a PI3 connection hole, µm"),
    ("pi2", "3"): ("pi1_pi3.min_space", "minimum space between PI1 and PI3 openings, µm"),
    ("ubm", "1"): ("ubm.min_width", "minimum UBM width, µm"),
    ("ubm", "3"): ("ubm.encloses_pi3", "UBM encloses each PI3 hole by at least, µm"),
    ("ubm", "4"): ("rdl.encloses_ubm", "RDL encloses UBM by at least, µm"),
    ("ubm", "5"): ("pi1_ubm.min_space", "minimum space between PI1 openings and UBM, µm"),
    ("ubm", "6"): ("ubm.center_to_die_edge", "minimum distance from a UBM centre to the die "
                                             "edge (seal ring outer edge), µm"),
    ("bump", "1"): ("ball.min_width", "minimum ball footprint width, µm"),
    ("bump", "2"): ("ball.pitch", "ball pitch (centre to centre), µm"),
    ("bump", "3"): ("ball.to_die_edge", "minimum space from a ball to the die edge, µm"),
}

_SECTION_RE = re.compile(r"^\((\w+?)(?:_500)?\.")


def _amkor_table() -> dict[str, dict[tuple[str, str], tuple[float, str]]]:
    """Parse amkor.csv into {"400": {(section, nr): (value, text)}, "500": {...}}."""
    # (the package's data folder, as importlib.resources.files("layoutgen") gives it for a
    # package on disk, without importing importlib.resources and zipfile)
    text = (Path(__file__).parent / "data" / "amkor.csv").read_text(encoding="utf-8")
    out: dict[str, dict[tuple[str, str], tuple[float, str]]] = {"400": {}, "500": {}}
    section = None
    for row in csv.reader(text.splitlines()):
        row = [c.strip() for c in row] + [""] * 6
        m = _SECTION_RE.match(row[0])
        if m:
            section = m.group(1)
            continue
        if section is None or not row[0] or not row[0][0].isdigit():
            continue
        for col, pitch in ((4, "400"), (5, "500")):
            try:
                val = float(row[col])
            except ValueError:
                continue  # e.g. "750 X 1000": a size, not used as a rule here
            out[pitch][(section, row[0])] = (val, row[2])
    return out


@dataclass(frozen=True)
class RuleSet:
    """A named set of rule values.

    Attributes:
        name: set name (``default``, ``amkor-400``...).
        rules: rule key -> :class:`Rule`.
    """

    name: str
    rules: Mapping[str, Rule] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.rules[key].value

    def get(self, key: str, default: float | None = None) -> float | None:
        """The value of ``key`` or ``default`` when the set has no such rule."""
        r = self.rules.get(key)
        return r.value if r is not None else default

    def __contains__(self, key: object) -> bool:
        return key in self.rules

    def with_values(self, values: Mapping[str, Any], source: str, name: str | None = None
                    ) -> RuleSet:
        """A copy with ``values`` replacing or adding rules (each a finite number >= 0)."""
        rules = dict(self.rules)
        for key, val in values.items():
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
                raise SpecError(f"rules.{key}: must be a number >= 0, got {val!r}")
            if val < 0:
                raise SpecError(f"rules.{key}: must be a number >= 0, got {val!r}")
            old = rules.get(key)
            rules[key] = Rule(key, float(val), old.doc if old else "user rule", source)
        return RuleSet(name or self.name, rules)


def _amkor(pitch: str) -> RuleSet:
    table = _amkor_table()[pitch]
    rules = {r.key: r for r in DEFAULT_RULES}
    for (section, nr), (key, doc) in _AMKOR_MAP.items():
        if (section, nr) not in table:
            raise SpecError(f"amkor.csv: rule {section}.{nr} missing for {pitch} µm pitch")
        val, text = table[(section, nr)]
        rules[key] = Rule(key, val, doc, f"amkor.csv {section}.{nr} ({pitch} µm): {text}")
    return RuleSet(f"amkor-{pitch}", rules)


BUILTIN_RULESETS = ("default", "amkor-400", "amkor-500")


def load_ruleset(name_or_path: str | Path | RuleSet = "default") -> RuleSet:
    """A built-in rule set by name, or a TOML rules file.

    Args:
        name_or_path: ``default``, ``amkor-400``, ``amkor-500``, a path to a TOML file
            (``base = "<set>"`` and a ``[rules]`` table of key = number), or a RuleSet.

    Raises:
        SpecError: unknown name, unreadable file or bad value.
    """
    if isinstance(name_or_path, RuleSet):
        return name_or_path
    name = str(name_or_path)
    if name == "default":
        return RuleSet("default", {r.key: r for r in DEFAULT_RULES})
    if name in ("amkor-400", "amkor-500"):
        return _amkor(name.split("-")[1])
    path = Path(name)
    if path.suffix.lower() != ".toml" and not path.exists():
        raise SpecError(f"rules: unknown rule set {name!r}; built-in: "
                        f"{', '.join(BUILTIN_RULESETS)}, or a .toml file")
    import tomllib  # (here: only a user's file needs it, ~5 ms to import)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read rules: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a valid TOML rules file: {exc}") from None
    extra = set(data) - {"base", "rules", "name"}
    if extra:
        raise SpecError(f"{path}: unknown key {sorted(extra)[0]!r}; expected base, name, [rules]")
    base = data.get("base", "default")
    if base not in BUILTIN_RULESETS:
        raise SpecError(f"{path}: base: must be one of {', '.join(BUILTIN_RULESETS)}, got {base!r}")
    table = data.get("rules", {})
    if not isinstance(table, dict):
        raise SpecError(f"{path}: rules must be a table")
    flat: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                flat[f"{k}.{k2}"] = v2
        else:
            flat[k] = v
    return load_ruleset(base).with_values(flat, str(path), data.get("name", path.stem))
