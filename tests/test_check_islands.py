"""Islands and interaction: what the hierarchical engine judges together.

A scope whose shapes fall into repeated islands (a die's ball pads, each with its own
trace and chip pad) is judged island by island, each distinct island once; the
verdicts must be those of judging the scope whole. And placements that must be judged
together are: an ACTIVE area in one cell sealed by a ring drawn as bars in another,
ball centres in separate cells closer than the pitch, a metal piece in another cell
that gives the solder its enclosure. Each case is judged hierarchically through the
placement engine (``SMALL_CELL = 0``: no cell judged flat for being small), with the
default small-cell rule, and flat; KLayout judges the same files.
"""

from __future__ import annotations

import math
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
from klayouts import (
    DBU,
    Lay,
    box,
    csp_die,
    disc,
    kl_emboss,
    kl_enclosed,
    kl_seal_closed,
    read_flat,
    square_frame,
)

from layoutgen.check import check
from layoutgen.check import engine as E
from layoutgen.check import islands as I
from layoutgen.rules import load_ruleset

MODES = ("placements", "small-cells-flat", "flat")


def judge(path: Path, mode: str, monkeypatch: pytest.MonkeyPatch, rules=None):
    """Check ``path`` in one of MODES."""
    if mode == "placements":
        monkeypatch.setattr(E, "SMALL_CELL", 0)
    r = check(path, rules=rules or "default", flat=(mode == "flat"))
    monkeypatch.undo()
    return r


def marks(r, check_id: str) -> list[tuple[float, float]]:
    return sorted((round(v.x, 2), round(v.y, 2)) for v in r.by_check(check_id))


# ---------------------------------------------------------------- a ring of bars
def bars(half: float, width: float, gap: float = 0.0) -> list[tuple[str, object]]:
    """Four CAP_SOLDER bars around the origin (inner half-size ``half``), the top bar
    cut by a ``gap`` when > 0, and a CAP_METAL frame under them: (layer, shape)."""
    o = half + width
    out: list[tuple[str, object]] = [
        ("CAP_SOLDER", box(-o, -o, o, -half)), ("CAP_SOLDER", box(-o, -half, -half, half)),
        ("CAP_SOLDER", box(half, -half, o, half))]
    if gap > 0:
        out += [("CAP_SOLDER", box(-o, half, -gap / 2, o)),
                ("CAP_SOLDER", box(gap / 2, half, o, o))]
    else:
        out.append(("CAP_SOLDER", box(-o, half, o, o)))
    out.append(("CAP_METAL", square_frame(0, 0, 2 * (half - 20), 2 * (o + 20))))
    return out


@pytest.mark.parametrize("gap", [0.0, 30.0])
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_active_sealed_by_bars_of_another_cell(tmp_path: Path, mode: str, split: bool,
                                               gap: float, monkeypatch) -> None:
    """The ACTIVE area's cell and the ring's cell(s) meet nowhere by their shapes'
    boxes (the bars lie 100 µm beyond the ACTIVE, the clearance is 50 µm): only the
    ring as a whole holds the ACTIVE in its box. ``split``: each bar in a cell of its
    own."""
    lay = Lay()
    act = lay.cell("ACT")
    lay.add(act, "ACTIVE", box(-500, -500, 500, 500))
    ring = None if split else lay.cell("RING")
    for layer, shape in bars(600, 80, gap):
        cell = lay.cell("BAR") if split else ring
        lay.add(cell, layer, shape)
        if split:
            lay.place(lay.top, cell, 3000, 2000)
    if ring is not None:
        lay.place(lay.top, ring, 3000, 2000)
    lay.place(lay.top, act, 3000, 2000)
    p = lay.write(tmp_path / "bars.gds")
    kl = kl_seal_closed(read_flat(p))
    assert [ok for _, ok in kl] == [gap == 0]
    r = judge(p, mode, monkeypatch)
    assert r.results["seal.closed"].judged == 1
    assert r.results["seal.closed"].violations == (1 if gap else 0)
    assert r.results["seal.clearance"].judged == 1
    assert r.results["seal.clearance"].violations == 0
    if gap:
        assert marks(r, "seal.closed") == [(3000.0, 2000.0)]
        assert "open" in r.by_check("seal.closed")[0].message


