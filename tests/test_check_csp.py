"""The checker's emboss.*, pad.*, rdl.* and drc.* checks on CSP dies written by KLayout.

Each die (tests/klayouts.py) has two embossed ball pads wired by RDL to two chip pads;
the convex ring's outer radius is solved so that (area inside the ring's inner edge) /
(ring area) is the wanted ratio on the drawn polygons. Every verdict is asserted for
the checker AND for KLayout's own computation on the same file.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from klayouts import (
    CSP_BALLS,
    DBU,
    Emb,
    box,
    csp_file,
    kl_ball_connected,
    kl_drc_ok,
    kl_emboss,
    kl_exposes_pi1_ok,
    kl_nets,
    kl_pad_stacks,
    read_flat,
)

from layoutgen.check import check
from layoutgen.rules import load_ruleset

DEFAULT = load_ruleset("default")
AMKOR = load_ruleset("amkor-400")
TOL = DEFAULT["emboss.ratio_tolerance"]   # 10 %
CHIP = Emb().chip                          # chip pad offset from its ball pad


def passed(report, check_id: str) -> bool:
    assert check_id in report.checks, f"{check_id} did not run: {report.checks}"
    return report.results[check_id].passed


def near(v, x: float, y: float, tol: float = 1.0) -> bool:
    return math.hypot(v.x - x, v.y - y) <= tol


def ball(i: int) -> tuple[float, float]:
    return CSP_BALLS[i]


def chip(i: int) -> tuple[float, float]:
    return (CSP_BALLS[i][0] + CHIP[0], CSP_BALLS[i][1] + CHIP[1])


# ---------------------------------------------------------------- a good die
@pytest.mark.parametrize("rules", ["default", "amkor-400"])
@pytest.mark.parametrize("nseg", [1, 3, 8])
def test_good_die_passes(tmp_path: Path, nseg: int, rules: str) -> None:
    p = csp_file(tmp_path / "d.gds", nseg=nseg, seg_gap=20.0 if nseg == 3 else 10.0)
    r = check(p, rules=rules)
    assert r.passed, r.table()
    for cid in ("emboss.present", "emboss.ring_inside", "emboss.ratio", "emboss.exposes_pi1",
                "pad.opened", "rdl.connected", "rdl.short"):
        assert cid in r.checks
        assert r.results[cid].judged >= 2
    if rules == "amkor-400":
        assert {c for c in r.checks if c.startswith("drc.")} == {
            "drc.pi1.width", "drc.pi1.space", "drc.pad.encloses_pi1", "drc.rdl.width",
            "drc.rdl.space", "drc.rdl.encloses_pi1", "drc.pi3.width", "drc.pi1_pi3.space",
            "drc.ubm.width", "drc.ubm.encloses_pi3", "drc.rdl.encloses_ubm",
            "drc.pi1_ubm.space", "drc.ubm.die_edge", "drc.ball.width", "drc.ball.pitch",
            "drc.ball.die_edge"}
    f = read_flat(p)
    ems = kl_emboss(f)
    assert len(ems) == 2 and all(e is not None for e in ems)
    for e in ems:
        assert e.segments == nseg
        assert e.ratio == pytest.approx(1.0, abs=2e-3)
        assert not e.touches_edge()
        assert kl_exposes_pi1_ok(f, e)
    assert kl_ball_connected(f) == [True, True]
    assert all(nb == 1 and np_ == 1 for _, nb, np_ in kl_nets(f))


@pytest.mark.parametrize("nseg", [1, 3, 8])
def test_segments_and_ratio_reported_as_klayout_measures(tmp_path: Path, nseg: int) -> None:
    p = csp_file(tmp_path / "d.gds", nseg=nseg, seg_gap=20.0 if nseg == 3 else 10.0,
                 ratio=1.05)
    r = check(p)
    ems = kl_emboss(read_flat(p))
    assert r.results["emboss.present"].details["segments"] == {str(ems[0].segments): 2}
    ratios = r.results["emboss.ratio"].details["ratios"]
    assert sum(ratios.values()) == 2
    for k in ratios:
        assert float(k) == pytest.approx(ems[0].ratio, abs=2e-3)


# ---------------------------------------------------------------- ratio
@pytest.mark.parametrize("nseg", [1, 8])
@pytest.mark.parametrize("ratio", [1.5, 0.6, 1.08, 0.92, 1.12, 0.88, 1.0 + TOL - 0.005,
                                   1.0 + TOL + 0.005, 1.0 - TOL + 0.005, 1.0 - TOL - 0.005])
def test_ratio(tmp_path: Path, ratio: float, nseg: int) -> None:
    """Thin rings (ratio > 1) and fat rings (ratio < 1): within 10 % passes."""
    ok = abs(ratio - 1.0) <= TOL
    p = csp_file(tmp_path / "d.gds", pads=[dict(ratio=ratio, nseg=nseg), {}])
    r = check(p)
    assert passed(r, "emboss.ratio") is ok
    ems = kl_emboss(read_flat(p))
    assert ems[0].ratio == pytest.approx(ratio, abs=2e-3)
    assert (abs(ems[0].ratio - 1.0) <= TOL) is ok
    assert ems[1].ratio == pytest.approx(1.0, abs=2e-3)
    vs = r.by_check("emboss.ratio")
    if not ok:  # one violation, on the bad pad's ring, with the measured ratio
        (v,) = vs
        assert math.dist((v.x, v.y), ball(0)) < Emb().concave
        assert f"at ({ball(0)[0]:g}, {ball(0)[1]:g})" in v.message
        assert v.value == pytest.approx(ems[0].ratio, abs=2e-3)
        assert v.limit == pytest.approx(1.0)


def test_ratio_tolerance_from_rules(tmp_path: Path) -> None:
    p = csp_file(tmp_path / "d.gds", ratio=1.15)
    assert not passed(check(p), "emboss.ratio")
    loose = DEFAULT.with_values({"emboss.ratio_tolerance": 0.2}, "test")
    assert passed(check(p, rules=loose), "emboss.ratio")
    other = DEFAULT.with_values({"emboss.target_ratio": 1.15, "emboss.ratio_tolerance": 0.01},
                                "test")
    assert passed(check(p, rules=other), "emboss.ratio")


# ---------------------------------------------------------------- present / ring inside
@pytest.mark.parametrize("ring", ["none", "no_pi2"])
def test_missing_emboss(tmp_path: Path, ring: str) -> None:
    """A flat PI2 opening, or no PI2 opening at all, under one PI3 hole."""
    p = csp_file(tmp_path / "d.gds", pads=[{}, dict(ring=ring)])
    r = check(p)
    assert not passed(r, "emboss.present")
    (v,) = r.by_check("emboss.present")
    assert near(v, *ball(1), 1.0)
    assert [e is not None for e in kl_emboss(read_flat(p))] == [True, False]


def test_pi3_hole_away_from_emboss(tmp_path: Path) -> None:
    """A third PI3 hole on the RDL land but not over any PI2 opening."""
    p = csp_file(tmp_path / "d.gds", extra=[("PI3", box(-100, -400, -60, -360)),
                                             ("RDL", box(-110, -410, -50, -350))])
    r = check(p)
    assert not passed(r, "emboss.present")
    assert [e is not None for e in kl_emboss(read_flat(p))].count(False) == 1



@pytest.mark.parametrize("ring,nseg", [("cross", 8), ("cross", 1), ("touch", 1)])
def test_ring_touching_concave_edge(tmp_path: Path, ring: str, nseg: int) -> None:
    """A ring reaching the concave edge (segmented or continuous, crossing it or touching
    it at one point) fails emboss.ring_inside at that pad only."""
    p = csp_file(tmp_path / "d.gds", pads=[dict(ring=ring, nseg=nseg), {}])
    ems = kl_emboss(read_flat(p))
    assert ems[0] is not None and ems[0].touches_edge()
    assert not ems[1].touches_edge()
    r = check(p)
    assert not passed(r, "emboss.ring_inside"), r.table()
    (v,) = r.by_check("emboss.ring_inside")
    assert math.dist((v.x, v.y), ball(0)) < Emb().concave + 1


def test_ring_well_inside(tmp_path: Path) -> None:
    """A ring 1 µm from the concave edge (under a PI3 hole over the whole concave
    opening) passes."""
    ro = Emb().concave - 1.0
    p = csp_file(tmp_path / "d.gds", pads=[dict(ro=ro, ri=math.sqrt(ro * ro / 2),
                                                 pi3=Emb().concave + 5), {}])
    r = check(p)
    assert passed(r, "emboss.present")
    assert passed(r, "emboss.ring_inside")
    assert passed(r, "emboss.ratio")
    assert not kl_emboss(read_flat(p))[0].touches_edge()


# ---------------------------------------------------------------- PI1 under the concave
def test_pi1_opened_in_concave_annulus(tmp_path: Path) -> None:
    p = csp_file(tmp_path / "d.gds", pads=[{}, dict(pi1_annulus=True)])
    r = check(p)
    assert not passed(r, "emboss.exposes_pi1")
    (v,) = r.by_check("emboss.exposes_pi1")
    assert math.dist((v.x, v.y), ball(1)) < Emb().concave
    f = read_flat(p)
    assert [kl_exposes_pi1_ok(f, e) for e in kl_emboss(f)] == [True, False]


def test_pi1_opened_inside_the_ring_is_not_the_annulus(tmp_path: Path) -> None:
    """PI1 opened in the middle of the ring (not between ring and edge) is not judged
    by emboss.exposes_pi1."""
    x, y = ball(0)
    p = csp_file(tmp_path / "d.gds", extra=[("PI1", box(x - 5, y - 5, x + 5, y + 5))])
    r = check(p)
    assert passed(r, "emboss.exposes_pi1")
    f = read_flat(p)
    assert all(kl_exposes_pi1_ok(f, e) for e in kl_emboss(f))


# ---------------------------------------------------------------- segments rule
@pytest.mark.parametrize("nseg,want,ok", [(8, 8, True), (1, 1, True), (1, 8, False),
                                          (3, 8, False), (8, 4, False)])
def test_segments_rule(tmp_path: Path, nseg: int, want: int, ok: bool) -> None:
    p = csp_file(tmp_path / "d.gds", nseg=nseg, seg_gap=20.0 if nseg == 3 else 10.0)
    assert "emboss.segments" not in check(p).checks  # only with the rule
    rules = tmp_path / "r.toml"
    rules.write_text(f'base = "default"\n[rules]\n"emboss.segments" = {want}\n')
    r = check(p, rules=rules)
    assert passed(r, "emboss.segments") is ok
    assert all(e.segments == nseg for e in kl_emboss(read_flat(p)))
    assert len(r.by_check("emboss.segments")) == (0 if ok else 2)


# ---------------------------------------------------------------- chip pads
@pytest.mark.parametrize("opening", ["no_pass", "no_pi1", "no_pi2", "disjoint"])
def test_covered_chip_pad(tmp_path: Path, opening: str) -> None:
    """One chip pad not opened by one of PASSIVATION, PI1, PI2 (or by openings that do
    not overlap): pad.opened fails there, and its ball pad's RDL reaches no open pad."""
    p = csp_file(tmp_path / "d.gds", pads=[dict(pad_open=opening), {}])
    r = check(p)
    assert not passed(r, "pad.opened")
    (v,) = r.by_check("pad.opened")
    assert near(v, *chip(0), 1.0)
    assert not passed(r, "rdl.connected")
    (v,) = r.by_check("rdl.connected")
    assert near(v, *ball(0), 1.0)
    f = read_flat(p)
    assert [not s.is_empty() for _, s in kl_pad_stacks(f)].count(False) == 1
    assert kl_ball_connected(f) == [False, True]


