"""The CSP die with its chip pads beside their balls (``chip_pads.placement = "beside"``).

Each pad sits half a ball pitch to the right of its ball, so with the default 80 µm
pad and 260 µm land only 27.5 µm of trace is left between the pad's RDL cover and the
land: less than two default teardrops (1.5 × the trace width each) reach. The two used
to cross there and leave an acute notch in every net, and the default ``beside`` die
did not build. Each die here is built, written, and read back with KLayout
(``klayout.db``); the assertions are on the file: one RDL piece per net that covers its
land and its chip pad and runs between their centres, no acute notch (interior angles
of the merged RDL), no notch narrower than the RDL space (KLayout's notch check), a
stretch of plain trace between the two teardrops at least the RDL space long, and the
product's own checker passing.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import klayout.db as kdb
import pytest
from conftest import run_layoutgen

import layoutgen.check as checker
from cells.csp_products import design_from_spec
from cells.products import KINDS
from layoutgen.errors import ParameterError
from layoutgen.layers import DEFAULT_LAYERS

DBU = 0.001
#: a rule set without OSAT rules needs explicit widths (as in test_csp_products)
NO_OSAT = {"rules": "default", "rdl.trace_width": 10.0, "rdl.trace_space": 10.0,
           "chip_pads.pi1_enclosure": 7.5, "chip_pads.rdl_enclosure": 10.0}

#: name -> values on top of the defaults and placement = "beside"
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no_teardrops": {"rdl.teardrop_length": 0.0},
    "teardrops_1.5x_default": {"rdl.teardrop_length": 22.5},
    "teardrops_longest": {"rdl.teardrop_length": 200.0},
    "pad_60": {"chip_pads.size": 60.0},
    # the largest pad balls.pitch allows: its RDL cover exactly the RDL space from the land
    "pad_115": {"chip_pads.size": 115.0},
    "trace_20": {"rdl.trace_width": 20.0},
    "pitch_500": {**NO_OSAT, "balls.pitch": 500.0, "die.width": 4000.0,
                  "die.height": 4000.0},
    "pitch_300": {**NO_OSAT, "balls.pitch": 300.0, "ball_pad.concave_diameter": 160.0,
                  "ball_pad.ring_inner_diameter": 80.0, "ball_pad.pi3_diameter": 140.0,
                  "ball_pad.ball_diameter": 180.0, "chip_pads.size": 40.0},
}


def um(x: float) -> int:
    """µm -> database units."""
    return int(round(x / DBU))


def layer(ly: kdb.Layout, name: str) -> kdb.Region:
    """One default layer of the file's top cell, flattened and merged."""
    lay = DEFAULT_LAYERS[name]
    li = ly.find_layer(lay.layer, lay.datatype)
    r = kdb.Region()
    if li is not None:
        r.insert(ly.top_cells()[0].begin_shapes_rec(li))
    return r.merged(True, 0)


def point_box(x: float, y: float) -> kdb.Region:
    """A 2 nm square about (x, y), µm."""
    return kdb.Region(kdb.Box(um(x) - 1, um(y) - 1, um(x) + 1, um(y) + 1))


def acute_notches(r: kdb.Region, limit: float = 90.0) -> list[tuple[float, float]]:
    """Concave vertices of the merged region whose empty wedge is below ``limit`` degrees
    (µm): computed here from the vertices, independently of the router's own test."""
    out = []
    for poly in r.merged(True, 0).each():
        contours = [list(poly.each_point_hull())]
        contours += [list(poly.each_point_hole(h)) for h in range(poly.holes())]
        for k, pts in enumerate(contours):
            xy = [(p.x * DBU, p.y * DBU) for p in pts]
            n = len(xy)
            area = sum(xy[i][0] * xy[(i + 1) % n][1] - xy[(i + 1) % n][0] * xy[i][1]
                       for i in range(n))
            if (area > 0) != (k == 0):  # material on the left: hull CCW, holes CW
                xy = xy[::-1]
            for i in range(n):
                (ax, ay), (bx, by), (cx, cy) = xy[i - 1], xy[i], xy[(i + 1) % n]
                ux, uy, vx, vy = bx - ax, by - ay, cx - bx, cy - by
                turn = math.degrees(math.atan2(ux * vy - uy * vx, ux * vx + uy * vy))
                if turn < 0 and 180.0 + turn < limit - 1e-6:  # right turn: concave
                    out.append((bx, by))
    return out


