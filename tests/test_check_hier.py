"""Hierarchy: the checker judges each distinct cell once and maps the verdicts through the
placements; ``check(..., flat=True)`` flattens everything. Both must report the same
violations (check id and position) on arrays, rotated and mirrored arrays, nested
arrays, interacting placements (a ring split over sub-cells, shapes drawn in the top
cell over a die, overlapping dies), and KLayout must agree with the verdicts.
Also the scribe.* checks, which judge die outlines across the whole layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import klayout.db as kdb
import pytest
from klayouts import (
    DBU,
    DIE_HALF,
    Lay,
    box,
    capped_array,
    capped_die,
    csp_die,
    kl_ball_connected,
    kl_emboss,
    kl_scribe,
    kl_seal_closed,
    kl_spacers,
    lattice,
    place_grid,
    read_flat,
    region,
    square_frame,
)

from layoutgen.check import check
from layoutgen.rules import load_ruleset

SCRIBE = load_ruleset("default")["scribe.min_width"]  # 50 µm
PITCH = 2100.0


def same_violations(a, b, tol: float = 0.05) -> bool:
    """The same multiset of (check id, x, y), positions equal within ``tol`` µm (what
    comparing positions rounded to 0.1 µm means, without the rounding boundary)."""
    if len(a.violations) != len(b.violations):
        return False
    left = list(b.violations)
    for v in a.violations:
        hit = next((w for w in left if w.check == v.check
                    and math.hypot(w.x - v.x, w.y - v.y) <= tol), None)
        if hit is None:
            return False
        left.remove(hit)
    return True


def keys(r) -> list[tuple[str, float, float]]:
    return sorted((v.check, round(v.x, 1), round(v.y, 1)) for v in r.violations)


def local_to_top(x: float, y: float, rot: float, mirror: bool, at: tuple[float, float]
                 ) -> kdb.DCplxTrans:
    return kdb.DCplxTrans(1, rot, mirror, at[0], at[1]) * kdb.DCplxTrans(1, 0, False, x, y)


def tbox(x0: float, y0: float, x1: float, y1: float, t: kdb.DCplxTrans) -> kdb.Polygon:
    """A box given in a die's own frame, carried into the top frame by ``t``."""
    return kdb.DPolygon(kdb.DBox(x0, y0, x1, y1)).transformed(t).to_itype(DBU)


# ---------------------------------------------------------------- layouts
Builder = Callable[[Path], tuple[Path, str, int]]  # -> (path, rules, violations expected)


def arr(nx: int, ny: int, rot: float = 0.0, mirror: bool = False, n_bad: int = 1,
        **kw) -> Builder:
    def build(tmp: Path) -> tuple[Path, str, int]:
        p, _ = capped_array(tmp / "a.gds", nx, ny, rot=rot, mirror=mirror, **kw)
        return p, "default", n_bad
    return build


def stray(rot: float) -> Builder:
    """A spacer dropped on one die's ring and a stray ACTIVE, both in the top cell."""
    def build(tmp: Path) -> tuple[Path, str, int]:
        lay = Lay()
        g = lay.cell("DIE")
        capped_die(lay, g)
        cs = place_grid(lay, lay.top, g, 3, 2, PITCH, rot)
        lay.add(lay.top, "CAP_SPACER", tbox(-10, 680, 10, 700, local_to_top(0, 0, rot, False,
                                                                           cs[4])))
        lay.add(lay.top, "ACTIVE", tbox(-900, -900, -850, -850, local_to_top(0, 0, rot, False,
                                                                             cs[2])))
        return lay.write(tmp / "s.gds"), "default", 3
    return build


def patch(rot: float, mirror: bool) -> Builder:
    """One die's ring has a 1 µm gap; a solder patch drawn in the top cell closes it."""
    def build(tmp: Path) -> tuple[Path, str, int]:
        lay = Lay()
        g, b = lay.cell("DIE"), lay.cell("GAPPED")
        capped_die(lay, g)
        capped_die(lay, b, gap=1.0)
        cs = place_grid(lay, lay.top, g, 3, 2, PITCH, rot, mirror, b, (1, 0))
        lay.add(lay.top, "CAP_SOLDER", tbox(-5, 650, 10, 730, local_to_top(0, 0, rot, mirror,
                                                                         cs[1])))
        return lay.write(tmp / "p.gds"), "default", 0
    return build


