"""The layer map: the DESIGN.md contract, its derived views, and user maps."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO

from layoutgen.errors import SpecError
from layoutgen.layers import DEFAULT_LAYERS, TONES, WAFERS, load_layer_map

#: DESIGN.md's "Default layer map": a public contract, copied here on purpose so that
#: a change to the defaults fails a test even where DESIGN.md is not at hand.
DESIGN_TABLE = {
    "DIE": (1, 0, "die outline"),
    "ACTIVE": (2, 0, "active area that a cap seals"),
    "SCRIBE": (3, 0, "scribe lanes on the device wafer"),
    "PAD": (10, 0, "chip pads (top metal)"),
    "PASSIVATION": (11, 0, "passivation openings"),
    "PI1": (20, 0, "first dielectric, openings"),
    "PI2": (21, 0, "second dielectric, openings (concave portions)"),
    "PI3": (22, 0, "third dielectric, openings (connection holes / ball pad openings)"),
    "RDL": (30, 0, "redistribution metal"),
    "BALL": (40, 0, "solder ball footprint"),
    "UBM": (41, 0, "under-bump metallization (optional)"),
    "SEAL_LAND": (50, 0, "chip-side seal landing metal"),
    "CAP_METAL": (60, 0, "cap metallization"),
    "CAP_SOLDER": (61, 0, "solder bead (the plating mask's openings)"),
    "CAP_SPACER": (62, 0, "spacers on the cap"),
    "CAP_CUT": (63, 0, "cap regions cut away after sealing"),
    "ALIGN": (80, 0, "alignment marks"),
    "TEXT": (90, 0, "labels"),
    "WAFER": (99, 0, "wafer outline and usable area"),
}
DESIGN_MD = REPO.parent / "shared" / "DESIGN.md"
README = REPO / "README.md"


def test_default_map_is_the_design_contract() -> None:
    got = {lay.name: (lay.layer, lay.datatype, lay.description) for lay in DEFAULT_LAYERS}
    assert got == DESIGN_TABLE
    assert DEFAULT_LAYERS.names == list(DESIGN_TABLE)  # same order as the document


@pytest.mark.skipif(not DESIGN_MD.is_file(), reason="shared/DESIGN.md is not beside the repo")
def test_default_map_equals_design_md_table() -> None:
    rows = re.findall(r"^\| ([A-Z0-9_]+) \| (\d+)/(\d+) \| (.+?) \|$",
                      DESIGN_MD.read_text(encoding="utf-8"), flags=re.M)
    table = {name: (int(lay), int(dt), text) for name, lay, dt, text in rows}
    assert table == DESIGN_TABLE


def test_default_map_attributes_are_valid_and_distinct() -> None:
    colours = [lay.color for lay in DEFAULT_LAYERS]
    assert len(set(colours)) == len(colours), "two layers would look alike in KLayout"
    for lay in DEFAULT_LAYERS:
        assert lay.wafer in WAFERS and lay.tone in TONES
        assert re.fullmatch(r"#[0-9a-f]{6}", lay.color)
        assert re.fullmatch(r"I\d+", lay.pattern)
    # DESIGN.md: dielectrics are drawn as openings, metals/solder/spacers as material
    assert {lay.name for lay in DEFAULT_LAYERS if lay.tone == "opening"} == {
        "PASSIVATION", "PI1", "PI2", "PI3"}
    assert {lay.name for lay in DEFAULT_LAYERS if lay.wafer == "cap"} == {
        "CAP_METAL", "CAP_SOLDER", "CAP_SPACER", "CAP_CUT"}


def test_lookups() -> None:
    assert DEFAULT_LAYERS.spec("PI2") == (21, 0)
    assert DEFAULT_LAYERS.ld("BALL") == {"layer": 40, "datatype": 0}
    assert DEFAULT_LAYERS.by_spec(61, 0).name == "CAP_SOLDER"
    assert DEFAULT_LAYERS.by_spec(61, 1) is None
    assert "RDL" in DEFAULT_LAYERS and "METAL9" not in DEFAULT_LAYERS
    with pytest.raises(KeyError, match="METAL9"):
        DEFAULT_LAYERS["METAL9"]


def _lyp_entries(text: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(text)
    assert root.tag == "layer-properties"
    entries = {}
    for props in root.findall("properties"):
        fields = {child.tag: (child.text or "") for child in props}
        entries[fields["source"]] = fields
    return entries


def test_lyp_is_xml_with_every_layer_source_and_colour() -> None:
    entries = _lyp_entries(DEFAULT_LAYERS.to_lyp())
    assert len(entries) == len(DEFAULT_LAYERS)
    for lay in DEFAULT_LAYERS:
        e = entries[f"{lay.layer}/{lay.datatype}@1"]
        assert e["fill-color"] == lay.color
        assert e["frame-color"] == lay.color
        assert e["dither-pattern"] == lay.pattern
        assert e["name"].split()[0] == lay.name
        assert e["visible"] == "true"


def test_lyp_follows_a_user_map(tmp_path: Path) -> None:
    f = tmp_path / "pdk.toml"
    f.write_text('[layers.PI2]\nlayer = 121\ndatatype = 3\ncolor = "#123456"\n')
    entries = _lyp_entries(load_layer_map(f).to_lyp())
    assert "21/0@1" not in entries
    assert entries["121/3@1"]["fill-color"] == "#123456"
    assert entries["121/3@1"]["name"].startswith("PI2 ")


def test_readme_layer_table_equals_the_map() -> None:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- layers:begin -->\n(.*?)\n<!-- layers:end -->", text, flags=re.S)
    assert m, "README.md lacks the <!-- layers:begin --> ... <!-- layers:end --> block"
    assert m.group(1).strip() == DEFAULT_LAYERS.markdown_table(), (
        "README layer table is stale; paste layoutgen.layers.DEFAULT_LAYERS.markdown_table()"
    )


def test_text_table_lists_every_layer() -> None:
    lines = DEFAULT_LAYERS.text_table().splitlines()
    assert len(lines) == len(DEFAULT_LAYERS) + 1
    for line, lay in zip(lines[1:], DEFAULT_LAYERS, strict=True):
        assert line.split()[:2] == [lay.name, f"{lay.layer}/{lay.datatype}"]


# ----------------------------------------------------------------------------- user maps
def _load(tmp_path: Path, text: str):
    f = tmp_path / "layers.toml"
    f.write_text(text, encoding="utf-8")
    return load_layer_map(f)


def test_user_map_overrides_only_what_it_names(tmp_path: Path) -> None:
    m = _load(tmp_path, '[layers.PI2]\nlayer = 121\n\n[layers.BALL]\ndatatype = 7\n'
                        'description = "bump"\n')
    assert m.spec("PI2") == (121, 0)
    assert m.spec("BALL") == (40, 7)
    assert m["BALL"].description == "bump"
    for lay in DEFAULT_LAYERS:
        if lay.name not in ("PI2", "BALL"):
            assert m[lay.name] == lay
    assert m.names == DEFAULT_LAYERS.names


def test_empty_user_map_is_the_default(tmp_path: Path) -> None:
    assert _load(tmp_path, "") == DEFAULT_LAYERS


@pytest.mark.parametrize(("text", "pattern"), [
    # a layer/datatype pair used twice
    ("[layers.PI2]\nlayer = 20\n", r"layers\.PI2: GDS 20/0 is already used by PI1"),
    # the same table twice (TOML itself forbids it)
    ("[layers.PI2]\nlayer = 120\n[layers.PI2]\nlayer = 121\n", r"not a valid TOML layer map"),
    ("[layers.METAL9]\nlayer = 5\n", r"layers\.METAL9: unknown layer name; known: DIE"),
    ("[layers.PI2]\nlayer = -1\n", r"layers\.PI2\.layer: must be in 0\.\.32767, got -1"),
    ("[layers.PI2]\nlayer = 40000\n", r"layers\.PI2\.layer: must be in 0\.\.32767, got 40000"),
    ("[layers.PI2]\ndatatype = 1.5\n", r"layers\.PI2\.datatype: must be an integer"),
    ('[layers.PI2]\nlayer = "21"\n', r"layers\.PI2\.layer: must be an integer"),
    ("[layers.PI2]\nlayer = true\n", r"layers\.PI2\.layer: must be an integer"),
    ("[layers.PI2]\nlyaer = 3\n", r"layers\.PI2\.lyaer: unknown field"),
    ('[layers.PI2]\ncolor = "red"\n', r"layers\.PI2\.color: must be '#rrggbb'"),
    ('[layers.PI2]\ntone = "clear"\n', r"layers\.PI2\.tone: must be one of"),
    ('[layers.PI2]\nwafer = "moon"\n', r"layers\.PI2\.wafer: must be one of"),
    ('[layers.PI2]\npattern = "<x/>"\n', r"layers\.PI2\.pattern: must be a KLayout dither"),
    ("[layer.PI2]\nlayer = 3\n", r"unknown key 'layer'"),
    ("layers = 3\n", r"layers must be a table"),
    ("[layers]\nPI2 = 5\n", r"layers\.PI2: must be a table"),
    ("[layers.PI2\n", r"not a valid TOML layer map"),
])
def test_bad_user_map_names_the_key(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(SpecError, match=pattern) as info:
        _load(tmp_path, text)
    assert "layers.toml" in str(info.value)  # the file is named too


def test_missing_user_map(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.toml: cannot read layer map"):
        load_layer_map(tmp_path / "nope.toml")