def test_all_chip_pads_covered_by_pi1(tmp_path: Path) -> None:
    p = csp_file(tmp_path / "d.gds", pad_open="no_pi1")
    f = read_flat(p)
    assert all(s.is_empty() for _, s in kl_pad_stacks(f))
    r = check(p)
    assert not passed(r, "rdl.connected")
    assert not passed(r, "pad.opened")


# ---------------------------------------------------------------- RDL
@pytest.mark.parametrize("rdl,gap", [("cut", DBU), ("cut", 1.0), ("corner", 0.0),
                                     ("none", 0.0)], ids=["cut1dbu", "cut1um", "corner",
                                                          "none"])
def test_open_rdl(tmp_path: Path, rdl: str, gap: float) -> None:
    """A trace cut by one database unit or 1 µm, a trace touching the chip pad's land
    only at a corner point, no RDL at all: the ball pad is not wired."""
    p = csp_file(tmp_path / "d.gds", pads=[{}, dict(rdl=rdl, rdl_gap=gap or DBU)])
    r = check(p)
    assert not passed(r, "rdl.connected")
    (v,) = r.by_check("rdl.connected")
    assert near(v, *ball(1), 1.0)
    assert passed(r, "pad.opened")
    assert kl_ball_connected(read_flat(p)) == [True, False]