def split(rot: float) -> Builder:
    """Rings split into halves in two sub-cells, one of them with a 1 dbu gap."""
    def build(tmp: Path) -> tuple[Path, str, int]:
        p, _ = capped_array(tmp / "a.gds", 3, 2, rot=rot, good=dict(ring="split_cells"),
                            bad=dict(gap=DBU if rot % 90 == 0 else 1.0), bad_at=(0, 1))
        return p, "default", 1
    return build


def nested(tmp: Path) -> tuple[Path, str, int]:
    """die -> row (an AREF of 3 good dies and one with pieces touching at a corner) ->
    top (an AREF of 3 rows, rotated by 90° and mirrored)."""
    lay = Lay()
    g, b, row = lay.cell("DIE"), lay.cell("BAD"), lay.cell("ROW")
    capped_die(lay, g, ring="four_cells")
    capped_die(lay, b, corner_touch=True)
    lay.place(row, g, 0, 0, na=3, a=(PITCH, 0))
    lay.place(row, b, 3 * PITCH, 0)
    lay.place(lay.top, row, 0, 0, rot=90, mirror=True, na=3, a=(PITCH, 0))
    return lay.write(tmp / "n.gds"), "default", 3


def csp(rot: float, mirror: bool, bad: list[dict]) -> Builder:
    def build(tmp: Path) -> tuple[Path, str, int]:
        lay = Lay()
        g, b = lay.cell("CSP"), lay.cell("CSP_BAD")
        csp_die(lay, g, nseg=8)
        csp_die(lay, b, nseg=8, pads=bad)
        place_grid(lay, lay.top, g, 3, 2, 1100.0, rot, mirror, b, (2, 1))
        return lay.write(tmp / "c.gds"), "amkor-400", -1
    return build


def halves(tmp: Path) -> tuple[Path, str, int]:
    """Left half-rings, right half-rings and the active areas placed by three separate
    AREFs (rotated 30°): only together do they make closed rings. A seventh die's right
    half is placed 1 µm off."""
    lay = Lay()
    left, right, core = lay.cell("LEFT"), lay.cell("RIGHT"), lay.cell("CORE")
    a, b = 650.0, 730.0
    lay.add(left, "CAP_SOLDER", square_frame(0, 0, a, b) & region(box(-b, -b, 0, b)))
    lay.add(right, "CAP_SOLDER", square_frame(0, 0, a, b) & region(box(0, -b, b, b)))
    lay.add(core, "ACTIVE", box(-600, -600, 600, 600))
    lay.add(core, "CAP_METAL", square_frame(0, 0, a - 10, b + 10))
    va, vb = lattice(PITCH, 30)
    for c in (left, right, core):
        lay.place(lay.top, c, 0, 0, rot=30, na=3, nb=2, a=va, b=vb)
    x, y = 3 * va[0], 3 * va[1]
    lay.place(lay.top, left, x, y, rot=30)
    lay.place(lay.top, core, x, y, rot=30)
    lay.place(lay.top, right, x + 1.0, y, rot=30)
    return lay.write(tmp / "h.gds"), "default", 1


def magnified(tmp: Path) -> tuple[Path, str, int]:
    """Dies drawn at half scale (35 µm bead), placed by an AREF with magnification 2."""
    lay = Lay()
    g = lay.cell("HALF")
    capped_die(lay, g, width=35.0, inner=325.0, active_half=300.0, spacer="none", pads="none",
               cut="none", metal="exact", die=False)
    lay.place(lay.top, g, 0, 0, mag=2.0, na=2, nb=2, a=(PITCH, 0), b=(0, PITCH))
    return lay.write(tmp / "m.gds"), "default", 0


def overlapping(tmp: Path) -> tuple[Path, str, int]:
    p, _ = capped_array(tmp / "o.gds", 3, 2, pitch=1900.0)
    return p, "default", -1


