"""Cells of the hermetic cap process, judged by KLayout on the written GDS files.

``klayout.db`` reads back what layoutgen wrote and decides: closed rings (merged with
``merged(True, 0)``, so pieces touching at a corner are not joined; ``holes()``), width
(``width_check``), enclosures, spacers and cuts. The project's own geometry code is
never asked whether it is right.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import gdstk
import klayout.db as kdb
import pytest

from cells.align import align_pair, align_site
from cells.capped import capped_die, die_params
from cells.lanes import cap_cut, scribe_lanes
from cells.seal import seal_ring
from cells.spacer import spacer
from layoutgen import io
from layoutgen.errors import ParameterError
from layoutgen.layers import DEFAULT_LAYERS, load_layer_map

DBU = 1000  # database units per µm

RECT = ((-700.0, -700.0), (700.0, -700.0), (700.0, 700.0), (-700.0, 700.0))
L_SHAPE = ((-700.0, -700.0), (700.0, -700.0), (700.0, 0.0), (0.0, 0.0), (0.0, 700.0),
           (-700.0, 700.0))
OCTAGON = tuple((650 * math.cos(math.pi / 8 + k * math.pi / 4),
                 650 * math.sin(math.pi / 8 + k * math.pi / 4)) for k in range(8))
ACTIVES = {"rect": RECT, "L": L_SHAPE, "octagon": OCTAGON}
CORNERS = ("square", "chamfer", "round")


# ------------------------------------------------------------------ KLayout oracle
class Regions(dict):
    """Layer name -> :class:`klayout.db.Region`, keeping their Layout (and deep store) alive."""

    layout: kdb.Layout
    store: kdb.DeepShapeStore | None


def read_regions(path: Path, deep: bool = False) -> Regions:
    """Every default layer of the file's top cell as KLayout regions.

    Args:
        path: the GDS/OASIS file.
        deep: hierarchical (deep) regions: KLayout judges each cell once and the
            placements, as fast on a wafer as on a die. Otherwise flat copies.
    """
    ly = kdb.Layout()
    ly.read(str(path))
    assert ly.dbu == pytest.approx(0.001)
    tops = ly.top_cells()
    assert len(tops) == 1, [c.name for c in tops]
    top = tops[0]
    out = Regions()
    out.layout = ly
    out.store = kdb.DeepShapeStore() if deep else None
    for lay in DEFAULT_LAYERS:
        shapes = top.begin_shapes_rec(ly.layer(lay.layer, lay.datatype))
        if deep:
            out[lay.name] = kdb.Region(shapes, out.store)
        else:
            region = kdb.Region()  # a copy: a Region made from the iterator dies with the Layout
            region.insert(shapes)
            out[lay.name] = region
    return out


def rings_and_cavities(solder: kdb.Region) -> tuple[kdb.Region, kdb.Region, kdb.Region]:
    """(closed rings, their cavities, their hulls); pieces touching at a point stay apart.

    A ring is a merged polygon with exactly one hole.
    """
    merged = solder.merged(True, 0)
    rings, cavities, hulls = kdb.Region(), kdb.Region(), kdb.Region()
    for poly in merged.each():
        if poly.holes() != 1:
            continue
        rings.insert(poly)
        hull = kdb.Polygon(list(poly.each_point_hull()))
        hulls.insert(hull)
        cavities.insert(kdb.Polygon(list(poly.each_point_hole(0))))
    return rings, cavities, hulls


def assert_sealed(r: dict[str, kdb.Region], width: float, clearance: float,
                  metal_enclosure: float, land_enclosure: float,
                  clearance_slack_nm: int = 0) -> None:
    """Every ACTIVE area lies in the cavity of exactly one closed CAP_SOLDER ring, and
    the ring stack meets its numbers."""
    active, solder = r["ACTIVE"], r["CAP_SOLDER"]
    rings, cavities, _ = rings_and_cavities(solder)
    assert not active.is_empty()
    # every merged solder polygon is a closed ring (one hole), one per active area
    assert rings.count() == solder.merged(True, 0).count() == active.merged().count()
    # every active area in a cavity; no cavity holds a ring (no ring around a ring)
    # (cavities are then disjoint, and as many as active areas, each holding one: so
    # every active area lies in exactly one ring's cavity)
    assert (active - cavities).is_empty()
    assert rings.inside(cavities).is_empty() and rings.overlapping(cavities).is_empty()
    assert cavities.covering(active).count() == cavities.count()
    assert solder.merged().width_check(round(width * DBU)).is_empty()
    clear = round(clearance * DBU) - clearance_slack_nm
    assert active.separation_check(solder, clear).is_empty()
    metal, land = r["CAP_METAL"], r["SEAL_LAND"]
    assert (solder - metal).is_empty(), "CAP_SOLDER must lie on CAP_METAL"
    assert (solder - land).is_empty(), "SEAL_LAND must lie under the bead"
    if metal_enclosure:
        assert metal.enclosing_check(solder, round(metal_enclosure * DBU)).is_empty()
    if land_enclosure:
        assert land.enclosing_check(solder, round(land_enclosure * DBU)).is_empty()


def write_cell(c: gdstk.Cell, tmp_path: Path, name: str = "t.gds",
               extra: list[gdstk.Polygon] | None = None) -> Path:
    """Write ``c`` under a fresh top cell (with ``extra`` shapes) and return the path."""
    top = gdstk.Cell(f"TOP_{c.name}")
    top.add(gdstk.Reference(c))
    if extra:
        top.add(*extra)
    return io.write(top, tmp_path / name)


# ------------------------------------------------------------------ the oracle can fail
def test_oracle_sees_open_rings_and_corner_touch() -> None:
    ring = kdb.Region(kdb.Box(-100, -100, 100, 100)) - kdb.Region(kdb.Box(-50, -50, 50, 50))
    assert rings_and_cavities(ring)[0].count() == 1
    gap = ring - kdb.Region(kdb.Box(40, -1, 110, 0))  # a 1-dbu slit through the ring
    assert rings_and_cavities(gap)[0].count() == 0
    # four bars touching only at corners do not make a ring
    bars = kdb.Region()
    for box in (kdb.Box(-100, 50, 50, 100), kdb.Box(50, -50, 100, 50),
                kdb.Box(-50, -100, 50, -50), kdb.Box(-100, -50, -50, 50)):
        bars.insert(box)
    assert rings_and_cavities(bars)[0].count() == 0


# ------------------------------------------------------------------ seal ring
@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("shape", list(ACTIVES))
def test_seal_ring_closed_around_any_active_area(tmp_path: Path, corner: str,
                                                 shape: str) -> None:
    act = ACTIVES[shape]
    chamfer = 25 if shape == "octagon" else 50  # 135° corners allow legs up to 30.14 µm
    c = seal_ring(active=act, clearance=60, width=80, corner=corner, chamfer=chamfer,
                  radius=120, metal_enclosure=10, land_enclosure=5)
    path = write_cell(c, tmp_path, extra=[gdstk.Polygon(act, **DEFAULT_LAYERS.ld("ACTIVE"))])
    r = read_regions(path)
    # slanted inner edges may sit up to ~1.5 nm closer than the clearance (grid snapping)
    slack = 0 if shape != "octagon" else 2
    assert_sealed(r, width=80, clearance=60, metal_enclosure=10, land_enclosure=5,
                  clearance_slack_nm=slack)
    # ONE polygon with one hole per layer, as written
    for name in ("CAP_SOLDER", "CAP_METAL", "SEAL_LAND"):
        polys = [p for p in c.polygons if (p.layer, p.datatype) == DEFAULT_LAYERS.spec(name)]
        assert len(polys) == 1
        merged = r[name].merged(True, 0)
        assert merged.count() == 1 and next(iter(merged.each())).holes() == 1
    for p in c.polygons:  # every vertex on the 1 nm grid
        assert (abs(p.points * DBU - (p.points * DBU).round()) < 1e-6).all()


def test_corner_styles_draw_what_they_say(tmp_path: Path) -> None:
    hulls = {}
    for corner in CORNERS:
        c = seal_ring(corner=corner, chamfer=70, radius=100)
        solder = read_regions(write_cell(c, tmp_path, f"{corner}.gds"))["CAP_SOLDER"]
        hull = kdb.Polygon(list(next(iter(solder.merged().each())).each_point_hull()))
        hulls[corner] = hull
    outer = 700 + 60 + 80
    corner_pt = kdb.Point((outer - 1) * DBU, (outer - 1) * DBU)
    assert hulls["square"].num_points() == 4
    assert hulls["square"].inside(corner_pt)
    assert hulls["chamfer"].num_points() == 8  # 45° chamfers: legs of 70 µm
    assert not hulls["chamfer"].inside(corner_pt)
    assert hulls["chamfer"].inside(kdb.Point((outer - 70) * DBU + 1, outer * DBU - 1))
    assert hulls["round"].num_points() > 40
    # the round corner's outer edge stays within the chord tolerance of radius 100 µm
    centre = (outer - 100) * DBU
    far = max(math.hypot(p.x - centre, p.y - centre) for p in hulls["round"].each_point_hull()
              if p.x > centre and p.y > centre)
    assert 100 * DBU <= far <= 100 * DBU + 12


@pytest.mark.parametrize(("kwargs", "key", "text"), [
    ({"width": -5}, "seal.width", "must be > 0 µm, got -5"),
    ({"clearance": 0}, "seal.clearance", "> 0 µm"),
    ({"corner": "star"}, "seal.corner", "one of square, chamfer, round"),
    ({"corner": "chamfer", "chamfer": 100}, "seal.chamfer", "<= 82.01 µm"),
    ({"corner": "round", "radius": 150}, "seal.radius", "<= 140 µm"),
    ({"metal_enclosure": 60}, "seal.metal_enclosure", "< seal.clearance (60 µm)"),
    ({"active": ((0, 0), (10, 10), (0, 10), (10, 0))}, "active.points", "simple polygon"),
    ({"active": ((0, 0), (10, 10))}, "active.points", "3 to 2000"),
    ({"active": tuple((math.cos(t / 400), math.sin(t / 400)) for t in range(2001))},
     "active.points", "3 to 2000"),
    ({"active": ((0, 0), (float("nan"), 1), (1, 1))}, "active.points", "simple polygon"),
])
def test_seal_ring_bad_input_names_the_key(kwargs: dict, key: str, text: str) -> None:
    with pytest.raises(ParameterError) as err:
        seal_ring(**kwargs)
    assert err.value.key == key
    assert str(err.value).startswith(f"{key}: ")
    assert text in str(err.value)


def test_limits_in_errors_are_the_real_limits() -> None:
    seal_ring(corner="chamfer", chamfer=82.01)
    seal_ring(corner="round", radius=140)


# ------------------------------------------------------------------ spacer, lanes, marks
@pytest.mark.parametrize("shape", ["square", "circle"])
def test_spacer(tmp_path: Path, shape: str) -> None:
    r = read_regions(write_cell(spacer(size=50, shape=shape), tmp_path))["CAP_SPACER"]
    box = r.bbox()
    assert box.width() == box.height() <= 50 * DBU
    assert box.width() >= 50 * DBU - 20
    assert r.count() == 1
    assert r.area() == pytest.approx((50 * DBU) ** 2 * (1 if shape == "square" else math.pi / 4),
                                     rel=1e-3)


def test_scribe_half_lanes_make_whole_lanes(tmp_path: Path) -> None:
    c = scribe_lanes(die_width=2000, die_height=1500, scribe_width=80)
    top = gdstk.Cell("two")
    top.add(gdstk.Reference(c, (0, 0)), gdstk.Reference(c, (2080, 0)))
    r = read_regions(io.write(top, tmp_path / "s.gds"))["SCRIBE"]
    lane = r & kdb.Region(kdb.Box(1000 * DBU, -750 * DBU, 1080 * DBU, 750 * DBU))
    assert lane.area() == 80 * 1500 * DBU * DBU  # the lane between the dies is 80 wide, full
    assert r.merged().count() == 1


def test_cap_cut_lanes_and_windows_are_one_region(tmp_path: Path) -> None:
    c = cap_cut(windows=((890, -425, 1100, 425),))
    r = read_regions(write_cell(c, tmp_path))["CAP_CUT"]
    merged = r.merged(True, 0)
    assert merged.count() == 1 and next(iter(merged.each())).holes() == 1
    assert r.bbox() == kdb.Box(-1100 * DBU, -1100 * DBU, 1100 * DBU, 1100 * DBU)


def test_align_pair_overlays_after_the_flip_and_is_chiral(tmp_path: Path) -> None:
    r = read_regions(write_cell(align_pair(size=200, arm_width=20, gap=10), tmp_path))
    cross, cap = r["ALIGN"], r["CAP_METAL"]
    assert cross.merged().count() == 1 and cap.count() == 4
    assert cross.bbox().center() == cap.bbox().center() == kdb.Point(0, 0)
    # the cap mark frames the cross with the gap all round and never touches it
    assert (cross & cap).is_empty()
    assert cross.separation_check(cap, 10 * DBU).is_empty()
    assert not cross.separation_check(cap, 10 * DBU + 1).is_empty()
    # a mark that was mirrored once more would not match: the notch shows it
    assert not (cap ^ cap.transformed(kdb.Trans(kdb.Trans.M90))).is_empty()


def test_align_site_keeps_metal_out_of_the_window(tmp_path: Path) -> None:
    r = read_regions(write_cell(align_site(keepout=800, size=200), tmp_path))
    window = kdb.Region(kdb.Box(-400 * DBU, -400 * DBU, 400 * DBU, 400 * DBU))
    metal = (r["CAP_METAL"] + r["SEAL_LAND"] + r["PAD"]) & window
    assert (metal - kdb.Region(kdb.Box(-100 * DBU, -100 * DBU, 100 * DBU, 100 * DBU))).is_empty()
    assert r["DIE"].is_empty() and not r["ALIGN"].is_empty()
    with pytest.raises(ParameterError, match=r"^align\.keepout: .*<= the die's smaller side"):
        align_site(keepout=2500)


# ------------------------------------------------------------------ the capped die
def assert_capped_die(r: dict[str, kdb.Region], seal_space: float = 20.0,
                      slack_nm: int = 0) -> None:
    """The claims' geometry of capped dies, as KLayout sees it."""
    assert_sealed(r, width=80, clearance=60, metal_enclosure=10, land_enclosure=5,
                  clearance_slack_nm=slack_nm)
    rings, cavities, hulls = rings_and_cavities(r["CAP_SOLDER"])
    spacers, cut, pads = r["CAP_SPACER"], r["CAP_CUT"], r["PAD"]
    assert not spacers.is_empty()
    assert (spacers - cut).is_empty(), "every spacer lies in CAP_CUT"
    assert spacers.interacting(hulls).is_empty(), "no spacer on or inside a ring"
    assert spacers.interacting(r["ACTIVE"]).is_empty() and spacers.interacting(pads).is_empty()
    assert (cut & r["CAP_SOLDER"]).is_empty(), "CAP_CUT disjoint from CAP_SOLDER"
    assert cut.interacting(hulls).is_empty(), "a cut never touches a ring or a cavity"
    assert cut.separation_check(r["CAP_SOLDER"], round(seal_space * DBU)).is_empty()
    assert (pads - cut).is_empty(), "bond pads are exposed by cap windows"
    assert pads.interacting(hulls).is_empty(), "bond pads outside the seal"
    assert (r["ACTIVE"] - r["DIE"]).is_empty() and (hulls - r["DIE"]).is_empty()
    assert (r["SCRIBE"] & r["DIE"]).is_empty()


