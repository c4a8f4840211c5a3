"""The cap process's products, judged by KLayout on the files their artifacts write.

``capped_die`` and ``capped_wafer``: the claims' geometry on the device-wafer layout,
whole dies only, the wafer map, hierarchy (file size does not grow with the die count),
the mirrored cap mask set overlaying the device layout once mirrored back, the mask
manifest, bad inputs, and byte-identical rebuilds.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
from test_cap_cells import DBU, L_SHAPE, assert_capped_die, read_regions

from cells.cap_products import PLATES, PRODUCT_KINDS
from cells.products import KINDS, builtin_specs
from layoutgen.errors import ParameterError
from layoutgen.layers import DEFAULT_LAYERS
from layoutgen.spec import BuildResult, flatten_table, load_spec

MIRROR_BACK = kdb.Trans(kdb.Trans.M90)  # (x, y) -> (-x, y)
TONES = {"digitized data clear", "digitized data dark"}


def build(kind: str, name: str, **values: object) -> BuildResult:
    """Build a product from flat key paths (``{"seal.width": 70}``), writing nothing."""
    k = KINDS[kind]
    return k.build(k.make_spec(name, {key.replace("__", "."): v for key, v in values.items()}),
                   DEFAULT_LAYERS)


def write_all(result: BuildResult, folder: Path) -> dict[str, Path]:
    """Write every artifact into ``folder``; file name -> path."""
    out = {}
    for art in result.artifacts:
        art.write(folder / art.name)
        out[art.name] = folder / art.name
    return out


def hierarchy(path: Path) -> tuple[int, int]:
    """(instances in the top cell, dies they place) read by KLayout."""
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.top_cell()
    n = placed = 0
    for inst in top.each_inst():
        n += 1
        placed += inst.na * inst.nb if inst.is_regular_array() else 1
    return n, placed


@pytest.fixture(scope="module")
def wafer(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, dict[str, Path]]:
    """The built-in capped_wafer product, built and written once for this module."""
    spec = load_spec(builtin_specs()["capped_wafer"], KINDS)
    result = KINDS["capped_wafer"].build(spec, DEFAULT_LAYERS)
    return result, write_all(result, tmp_path_factory.mktemp("wafer"))


# ------------------------------------------------------------------ specs
@pytest.mark.parametrize("kind", ["capped_die", "capped_wafer"])
def test_builtin_spec_lists_every_parameter(kind: str) -> None:
    path = builtin_specs()[kind]
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data.pop("kind") == kind and data.pop("name") == kind and data.pop("description")
    given = flatten_table(data)
    declared = {p.key: p for p in PRODUCT_KINDS[kind].params}
    assert set(given) == set(declared)
    for key, value in given.items():
        assert declared[key].validate(value) == declared[key].validate(declared[key].default)
        assert declared[key].doc and declared[key].allowed()
    spec = load_spec(path, KINDS)
    assert spec["die.width"] == 2000 and spec["active.width"] == 1400
    assert spec["seal.width"] == 80 and spec["seal.clearance"] == 60
    assert spec["seal.metal_enclosure"] == 10 and spec["spacer.size"] == 50
    assert spec["scribe.width"] == 80
    if kind == "capped_wafer":
        assert spec["wafer.diameter"] == 200 and spec["wafer.edge_exclusion"] == 3
        assert spec["wafer.grid_offset"] == "auto"


def test_build_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    die = build("capped_die", "d")
    waf = build("capped_wafer", "w", wafer__diameter=100)
    assert list(tmp_path.iterdir()) == []
    assert [a.name for a in die.artifacts] == ["d.gds"]
    assert [a.name for a in waf.artifacts] == [
        "w.gds", "w_wafermap.json", "w_wafermap.csv", "w_cap_metal.gds", "w_cap_solder.gds",
        "w_cap_spacer.gds", "w_cap_cut.gds", "w_masks.json"]


# ------------------------------------------------------------------ capped die
@pytest.mark.parametrize("corner", ["square", "chamfer", "round"])
def test_capped_die_product(tmp_path: Path, corner: str) -> None:
    files = write_all(build("capped_die", "die", seal__corner=corner), tmp_path)
    r = read_regions(files["die.gds"])
    assert_capped_die(r)
    ly = kdb.Layout()
    ly.read(str(files["die.gds"]))
    assert ly.top_cell().name == "die"


# ------------------------------------------------------------------ capped wafer
def test_wafer_claims_on_the_device_layout(wafer: tuple[BuildResult, dict[str, Path]]) -> None:
    result, files = wafer
    r = read_regions(files["capped_wafer.gds"], deep=True)
    assert_capped_die(r)  # every die: sealed, spacers in cuts, cuts clear of rings...
    assert r["CAP_SOLDER"].merged(True, 0).count() == result.info["die_count"]


def test_wafer_whole_dies_and_map(wafer: tuple[BuildResult, dict[str, Path]]) -> None:
    result, files = wafer
    r = read_regions(files["capped_wafer.gds"])
    usable = (100.0 - 3.0) * 1000 * DBU
    centres = set()
    for poly in r["DIE"].each():
        pts = np.array([(p.x, p.y) for p in poly.each_point_hull()], dtype=float)
        assert np.hypot(pts[:, 0], pts[:, 1]).max() <= usable  # whole, inside usable circle
        box = poly.bbox()
        assert (box.width(), box.height()) == (2000 * DBU, 2000 * DBU)
        centres.add((box.center().x, box.center().y))
    doc = json.loads(files["capped_wafer_wafermap.json"].read_text(encoding="utf-8"))
    rows = list(csv.DictReader(files["capped_wafer_wafermap.csv"].open(encoding="utf-8")))
    assert doc["die_count"] == len(doc["dies"]) == len(rows) == r["DIE"].count() == len(centres)
    assert doc["die_count"] > 6000 and doc["die_count"] == result.info["die_count"]
    assert {(round(d["x"] * DBU), round(d["y"] * DBU)) for d in doc["dies"]} == centres
    assert {(round(float(d["x_um"]) * DBU), round(float(d["y_um"]) * DBU)) for d in rows} == centres
    # the grid offset with the most whole dies was chosen, among die- and corner-centred
    counts = doc["counts_by_offset"]
    assert {"die", "corner"} <= set(counts)
    assert counts[doc["grid_offset"]] == max(counts.values())
    assert doc["die_count"] == max(counts.values()) - len(doc["align_sites"])
    # alignment sites: no die there, one mark pair each, far apart on the wafer
    assert len(doc["align_sites"]) == 2
    marks = r["ALIGN"].merged()
    assert marks.count() == 2
    for site in doc["align_sites"]:
        x, y = round(site["x"] * DBU), round(site["y"] * DBU)
        assert (x, y) not in centres
        assert marks.interacting(kdb.Region(kdb.Box(x - 1, y - 1, x + 1, y + 1))).count() == 1
    xs = sorted(s["x"] for s in doc["align_sites"])
    assert xs[1] - xs[0] > 150_000


def test_wafer_outline_has_the_notch(wafer: tuple[BuildResult, dict[str, Path]]) -> None:
    r = read_regions(wafer[1]["capped_wafer.gds"])["WAFER"]
    assert 99_990 * DBU < r.bbox().top <= 100_000 * DBU
    bottom = kdb.Region(kdb.Box(-10 * DBU, -100_000 * DBU, 10 * DBU, -99_500 * DBU))
    assert (r & bottom).is_empty()  # the notch's mouth at 6 o'clock
    beside = kdb.Region(kdb.Box(5000 * DBU, -100_000 * DBU, 5020 * DBU, -99_500 * DBU))
    assert not (r & beside).is_empty()


def test_wafer_is_one_die_cell_placed_by_arrays(wafer: tuple[BuildResult, dict[str, Path]]
                                                ) -> None:
    result, files = wafer
    n, placed = hierarchy(files["capped_wafer.gds"])
    dies = result.info["die_count"]
    assert placed == dies + len(result.info["align_sites"])
    assert n < 200 < dies  # one array per row (and the sites), not one instance per die


def test_file_size_does_not_grow_with_die_count(tmp_path: Path) -> None:
    sizes, dies = {}, {}
    for mm in (150, 300):
        result = build("capped_wafer", f"w{mm}", wafer__diameter=mm)
        files = write_all(result, tmp_path)
        sizes[mm] = sum(p.stat().st_size for n, p in files.items() if n.endswith(".gds"))
        dies[mm] = result.info["die_count"]
    # per-row arrays: the files grow with the rows (and the outline's vertices), about
    # the square root of the die count; flat, 300 mm would be megabytes
    assert dies[300] > 3.5 * dies[150]
    assert sizes[300] / sizes[150] < 0.5 * dies[300] / dies[150], (sizes, dies)
    assert sizes[300] < 150_000, sizes


def test_cap_plates_mirror_back_onto_the_device_layout(
        wafer: tuple[BuildResult, dict[str, Path]]) -> None:
    _, files = wafer
    device = read_regions(files["capped_wafer.gds"])
    manifest = json.loads(files["capped_wafer_masks.json"].read_text(encoding="utf-8"))
    assert manifest["device_layout"] == "capped_wafer.gds"
    assert [p["plate"] for p in manifest["plates"]] == [p[0] for p in PLATES]
    for plate in manifest["plates"]:
        assert plate["mirrored"] is True and plate["tone"] in TONES
        layer = plate["layer"]
        assert (plate["gds_layer"], plate["gds_datatype"]) == DEFAULT_LAYERS.spec(layer)
        mask = read_regions(files[plate["file"]])
        others = [n for n, reg in mask.items() if n != layer and not reg.is_empty()]
        assert others == [], f"{plate['file']} holds other layers: {others}"
        assert not mask[layer].is_empty()
        back = mask[layer].transformed(MIRROR_BACK)
        assert (back ^ device[layer]).is_empty(), f"{layer}: mirrored back != device layout"
        if layer in ("CAP_METAL", "CAP_SPACER"):  # chiral: the mirror is real
            assert not (mask[layer] ^ device[layer]).is_empty()
    tone = {p["layer"]: p["tone"] for p in manifest["plates"]}
    assert tone["CAP_SOLDER"] == "digitized data clear"  # drawn bead = resist opening
    assert tone["CAP_METAL"] == "digitized data dark"


def test_align_marks_overlay_and_keep_metal_out(wafer: tuple[BuildResult, dict[str, Path]]
                                                ) -> None:
    result, files = wafer
    device = read_regions(files["capped_wafer.gds"])
    cap_metal = read_regions(files["capped_wafer_cap_metal.gds"])["CAP_METAL"]
    cap_mark_after_flip = cap_metal.transformed(MIRROR_BACK)
    metal = device["CAP_METAL"] + device["SEAL_LAND"] + device["PAD"]
    for site in result.info["align_sites"]:
        x, y = round(site["x"] * DBU), round(site["y"] * DBU)
        window = kdb.Region(kdb.Box(x - 400 * DBU, y - 400 * DBU, x + 400 * DBU, y + 400 * DBU))
        mark_box = kdb.Region(kdb.Box(x - 100 * DBU, y - 100 * DBU, x + 100 * DBU, y + 100 * DBU))
        assert ((metal & window) - mark_box).is_empty()  # only the cap mark in the window
        cross = device["ALIGN"] & window
        cap_mark = cap_mark_after_flip & window
        assert cap_mark.count() == 4 and cross.bbox().center() == cap_mark.bbox().center()
        assert (cross & cap_mark).is_empty()
        assert cross.separation_check(cap_mark, 10 * DBU).is_empty()


def test_small_wafer_round_l_shaped_four_sites(tmp_path: Path) -> None:
    result = build("capped_wafer", "s", wafer__diameter=50, seal__corner="round",
                   active__points=[list(p) for p in L_SHAPE], align__sites=4,
                   spacer__shape="circle")
    files = write_all(result, tmp_path)
    assert_capped_die(read_regions(files["s.gds"], deep=True))
    device = read_regions(files["s.gds"])
    assert len(result.info["align_sites"]) == 4 and device["ALIGN"].merged().count() == 4
    for plate, layer, _, _ in PLATES:
        back = read_regions(files[f"s_{plate}.gds"])[layer].transformed(MIRROR_BACK)
        assert (back ^ device[layer]).is_empty()


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("kind", "values", "key", "text"), [
    ("capped_die", {"seal__width": -5}, "seal.width", "must be > 0 µm, got -5"),
    ("capped_die", {"seal__clearance": 0}, "seal.clearance", "> 0 µm"),
    ("capped_die", {"seal__width": 300}, "seal.width", "<= 230 µm"),
    ("capped_die", {"cut__lane_width": 500}, "cut.lane_width", "<= 360 µm"),
    ("capped_die", {"spacer__sites": [[800, 0]]}, "spacer.sites", "inside CAP_CUT"),
    ("capped_die", {"spacer__size": 300}, "spacer.size", "<= 100 µm"),
    ("capped_wafer", {"die__width": 90000, "die__height": 90000}, "die.width", "<= "),
    ("capped_wafer", {"wafer__min_dies": 100000}, "wafer.min_dies", "<= 6658"),
    ("capped_wafer", {"wafer__edge_exclusion": 100}, "wafer.edge_exclusion", "< 100 mm"),
    ("capped_wafer", {"align__keepout": 2500}, "align.keepout", "<= the die's smaller side"),
    ("capped_wafer", {"wafer__diameter": 20}, "wafer.diameter", ">= 25 mm"),
    ("capped_wafer", {"seal__corner": "star"}, "seal.corner", "one of square, chamfer, round"),
])
def test_bad_input_names_the_key(kind: str, values: dict, key: str, text: str) -> None:
    with pytest.raises(ParameterError) as err:
        build(kind, "bad", **values)
    msg = str(err.value)
    assert err.value.key == key, msg
    assert msg.startswith(f"{key}: ") and text in msg and "\n" not in msg, msg


def test_zero_dies_error_gives_a_die_size_that_fits() -> None:
    with pytest.raises(ParameterError) as err:
        build("capped_wafer", "bad", die__width=90000, die__height=90000)
    most = float(err.value.allowed.split("<= ")[1].split(" µm")[0])
    ok = build("capped_wafer", "ok", die__width=most, die__height=90000)
    assert ok.info["die_count"] >= 1


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('kind = "capped_wafer"\n[cut]\nlane_width = 500\n', encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "layoutgen.cli", "build", str(spec), "-o",
                           str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cut.lane_width" in lines[0] and "<= 360 µm" in lines[0]
    assert not out.exists()


# ------------------------------------------------------------------ determinism and speed
def test_rebuilds_are_byte_identical(tmp_path: Path) -> None:
    first = write_all(build("capped_wafer", "w", wafer__diameter=100), tmp_path / "a")
    second = write_all(build("capped_wafer", "w", wafer__diameter=100), tmp_path / "b")
    code = (
        "import sys; from pathlib import Path; "
        "from cells.products import KINDS; from layoutgen.layers import DEFAULT_LAYERS; "
        "k = KINDS['capped_wafer']; "
        "r = k.build(k.make_spec('w', {'wafer.diameter': 100}), DEFAULT_LAYERS); "
        "[a.write(Path(sys.argv[1]) / a.name) for a in r.artifacts]")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "c")], check=True, env=env)
    for name, path in first.items():
        data = path.read_bytes()
        assert data == second[name].read_bytes() == (tmp_path / "c" / name).read_bytes(), name


def test_wafer_build_is_fast() -> None:
    t0 = time.perf_counter()
    result = build("capped_wafer", "fast", seal__width=77)  # a die cell not built before
    elapsed = time.perf_counter() - t0
    assert result.info["die_count"] > 6000
    assert elapsed < 1.0, f"capped_wafer build took {elapsed:.2f} s"
    assert math.isfinite(elapsed)