LAYOUTS: dict[str, Builder] = {
    "array": arr(4, 3, bad=dict(gap=DBU), bad_at=(2, 1)),
    "array-r30": arr(4, 3, rot=30, bad=dict(gap=1.0), bad_at=(3, 2)),
    "array-r90-mirror": arr(4, 3, rot=90, mirror=True, bad=dict(spacer="on_ring"), n_bad=2),
    "array-r30-clearance": arr(3, 2, rot=30, bad=dict(active_half=640)),
    "array-r30-metal": arr(3, 2, rot=30, bad=dict(metal="narrow")),
    "array-r30-cut": arr(3, 2, rot=30, bad=dict(cut="through_seal")),
    "array-r30m-pads": arr(3, 2, rot=30, mirror=True, bad=dict(pads="covered")),
    "array-r45-neck": arr(3, 2, rot=-45, bad=dict(neck=40, neck_shape="chamfer")),
    "array-ring59-r0": arr(3, 2, bad=dict(width=59.0)),
    "array-ring59-r90m": arr(3, 2, rot=90, mirror=True, bad=dict(width=59.0)),
    "bars-r30": arr(3, 2, rot=30, good=dict(ring="bars_cells"), n_bad=0),
    "stray-r0": stray(0.0),
    "stray-r30": stray(30.0),
    "patch-r0": patch(0.0, False),
    "patch-r90m": patch(90.0, True),
    "split-r0": split(0.0),
    "split-r30": split(30.0),
    "halves-arefs-r30": halves,
    "nested-r90m": nested,
    "csp-r30": csp(30.0, False, [dict(ratio=1.5, nseg=8), dict(rdl="cut")]),
    "csp-r90m": csp(90.0, True, [dict(pad_open="no_pass"), dict(ring="none")]),
    "overlapping": overlapping,
    "magnified": magnified,
}
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_flat_and_hierarchical_agree(tmp_path: Path, name: str) -> None:
    p, rules, n = LAYOUTS[name](tmp_path)
    h = check(p, rules=rules)
    f = check(p, rules=rules, flat=True)
    assert h.mode == "hierarchical" and f.mode == "flat"
    if n >= 0:
        assert len(h.violations) == n, h.table()
    assert h.checks == f.checks
    assert {k: r.violations for k, r in h.results.items()} == \
        {k: r.violations for k, r in f.results.items()}
    if name != "overlapping":  # (overlapping dies' shapes merge across dies when flat)
        assert {k: r.judged for k, r in h.results.items()} == \
            {k: r.judged for k, r in f.results.items()}
    assert same_violations(h, f), (keys(h), keys(f))


# ---------------------------------------------------------------- verdicts vs KLayout
def test_stray_shapes_in_top_cell(tmp_path: Path) -> None:
    p, _, _ = stray(30.0)(tmp_path)
    r = check(p)
    assert {v.check for v in r.violations} == {"seal.closed", "spacer.in_cut",
                                               "spacer.off_seal"}
    f = read_flat(p)
    assert kl_spacers(f) == (False, False)
    kl = kl_seal_closed(f, heal=2)
    assert len(kl) == 7 and sum(1 for _, ok in kl if not ok) == 1
    assert r.results["seal.closed"].judged == 7


@pytest.mark.parametrize("rot,mirror", [(0.0, False), (90.0, True), (30.0, False)])
def test_patch_in_top_cell_closes_the_ring(tmp_path: Path, rot: float, mirror: bool) -> None:
    """Judging the gapped die's cell alone would find it open: the patch drawn over it
    in the top cell must be judged with it."""
    p, _, _ = patch(rot, mirror)(tmp_path)
    r = check(p)
    assert r.passed, r.table()
    assert r.results["seal.closed"].judged == 6
    assert all(ok for _, ok in kl_seal_closed(read_flat(p), heal=0 if rot % 90 == 0 else 2))


def test_half_rings_from_separate_arrays(tmp_path: Path) -> None:
    p, _, _ = halves(tmp_path)
    r = check(p)
    assert r.results["seal.closed"].judged == 7
    (v,) = r.violations
    kl = [c for c, ok in kl_seal_closed(read_flat(p), heal=2) if not ok]
    assert len(kl) == 1 and math.dist((v.x, v.y), kl[0]) < 0.01


def test_nested_arrays(tmp_path: Path) -> None:
    p, _, _ = nested(tmp_path)
    r = check(p)
    assert r.results["seal.closed"].judged == 12
    bad = sorted((round(v.x, 3), round(v.y, 3)) for v in r.by_check("seal.closed"))
    kl = sorted((round(x, 3), round(y, 3)) for (x, y), ok in kl_seal_closed(read_flat(p))
                if not ok)
    assert bad == kl and len(bad) == 3