def test_acute_notch_finder() -> None:
    """The notch finder flags the V between two crossing bars and not a square notch."""
    def bar(angle: float) -> kdb.Polygon:
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        pts = [(-50 * c + 5 * s, -50 * s - 5 * c), (50 * c + 5 * s, 50 * s - 5 * c),
               (50 * c - 5 * s, 50 * s + 5 * c), (-50 * c - 5 * s, -50 * s + 5 * c)]
        return kdb.Polygon([kdb.Point(um(x), um(y)) for x, y in pts])

    cross = kdb.Region(bar(0)) + kdb.Region(bar(40))  # wedges of 40° and 140°
    assert len(acute_notches(cross)) == 2
    tee = kdb.Region(bar(0)) + kdb.Region(bar(90))  # every wedge 90°
    assert acute_notches(tee) == []
    assert acute_notches(kdb.Region(kdb.Box(0, 0, 1000, 1000))) == []


def build_beside(folder: Path, values: dict[str, Any]) -> tuple[Path, list[dict], Any]:
    """Build the beside die with ``values``, write its files: (GDS, ball map rows, design)."""
    kind = KINDS["csp_die"]
    spec = kind.make_spec("t", {"chip_pads.placement": "beside", "xsection.enabled": False,
                                **values})
    result = kind.build(spec, DEFAULT_LAYERS)
    folder.mkdir(parents=True, exist_ok=True)
    for a in result.artifacts:
        a.write(folder / a.name)
    design, _rules = design_from_spec(spec)
    rows = list(csv.DictReader((folder / "t_ballmap.csv").open()))
    return folder / "t.gds", rows, (spec, design)


