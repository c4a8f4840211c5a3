"""The CSP cells (seed 004): ball map, embossed ball pad, chip pad stack, RDL router,
cross-section. Geometry is judged by KLayout (``klayout.db``) on the written files.
"""

from __future__ import annotations

import math
from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest
from shapely.geometry import Polygon

from cells.ballmap import JEDEC_ROW_LETTERS, ball_map, parse_ball_name, row_name
from cells.chip_pad import chip_pad
from cells.emboss import embossed_ball_pad, max_ring_inner_diameter, solve_ring
from cells.rdl import Net, Terminal, route
from cells.xsection import cross_section_png, cross_section_profile, stack
from layoutgen import io
from layoutgen.errors import ParameterError, RoutingError
from layoutgen.layers import DEFAULT_LAYERS

DBU = 0.001


def um(x: float) -> int:
    """µm -> database units."""
    return int(round(x / DBU))


def kl_regions(path: Path) -> dict[str, kdb.Region]:
    """Every default layer of the file's top cell, flattened and merged (KLayout)."""
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.top_cells()[0]
    out = {}
    for lay in DEFAULT_LAYERS:
        li = ly.find_layer(lay.layer, lay.datatype)
        r = kdb.Region() if li is None else kdb.Region(top.begin_shapes_rec(li))
        out[lay.name] = r.merged(True, 0)
    return out


def kl_embossed(regs: dict[str, kdb.Region], gap: float = 20.0) -> list[dict]:
    """Each embossed portion found in PI2: concave disc, ring, inside area, ring area.

    The concave disc is the hull of a PI2 opening that has holes (the PI2 left standing
    in it); the ring is that disc minus the PI2 openings. The area inside the ring, gaps
    bridged along the inner edge, is the hole of the ring closed by ``gap`` (sized up
    then down).
    """
    out = []
    pi2 = regs["PI2"]
    for poly in pi2.each():
        if poly.holes() == 0:
            continue
        concave = kdb.Region(poly.hull) if hasattr(poly, "hull") else kdb.Region(
            kdb.Polygon(list(poly.each_point_hull())))
        ring = (concave - pi2).merged(True, 0)
        closed = ring.sized(um(gap)).sized(-um(gap))
        inside = closed.holes().area() * DBU * DBU
        out.append({"concave": concave, "ring": ring, "inside": inside,
                    "ring_area": ring.area() * DBU * DBU})
    return out


def on_grid(cell: gdstk.Cell) -> bool:
    """Every vertex of every polygon (flattened) lies on the 1 nm grid."""
    for p in cell.get_polygons():
        q = p.points / DBU
        if not np.allclose(q, np.round(q), atol=1e-6):
            return False
    return True


# --------------------------------------------------------------------------- ball map
def test_jedec_row_names_skip_confusable_letters() -> None:
    assert "".join(JEDEC_ROW_LETTERS) == "ABCDEFGHJKLMNPRTUVWY"
    names = [row_name(i) for i in range(24)]
    assert names[:9] == ["A", "B", "C", "D", "E", "F", "G", "H", "J"]
    assert names[19:22] == ["Y", "AA", "AB"]
    for bad in "IOQSXZ":
        assert all(bad not in n for n in (row_name(i) for i in range(400)))
    assert parse_ball_name("AB12") == (21, 11)
    assert parse_ball_name("I3") is None and parse_ball_name("A0") is None


def test_ball_map_positions_depopulation_and_errors() -> None:
    bm = ball_map(3, 4, 400, depopulated=("B2",))
    names = [b.name for b in bm.balls]
    assert names == ["A1", "A2", "A3", "A4", "B1", "B3", "B4", "C1", "C2", "C3", "C4"]
    a1 = bm.by_name()["A1"]
    assert (a1.x, a1.y) == (-600.0, 400.0)  # A1: top left, array centred
    assert bm.depopulated == ("B2",)
    with pytest.raises(ParameterError) as e:
        ball_map(3, 3, 380)
    assert e.value.key == "balls.pitch" and "300, 350, 400, 500" in str(e.value)
    with pytest.raises(ParameterError) as e:
        ball_map(3, 3, 400, depopulated=("D1",))
    assert e.value.key == "balls.depopulate" and "D1" in str(e.value)
    with pytest.raises(ParameterError) as e:
        ball_map(3, 3, 400).check_on_die(1000, 2000, 155)
    assert e.value.key == "die.width" and ">= 1110" in str(e.value)


# --------------------------------------------------------------------- embossed pad
@pytest.mark.parametrize("gaps", [0, 4, 8])
@pytest.mark.parametrize("target", [1.0, 0.8])
def test_ring_ratio_solved_on_the_polygons(gaps: int, target: float) -> None:
    sol = solve_ring(240, 120, gaps, 15, target)
    assert sol.ratio == pytest.approx(target, rel=1e-3)
    assert 2 * sol.outer_radius < 240
    if gaps == 0:  # ideal circles give ro = ri·sqrt(1 + 1/t); the polygons agree closely
        assert sol.outer_radius == pytest.approx(60 * math.sqrt(1 + 1 / target), rel=1e-3)


