"""The layer map: ONE definition from which every view is derived.

The default map (``DEFAULT_LAYERS``) is the public contract of DESIGN.md. Every other
view is computed from a :class:`LayerMap`: the KLayout ``.lyp`` (:meth:`LayerMap.to_lyp`),
the preview legend colours, the checker's lookups (:meth:`LayerMap.spec`) and the
README table (:meth:`LayerMap.markdown_table`, kept equal to the README by a test).

A user (or a PDK) replaces numbers with a TOML file::

    [layers.PI2]
    layer = 121
    datatype = 0

Only the known layer names may appear; unspecified names keep their defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from layoutgen.errors import SpecError

WAFERS = ("device", "cap", "both")
TONES = ("material", "opening")
MAX_GDS_NUMBER = 32767


@dataclass(frozen=True)
class Layer:
    """One mask layer.

    Attributes:
        name: role name used by cells and the checker (``CAP_SOLDER``).
        layer: GDS layer number, 0..32767.
        datatype: GDS datatype number, 0..32767.
        description: what the layer is, one line.
        wafer: ``device``, ``cap`` or ``both``: which wafer the mask is for.
        tone: ``material`` (drawn shapes are what stays) or ``opening`` (drawn shapes
            are holes in a dielectric).
        color: preview and KLayout colour, ``#rrggbb``.
        pattern: KLayout dither pattern (``I0`` solid, ``I1`` hollow, ``I2``.. hatches).
    """

    name: str
    layer: int
    datatype: int
    description: str
    wafer: str
    tone: str
    color: str
    pattern: str

    @property
    def spec(self) -> tuple[int, int]:
        """The (layer, datatype) pair."""
        return (self.layer, self.datatype)


_DEFAULTS: tuple[Layer, ...] = (
    Layer("DIE", 1, 0, "die outline", "device", "material", "#808080", "I1"),
    Layer("ACTIVE", 2, 0, "active area that a cap seals", "device", "material", "#33a02c", "I5"),
    Layer("SCRIBE", 3, 0, "scribe lanes on the device wafer", "device", "material", "#b2b2b2",
          "I9"),
    Layer("PAD", 10, 0, "chip pads (top metal)", "device", "material", "#1f78b4", "I2"),
    Layer("PASSIVATION", 11, 0, "passivation openings", "device", "opening", "#a6cee3", "I1"),
    Layer("PI1", 20, 0, "first dielectric, openings", "device", "opening", "#ff7f00", "I1"),
    Layer("PI2", 21, 0, "second dielectric, openings (concave portions)", "device", "opening",
          "#e31a1c", "I1"),
    Layer("PI3", 22, 0, "third dielectric, openings (connection holes / ball pad openings)",
          "device", "opening", "#6a3d9a", "I1"),
    Layer("RDL", 30, 0, "redistribution metal", "device", "material", "#ffd700", "I3"),
    Layer("BALL", 40, 0, "solder ball footprint", "device", "material", "#c0c0c0", "I4"),
    Layer("UBM", 41, 0, "under-bump metallization (optional)", "device", "material", "#b15928",
          "I6"),
    Layer("SEAL_LAND", 50, 0, "chip-side seal landing metal", "device", "material", "#fb9a99",
          "I7"),
    Layer("CAP_METAL", 60, 0, "cap metallization", "cap", "material", "#cab2d6", "I8"),
    Layer("CAP_SOLDER", 61, 0, "solder bead (the plating mask's openings)", "cap", "material",
          "#ff00ff", "I2"),
    Layer("CAP_SPACER", 62, 0, "spacers on the cap", "cap", "material", "#00ced1", "I0"),
    Layer("CAP_CUT", 63, 0, "cap regions cut away after sealing", "cap", "material", "#8b4513",
          "I11"),
    Layer("ALIGN", 80, 0, "alignment marks", "both", "material", "#000000", "I0"),
    Layer("TEXT", 90, 0, "labels", "both", "material", "#404040", "I1"),
    Layer("WAFER", 99, 0, "wafer outline and usable area", "both", "material", "#4d4d4d", "I1"),
)

def xml_escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as XML entities: what ``xml.sax.saxutils.escape`` does,
    without importing it (it imports ``urllib.request``, ``http`` and ``ssl``)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


_FIELDS = {"layer", "datatype", "description", "wafer", "tone", "color", "pattern"}


class LayerMap:
    """An ordered, immutable set of :class:`Layer` keyed by name.

    Args:
        layers: the layers, in display order. Names and (layer, datatype) pairs must
            be unique.
    """

    def __init__(self, layers: tuple[Layer, ...] | list[Layer]) -> None:
        layers = tuple(layers)
        names: set[str] = set()
        specs: dict[tuple[int, int], str] = {}
        for lay in layers:
            if lay.name in names:
                raise SpecError(f"layers.{lay.name}: duplicate layer name")
            names.add(lay.name)
            if lay.spec in specs:
                raise SpecError(
                    f"layers.{lay.name}: GDS {lay.layer}/{lay.datatype} is already used by "
                    f"{specs[lay.spec]}; every layer needs its own layer/datatype pair"
                )
            specs[lay.spec] = lay.name
        self._layers = layers
        self._by_name = {lay.name: lay for lay in layers}
        self._by_spec = {lay.spec: lay for lay in layers}

    def __iter__(self):
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, name: str) -> Layer:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown layer name {name!r}; known: {', '.join(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LayerMap) and self._layers == other._layers

    def __hash__(self) -> int:
        return hash(self._layers)

    def __canonical__(self) -> tuple[Layer, ...]:
        """Canonical form for cell names (``layoutgen.naming``): a cell drawn with another
        layer map gets another name."""
        return self._layers

    def __repr__(self) -> str:
        return f"LayerMap({len(self)} layers)"

    @property
    def names(self) -> list[str]:
        """Layer names in display order."""
        return [lay.name for lay in self._layers]

    def spec(self, name: str) -> tuple[int, int]:
        """(layer, datatype) of the layer called ``name``."""
        return self[name].spec

    def ld(self, name: str) -> dict[str, int]:
        """``{"layer": .., "datatype": ..}`` for gdstk shape constructors."""
        lay = self[name]
        return {"layer": lay.layer, "datatype": lay.datatype}

    def by_spec(self, layer: int, datatype: int) -> Layer | None:
        """The layer drawn on GDS ``layer/datatype``, or None."""
        return self._by_spec.get((layer, datatype))

    # ------------------------------------------------------------------ views
    def to_lyp(self) -> str:
        """KLayout layer-properties XML (``.lyp``) for this map."""
        out = ['<?xml version="1.0" encoding="utf-8"?>', "<layer-properties>"]
        for lay in self._layers:
            out += [
                " <properties>",
                f"  <frame-color>{lay.color}</frame-color>",
                f"  <fill-color>{lay.color}</fill-color>",
                "  <frame-brightness>0</frame-brightness>",
                "  <fill-brightness>0</fill-brightness>",
                f"  <dither-pattern>{lay.pattern}</dither-pattern>",
                "  <line-style/>",
                "  <valid>true</valid>",
                "  <visible>true</visible>",
                "  <transparent>false</transparent>",
                "  <width>1</width>",
                "  <marked>false</marked>",
                "  <xfill>false</xfill>",
                "  <animation>0</animation>",
                f"  <name>{xml_escape(lay.name)} {lay.layer}/{lay.datatype}</name>",
                f"  <source>{lay.layer}/{lay.datatype}@1</source>",
                " </properties>",
            ]
        out += [" <name/>", "</layer-properties>", ""]
        return "\n".join(out)

    def markdown_table(self) -> str:
        """The README's layer table (a test keeps the README equal to it)."""
        rows = [
            "| name | GDS layer/datatype | what it is | wafer | drawn as |",
            "|---|---|---|---|---|",
        ]
        for lay in self._layers:
            rows.append(
                f"| {lay.name} | {lay.layer}/{lay.datatype} | {lay.description} | {lay.wafer} "
                f"| {lay.tone} |"
            )
        return "\n".join(rows)

    def text_table(self) -> str:
        """A plain table for ``layoutgen layers``."""
        rows = [f"{'name':<12} {'GDS':>7}  {'wafer':<6} {'tone':<8} {'colour':<8} description"]
        for lay in self._layers:
            gds = f"{lay.layer}/{lay.datatype}"
            rows.append(
                f"{lay.name:<12} {gds:>7}  {lay.wafer:<6} {lay.tone:<8} {lay.color:<8} "
                f"{lay.description}"
            )
        return "\n".join(rows)


