"""Anchor: the workload's key check done with KLayout's ``klayout.db``, deep or flat.

* ``cap``: seal closure (every ACTIVE area inside a hole of the CAP_SOLDER ring):
  ``active.not_inside(solder.holes())``.
* ``csp``: embossed-pad ratio: each PI2 opening polygon holds its convex ring as holes;
  a Python ``PolygonFilter`` computes (area inside the ring's inner edge, gaps bridged
  by chords) / (ring area) for each and keeps the pads off the target by more than 10 %.

``--mode deep`` works on the hierarchy (a DeepShapeStore): the filter is called once
per distinct cell, so the report is per cell. ``--mode flat`` flattens: the filter is
called once per pad, so every pad is judged and reported. Usage::

    python klayout_check.py csp|cap FILE.gds --mode deep|flat

Prints one JSON line: items judged, violations, filter calls.
"""

from __future__ import annotations

import argparse
import json
import math

import klayout.db as db

TARGET, TOLERANCE = 1.0, 0.10


class RatioOff(db.PolygonFilter):
    """Selects PI2 openings whose convex ring's inside/ring area ratio is off target."""

    def __init__(self) -> None:
        super().__init__()
        self.is_isotropic_and_scale_invariant()  # a ratio: no orientation, no scale
        self.calls = 0
        self.ratios: list[float] = []

    def selected(self, poly: db.Polygon) -> bool:
        self.calls += 1
        if poly.holes() == 0:
            return False
        box = poly.bbox()
        cx, cy = box.center().x, box.center().y
        ring = 0.0
        inner: list[tuple[float, float, float]] = []
        for i in range(poly.holes()):
            pts = [(p.x - cx, p.y - cy) for p in poly.each_point_hole(i)]
            ring += abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                            in zip(pts, pts[1:] + pts[:1], strict=True))) / 2
            rad = [math.hypot(x, y) for x, y in pts]
            r_in = min(rad)
            inner += [(math.atan2(y, x), x, y) for (x, y), r in zip(pts, rad, strict=True)
                      if r < r_in + 0.5 * (max(rad) - r_in)]
        inner.sort()
        xs = [p[1] for p in inner]
        ys = [p[2] for p in inner]
        inside = abs(sum(xs[k] * ys[k - 1] - xs[k - 1] * ys[k] for k in range(len(xs)))) / 2
        ratio = inside / ring if ring else math.inf
        self.ratios.append(ratio)
        return abs(ratio - TARGET) > TOLERANCE * TARGET


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=("csp", "cap"))
    ap.add_argument("file")
    ap.add_argument("--mode", choices=("deep", "flat"), default="deep")
    a = ap.parse_args()
    ly = db.Layout()
    ly.read(a.file)
    top = ly.top_cell()
    dss = db.DeepShapeStore() if a.mode == "deep" else None

    def region(layer: int) -> db.Region:
        it = top.begin_shapes_rec(ly.layer(layer, 0))
        return db.Region(it, dss) if dss is not None else db.Region(it)

    if a.workload == "cap":
        solder, active = region(61), region(2)
        bad = active.not_inside(solder.holes())
        out = {"judged": active.count(), "violations": bad.count(), "calls": None}
    else:
        pi2 = region(21)
        f = RatioOff()
        bad = pi2.filtered(f)
        out = {"judged": pi2.count(), "violations": bad.count(), "calls": f.calls,
               "ratios": sorted({round(r, 3) for r in f.ratios if r != math.inf})[:4]}
    out["mode"] = a.mode
    print(json.dumps(out))


if __name__ == "__main__":
    main()
