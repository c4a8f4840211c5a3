"""The checker's seal.*, spacer.* and cut.* checks on capped dies written by KLayout.

Every layout is built with ``klayout.db`` (tests/klayouts.py) to have a known verdict;
each test asserts the checker's verdict AND KLayout's own computation on the same file
(``merged(True, 0)`` + ``holes`` for closure, ``width_check``, ``separation_check``,
``inside``/``interacting``) against that verdict.
"""

from __future__ import annotations

import math
from pathlib import Path

import klayout.db as kdb
import pytest
from klayouts import (
    DBU,
    RING_INNER,
    RING_STYLES,
    Cap,
    Lay,
    box,
    capped_array,
    capped_die,
    capped_file,
    kl_clearance_ok,
    kl_cut_off_seal,
    kl_enclosed,
    kl_pads_exposed,
    kl_seal_closed,
    kl_spacers,
    kl_width_ok,
    read_flat,
    um,
)

from layoutgen.check import check
from layoutgen.rules import load_ruleset

RULES = load_ruleset("default")
WIDTH = RULES["seal.min_width"]          # 60 µm
CLEAR = RULES["seal.min_clearance"]      # 20 µm
RING_MID = RING_INNER + Cap().width / 2  # centreline half-size of the default ring


def passed(report, check_id: str) -> bool:
    """The verdict of one check, which must have run."""
    assert check_id in report.checks, f"{check_id} did not run: {report.checks}"
    return report.results[check_id].passed


def closed_kl(path: Path, heal: int = 0) -> list[bool]:
    return [c for _, c in kl_seal_closed(read_flat(path), heal)]


def near(v, x: float, y: float, tol: float = 1.0) -> bool:
    return math.hypot(v.x - x, v.y - y) <= tol


# ---------------------------------------------------------------- closure
@pytest.mark.parametrize("style", RING_STYLES)
def test_ring_style_is_one_closed_ring(tmp_path: Path, style: str) -> None:
    """Keyholed, abutting boxes/trapezoids, overlapping tiles, paths of every end type,
    bar sub-cells, halves in two cells: one closed ring around the active area."""
    p = capped_file(tmp_path / f"{style}.gds", ring=style)
    r = check(p)
    assert passed(r, "seal.closed"), r.table()
    assert r.results["seal.closed"].judged == 1
    assert passed(r, "seal.clearance")
    assert closed_kl(p) == [True]


@pytest.mark.parametrize("style", RING_STYLES)
def test_ring_style_passes_every_check(tmp_path: Path, style: str) -> None:
    p = capped_file(tmp_path / f"{style}.gds", ring=style)
    r = check(p)
    f = read_flat(p)
    assert kl_width_ok(f["CAP_SOLDER"], WIDTH)
    assert r.passed, r.table()


def test_keyhole_file_really_is_one_keyholed_boundary(tmp_path: Path) -> None:
    """The keyhole layout is one boundary with a zero-width cut (no hole), as read back
    by KLayout: the closure is found only after merging."""
    import klayout.db as kdb

    p = capped_file(tmp_path / "k.gds", ring="keyhole")
    ly = kdb.Layout()
    ly.read(str(p))
    shapes = list(ly.top_cell().shapes(ly.find_layer(61, 0)).each())
    assert len(shapes) == 1
    poly = shapes[0].polygon
    assert poly.holes() == 0
    pts = [(q.x, q.y) for q in poly.each_point_hull()]
    assert len(pts) != len(set(pts))  # the cut: its two end points are each visited twice
    assert passed(check(p), "seal.closed")


@pytest.mark.parametrize("gap", [1.0, DBU], ids=["1um", "1dbu"])
@pytest.mark.parametrize("style", [s for s in RING_STYLES if s != "keyhole"])
def test_gap_opens_the_ring(tmp_path: Path, style: str, gap: float) -> None:
    """A gap of 1 µm or of exactly one database unit, in any drawing style, is open."""
    p = capped_file(tmp_path / f"{style}.gds", ring=style, gap=gap)
    r = check(p)
    assert not passed(r, "seal.closed")
    v = r.by_check("seal.closed")
    assert len(v) == 1 and near(v[0], 0, 0)  # reported at the active area
    assert closed_kl(p) == [False]