def test_csp_array_verdicts_agree_with_klayout(tmp_path: Path) -> None:
    p, rules, _ = csp(30.0, False, [dict(ratio=1.5, nseg=8), dict(rdl="cut")])(tmp_path)
    r = check(p, rules=rules)
    f = read_flat(p)
    ems = kl_emboss(f)
    assert len(ems) == 12 and all(e is not None for e in ems)
    bad_ratio = [e for e in ems if abs(e.ratio - 1) > 0.1]
    assert len(bad_ratio) == 1 and r.results["emboss.ratio"].violations == 1
    assert kl_ball_connected(f).count(False) == 1
    assert r.results["rdl.connected"].violations == 1
    assert r.results["emboss.present"].details["segments"] == {"8": 12}


# ---------------------------------------------------------------- scribe
def _scribe(p: Path) -> tuple[bool, bool]:
    return kl_scribe(read_flat(p), SCRIBE)


@pytest.mark.parametrize("pitch,overlap_ok,lanes_ok", [
    (PITCH, True, True), (2 * DIE_HALF + SCRIBE, True, True),
    (2 * DIE_HALF + SCRIBE - DBU, True, False), (2 * DIE_HALF, True, False),
    (1900.0, False, True)])
def test_scribe(tmp_path: Path, pitch: float, overlap_ok: bool, lanes_ok: bool) -> None:
    """Lanes exactly the rule pass, one dbu less fail; abutting dies have no lane;
    overlapping dies overlap."""
    p, _ = capped_array(tmp_path / "a.gds", 3, 3, pitch=pitch)
    r = check(p)
    assert r.results["scribe.overlap"].passed is overlap_ok
    assert r.results["scribe.width"].passed is lanes_ok
    assert r.results["scribe.overlap"].judged == 9
    assert _scribe(p) == (overlap_ok, lanes_ok)
    if not lanes_ok:  # 6 + 6 side neighbours; diagonal ones only when the dies abut
        assert r.results["scribe.width"].violations == (20 if pitch == 2 * DIE_HALF else 12)
        assert all(v.value == pytest.approx(pitch - 2 * DIE_HALF, abs=1e-3)
                   for v in r.by_check("scribe.width"))
    if not overlap_ok:  # 12 side neighbours and 8 diagonal ones overlap
        assert r.results["scribe.overlap"].violations == 20


@pytest.mark.parametrize("pitch,lanes_ok", [(2060.0, True), (2040.0, False)])
def test_scribe_rotated_array(tmp_path: Path, pitch: float, lanes_ok: bool) -> None:
    p, _ = capped_array(tmp_path / "a.gds", 3, 2, pitch=pitch, rot=30)
    r = check(p)
    assert r.results["scribe.width"].passed is lanes_ok
    assert _scribe(p) == (True, lanes_ok)
    assert same_violations(r, check(p, flat=True))


def test_one_misplaced_die(tmp_path: Path) -> None:
    """A 3 × 3 array at a good pitch plus one die placed 30 µm from its neighbour."""
    lay = Lay()
    g = lay.cell("DIE")
    capped_die(lay, g)
    place_grid(lay, lay.top, g, 3, 3, PITCH)
    lay.place(lay.top, g, 3 * PITCH - 70, 0)  # lane to the die at (4200, 0): 30 µm
    p = lay.write(tmp_path / "m.gds")
    r = check(p)
    (v,) = r.by_check("scribe.width")
    assert v.value == pytest.approx(30.0, abs=1e-3)
    assert 2 * PITCH + DIE_HALF - 1 <= v.x <= 3 * PITCH - 70 - DIE_HALF + 1
    assert _scribe(p) == (True, False)
    assert r.results["seal.closed"].passed


def test_klayout_context_cell_is_not_judged(tmp_path: Path) -> None:
    """KLayout and gdsfactory write a ``$$$CONTEXT_INFO$$$`` top cell that places library
    cells at the origin; KLayout's reader drops it, and so must the checker (here it
    would put a spacer into the sealed cavity at (0, 0))."""

    def die_and_second_top(top2: str, name: str) -> Path:
        """A capped die in TOP; a second top cell ``top2`` places a spacer at (0, 0)."""
        lay = Lay()
        capped_die(lay, lay.top)
        spacer = lay.cell("SPACER")
        lay.add(spacer, "CAP_SPACER", box(-25, -25, 25, 25))
        lay.place(lay.ly.create_cell(top2), spacer, 0, 0)
        return lay.write(tmp_path / name)

    assert check(die_and_second_top("$$$CONTEXT_INFO$$$", "ctx.gds")).passed
    # the same placement in a real top cell is judged, and fails
    rep = check(die_and_second_top("OTHER_TOP", "other.gds"))
    assert not rep.passed and rep.results["spacer.off_seal"].violations >= 1