DEFAULT_LAYERS = LayerMap(_DEFAULTS)


def _check_number(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{key}: must be an integer 0..{MAX_GDS_NUMBER}, got {value!r}")
    if not 0 <= value <= MAX_GDS_NUMBER:
        raise SpecError(f"{key}: must be in 0..{MAX_GDS_NUMBER}, got {value}")
    return value


def load_layer_map(path: str | Path) -> LayerMap:
    """Read a user layer map (TOML) and merge it over the defaults.

    Args:
        path: TOML file with ``[layers.NAME]`` tables holding any of ``layer``,
            ``datatype``, ``description``, ``wafer``, ``tone``, ``color``, ``pattern``.

    Raises:
        SpecError: unreadable file, unknown layer name or field, bad number, or two
            layers on the same layer/datatype.
    """
    path = Path(path)
    import tomllib  # (here: only a user's file needs it, ~5 ms to import)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read layer map: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a valid TOML layer map: {exc}") from None
    unknown_top = set(data) - {"layers"}
    if unknown_top:
        raise SpecError(f"{path}: unknown key {sorted(unknown_top)[0]!r}; expected [layers.NAME]")
    table = data.get("layers", {})
    if not isinstance(table, dict):
        raise SpecError(f"{path}: layers must be a table of [layers.NAME] entries")
    try:
        return _merge(table)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def _merge(table: dict) -> LayerMap:
    """The default map with the ``[layers.NAME]`` tables of a user map merged over it."""
    by_name = {lay.name: lay for lay in _DEFAULTS}
    for name, fields in table.items():
        key = f"layers.{name}"
        if name not in by_name:
            raise SpecError(f"{key}: unknown layer name; known: {', '.join(by_name)}")
        if not isinstance(fields, dict):
            raise SpecError(f"{key}: must be a table with layer and datatype")
        bad = set(fields) - _FIELDS
        if bad:
            raise SpecError(f"{key}.{sorted(bad)[0]}: unknown field; allowed: {sorted(_FIELDS)}")
        changes: dict[str, object] = {}
        for num in ("layer", "datatype"):
            if num in fields:
                changes[num] = _check_number(f"{key}.{num}", fields[num])
        if "wafer" in fields and fields["wafer"] not in WAFERS:
            raise SpecError(f"{key}.wafer: must be one of {WAFERS}, got {fields['wafer']!r}")
        if "tone" in fields and fields["tone"] not in TONES:
            raise SpecError(f"{key}.tone: must be one of {TONES}, got {fields['tone']!r}")
        if "color" in fields:
            col = fields["color"]
            ok = isinstance(col, str) and len(col) == 7 and col[0] == "#"
            if ok:
                try:
                    int(col[1:], 16)
                except ValueError:
                    ok = False
            if not ok:
                raise SpecError(f"{key}.color: must be '#rrggbb', got {col!r}")
        if "pattern" in fields and not re.fullmatch(r"I\d{1,2}", str(fields["pattern"])):
            raise SpecError(f"{key}.pattern: must be a KLayout dither pattern I0..I99 "
                            f"(I0 solid, I1 hollow), got {fields['pattern']!r}")
        for text in ("description", "wafer", "tone", "color", "pattern"):
            if text in fields:
                if not isinstance(fields[text], str):
                    raise SpecError(f"{key}.{text}: must be a string, got {fields[text]!r}")
                changes[text] = fields[text]
        by_name[name] = replace(by_name[name], **changes)
    return LayerMap(tuple(by_name[lay.name] for lay in _DEFAULTS))