@pytest.mark.parametrize("gaps,pi1_inside", [(0, False), (4, False), (6, True)])
def test_embossed_pad_judged_by_klayout(tmp_path: Path, gaps: int, pi1_inside: bool) -> None:
    c = embossed_ball_pad(ring_gaps=gaps, pi1_inside=pi1_inside)
    assert on_grid(c)
    path = io.write(c, tmp_path / "pad.gds")
    regs = kl_regions(path)
    (e,) = kl_embossed(regs)
    # claims 5, 16: inside / ring within 2 % of the target
    assert e["inside"] / e["ring_area"] == pytest.approx(1.0, rel=0.02)
    # claims 3, 14: ring outer diameter below the concave diameter
    assert e["ring"].bbox().width() < e["concave"].bbox().width()
    assert e["concave"].bbox().width() == pytest.approx(um(240), abs=um(0.05))
    # claim 4: a segmented ring is N pieces; PI2 is one polygon (disc minus segments)
    assert e["ring"].count() == (1 if gaps == 0 else gaps)
    assert regs["PI2"].count() == (2 if gaps == 0 else 1)
    # claim 6: the PI3 hole sits over the embossed portion: it exposes the whole ring
    # and lies over the concave opening
    assert (e["ring"] - regs["PI3"]).is_empty()
    assert (regs["PI3"] - e["concave"]).is_empty()
    # the RDL land covers the embossed portion; UBM inside the land, over the hole
    assert (e["concave"] - regs["RDL"]).is_empty()
    assert (regs["PI3"] - regs["UBM"]).is_empty() and (regs["UBM"] - regs["RDL"]).is_empty()
    # claims 8, 9: PI1 opened inside the ring, inside PI2's inner opening
    if pi1_inside:
        assert not regs["PI1"].is_empty()
        assert (regs["PI1"] - regs["PI2"]).is_empty()
        assert (regs["PI1"] & e["ring"]).is_empty()
    else:
        assert regs["PI1"].is_empty()


def test_ring_that_cannot_meet_the_ratio_is_refused() -> None:
    limit = max_ring_inner_diameter(240, 1.0, 10, 4, 15)
    solve_ring(240, limit - 0.5, 4, 15, 1.0)
    with pytest.raises(ParameterError) as e:
        solve_ring(240, limit + 0.5, 4, 15, 1.0, key="ball_pad")
    assert e.value.key == "ball_pad.ring_inner_diameter"
    assert "cannot meet the ratio" in str(e.value) and f"{limit:.1f}" in str(e.value)


def test_gaps_wider_than_a_segment_are_refused() -> None:
    with pytest.raises(ParameterError) as e:
        solve_ring(240, 120, 8, 40, 1.0, key="ball_pad")
    assert e.value.key == "ball_pad.gap_width" and "wider than a ring segment" in str(e.value)
    with pytest.raises(ParameterError) as e:
        solve_ring(240, 120, 1, 10, 1.0, key="ball_pad")
    assert e.value.key == "ball_pad.ring_gaps"


def test_pad_pieces_must_nest() -> None:
    with pytest.raises(ParameterError) as e:
        embossed_ball_pad(pi3_diameter=150)  # the ring (Ø ~176) would not be exposed
    assert e.value.key == "embossed_ball_pad.pi3_diameter"


# ------------------------------------------------------------------------ chip pad
def test_chip_pad_opened_by_all_three_dielectrics(tmp_path: Path) -> None:
    c = chip_pad(pad_size=80, passivation_enclosure=5, pi1_enclosure=7.5, rdl_enclosure=10)
    regs = kl_regions(io.write(c, tmp_path / "chip_pad.gds"))
    opened = regs["PAD"] & regs["PASSIVATION"] & regs["PI1"] & regs["PI2"]
    assert opened.area() * DBU * DBU == pytest.approx(65 * 65)
    assert regs["PAD"].enclosing_check(regs["PI1"], um(7.5)).is_empty()
    assert not regs["PAD"].enclosing_check(regs["PI1"], um(7.5) + 1).is_empty()
    assert regs["RDL"].enclosing_check(regs["PI1"], um(10)).is_empty()
    assert regs["RDL"].enclosing_check(regs["PI2"], um(10)).is_empty()


# ---------------------------------------------------------------------------- router
def _rect(name: str, x: float, y: float, size: float = 85.0) -> Terminal:
    return Terminal(name, "rect", x, y, size)


def _land(name: str, x: float, y: float, d: float = 260.0) -> Terminal:
    return Terminal(name, "circle", x, y, d)