def test_short(tmp_path: Path) -> None:
    p = csp_file(tmp_path / "d.gds", short=True)
    r = check(p)
    assert not passed(r, "rdl.short")
    assert len(r.by_check("rdl.short")) == 1
    assert passed(r, "rdl.connected")
    nets = kl_nets(read_flat(p))
    assert sorted((nb, np_) for _, nb, np_ in nets) == [(2, 2)]


def test_two_chip_pads_on_one_ball(tmp_path: Path) -> None:
    """One ball pad's net reaching two opened chip pads is a short too."""
    x, y = chip(0)
    extra = [("PAD", box(x + 100, y - 40, x + 180, y + 40))]
    extra += [(lay, box(x + 110, y - 30, x + 170, y + 30))
              for lay in ("PASSIVATION", "PI1", "PI2")]
    extra += [("RDL", box(x, y - 10, x + 170, y + 10))]
    p = csp_file(tmp_path / "d.gds", extra=extra)
    r = check(p)
    assert not passed(r, "rdl.short")
    assert sorted((nb, np_) for _, nb, np_ in kl_nets(read_flat(p))) == [(1, 1), (1, 2)]


# ---------------------------------------------------------------- DRC (amkor-400)
X0, Y0 = chip(0)          # chip pad of ball pad 0
BX, BY = ball(0)
R3 = Emb().pi3            # PI3 hole radius
RU = Emb().ubm            # UBM radius