# ---------------------------------------------------------------- ball pitch
@pytest.mark.parametrize("dist", [300.0, 399.0, 400.0, 450.0])
@pytest.mark.parametrize("mode", MODES)
def test_ball_pitch_across_cells(tmp_path: Path, mode: str, dist: float, monkeypatch) -> None:
    """Two balls, each in a cell of its own, ``dist`` apart centre to centre (amkor-400:
    ball.pitch 400 µm): closer than the pitch fails in every mode."""
    rules = load_ruleset("amkor-400")
    lay = Lay()
    ball = lay.cell("BALL")
    lay.add(ball, "BALL", disc(125.0))
    lay.place(lay.top, ball, 0, 0)
    other = lay.cell("BALL2")
    lay.add(other, "BALL", disc(125.0))
    lay.place(lay.top, other, dist, 0)
    p = lay.write(tmp_path / "balls.gds")
    ly = kdb.Layout()
    ly.read(str(p))
    reg = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(40, 0)))
    cs = [((q.bbox().left + q.bbox().right) / 2 * DBU) for q in reg.each_merged()]
    kl_bad = abs(cs[0] - cs[1]) < rules["ball.pitch"] - 1e-6
    r = judge(p, mode, monkeypatch, rules)
    assert r.results["drc.ball.pitch"].violations == (1 if dist < 400 else 0) == int(kl_bad)


# ---------------------------------------------------------------- enclosure
@pytest.mark.parametrize("outer", [25.0, 15.0])
@pytest.mark.parametrize("mode", MODES)
def test_metal_enclosure_from_another_cell(tmp_path: Path, mode: str, outer: float,
                                           monkeypatch) -> None:
    """The solder ring's own metal reaches 10 µm beyond it; a frame in another cell,
    starting 5 µm beyond the solder (so no shape of it touches the solder's box),
    reaches ``outer`` µm. seal.metal_enclosure 20 µm: met with 25, not with 15."""
    rules = load_ruleset("default").with_values({"seal.metal_enclosure": 20.0}, "test")
    lay = Lay()
    ring = lay.cell("RING")
    lay.add(ring, "CAP_SOLDER", square_frame(0, 0, 600, 680))  # half sizes, µm
    lay.add(ring, "CAP_METAL", square_frame(0, 0, 580, 690))
    lay.add(ring, "ACTIVE", box(-500, -500, 500, 500))
    frame = lay.cell("FRAME")
    lay.add(frame, "CAP_METAL", square_frame(0, 0, 685, 680 + outer))
    lay.place(lay.top, ring, 0, 0)
    lay.place(lay.top, frame, 0, 0)
    p = lay.write(tmp_path / "enc.gds")
    f = read_flat(p)
    kl_ok = kl_enclosed(f["CAP_SOLDER"], f["CAP_METAL"], 20.0)
    assert kl_ok == (outer >= 20)
    r = judge(p, mode, monkeypatch, rules)
    assert (r.results["seal.metal"].violations == 0) == kl_ok


# ---------------------------------------------------------------- islands
BALLS = tuple((-1000.0 + 500.0 * i, -50.0) for i in range(5))


def _csp(tmp: Path, bad: dict[int, dict]) -> Path:
    lay = Lay()
    die = lay.cell("CSP")
    csp_die(lay, die, balls=BALLS, die=(1400.0, 500.0), nseg=8,
            pads=[bad.get(i, {}) for i in range(len(BALLS))])
    lay.place(lay.top, die, 0, 0, na=2, a=(3000.0, 0.0))
    return lay.write(tmp / "csp.gds")


