"""Product specs: declarative parameters and TOML loading with validation.

A product kind declares its parameters once, as :class:`Param` objects (key path,
default, unit, allowed range, meaning). Everything else is derived from that one
declaration: validation of spec files and Python calls, error messages that name the
key path and the allowed range (``seal.width: must be > 0 µm, got -5``), and the
parameter tables in the docs and the HTML report.

A spec file::

    kind = "capped_die"          # which product kind builds it
    name = "my_die"              # output file stem (default: the file's stem)
    [seal]
    width = 70                   # µm

Unknown keys are errors (a typo never silently falls back to a default).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layoutgen.errors import ParameterError, SpecError

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Param:
    """One declared parameter of a product kind.

    Args:
        key: dotted key path in the spec file (``seal.width``).
        default: default value; its type sets the parameter's type unless ``kind`` is set.
        doc: what the parameter means, one line.
        unit: unit of a number (``µm``, ``mm``, ``deg``, empty for none).
        low: lower bound or None.
        low_open: True when the bound itself is not allowed (``> 0``).
        high: upper bound or None.
        high_open: True when the upper bound itself is not allowed.
        choices: allowed values of a string parameter.
        kind: ``float``, ``int``, ``bool``, ``str``, ``list`` (of numbers) or
            ``list[str]``/``list[list]`` for other lists.
    """

    key: str
    default: Any
    doc: str = ""
    unit: str = "µm"
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    kind: str = ""

    @property
    def type_name(self) -> str:
        """The parameter's type, from ``kind`` or the default's type."""
        if self.kind:
            return self.kind
        d = self.default
        if isinstance(d, bool):
            return "bool"
        if isinstance(d, int):
            return "int"
        if isinstance(d, float):
            return "float"
        if isinstance(d, str):
            return "str"
        return "list"

    def allowed(self) -> str:
        """The allowed range in words (``> 0 µm``, ``one of square, chamfer``)."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        unit = f" {self.unit}" if self.unit else ""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}{unit}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}{unit}")
        if parts:
            return " and ".join(parts)
        return {"bool": "true or false", "str": "a string", "int": "an integer",
                "float": "a number", "list": "a list"}.get(self.type_name, self.type_name)

    def fail(self, value: Any, what: str | None = None) -> ParameterError:
        """A :class:`ParameterError` for ``value`` (naming the key and the range)."""
        msg = what or f"must be {self.allowed()}"
        return ParameterError(self.key, f"{msg}, got {value!r}", value, self.allowed())

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to the parameter's type, or raise ParameterError."""
        t = self.type_name
        raw = value  # errors show the value as written (-5, not -5.0)
        if t == "bool":
            if not isinstance(value, bool):
                raise self.fail(value, "must be true or false")
            return value
        if t == "str":
            if not isinstance(value, str):
                raise self.fail(value, f"must be {self.allowed()}" if self.choices is not None
                                else "must be a string")
            if self.choices is not None and value not in self.choices:
                raise self.fail(value)
            return value
        if t in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(value, f"must be {'an integer' if t == 'int' else 'a number'}"
                                       f" ({self.allowed()})")
            if t == "int":
                if isinstance(value, float):
                    if not value.is_integer():
                        raise self.fail(value, f"must be an integer ({self.allowed()})")
                    value = int(value)
            else:
                value = float(value)
                if not math.isfinite(value):
                    raise self.fail(raw)
            if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
                raise self.fail(raw)
            if self.high is not None and (
                value > self.high or (self.high_open and value == self.high)
            ):
                raise self.fail(raw)
            if self.choices is not None and value not in self.choices:
                raise self.fail(raw)
            return value
        # lists
        if not isinstance(value, (list, tuple)):
            raise self.fail(value, "must be a list")
        return _freeze(value)


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Spec:
    """A validated product spec.

    Attributes:
        kind: the product kind that builds it.
        name: product name, also the output file stem.
        values: every declared parameter's value (defaults filled in), by key path.
        source: the file it came from, or None.
        description: free text from the spec.
    """

    kind: str
    name: str
    values: Mapping[str, Any]
    source: Path | None = None
    description: str = ""

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def section(self, prefix: str) -> dict[str, Any]:
        """The values under ``prefix.`` with the prefix removed."""
        n = len(prefix) + 1
        return {k[n:]: v for k, v in self.values.items() if k.startswith(prefix + ".")}