def span_across(piece: kdb.Region, x: float, y: float, reach: float) -> float:
    """Height (µm) of the metal of ``piece`` on the vertical line at ``x`` through ``y``
    (0.002 µm wide, ``reach`` up and down)."""
    cut = piece & kdb.Region(kdb.Box(um(x) - 1, um(y - reach), um(x) + 1, um(y + reach)))
    return 0.0 if cut.is_empty() else cut.bbox().height() * DBU


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def beside_die(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> dict[str, Any]:
    name = request.param
    gds, rows, (spec, design) = build_beside(tmp_path_factory.mktemp(name), VARIANTS[name])
    ly = kdb.Layout()
    ly.read(str(gds))
    assert abs(ly.dbu - DBU) < 1e-12
    return {"name": name, "gds": gds, "rows": rows, "spec": spec, "design": design,
            "rdl": layer(ly, "RDL"), "pi3": layer(ly, "PI3"), "pi1": layer(ly, "PI1")}


def test_every_net_is_one_piece_from_land_to_pad(beside_die: dict[str, Any]) -> None:
    """One RDL piece per ball; it holds its ball's and its pad's centres and no others,
    covers the ball's PI3 hole and the pad's PI1 opening, and has metal all along the
    straight line between the two centres."""
    rdl, rows = beside_die["rdl"], beside_die["rows"]
    pieces = [kdb.Region(p) for p in rdl.each()]
    assert len(rows) == 40 and len(pieces) == len(rows)
    centres = [(float(r["x_um"]), float(r["y_um"])) for r in rows]
    centres += [(float(r["pad_x_um"]), float(r["pad_y_um"])) for r in rows]
    for r in rows:
        bx, by = float(r["x_um"]), float(r["y_um"])
        px, py = float(r["pad_x_um"]), float(r["pad_y_um"])
        assert py == by and px > bx  # beside: to the right, on the ball's row
        mine = [p for p in pieces if not (p & point_box(bx, by)).is_empty()]
        assert len(mine) == 1, r["ball"]
        piece = mine[0]
        inside = [c for c in centres if not (piece & point_box(*c)).is_empty()]
        assert sorted(inside) == sorted([(bx, by), (px, py)]), r["ball"]
        # the trace runs the whole way (a 1 µm strip on the centreline is all metal)
        strip = kdb.Region(kdb.Box(um(bx), um(by - 0.5), um(px), um(by + 0.5)))
        assert (strip - piece).is_empty(), r["ball"]
        # it reaches the land (over the ball's PI3 hole) and the chip pad (over its
        # PI1 opening)
        hole = beside_die["pi3"].interacting(point_box(bx, by))
        opening = beside_die["pi1"].interacting(point_box(px, py))
        assert hole.count() == 1 and opening.count() == 1
        assert (hole - piece).is_empty() and (opening - piece).is_empty(), r["ball"]


def test_no_acute_or_narrow_notch(beside_die: dict[str, Any]) -> None:
    """No concave corner of the RDL sharper than 90° and (KLayout's notch check, with the
    projection metric as a DRC deck would run it on polygonised circles) no notch
    narrower than the RDL space, in any net."""
    rdl = beside_die["rdl"]
    design = beside_die["design"]
    assert acute_notches(rdl) == []
    assert rdl.notch_check(um(design.rdl.trace_space), False,
                           kdb.Region.Projection).is_empty()


def test_teardrops_leave_plain_trace_between_them(beside_die: dict[str, Any]) -> None:
    """Between the land and the pad's RDL cover the metal narrows to the trace width for
    a stretch at least the RDL space long (the two teardrops never meet), and where
    teardrops are asked for and there is room for them the metal is wider than the
    trace just outside both ends."""
    design, rows = beside_die["design"], beside_die["rows"]
    w, space = design.rdl.trace_width, design.rdl.trace_space
    asked = design.rdl.teardrop_length != 0
    for r in rows[:7] + rows[-3:]:
        bx, by, px = float(r["x_um"]), float(r["y_um"]), float(r["pad_x_um"])
        piece = beside_die["rdl"].interacting(point_box(bx, by))
        reach = design.ball_pad.land_diameter
        land_r = span_across(piece, bx, by, reach) / 2
        cover = span_across(piece, px, by, reach) / 2
        x0, x1 = bx + land_r, px - cover  # the land's and the cover's edges on the trace
        assert x1 - x0 >= space - 0.01
        steps = [x0 + (x1 - x0) * k / 400 for k in range(1, 400)]
        spans = [span_across(piece, x, by, reach) for x in steps]
        plain = [x for x, s in zip(steps, spans, strict=True) if abs(s - w) < 0.002]
        assert plain, r["ball"]
        assert plain[-1] - plain[0] >= space - 2 * (x1 - x0) / 400 - 0.01, r["ball"]
        if asked and x1 - x0 > space + 2.0:  # room for teardrops: at both ends
            assert span_across(piece, x0 + 0.5, by, reach) > w + 1.0, r["ball"]
            assert span_across(piece, x1 - 0.5, by, reach) > w + 1.0, r["ball"]
        else:  # only the fillet the land's curve needs: nothing at the square pad
            assert span_across(piece, x1 - 0.5, by, reach) == pytest.approx(w, abs=0.002)


def test_checker_passes(beside_die: dict[str, Any]) -> None:
    """The product's own checker, with its own rule set, passes the die."""
    checker.assert_passes(beside_die["gds"], rules=beside_die["spec"]["rules"])


def test_default_beside_builds_and_checks_from_the_command_line(tmp_path: Path) -> None:
    """The bug report: a spec with only ``placement = "beside"`` builds, passes its own
    check, and ``layoutgen check --rules amkor-400`` passes the written file."""
    spec = tmp_path / "beside.toml"
    spec.write_text('kind = "csp_die"\nname = "beside_test"\n[chip_pads]\n'
                    'placement = "beside"\n')
    out = tmp_path / "out"
    proc = run_layoutgen("build", str(spec), "--out", str(out), "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    gds = out / "beside_test.gds"
    proc = run_layoutgen("check", str(gds), "--rules", "amkor-400")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED" in proc.stdout
    ly = kdb.Layout()
    ly.read(str(gds))
    rdl = layer(ly, "RDL")
    assert rdl.count() == 40 and acute_notches(rdl) == []


def test_router_path_with_a_net_map(tmp_path: Path) -> None:
    """The same wiring given as ``nets.map`` goes through the grid router instead of the
    straight traces: it builds too, one piece per net, no acute notch, checker passes."""
    from cells.csp import CspDesign, design_balls

    balls = [b.name for b in design_balls(CspDesign()).balls]
    gds, rows, (spec, _design) = build_beside(
        tmp_path, {"nets.map": [[f"P{k + 1}", b] for k, b in enumerate(balls)]})
    ly = kdb.Layout()
    ly.read(str(gds))
    rdl = layer(ly, "RDL")
    assert rdl.count() == len(rows) == 40
    assert acute_notches(rdl) == []
    checker.assert_passes(gds, rules=spec["rules"])


def test_a_pad_too_large_for_the_gap_is_refused() -> None:
    """One µm more pad than fits between the land and its neighbour: refused before any
    routing, naming a parameter."""
    with pytest.raises(ParameterError) as err:
        build_beside(Path("/nonexistent"), {"chip_pads.size": 116.0})
    assert err.value.key == "balls.pitch"