def test_gap_through_keyholed_ring(tmp_path: Path) -> None:
    p = capped_file(tmp_path / "k.gds", ring="keyhole", gap=DBU, gap_x=300)
    assert not passed(check(p), "seal.closed")
    assert closed_kl(p) == [False]


def test_pieces_touching_at_a_corner_are_open(tmp_path: Path) -> None:
    p = capped_file(tmp_path / "corner.gds", corner_touch=True)
    r = check(p)
    assert not passed(r, "seal.closed")
    assert len(r.by_check("seal.closed")) == 1
    f = read_flat(p)
    assert closed_kl(p) == [False]
    # KLayout with maximum coherence would join the pieces at the point: the test is
    # about point contact, not a missing piece
    assert f["CAP_SOLDER"].merged(False, 0).holes().count() == 1


def test_active_overlapping_the_ring(tmp_path: Path) -> None:
    p = capped_file(tmp_path / "ov.gds", active="overlap")
    r = check(p)
    assert not passed(r, "seal.closed")
    v = r.by_check("seal.closed")
    assert len(v) == 1 and near(v[0], 0, 0)
    assert "overlap" in v[0].message
    assert closed_kl(p) == [False]
    assert not kl_clearance_ok(read_flat(p), CLEAR)


def test_active_outside_the_ring(tmp_path: Path) -> None:
    """Two active areas: the one in the ring passes, the one outside fails."""
    p = capped_file(tmp_path / "out.gds", active="outside")
    r = check(p)
    assert r.results["seal.closed"].judged == 2
    v = r.by_check("seal.closed")
    b = RING_INNER + Cap().width
    assert len(v) == 1 and near(v[0], b + 25, 200)
    kl = dict(kl_seal_closed(read_flat(p)))
    assert kl == {(0.0, 0.0): True, (b + 25, 200.0): False}


def test_no_ring_at_all(tmp_path: Path) -> None:
    lay = Lay()
    lay.add(lay.top, "ACTIVE", box(-100, -100, 100, 100))
    lay.add(lay.top, "CAP_METAL", box(-500, -500, 500, 500))
    lay.add(lay.top, "CAP_SOLDER", box(300, 300, 400, 400))
    p = lay.write(tmp_path / "none.gds")
    assert not passed(check(p), "seal.closed")
    assert closed_kl(p) == [False]


# ---------------------------------------------------------------- width
@pytest.mark.parametrize("width,ok", [(80.0, True), (WIDTH, True), (WIDTH - DBU, False),
                                      (35.0, False)])
def test_ring_width(tmp_path: Path, width: float, ok: bool) -> None:
    """A bead exactly at the rule passes, one database unit less fails."""
    p = capped_file(tmp_path / "w.gds", width=width)
    r = check(p)
    assert passed(r, "seal.width") is ok
    assert kl_width_ok(read_flat(p)["CAP_SOLDER"], WIDTH) is ok
    assert passed(r, "seal.closed")


@pytest.mark.parametrize("neck,ok", [(WIDTH, True), (WIDTH - DBU, False), (40.0, False)])
def test_chamfered_neck(tmp_path: Path, neck: float, ok: bool) -> None:
    """A neck cut with 45° walls: exactly the rule passes, 1 dbu less fails, and the
    violation is reported at the neck."""
    p = capped_file(tmp_path / "n.gds", neck=neck, neck_shape="chamfer")
    r = check(p)
    assert passed(r, "seal.width") is ok
    assert kl_width_ok(read_flat(p)["CAP_SOLDER"], WIDTH) is ok
    for v in r.by_check("seal.width"):
        x0, y0, x1, y1 = v.bbox
        assert x0 <= 0 <= x1 and y0 <= RING_INNER + neck and y1 >= RING_INNER
        assert abs(v.x) < 30 and RING_INNER <= v.y <= RING_INNER + Cap().width


@pytest.mark.parametrize("neck,ok", [
    (WIDTH, True), (70.0, True),
    (WIDTH - DBU, False), (30.0, False)])
