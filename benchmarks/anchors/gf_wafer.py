"""Anchor: the workload's wafer written with gdsfactory, as idiomatic ``@gf.cell`` code.

Parametric cells with ``@gf.cell``, geometry by ``add_polygon`` and ``gf.boolean``,
one die reference per die (``add_ref`` + ``move``), GDSII out. Usage::

    python gf_wafer.py csp|cap OUT.gds [--wafer-mm 450]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gdsfactory as gf

sys.path.insert(0, str(Path(__file__).parent))
from common import Cap, Csp, L, chamfered, circle, die_centres, ring_segments  # noqa: E402

gf.gpdk.PDK.activate()
CSP, CAP = Csp(), Cap()
TMP = (999, 0)


def _rect(c: gf.Component, w: float, h: float, layer: tuple[int, int], x: float = 0.0,
          y: float = 0.0) -> None:
    c.add_polygon([(x - w / 2, y - h / 2), (x + w / 2, y - h / 2), (x + w / 2, y + h / 2),
                   (x - w / 2, y + h / 2)], layer=layer)


@gf.cell
def frame(outer: float, inner: float, layer: tuple[int, int]) -> gf.Component:
    """A square frame (outer minus inner square)."""
    a, b = gf.Component(), gf.Component()
    _rect(a, outer, outer, TMP)
    _rect(b, inner, inner, TMP)
    return gf.boolean(a, b, "not", layer=layer, layer1=TMP, layer2=TMP)


@gf.cell
def ball_pad() -> gf.Component:
    """Embossed ball pad: PI2 opening with its convex ring left standing, PI3, land, ball."""
    concave, ring = gf.Component(), gf.Component()
    concave.add_polygon(circle(CSP.concave_r, CSP.tol), layer=TMP)
    for seg in ring_segments(CSP):
        ring.add_polygon(seg, layer=TMP)
    c = gf.Component()
    c << gf.boolean(concave, ring, "not", layer=L["PI2"], layer1=TMP, layer2=TMP)
    for r, name in ((CSP.pi3_r, "PI3"), (CSP.land_r, "RDL"), (CSP.ball_r, "BALL")):
        c.add_polygon(circle(r, CSP.tol), layer=L[name])
    return c


@gf.cell
def chip_pad() -> gf.Component:
    """Chip pad with its passivation, PI1, PI2 openings and RDL cover."""
    c = gf.Component()
    p = CSP.pad
    for size, name in ((p, "PAD"), (p - 10, "PASSIVATION"), (p - 15, "PI1"), (p - 15, "PI2"),
                       (p + 5, "RDL")):
        _rect(c, size, size, L[name])
    return c


@gf.cell
def csp_die() -> gf.Component:
    """The W-CSP die."""
    c = gf.Component()
    _rect(c, CSP.die, CSP.die, L["DIE"])
    c << frame(CSP.step, CSP.die, L["SCRIBE"])
    half = CSP.pitch / 2
    pad, chip = ball_pad(), chip_pad()
    for k, (x, y) in enumerate(CSP.balls()):
        (c << pad).move((float(x), float(y)))
        (c << chip).move((float(x + half), float(y)))
        x0, x1 = x + CSP.land_r - 10, x + half - (CSP.pad + 5) / 2 + 10
        c.add_polygon([(x0, y - 10), (x1, y - 10), (x1, y + 10), (x0, y + 10)], layer=L["RDL"])
        c.add_label(f"B{k}", (float(x), float(y)), layer=L["TEXT"])
        c.add_label(f"P{k}", (float(x + half), float(y)), layer=L["TEXT"])
    return c


@gf.cell
def seal() -> gf.Component:
    """Solder ring, cap metal and landing metal rings with 45° chamfers."""
    c = gf.Component()
    h = CAP.active / 2 + CAP.seal_gap
    for name, grow in (("CAP_SOLDER", 0.0), ("CAP_METAL", CAP.metal_enc),
                       ("SEAL_LAND", CAP.land_enc)):
        a, b = gf.Component(), gf.Component()
        a.add_polygon(chamfered(h + CAP.seal_w + grow, CAP.chamfer + grow * 0.4142), layer=TMP)
        b.add_polygon(chamfered(h - grow, max(CAP.chamfer - CAP.seal_w * 0.4142
                                              - grow * 0.4142, 1.0)), layer=TMP)
        c << gf.boolean(a, b, "not", layer=L[name], layer1=TMP, layer2=TMP)
    return c


@gf.cell
def spacer() -> gf.Component:
    """A square spacer."""
    c = gf.Component()
    _rect(c, CAP.spacer, CAP.spacer, L["CAP_SPACER"])
    return c


@gf.cell
def cap_die() -> gf.Component:
    """The W-CAP die."""
    c = gf.Component()
    _rect(c, CAP.die, CAP.die, L["DIE"])
    _rect(c, CAP.active, CAP.active, L["ACTIVE"])
    c << seal()
    c << frame(CAP.step, CAP.die, L["SCRIBE"])
    c << frame(CAP.step + CAP.lane, CAP.step - CAP.lane, L["CAP_CUT"])
    edge = CAP.die / 2 - CAP.pad_edge - CAP.pad / 2
    span = (CAP.pads - 1) * CAP.pad_pitch / 2
    for k in range(CAP.pads):
        t = -span + k * CAP.pad_pitch
        for x, y in ((t, -edge), (t, edge), (-edge, t), (edge, t)):
            _rect(c, CAP.pad, CAP.pad, L["PAD"], x, y)
    lo, hi = edge - CAP.pad / 2 - 10, (CAP.step - CAP.lane) / 2 + 1
    w = 2 * span + CAP.pad + 20
    for sx, sy in ((0, -1), (0, 1), (-1, 0), (1, 0)):
        if sx:
            _rect(c, hi - lo, w, L["CAP_CUT"], sx * (lo + hi) / 2, 0)
        else:
            _rect(c, w, hi - lo, L["CAP_CUT"], 0, sy * (lo + hi) / 2)
    s = spacer()
    for x, y in ((CAP.step / 2, CAP.die / 2 - CAP.spacer_offset),
                 (-CAP.step / 2, -CAP.die / 2 + 100),
                 (CAP.die / 2 - CAP.spacer_offset, -CAP.step / 2),
                 (-CAP.die / 2 + 100, CAP.step / 2)):
        (c << s).move((x, y))
    return c


@gf.cell
def wafer(workload: str = "csp", wafer_mm: float = 0.0) -> gf.Component:
    """The wafer: outline and one die reference per whole die."""
    w = CSP if workload == "csp" else CAP
    mm = wafer_mm or w.wafer_mm
    die = csp_die() if workload == "csp" else cap_die()
    c = gf.Component()
    r = mm * 500.0
    a, b = gf.Component(), gf.Component()
    a.add_polygon(circle(r, 1.0), layer=TMP)
    b.add_polygon(circle(r - 50, 1.0), layer=TMP)
    c << gf.boolean(a, b, "not", layer=L["WAFER"], layer1=TMP, layer2=TMP)
    for x, y in die_centres(mm, w.exclusion_mm, w.die, w.step):
        (c << die).move((float(x), float(y)))
    return c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=("csp", "cap"))
    ap.add_argument("out")
    ap.add_argument("--wafer-mm", type=float, default=0.0)
    a = ap.parse_args()
    wafer(a.workload, a.wafer_mm).write_gds(a.out)


if __name__ == "__main__":
    main()