def test_router_fans_in_with_width_and_space_on_the_file(tmp_path: Path) -> None:
    nets = [
        Net("P1-A", _rect("P1", -300, -450), _land("A", 0, 0)),
        Net("P2-B", _rect("P2", 150, -450), _land("B", 400, 200)),
        Net("P3-C", _rect("P3", 450, -450), _land("C", 500, -150, 160)),
    ]
    r = route(nets, (-560, -560, 700, 400), 10, 10, style="octilinear")
    assert set(r.paths) == {"P1-A", "P2-B", "P3-C"}
    c = gdstk.Cell("r")
    for n in nets:
        for t in (n.a, n.b):
            c.add(gdstk.Polygon(t.points(), layer=30))
    for p in r.polygons():
        c.add(gdstk.Polygon(p, layer=30))
    assert on_grid(c)
    diagonal = any(np.any((np.diff(p, axis=0) != 0).all(axis=1)) for p in r.paths.values())
    assert diagonal, "the test should exercise 45° segments"
    rdl = kl_regions(io.write(c, tmp_path / "r.gds"))["RDL"]
    assert rdl.count() == 3  # one piece per net, no shorts
    assert rdl.width_check(um(10)).is_empty()
    assert rdl.space_check(um(10)).is_empty()
    assert r.teardrops and all(len(v) == 2 for v in r.teardrops.values())


def test_router_manhattan_has_no_diagonals() -> None:
    nets = [Net("P1-A", _rect("P1", -300, -450), _land("A", 0, 0))]
    r = route(nets, (-560, -560, 400, 400), 10, 10, style="manhattan", teardrop_length=0)
    seg = np.diff(r.paths["P1-A"], axis=0)
    assert np.all((seg[:, 0] == 0) | (seg[:, 1] == 0))
    # no teardrops asked for: at most the fillets an oblique exit needs, which stay
    # inside the bounding box of their pad or land (they fill the wedge beside it)
    boxes = [Polygon(t.points()).envelope.buffer(0.01) for t in (nets[0].a, nets[0].b)]
    for td in r.teardrops["P1-A"]:
        assert any(b.contains(Polygon(td)) for b in boxes)


def test_router_refuses_a_forced_crossing_naming_the_nets() -> None:
    # A runs from the left edge to the right edge, B from the bottom to the top: on one
    # metal layer they must cross.
    area = (0, 0, 600, 600)
    nets = [Net("A", _rect("PA", 42.5, 300), _rect("QA", 557.5, 300)),
            Net("B", _rect("PB", 300, 42.5), _rect("QB", 300, 557.5))]
    with pytest.raises(RoutingError) as e:
        route(nets, area, 10, 10)
    msg = str(e.value)
    assert "cannot route 1 net(s)" in msg
    assert ("B (crosses A)" in msg) or ("A (crosses B)" in msg)


def test_router_keeps_clear_of_unwired_pads() -> None:
    obstacle = _rect("P9", 0, 0, 200)
    nets = [Net("N", _rect("P1", -300, 0), _land("A", 300, 0, 160))]
    r = route(nets, (-400, -400, 400, 400), 10, 10, obstacles=[obstacle])
    path = r.paths["N"]
    assert np.abs(path[:, 1]).max() >= 100 + 10 + 5  # went round the 200 µm pad


# ----------------------------------------------------------------------- xsection
def test_cross_section_is_derived_from_the_layout(tmp_path: Path) -> None:
    pad = embossed_ball_pad(ring_gaps=4)
    sol = solve_ring(240, 120, 4, 15, 1.0)
    top = gdstk.Cell("xs_top")
    top.add(gdstk.Reference(pad, (1000, 500)))
    # along x: through two ring segments (the gaps are at 45°, 135°, ...)
    prof = cross_section_profile(top, ((850, 500), (1150, 500)))
    pi2 = prof["PI2"]
    assert len(pi2) == 3  # moat | inside | moat: the ring stands between them
    assert pi2[0][0] == pytest.approx(-120, abs=0.05) and pi2[-1][1] == pytest.approx(120, abs=0.05)
    assert pi2[0][1] == pytest.approx(-sol.outer_radius, abs=0.05)
    assert pi2[1][0] == pytest.approx(-sol.inner_radius, abs=0.05)
    # along 45°: through two gaps, so PI2 is open all across the concave portion
    d = 150 / math.sqrt(2)
    diag = cross_section_profile(top, ((1000 - d, 500 - d), (1000 + d, 500 + d)))
    assert len(diag["PI2"]) == 1
    s = np.linspace(-150, 150, 3001)
    films = stack(prof, s, {"pi2": 5.0})
    bottom, top_z = films["pi2"]
    ring_at = np.argmin(abs(s + (sol.inner_radius + sol.outer_radius) / 2))
    assert top_z[ring_at] - bottom[ring_at] == 5.0  # the convex ring
    assert top_z[1500] == bottom[1500]  # the concave opening at the centre
    png = cross_section_png(top, ((850, 500), (1150, 500)), tmp_path / "xs.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("wedge,flagged", [(60.0, True), (89.0, True), (91.0, False)])
def test_notch_guard_agrees_with_klayout(wedge: float, flagged: bool) -> None:
    from cells.rdl import _acute_notch

    a = math.radians(wedge)
    pts = [(-100, -100), (100, -100), (100, 0), (0, 0),
           (round(100 * math.cos(a), 3), round(100 * math.sin(a), 3)), (-100, 100)]
    assert (_acute_notch(Polygon(pts)) is not None) is flagged
    r = kdb.Region(kdb.Polygon([kdb.Point(um(x), um(y)) for x, y in pts]))
    assert (not r.space_check(um(10)).is_empty()) is flagged