def test_rectangular_neck(tmp_path: Path, neck: float, ok: bool) -> None:
    p = capped_file(tmp_path / "n.gds", neck=neck)
    r = check(p)
    assert kl_width_ok(read_flat(p)["CAP_SOLDER"], WIDTH) is ok
    assert passed(r, "seal.width") is ok, r.table()


def _kl_min_width(p: Path) -> float:
    eps = read_flat(p)["CAP_SOLDER"].width_check(um(WIDTH))
    return min(e.distance() for e in eps.each()) * DBU


@pytest.mark.parametrize("knobs", [
    dict(width=WIDTH - DBU),
    dict(width=35.0),
    dict(neck=WIDTH - DBU, neck_shape="chamfer"),
], ids=["ring59.999", "ring35", "neck59.999"])
def test_reported_width_is_the_measured_width(tmp_path: Path, knobs: dict) -> None:
    p = capped_file(tmp_path / "w.gds", **knobs)
    vs = check(p).by_check("seal.width")
    assert vs
    assert min(v.value for v in vs) == pytest.approx(_kl_min_width(p), abs=0.01)
    assert f"{_kl_min_width(p):g} µm wide" in vs[0].message


# ---------------------------------------------------------------- clearance
@pytest.mark.parametrize("half,ok", [(600.0, True), (RING_INNER - CLEAR, True),
                                     (RING_INNER - CLEAR + DBU, False), (645.0, False),
                                     (RING_INNER, False)])
def test_clearance(tmp_path: Path, half: float, ok: bool) -> None:
    p = capped_file(tmp_path / "c.gds", active_half=half, spacer="none", pads="none")
    r = check(p)
    assert passed(r, "seal.closed")
    assert passed(r, "seal.clearance") is ok
    assert kl_clearance_ok(read_flat(p), CLEAR) is ok
    for v in r.by_check("seal.clearance"):
        assert v.value == pytest.approx(RING_INNER - half, abs=1e-3)


# ---------------------------------------------------------------- metal
@pytest.mark.parametrize("metal,ok", [("ok", True), ("exact", True), ("none", False),
                                      ("partial", False), ("narrow", False)])
def test_seal_on_metal(tmp_path: Path, metal: str, ok: bool) -> None:
    p = capped_file(tmp_path / "m.gds", metal=metal)
    r = check(p)
    f = read_flat(p)
    assert passed(r, "seal.metal") is ok
    assert kl_enclosed(f["CAP_SOLDER"], f["CAP_METAL"], 0.0) is ok
    if metal == "partial":  # metal missing under the bottom side, |x| < 100
        v = r.by_check("seal.metal")
        assert len(v) == 1 and near(v[0], 0, -RING_MID, 5)


@pytest.mark.parametrize("margin,ok", [(10.0, True), (10.0 - DBU, False), (5.0, False)])
def test_metal_enclosure_rule_from_toml(tmp_path: Path, margin: float, ok: bool) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('base = "default"\n[rules]\n"seal.metal_enclosure" = 10\n')
    p = capped_file(tmp_path / "m.gds", metal_margin=margin)
    r = check(p, rules=rules)
    f = read_flat(p)
    assert passed(r, "seal.metal") is ok
    assert kl_enclosed(f["CAP_SOLDER"], f["CAP_METAL"], 10.0) is ok