@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("shape", list(ACTIVES))
def test_capped_die(tmp_path: Path, corner: str, shape: str) -> None:
    points = () if shape == "rect" else ACTIVES[shape]
    chamfer = 25 if shape == "octagon" else 50
    c = capped_die(active_points=points, seal_corner=corner, seal_chamfer=chamfer,
                   seal_radius=120)
    r = read_regions(write_cell(c, tmp_path))
    assert_capped_die(r, slack_nm=2 if shape == "octagon" else 0)
    assert r["CAP_SPACER"].count() == 4
    assert r["PAD"].count() == 24
    assert r["DIE"].bbox() == kdb.Box(-1000 * DBU, -1000 * DBU, 1000 * DBU, 1000 * DBU)
    assert r["SCRIBE"].bbox() == kdb.Box(-1040 * DBU, -1040 * DBU, 1040 * DBU, 1040 * DBU)


def test_capped_die_round_spacers_and_explicit_sites(tmp_path: Path) -> None:
    c = capped_die(spacer_shape="circle", spacer_sites=((1040, 0), (0, -1040), (1040, 500)),
                   pad_sides="top_bottom")
    r = read_regions(write_cell(c, tmp_path))
    assert_capped_die(r)
    assert r["CAP_SPACER"].count() == 3


@pytest.mark.parametrize(("kwargs", "key", "text"), [
    ({"seal_width": 300}, "seal.width", "<= 230 µm"),
    ({"active_width": 2000}, "active.width", "< the die (2000 µm)"),
    ({"active_points": ((-900, -900), (1200, -900), (0, 900))}, "active.points", "inside the die"),
    ({"cut_lane_width": 400}, "cut.lane_width", "<= 360 µm"),
    ({"cut_seal_space": 200}, "cut.seal_space", "< 200 µm"),
    ({"pad_size": 120}, "pad.size", "<= 110 µm"),
    ({"pad_count": 12}, "pad.count", "<= 11"),
    ({"pad_pitch": 60}, "pad.pitch", "> pad.size (80 µm)"),
    ({"spacer_size": 120}, "spacer.size", "<= 100 µm"),
    ({"spacer_corner_offset": 10}, "spacer.corner_offset", ">= 25 and <= 975 µm"),
    ({"spacer_sites": ((800, 0),)}, "spacer.sites", "inside CAP_CUT"),
    ({"spacer_sites": ((940, 75),)}, "spacer.sites", "would land on a bond pad"),
    ({"spacer_sites": ((0, 0),)}, "spacer.sites", "inside CAP_CUT"),
    ({"seal_width": 0}, "seal.width", "> 0 µm"),
])
def test_capped_die_bad_input_names_the_key(kwargs: dict, key: str, text: str) -> None:
    with pytest.raises(ParameterError) as err:
        capped_die(**kwargs)
    assert err.value.key == key, str(err.value)
    assert str(err.value).startswith(f"{key}: ") and text in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_capped_die_signature_matches_the_declared_parameters() -> None:
    sig = inspect.signature(capped_die)
    params = die_params()
    names = [n for n in sig.parameters if n != "layers"]
    assert sorted(names) == sorted(k.replace(".", "_") for k in params)
    for key, p in params.items():
        default = sig.parameters[key.replace(".", "_")].default
        assert default == p.default, key


def test_cells_are_cached_and_named_by_their_layers(tmp_path: Path) -> None:
    assert capped_die() is capped_die(seal_width=80.0)
    assert capped_die().name != capped_die(seal_width=70).name
    custom = tmp_path / "layers.toml"
    custom.write_text("[layers.CAP_SOLDER]\nlayer = 161\n", encoding="utf-8")
    other = capped_die(layers=load_layer_map(custom))
    assert other.name != capped_die().name
    assert any(p.layer == 161 for d in other.dependencies(True) for p in d.polygons)
