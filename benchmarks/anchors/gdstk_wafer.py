"""Anchor: the workload's wafer written with raw gdstk, the floor of any gdstk-based tool.

One cell per distinct part (ball pad, chip pad, die, ...), one die cell referenced per
die (a plain reference each, no arrays), GDSII out. Usage::

    python gdstk_wafer.py csp|cap OUT.gds [--wafer-mm 450]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gdstk
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import Cap, Csp, L, chamfered, circle, die_centres, ring_segments  # noqa: E402


def _ld(name: str) -> dict[str, int]:
    layer, datatype = L[name]
    return {"layer": layer, "datatype": datatype}


def _rect(w: float, h: float, name: str, x: float = 0.0, y: float = 0.0) -> gdstk.Polygon:
    return gdstk.rectangle((x - w / 2, y - h / 2), (x + w / 2, y + h / 2), **_ld(name))


def _frame(outer: float, inner: float, name: str) -> list[gdstk.Polygon]:
    return gdstk.boolean(_rect(outer, outer, name), _rect(inner, inner, name), "not", **_ld(name))


def csp_die(c: Csp) -> gdstk.Cell:
    """The W-CSP die: ball pad and chip pad cells placed 81 times, traces, labels."""
    pad = gdstk.Cell("ball_pad")
    concave = gdstk.Polygon(circle(c.concave_r, c.tol))
    ring = [gdstk.Polygon(s) for s in ring_segments(c)]
    pad.add(*gdstk.boolean(concave, ring, "not", **_ld("PI2")))
    for r, name in ((c.pi3_r, "PI3"), (c.land_r, "RDL"), (c.ball_r, "BALL")):
        pad.add(gdstk.Polygon(circle(r, c.tol), **_ld(name)))
    chip = gdstk.Cell("chip_pad")
    for size, name in ((c.pad, "PAD"), (c.pad - 10, "PASSIVATION"), (c.pad - 15, "PI1"),
                       (c.pad - 15, "PI2"), (c.pad + 5, "RDL")):
        chip.add(_rect(size, size, name))
    die = gdstk.Cell("die")
    die.add(_rect(c.die, c.die, "DIE"), *_frame(c.step, c.die, "SCRIBE"))
    half = c.pitch / 2
    for k, (x, y) in enumerate(c.balls()):
        die.add(gdstk.Reference(pad, (x, y)), gdstk.Reference(chip, (x + half, y)))
        die.add(gdstk.rectangle((x + c.land_r - 10, y - c.trace / 2),
                                (x + half - (c.pad + 5) / 2 + 10, y + c.trace / 2), **_ld("RDL")))
        die.add(gdstk.Label(f"B{k}", (x, y), layer=90), gdstk.Label(f"P{k}", (x + half, y),
                                                                   layer=90))
    return die


def cap_die(c: Cap) -> gdstk.Cell:
    """The W-CAP die: seal rings, pads, spacers, cut lanes and scribe as cells."""
    h = c.active / 2 + c.seal_gap
    seal = gdstk.Cell("seal")
    for name, grow in (("CAP_SOLDER", 0.0), ("CAP_METAL", c.metal_enc), ("SEAL_LAND", c.land_enc)):
        outer = gdstk.Polygon(chamfered(h + c.seal_w + grow, c.chamfer + grow * 0.4142))
        inner = gdstk.Polygon(chamfered(h - grow, max(c.chamfer - c.seal_w * 0.4142 - grow
                                                      * 0.4142, 1.0)))
        seal.add(*gdstk.boolean(outer, inner, "not", **_ld(name)))
    spacer = gdstk.Cell("spacer")
    spacer.add(_rect(c.spacer, c.spacer, "CAP_SPACER"))
    lanes = gdstk.Cell("lanes")
    lanes.add(*_frame(c.step, c.die, "SCRIBE"))
    lanes.add(*_frame(c.step + c.lane, c.step - c.lane, "CAP_CUT"))
    die = gdstk.Cell("die")
    die.add(_rect(c.die, c.die, "DIE"), _rect(c.active, c.active, "ACTIVE"))
    die.add(gdstk.Reference(seal), gdstk.Reference(lanes))
    edge = c.die / 2 - c.pad_edge - c.pad / 2
    span = (c.pads - 1) * c.pad_pitch / 2
    for k in range(c.pads):
        t = -span + k * c.pad_pitch
        for x, y in ((t, -edge), (t, edge), (-edge, t), (edge, t)):
            die.add(_rect(c.pad, c.pad, "PAD", x, y))
    # cap windows over the pad rows, joined to the cut lanes
    lo, hi = edge - c.pad / 2 - 10, (c.step - c.lane) / 2 + 1
    w = 2 * span + c.pad + 20
    for sx, sy in ((0, -1), (0, 1), (-1, 0), (1, 0)):
        if sx:
            die.add(_rect(hi - lo, w, "CAP_CUT", sx * (lo + hi) / 2, 0))
        else:
            die.add(_rect(w, hi - lo, "CAP_CUT", 0, sy * (lo + hi) / 2))
    for x, y in ((c.step / 2, c.die / 2 - c.spacer_offset), (-c.step / 2, -c.die / 2 + 100),
                 (c.die / 2 - c.spacer_offset, -c.step / 2), (-c.die / 2 + 100, c.step / 2)):
        die.add(gdstk.Reference(spacer, (x, y)))
    return die


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=("csp", "cap"))
    ap.add_argument("out")
    ap.add_argument("--wafer-mm", type=float)
    a = ap.parse_args()
    w = Csp() if a.workload == "csp" else Cap()
    die = csp_die(w) if a.workload == "csp" else cap_die(w)
    top = gdstk.Cell("wafer")
    r = (a.wafer_mm or w.wafer_mm) * 500.0
    top.add(gdstk.ellipse((0, 0), r, inner_radius=r - 50, tolerance=1.0, **_ld("WAFER")))
    centres = die_centres(a.wafer_mm or w.wafer_mm, w.exclusion_mm, w.die, w.step)
    for x, y in np.round(centres, 3):
        top.add(gdstk.Reference(die, (float(x), float(y))))
    lib = gdstk.Library("ANCHOR", unit=1e-6, precision=1e-9)
    lib.add(top, *top.dependencies(True))
    lib.write_gds(a.out, max_points=8189)


if __name__ == "__main__":
    main()