@pytest.mark.parametrize("bad", [{}, {3: dict(ratio=1.5)}, {i: dict(ratio=1.5) for i in range(5)},
                                 {1: dict(rdl="cut")}])
def test_islands_judge_as_the_whole_scope(tmp_path: Path, bad: dict, monkeypatch) -> None:
    """Judged island by island or whole, a die of five ball pads gets the same report:
    checks, counts judged, details, every violation with its position and message."""
    p = _csp(tmp_path, bad)
    r = check(p, rules="amkor-400")
    assert r.stats["islands_judged"] < r.stats["islands"]
    monkeypatch.setattr(E, "ISLAND_REPEAT", math.inf)
    whole = check(p, rules="amkor-400")
    assert "islands" not in whole.stats
    assert {k: (v.judged, v.violations, v.details) for k, v in r.results.items()} == \
        {k: (v.judged, v.violations, v.details) for k, v in whole.results.items()}
    assert [(v.check, v.message) for v in r.violations] == \
        [(v.check, v.message) for v in whole.violations]
    # where the violation lies within a tiny region may move by a database unit
    assert all(math.hypot(v.x - w.x, v.y - w.y) <= 0.0015
               for v, w in zip(r.violations, whole.violations, strict=True))
    ems = kl_emboss(read_flat(p))
    n_bad = sum(1 for e in ems if abs(e.ratio - 1) > 0.1)
    assert r.results["emboss.ratio"].violations == n_bad
    assert n_bad == 2 * sum(1 for kn in bad.values() if "ratio" in kn)
    assert r.results["rdl.connected"].violations == 2 * sum(1 for kn in bad.values()
                                                            if "rdl" in kn)


def test_partition_keys_follow_translation() -> None:
    """Two copies of a shape group, one translated by whole database units, share a key;
    a copy one database unit different does not; an ACTIVE inside four bars that do not
    reach it is one island with them."""
    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    halo = {("PI3", "PI3"): 0.00025, ("ACTIVE", "CAP_SOLDER"): 50.0,
            ("CAP_SOLDER", "CAP_SOLDER"): 0.00025}
    moved = sq + [1000.0, 0.0]
    off = moved.copy()
    off[2] += 0.001
    raw = {"PI3": (np.vstack((sq, moved, off + 1000)), np.array([4, 4, 4]))}
    isl = I.partition(raw, halo, 0.001)
    assert isl.count == 3
    assert isl.keys[0] == isl.keys[1] != isl.keys[2]
    assert np.allclose(isl.origins[1] - isl.origins[0], [1000, 0])
    # four bars 100 µm from an ACTIVE, clearance relation only 50 µm
    barsxy = [(-780, -780, 780, -700), (-780, 700, 780, 780), (-780, -700, -700, 700),
              (700, -700, 780, 700)]
    sol = np.vstack([[[a, b], [c, b], [c, d], [a, d]] for a, b, c, d in barsxy]).astype(float)
    act = np.array([[-600, -600], [600, -600], [600, 600], [-600, 600]], dtype=float)
    isl = I.partition({"CAP_SOLDER": (sol, np.array([4] * 4)), "ACTIVE": (act, np.array([4]))},
                      halo, 0.001)
    assert isl.count == 1


def test_components() -> None:
    assert I.components(5, np.array([0, 3]), np.array([1, 4])).tolist() == [0, 0, 1, 2, 2]
    chain = np.arange(999)
    assert set(I.components(1000, chain, chain + 1).tolist()) == {0}
    assert I.components(3, np.array([], int), np.array([], int)).tolist() == [0, 1, 2]