@dataclass(frozen=True)
class Artifact:
    """One output file of a build, produced only after every product validated.

    Attributes:
        name: file name relative to the output folder.
        write: writes the file to the given path (atomically, via layoutgen.io).
        role: what it is (``layout``, ``mask``, ``wafer map``, ``manifest``...).
    """

    name: str
    write: Callable[[Path], Any]
    role: str = "layout"


@dataclass(frozen=True)
class ProductKind:
    """A kind of product: its parameters and the function that builds it.

    Args:
        name: kind name used in spec files (``kind = "capped_die"``).
        params: the declared parameters.
        build: ``build(spec, layers) -> BuildResult``; raises ParameterError on
            parameter combinations that cannot be built. Writes nothing itself.
        doc: one line saying what the product is.
    """

    name: str
    params: tuple[Param, ...]
    build: Callable[..., Any]
    doc: str = ""
    checks: tuple[str, ...] = field(default=())

    def param(self, key: str) -> Param:
        """The declared parameter ``key``."""
        for p in self.params:
            if p.key == key:
                return p
        raise KeyError(key)

    def defaults(self) -> dict[str, Any]:
        """Every parameter's default value, by key path."""
        return {p.key: _freeze(p.default) for p in self.params}

    def make_spec(self, name: str | None = None, values: Mapping[str, Any] | None = None,
                  source: Path | None = None, description: str = "") -> Spec:
        """Validate ``values`` (flat key paths) over the defaults into a :class:`Spec`."""
        merged = self.defaults()
        known = {p.key: p for p in self.params}
        for key, val in (values or {}).items():
            p = known.get(key)
            if p is None:
                raise ParameterError(key, f"unknown parameter for kind {self.name!r}; "
                                          f"known: {', '.join(sorted(known))}", val)
            merged[key] = p.validate(val)
        nm = self.name if name is None else name
        if not _NAME_RE.match(nm):
            raise ParameterError("name", "must be 1-64 letters, digits, '_', '-' or '.', "
                                         f"got {nm!r}", nm)
        return Spec(self.name, nm, merged, source, description)


def flatten_table(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"seal": {"width": 80}}`` -> ``{"seal.width": 80}``."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_table(v, key + "."))
        else:
            out[key] = v
    return out


def parse_spec(text: str, kinds: Mapping[str, ProductKind], source: Path | None = None,
               default_name: str | None = None) -> Spec:
    """Parse and validate spec TOML text.

    Args:
        text: the TOML text.
        kinds: the product kinds that may be named by ``kind``.
        source: the file it came from (for messages).
        default_name: product name when the spec has no ``name``.
    """
    where = f"{source}: " if source else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}not valid TOML: {exc}") from None
    kind = data.pop("kind", None)
    if kind is None:
        raise SpecError(f"{where}kind: missing; must be one of {', '.join(sorted(kinds))}")
    if not isinstance(kind, str) or kind not in kinds:
        raise SpecError(f"{where}kind: must be one of {', '.join(sorted(kinds))}, got {kind!r}")
    name = data.pop("name", default_name)
    if name is not None and not isinstance(name, str):
        raise SpecError(f"{where}name: must be a string, got {name!r}")
    description = data.pop("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{where}description: must be a string, got {description!r}")
    try:
        return kinds[kind].make_spec(name, flatten_table(data), source, description)
    except ParameterError as exc:
        if source is None:
            raise
        raise ParameterError(exc.key, f"{exc.message} (in {source})", exc.value,
                             exc.allowed) from None


def load_spec(path: str | Path, kinds: Mapping[str, ProductKind]) -> Spec:
    """Read and validate a spec file; the product name defaults to the file's stem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    return parse_spec(text, kinds, path, path.stem)


def params_markdown(params: Iterable[Param]) -> str:
    """A Markdown table of parameters: key, default, unit, allowed, meaning."""
    rows = ["| key | default | unit | allowed | meaning |", "|---|---|---|---|---|"]
    for p in params:
        rows.append(f"| `{p.key}` | {p.default!r} | {p.unit} | {p.allowed()} | {p.doc} |")
    return "\n".join(rows)


@dataclass
class BuildResult:
    """What building one product gives, before anything is written.

    Attributes:
        spec: the spec it was built from.
        top: the main layout's top cell (written to ``<name>.gds``).
        artifacts: every file to write, the main layout first.
        info: facts for reports (die count, grid offset, ...), JSON-able.
    """

    spec: Spec
    top: Any
    artifacts: list[Artifact]
    info: dict[str, Any] = field(default_factory=dict)