DRC_CASES: dict[str, tuple[dict, dict]] = {  # check id: (failing knobs, passing knobs)
    "drc.pi1.width": (dict(pi1_half=17.499), dict(pi1_half=17.5)),
    "drc.pi1.space": (dict(extra=[("PI1", box(X0 + 25 + 19.999, Y0 - 20, X0 + 100, Y0 + 20))]),
                      dict(extra=[("PI1", box(X0 + 25 + 20, Y0 - 20, X0 + 100, Y0 + 20))])),
    "drc.pad.encloses_pi1": (dict(pad_half=32.499), dict(pad_half=32.5)),
    "drc.rdl.width": (dict(trace=10 - DBU), dict(trace=10.0)),
    "drc.rdl.space": (dict(extra=[("RDL", box(BX + 10 + 9.999, 120, BX + 60, 170))]),
                      dict(extra=[("RDL", box(BX + 10 + 10, 120, BX + 60, 170))])),
    "drc.rdl.encloses_pi1": (dict(land_half=34.999), dict(land_half=35.0)),
    "drc.pi3.width": (dict(pi3=80.0), dict(pi3=90.0)),
    "drc.pi1_pi3.space": (
        dict(ubm=0, ball_land=200, extra=[("PI1", box(BX + R3 + 20, BY - 20, BX + R3 + 60,
                                                      BY + 20))]),
        dict(ubm=0, ball_land=200, extra=[("PI1", box(BX + R3 + 30, BY - 20, BX + R3 + 70,
                                                      BY + 20))])),
    "drc.ubm.width": (dict(ubm=100.0), dict(ubm=120.0)),
    "drc.ubm.encloses_pi3": (dict(ubm=110.0), dict(ubm=120.0)),
    "drc.rdl.encloses_ubm": (dict(ball_land=125.0), dict(ball_land=135.0)),
    "drc.pi1_ubm.space": (
        dict(extra=[("PI1", box(BX + RU + 5, BY - 20, BX + RU + 45, BY + 20))]),
        dict(extra=[("PI1", box(BX + RU + 15, BY - 20, BX + RU + 55, BY + 20))])),
    "drc.ubm.die_edge": (dict(ball=0, die=(380.0, 450.0)), dict(ball=0, die=(405.0, 450.0))),
    "drc.ball.width": (dict(ball=120.0), dict(ball=140.0)),
    "drc.ball.pitch": (dict(balls=((-190.0, -50.0), (190.0, -50.0))),
                       dict(balls=((-200.0, -50.0), (200.0, -50.0)))),
    "drc.ball.die_edge": (dict(die=(410.0, 450.0)), dict(die=(420.0, 450.0))),
}