@pytest.mark.parametrize("lane", [60.0, 500.0])
@pytest.mark.parametrize("mode", MODES)
def test_ball_pitch_is_within_a_die(tmp_path: Path, mode: str, lane: float, monkeypatch) -> None:
    """Balls of two neighbouring dies closer than the pitch across the lane (260 µm
    with a 60 µm lane) are not compared (ball.pitch is within a die), and do not make
    the dies interact; two balls of one die that close are compared."""
    rules = load_ruleset("amkor-400")
    lay = Lay()
    die = lay.cell("DIE")
    lay.add(die, "DIE", box(-500, -500, 500, 500))
    for x in (-400.0, 400.0):  # 800 µm apart, 100 µm from the die's side edges
        lay.add(die, "BALL", disc(50.0, x, 0.0))
    lay.place(lay.top, die, 0, 0, na=2, a=(1000.0 + lane, 0.0))
    p = lay.write(tmp_path / "dies.gds")
    r = judge(p, mode, monkeypatch, rules)
    assert r.results["drc.ball.pitch"].judged == 4
    assert r.results["drc.ball.pitch"].violations == 0
    if mode == "placements":
        assert r.stats["independent_placements"] >= 2
    # one die with its balls 300 µm apart: a violation, in every mode
    close = Lay()
    d2 = close.cell("DIE")
    close.add(d2, "DIE", box(-500, -500, 500, 500))
    b1, b2 = close.cell("B"), close.cell("B")
    close.add(b1, "BALL", disc(100.0))
    close.add(b2, "BALL", disc(100.0))
    close.place(d2, b1, -150, 0)
    close.place(d2, b2, 150, 0)
    close.place(close.top, d2, 0, 0, na=2, a=(1000.0 + lane, 0.0))
    p2 = close.write(tmp_path / "close.gds")
    r2 = judge(p2, mode, monkeypatch, rules)
    assert r2.results["drc.ball.pitch"].violations == 2


@pytest.mark.parametrize("kind", ["dies", "mixed", "points", "stacked"])
def test_box_pairs_equals_brute_force(kind: str) -> None:
    """The grid join finds exactly the pairs of boxes within d, in both orders."""
    rng = np.random.default_rng(7)
    if kind == "dies":  # a lattice of equal boxes, some one database unit apart
        xs, ys = np.meshgrid(np.arange(40) * 2100.0, np.arange(30) * 2100.0)
        lo = np.column_stack((xs.ravel(), ys.ravel()))
        b = np.hstack((lo, lo + [2000.0, 2000.0]))
        b[::7, 2] += 99.999
    elif kind == "mixed":  # alike sizes plus one huge box
        lo = rng.uniform(0, 5000, (300, 2))
        b = np.hstack((lo, lo + rng.uniform(1, 60, (300, 2))))
        b = np.vstack((b, [[-10.0, -10.0, 6000.0, 20.0]]))
    elif kind == "points":  # zero-size boxes
        lo = np.round(rng.uniform(0, 1000, (500, 2)))
        b = np.hstack((lo, lo))
    else:  # many boxes on one spot
        b = np.tile([[0.0, 0.0, 10.0, 10.0]], (100, 1))
    for d in (0.0, 0.001, 100.0):
        i, j = I.box_pairs(b, d)
        got = set(zip(i.tolist(), j.tolist(), strict=True))
        meet = ((b[:, None, 0] - d <= b[None, :, 2]) & (b[None, :, 0] <= b[:, None, 2] + d)
                & (b[:, None, 1] - d <= b[None, :, 3]) & (b[None, :, 1] <= b[:, None, 3] + d))
        np.fill_diagonal(meet, False)
        want = set(zip(*(x.tolist() for x in np.nonzero(meet)), strict=True))
        assert got == want and len(i) == len(got)
        i, j = I.box_pairs(b, d, both=False)
        once = set(zip(i.tolist(), j.tolist(), strict=True))
        assert (i < j).all() and len(once) == len(i)
        assert once == {(p, q) for p, q in want if p < q}