def test_width_rule_from_toml(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('base = "default"\n[rules]\n"seal.min_width" = 70\n')
    p = capped_file(tmp_path / "w.gds", width=69.999)
    assert passed(check(p), "seal.width")
    assert not passed(check(p, rules=rules), "seal.width")
    assert not kl_width_ok(read_flat(p)["CAP_SOLDER"], 70)


# ---------------------------------------------------------------- spacers and cuts
@pytest.mark.parametrize("spacer,in_cut,off_seal", [
    ("cut", True, True), ("cut_edge", True, True), ("outside_cut", False, True),
    ("straddle", False, True), ("ring_edge", False, False),
    ("on_ring", False, False), ("in_cavity", False, False)])
def test_spacers(tmp_path: Path, spacer: str, in_cut: bool, off_seal: bool) -> None:
    p = capped_file(tmp_path / "s.gds", spacer=spacer)
    r = check(p)
    assert passed(r, "spacer.in_cut") is in_cut
    assert passed(r, "spacer.off_seal") is off_seal
    assert kl_spacers(read_flat(p)) == (in_cut, off_seal)
    assert passed(r, "seal.closed")


@pytest.mark.parametrize("cut,ok", [("lanes", True), ("near", True),
                                    ("through_seal", False), ("touch_seal", False)])
def test_cut_off_seal(tmp_path: Path, cut: str, ok: bool) -> None:
    p = capped_file(tmp_path / "c.gds", cut=cut, spacer="none")
    r = check(p)
    assert passed(r, "cut.off_seal") is ok
    assert kl_cut_off_seal(read_flat(p)) is ok
    if cut == "through_seal":  # the lane enters the ring at x in [500, 730], |y| < 20
        (v,) = r.by_check("cut.off_seal")
        assert 500 <= v.x <= RING_INNER + Cap().width and abs(v.y) <= 20


@pytest.mark.parametrize("pads,ok", [("exposed", True), ("inside", True), ("covered", False)])
def test_pads_exposed(tmp_path: Path, pads: str, ok: bool) -> None:
    p = capped_file(tmp_path / "p.gds", pads=pads)
    r = check(p)
    assert passed(r, "cut.pads_exposed") is ok
    assert kl_pads_exposed(read_flat(p)) is ok


def test_pads_exposed_fails_without_cut(tmp_path: Path) -> None:
    p = capped_file(tmp_path / "p.gds", cut="none", spacer="none")
    r = check(p)
    assert not passed(r, "cut.pads_exposed")
    assert len(r.by_check("cut.pads_exposed")) == 2
    assert not kl_pads_exposed(read_flat(p))


def test_capped_die_with_bare_bond_pads(tmp_path: Path) -> None:
    """Bond pads with no PI1 drawn anywhere (a cap-process die): pad.opened does not
    apply, and the cap checks still judge the pads (this once raised KeyError)."""
    p = capped_file(tmp_path / "p.gds", pad_openings=False)
    r = check(p)
    assert passed(r, "cut.pads_exposed")
    assert "pad.opened" not in r.checks
    assert r.passed, r.table()


# ---------------------------------------------------------------- placements
@pytest.mark.parametrize("mag,width,ok", [
    (2.0, 35.0, True),
    (2.0, 29.0, False), (1.0, 35.0, False)])
def test_magnified_placement(tmp_path: Path, mag: float, width: float, ok: bool) -> None:
    """A die drawn at half scale, placed rotated by 90° with a magnification."""
    lay = Lay()
    c = lay.cell("HALF")
    capped_die(lay, c, width=width, inner=RING_INNER / 2, active_half=300, spacer="none",
               pads="none", cut="none", metal="exact", die=False)
    lay.place(lay.top, c, 100, 200, rot=90, mag=mag)
    p = lay.write(tmp_path / "mag.gds")
    assert kl_width_ok(read_flat(p)["CAP_SOLDER"], WIDTH) is ok
    assert passed(check(p, flat=True), "seal.width") is ok
    r = check(p)
    assert passed(r, "seal.closed")
    assert passed(r, "seal.width") is ok, r.table()


ARRAYS = [  # (rotation, mirror, gap): seams of rotated placements are not gaps
    (0.0, False, DBU), (90.0, False, DBU), (0.0, True, DBU), (90.0, True, DBU),
    (30.0, False, 1.0), (30.0, True, 1.0), (-45.0, False, 1.0)]


@pytest.mark.parametrize("rot,mirror,gap", ARRAYS)
def test_one_bad_die_in_an_array(tmp_path: Path, rot: float, mirror: bool, gap: float) -> None:
    """4 × 3 dies placed by AREFs (rotated/mirrored), one with a gap in its ring:
    exactly one violation, at that die's centre."""
    p, centres = capped_array(tmp_path / "a.gds", 4, 3, rot=rot, mirror=mirror,
                              bad=dict(gap=gap), bad_at=(2, 1))
    r = check(p)
    assert r.results["seal.closed"].judged == 12
    assert r.results["seal.closed"].violations == 1
    (v,) = r.violations
    bad = centres[1 * 4 + 2]
    assert v.check == "seal.closed" and near(v, *bad, 0.01)
    kl = dict(kl_seal_closed(read_flat(p), heal=0 if rot % 90 == 0 else 2))
    assert sorted(c for c, ok in kl.items() if not ok) == [pytest.approx(bad, abs=0.01)]


@pytest.mark.parametrize("rot,mirror", [(30.0, False), (90.0, True), (0.0, False)])
@pytest.mark.parametrize("style", ["bars_cells", "four_cells", "split_cells", "path_closed",
                                   "keyhole", "trapezoids"])
def test_rings_in_rotated_array(tmp_path: Path, style: str, rot: float, mirror: bool) -> None:
    p, _ = capped_array(tmp_path / "a.gds", 3, 2, rot=rot, mirror=mirror,
                        good=dict(ring=style))
    r = check(p)
    assert r.results["seal.closed"].judged == 6
    assert r.passed, r.table()
    assert all(closed_kl(p, heal=0 if rot % 90 == 0 else 2))


@pytest.mark.parametrize("rot,mirror", [(30.0, True), (90.0, False)])
def test_bar_cell_ring_with_gap_in_rotated_array(tmp_path: Path, rot: float, mirror: bool
                                                 ) -> None:
    p, centres = capped_array(tmp_path / "a.gds", 3, 2, rot=rot, mirror=mirror,
                              good=dict(ring="bars_cells"), bad=dict(gap=1.0), bad_at=(0, 1))
    r = check(p)
    (v,) = r.violations
    assert v.check == "seal.closed" and near(v, *centres[3], 0.01)
    kl = [ok for _, ok in kl_seal_closed(read_flat(p), heal=2)]
    assert kl.count(False) == 1


@pytest.mark.parametrize("suffix", ["gds", "oas"])
@pytest.mark.parametrize("knobs,ok", [({}, True), (dict(gap=DBU), False),
                                      (dict(ring="path_square"), True)])
def test_gds_and_oasis_agree(tmp_path: Path, suffix: str, knobs: dict, ok: bool) -> None:
    p = capped_file(tmp_path / f"d.{suffix}", **knobs)
    assert passed(check(p), "seal.closed") is ok
    assert closed_kl(p) == [ok]


@pytest.mark.parametrize("active_half, too_close", [(600.0, False), (640.0, True)])
def test_clearance_judged_inside_an_open_ring(tmp_path: Path, active_half: float,
                                              too_close: bool) -> None:
    """An ACTIVE area inside a ring with a 5 µm gap: the ring fails seal.closed either
    way, and seal.clearance still measures the bead (50 µm away: passes; 10 µm away,
    under the 20 µm rule: fails), as KLayout's separation check does."""
    path = capped_file(tmp_path / "open.gds", gap=5.0, active_half=active_half)
    rep = check(path)
    assert rep.results["seal.closed"].violations == 1
    clear = rep.results["seal.clearance"]
    assert clear.judged == 1
    assert (clear.violations == 1) is too_close
    f = read_flat(path)
    limit = load_ruleset("default")["seal.min_clearance"]
    kl_close = not f["ACTIVE"].separation_check(f["CAP_SOLDER"], round(limit / DBU)).is_empty()
    assert kl_close is too_close


def test_thin_ring_violation_is_reported_on_the_ring(tmp_path: Path) -> None:
    """A ring 80 µm wide under a 100 µm rule: the violation's point lies on the solder,
    not in the cavity at the ring's centroid."""
    path = capped_file(tmp_path / "thin.gds")
    rep = check(path, rules=load_ruleset("default").with_values({"seal.min_width": 100.0},
                                                                   "test"))
    vs = [v for v in rep.violations if v.check == "seal.width"]
    assert vs
    f = read_flat(path)
    for v in vs:
        probe = kdb.Region(kdb.Box(round(v.x / DBU) - 1, round(v.y / DBU) - 1,
                                   round(v.x / DBU) + 1, round(v.y / DBU) + 1))
        assert not (probe & f["CAP_SOLDER"]).is_empty(), (v.x, v.y)