def _rules() -> dict[str, float]:
    return {k: AMKOR[k] for k in AMKOR.rules}


def _drc_params() -> list:
    out = []
    for cid in sorted(DRC_CASES):
        for ok in (False, True):
            out.append(pytest.param(cid, ok, id=f"{cid}-{'passes' if ok else 'fails'}"))
    return out


@pytest.mark.parametrize("check_id,ok", _drc_params())
def test_drc_amkor_400(tmp_path: Path, check_id: str, ok: bool) -> None:
    knobs = DRC_CASES[check_id][1 if ok else 0]
    p = csp_file(tmp_path / "d.gds", **knobs)
    assert kl_drc_ok(read_flat(p), check_id, _rules()) is ok
    r = check(p, rules="amkor-400")
    assert passed(r, check_id) is ok, r.table()
    if not ok:
        limit = AMKOR[_rule_key(check_id)]
        assert all(v.limit == pytest.approx(limit) for v in r.by_check(check_id))


def _rule_key(check_id: str) -> str:
    from layoutgen.check.checks import DRC_RULES

    return next(r.rule for r in DRC_RULES if r.id == check_id)


def test_exact_width_rectangle(tmp_path: Path) -> None:
    """A 35 × 100 µm PI1 opening far from everything: exactly pi1.min_width wide."""
    p = csp_file(tmp_path / "d.gds", extra=[("PI1", box(-300, -400, -265, -300))])
    assert kl_drc_ok(read_flat(p), "drc.pi1.width", _rules())
    assert passed(check(p, rules="amkor-400"), "drc.pi1.width")


def test_drc_not_run_on_default_rules(tmp_path: Path) -> None:
    p = csp_file(tmp_path / "d.gds", trace=5.0)
    assert not any(c.startswith("drc.") for c in check(p).checks)
    assert not passed(check(p, rules="amkor-400"), "drc.rdl.width")


def test_amkor_500_is_stricter(tmp_path: Path) -> None:
    """The 400 µm-pitch die fails the 500 µm rules where KLayout says it does."""
    p = csp_file(tmp_path / "d.gds")
    r = check(p, rules="amkor-500")
    a5 = load_ruleset("amkor-500")
    f = read_flat(p)
    for cid in ("drc.pi3.width", "drc.ubm.width", "drc.ball.width", "drc.ball.pitch"):
        want = kl_drc_ok(f, cid, {k: a5[k] for k in a5.rules})
        assert passed(r, cid) is want
    assert not passed(r, "drc.pi3.width")  # 200 µm hole < 220