def test_scribe_from_boxes_equals_scribe_from_polygons() -> None:
    """The rectangle fast path of the scribe checks reports what the polygon path
    reports: same violations, values, positions and counts judged."""
    import shapely

    from layoutgen.check.checks import Context, check_scribe, check_scribe_boxes

    rules = load_ruleset("default")  # scribe.min_width 50 µm
    xs, ys = np.meshgrid(np.arange(12) * 2100.0, np.arange(9) * 2100.0)
    lo = np.column_stack((xs.ravel(), ys.ravel()))
    boxes = np.hstack((lo, lo + 2000.0))
    boxes[5] += [60.0, 0.0, 60.0, 0.0]       # lane of 40 µm on one side, 160 on the other
    boxes[30] += [99.999, 0.0, 99.999, 0.0]   # lane 0.001 µm
    boxes[50] += [150.0, 150.0, 150.0, 150.0]  # overlaps its diagonal neighbour
    boxes[70] += [100.0, 100.0, 100.0, 100.0]  # corners touch at a point
    enabled = {"scribe.overlap", "scribe.width"}
    a, b = Context(rules, enabled), Context(rules, enabled)
    check_scribe_boxes(boxes, a, 0.00025)
    check_scribe(list(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])), b,
                 0.00025)

    def summary(ctx):
        return sorted((v.check, round(v.x, 4), round(v.y, 4), v.message, v.value)
                      for v in ctx.violations)

    assert a.judged == b.judged == {"scribe.overlap": len(boxes), "scribe.width": len(boxes)}
    assert summary(a) == summary(b)
    assert {v.check for v in a.violations} == {"scribe.overlap", "scribe.width"}
    assert len(a.violations) >= 4


def test_boxes_meet_shifted_equals_one_shift_at_a_time() -> None:
    rng = np.random.default_rng(3)
    lo = rng.uniform(0, 100, (30, 2))
    fa = np.hstack((lo, lo + rng.uniform(0, 20, (30, 2))))
    lo = rng.uniform(0, 100, (20, 2))
    fb = np.hstack((lo, lo + rng.uniform(0, 20, (20, 2))))
    shifts = np.vstack((rng.uniform(-150, 150, (200, 2)), [[0.0, 0.0], [130.0, 0.0]]))
    for d in (0.0, 0.5, 10.0):
        want = [any(a[0] - d <= b[2] + r[0] and b[0] + r[0] <= a[2] + d
                    and a[1] - d <= b[3] + r[1] and b[1] + r[1] <= a[3] + d
                    for a in fa for b in fb) for r in shifts]
        assert E._boxes_meet_shifted(fa, fb, shifts, d).tolist() == want
        assert 0 < sum(want) < len(want)


@pytest.mark.parametrize("rot,mirror", [(30.0, False), (180.0, False), (270.0, True)])
def test_turned_keyholed_ring_is_sealed_hierarchically(tmp_path: Path, rot: float,
                                                       mirror: bool) -> None:
    """A ring KLayout writes as one keyholed polygon, in a cell placed turned: the
    default hierarchical check judges it sealed (a small top is judged flat only when
    every placement under it is a quarter turn, which the reader makes exact; a 30° turn
    is judged in the cell's own frame). KLayout agrees (healing the 1 nm rounding of its
    own flattening)."""
    lay = Lay()
    c = lay.cell("D")
    lay.add(c, "ACTIVE", box(-600, -600, 600, 600))
    lay.add(c, "CAP_SOLDER", square_frame(0, 0, 650, 730))
    lay.add(c, "CAP_METAL", square_frame(0, 0, 640, 740))
    lay.place(lay.top, c, -1050.0, -2100.0, rot=rot, mirror=mirror)
    p = lay.write(tmp_path / "keyhole.gds")
    assert [ok for _, ok in kl_seal_closed(read_flat(p), heal=2)] == [True]
    r = check(p)
    assert r.passed and r.results["seal.closed"].judged == 1
