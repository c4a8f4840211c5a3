"""The embossed ball pad (seed 004, claims 2-6, 8, 9, 13-16).

Top view (segmented ring, 4 gaps) and the section A-A through it::

            .-~~~~~~~-.            PI2 opening (concave portion): disc of radius Rc
         .'   _.---._   '.         PI2 ring left standing (convex portion):
        /   .'  ___  '.   \\           inner radius ri, outer radius ro < Rc,
   A   |   |  .'   '.  |   |   A      split by N gaps of width g (claim 4)
   -   |   |  |  +  |  |   |   -   PI3 connection hole: over the embossed portion
        \\   '. '---' .'   /        RDL capture land: covers the whole concave disc
         '.   '-...-'   .'         ratio = area(inside ri, gaps bridged) / area(ring)
            '-._____.-'                    = target (claims 5, 16), solved for ro

              |<---- 2 Rc ---->|
              |  |<- 2 ro ->|  |
                    |<2ri>|
    PI2  ______      _     _      ______
               |____| |___| |____|          <- ring (convex) on PI1 (concave bottom)
    PI1  ________________________________

Drawing convention (DESIGN.md): PI2 is drawn as its *openings*. A continuous ring
gives two openings: the outer annulus (the moat between ring and concave edge) and
the inner disc. A ring split into N segments gives one opening: the concave disc
minus the N segments (the gaps join moat and inner disc).

The ring's outer radius is solved (bisection) on the snapped polygons that are
written, so the ratio holds on the file, not only on ideal circles.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import gdstk
import numpy as np

from layoutgen.errors import ParameterError
from layoutgen.geometry import CIRCLE_TOLERANCE, circle_points, circle_vertex_count, snap
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = [
    "RingSolution",
    "embossed_ball_pad",
    "max_ring_inner_diameter",
    "ring_polygons",
    "solve_ring",
]

#: relative accuracy the ratio is solved to (on the written polygons)
RATIO_ACCURACY = 1e-3


@dataclass(frozen=True)
class RingSolution:
    """The solved convex ring of an embossed pad.

    Attributes:
        concave_radius: radius of the concave PI2 opening, µm.
        inner_radius: inner radius of the ring, µm.
        outer_radius: solved outer radius of the ring, µm.
        gaps: number of gaps (0: continuous ring).
        gap_width: gap width, µm (parallel-sided channels).
        inside_area: area enclosed by the ring's inner edge, gaps bridged, µm².
        ring_area: area of ring material drawn, gaps excluded, µm².
        ratio: inside_area / ring_area, measured on the snapped polygons.
    """

    concave_radius: float
    inner_radius: float
    outer_radius: float
    gaps: int
    gap_width: float
    inside_area: float
    ring_area: float
    ratio: float


def _arc(radius: float, a0: float, a1: float, tolerance: float) -> np.ndarray:
    """Points on an arc from angle a0 to a1 (radians), endpoints included, chord error <= tol."""
    n_full = circle_vertex_count(radius, tolerance)
    n = max(1, math.ceil(n_full * abs(a1 - a0) / (2 * math.pi)))
    t = np.linspace(a0, a1, n + 1)
    return np.column_stack((radius * np.cos(t), radius * np.sin(t)))


def _gap_angles(gaps: int) -> np.ndarray:
    """Centre angles of the gaps: at 45° + k·360°/N for N = 4, i.e. (2k+1)·180°/N."""
    return (2 * np.arange(gaps) + 1) * math.pi / gaps


def ring_polygons(inner_radius: float, outer_radius: float, gaps: int, gap_width: float,
                  tolerance: float = CIRCLE_TOLERANCE
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """The ring material (snapped) and the polygon of its inner edge with the gaps bridged.

    Args:
        inner_radius: ring inner radius, µm.
        outer_radius: ring outer radius, µm.
        gaps: number of gaps; 0 for a continuous ring.
        gap_width: width of each parallel-sided gap, µm.
        tolerance: chord error of the arcs, µm.

    Returns:
        (pieces, inside): for a continuous ring, ``pieces`` is [outer circle, inner
        circle] (the ring is outer minus inner); for a segmented ring, one polygon per
        segment. ``inside`` is the polygon bounded by the inner edge, the gaps bridged
        by straight chords.
    """
    if gaps == 0:
        outer = circle_points(outer_radius, tolerance=tolerance)
        inner = circle_points(inner_radius, tolerance=tolerance)
        return [outer, inner], inner
    centres = _gap_angles(gaps)
    hi = math.asin(min(1.0, gap_width / (2 * inner_radius)))
    ho = math.asin(min(1.0, gap_width / (2 * outer_radius)))
    pieces = []
    inside = []
    for k in range(gaps):
        a0 = centres[k]
        a1 = centres[(k + 1) % gaps] + (2 * math.pi if k + 1 == gaps else 0.0)
        inner_arc = snap(_arc(inner_radius, a0 + hi, a1 - hi, tolerance))
        outer_arc = snap(_arc(outer_radius, a1 - ho, a0 + ho, tolerance))
        pieces.append(np.vstack((inner_arc, outer_arc)))
        inside.append(inner_arc)
    return pieces, np.vstack(inside)


def _area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _measure(inner_radius: float, outer_radius: float, gaps: int, gap_width: float,
             tolerance: float) -> tuple[float, float]:
    pieces, inside = ring_polygons(inner_radius, outer_radius, gaps, gap_width, tolerance)
    if gaps == 0:
        ring = _area(pieces[0]) - _area(pieces[1])
    else:
        ring = sum(_area(p) for p in pieces)
    return _area(inside), ring


def max_ring_inner_diameter(concave_diameter: float, target_ratio: float, min_moat: float,
                            gaps: int = 0, gap_width: float = 0.0,
                            tolerance: float = CIRCLE_TOLERANCE) -> float:
    """Largest ring inner diameter (µm) whose solved ring still fits the concave opening.

    Found by bisection on the snapped polygons with the ring's outer radius at its
    largest allowed value (concave radius less ``min_moat``).

    Args:
        concave_diameter: diameter of the concave PI2 opening, µm.
        target_ratio: wanted (area inside the ring) / (ring area).
        min_moat: least radial width of the moat between ring and concave edge, µm.
        gaps: number of gaps (0: continuous ring).
        gap_width: gap width, µm.
        tolerance: chord error of the arcs, µm.
    """
    ro = concave_diameter / 2 - min_moat
    if ro <= 0:
        return 0.0
    lo = gap_width / 2 + 1e-3 if gaps else 1e-3
    hi = ro - 1e-3
    if lo >= hi:
        return 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        ins, ring = _measure(mid, ro, gaps, gap_width, tolerance)
        if ins / ring > target_ratio:
            hi = mid
        else:
            lo = mid
    return math.floor(2 * lo * 1000) / 1000


#: solved rings by parameters (a ring is a pure function of them; errors are not kept)
def _num(key: str, name: str, value: object, low: float, high: float | None,
         low_open: bool = True, integer: bool = False, unit: str = "µm") -> float:
    """``value`` validated as the number ``key.name`` (finite, not a bool or a string,
    within ``low``..``high``), or ParameterError naming it."""
    return Param(f"{key}.{name}", 0 if integer else 0.0, unit="" if integer else unit,
                 low=low, low_open=low_open, high=high).validate(value)


def solve_ring(concave_diameter: float, ring_inner_diameter: float, gaps: int = 0,
               gap_width: float = 0.0, target_ratio: float = 1.0, min_moat: float = 10.0,
               min_ring_width: float = 5.0, tolerance: float = CIRCLE_TOLERANCE,
               key: str = "ball_pad") -> RingSolution:
    """Solve the ring's outer radius so that inside / ring = ``target_ratio`` on the polygons.

    Args:
        concave_diameter: diameter of the concave PI2 opening, µm.
        ring_inner_diameter: inner diameter of the convex ring, µm.
        gaps: number of gaps splitting the ring (0: continuous; else 2..64).
        gap_width: width of each gap, µm.
        target_ratio: wanted (area inside the ring) / (ring area), > 0.
        min_moat: least radial width of the PI2 opening left between ring and concave
            edge, µm.
        min_ring_width: least radial width of the ring, µm.
        tolerance: chord error of the arcs, µm.
        key: key path prefix for errors (``ball_pad``).

    Raises:
        ParameterError: the ring cannot meet the ratio inside the concave opening, the
            gaps are wider than a segment, or a size is out of range.
    """
    args = (_num(key, "concave_diameter", concave_diameter, 0, 2000),
            _num(key, "ring_inner_diameter", ring_inner_diameter, 0, 2000),
            int(_num(key, "ring_gaps", gaps, 0, 64, low_open=False, integer=True)),
            _num(key, "gap_width", gap_width, 0, 500, low_open=False),  # > 0 with gaps: below
            _num(key, "target_ratio", target_ratio, 0, 10, unit=""),
            _num(key, "min_moat", min_moat, 0, None),
            _num(key, "min_ring_width", min_ring_width, 0, None),
            _num(key, "tolerance", tolerance, 0.001, 1.0, low_open=False))
    return _solve_ring(*args, key=key)


@functools.lru_cache(maxsize=256)
def _solve_ring(concave_diameter: float, ring_inner_diameter: float, gaps: int = 0,
                gap_width: float = 0.0, target_ratio: float = 1.0, min_moat: float = 10.0,
                min_ring_width: float = 5.0, tolerance: float = CIRCLE_TOLERANCE,
                key: str = "ball_pad") -> RingSolution:
    """:func:`solve_ring` on validated arguments (see there), remembered by them: the
    die check and the pad cell of one build solve once."""
    rc = concave_diameter / 2
    ri = ring_inner_diameter / 2
    if target_ratio <= 0:
        raise ParameterError(f"{key}.target_ratio", f"must be > 0, got {target_ratio}",
                             target_ratio, "> 0")
    if ri <= 0:
        raise ParameterError(f"{key}.ring_inner_diameter",
                             f"must be > 0 µm, got {ring_inner_diameter}", ring_inner_diameter,
                             "> 0 µm")
    if gaps < 0 or gaps == 1 or gaps > 64:
        raise ParameterError(f"{key}.ring_gaps",
                             f"must be 0 (continuous ring) or 2..64, got {gaps}", gaps,
                             "0 or 2..64")
    if gaps:
        if gap_width <= 0:
            raise ParameterError(f"{key}.gap_width", f"must be > 0 µm, got {gap_width}",
                                 gap_width, "> 0 µm")
        # length of a segment along the ring's inner edge
        if gap_width < 2 * ri:
            seg = ri * (2 * math.pi / gaps - 2 * math.asin(gap_width / (2 * ri)))
        else:
            seg = -1.0
        if seg < gap_width:
            # largest gap whose segment is at least as long as the gap
            lo, hi = 0.0, 2 * ri
            for _ in range(60):
                mid = (lo + hi) / 2
                s = ri * (2 * math.pi / gaps - 2 * math.asin(min(1.0, mid / (2 * ri))))
                lo, hi = (mid, hi) if s >= mid else (lo, mid)
            raise ParameterError(
                f"{key}.gap_width",
                f"gaps of {gap_width:g} µm are wider than a ring segment ({max(seg, 0):.3g} µm "
                f"along the inner edge of a {gaps}-gap ring of inner diameter "
                f"{ring_inner_diameter:g} µm); must be <= {math.floor(lo * 1000) / 1000:g} µm",
                gap_width, f"<= {math.floor(lo * 1000) / 1000:g} µm")
    ro_max = rc - min_moat
    ro_min = ri + min_ring_width

    def allowed() -> float:  # only for the error messages: a bisection of its own
        return max_ring_inner_diameter(concave_diameter, target_ratio, min_moat, gaps,
                                       gap_width, tolerance)

    if ro_min > ro_max:
        allowed_ri = allowed()
        raise ParameterError(
            f"{key}.ring_inner_diameter",
            f"a ring of inner diameter {ring_inner_diameter:g} µm and width >= "
            f"{min_ring_width:g} µm does not fit inside the concave opening of diameter "
            f"{concave_diameter:g} µm with a {min_moat:g} µm moat; must be about <= "
            f"{allowed_ri:.1f} µm", ring_inner_diameter, f"<= {allowed_ri:.1f} µm")

    def ratio(ro: float) -> tuple[float, float, float]:
        ins, ring = _measure(ri, ro, gaps, gap_width, tolerance)
        return ins / ring, ins, ring

    r_at_max = ratio(ro_max)[0]
    if r_at_max > target_ratio * (1 + RATIO_ACCURACY):
        allowed_ri = allowed()
        raise ParameterError(
            f"{key}.ring_inner_diameter",
            f"the ring cannot meet the ratio {target_ratio:g} inside the concave opening: "
            f"with inner diameter {ring_inner_diameter:g} µm the ring must reach beyond "
            f"{2 * ro_max:g} µm (concave diameter {concave_diameter:g} µm less a "
            f"{min_moat:g} µm moat each side; best ratio {r_at_max:.3f}); must be about <= "
            f"{allowed_ri:.1f} µm", ring_inner_diameter, f"<= {allowed_ri:.1f} µm")
    if ratio(ro_min)[0] < target_ratio * (1 - RATIO_ACCURACY):
        raise ParameterError(
            f"{key}.target_ratio",
            f"a ring of the minimum width {min_ring_width:g} µm already gives a ratio below "
            f"{target_ratio:g}; lower the target or widen the ring's inner diameter",
            target_ratio, f"<= {ratio(ro_min)[0]:.3f}")
    lo, hi = ro_min, ro_max
    for _ in range(48):
        mid = (lo + hi) / 2
        if ratio(mid)[0] > target_ratio:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-5:
            break
    # the snapped area is a step function of ro: take the end nearer the target
    best = min((lo, hi), key=lambda r: abs(ratio(r)[0] - target_ratio))
    best = round(best, 6)
    rat, ins, ring = ratio(best)
    return RingSolution(rc, ri, best, gaps, gap_width if gaps else 0.0, ins, ring, rat)


@cell("emboss_pad")
def embossed_ball_pad(
    concave_diameter: float = 240.0,
    ring_inner_diameter: float = 120.0,
    ring_gaps: int = 4,
    gap_width: float = 15.0,
    target_ratio: float = 1.0,
    pi3_diameter: float = 200.0,
    land_diameter: float = 260.0,
    ubm_diameter: float = 230.0,
    ball_diameter: float = 280.0,
    pi1_inside: bool = False,
    pi1_inside_margin: float = 5.0,
    min_moat: float = 10.0,
    min_ring_width: float = 5.0,
    tolerance: float = CIRCLE_TOLERANCE,
    layers: LayerMap = DEFAULT_LAYERS,
) -> gdstk.Cell:
    """An embossed ball pad centred on the origin (see the module's sketch).

    Args:
        concave_diameter: diameter of the concave PI2 opening (exposes PI1), µm.
        ring_inner_diameter: inner diameter of the convex PI2 ring, µm; the outer
            diameter is solved for ``target_ratio``.
        ring_gaps: number of gaps splitting the ring; 0 for a continuous ring (claim 3),
            2..64 for a discontinuous one (claim 4).
        gap_width: width of each parallel-sided gap, µm (ignored when ring_gaps = 0).
        target_ratio: (area inside the ring's inner edge) / (ring area) (claims 5, 16).
        pi3_diameter: PI3 connection hole over the embossed portion (claim 6), µm; it
            must expose the whole ring.
        land_diameter: RDL capture land, µm; covers the concave opening.
        ubm_diameter: UBM disc, µm; 0 for none.
        ball_diameter: solder ball footprint (BALL), µm.
        pi1_inside: also open PI1 inside the ring, exposing the passivation there
            (claims 8, 9).
        pi1_inside_margin: how far the PI1 opening stays inside the ring's inner edge, µm.
        min_moat: least radial width of PI2 opening between ring and concave edge, µm.
        min_ring_width: least radial width of the ring, µm.
        tolerance: chord error of every circle, µm.
        layers: layer map.

    Raises:
        ParameterError: the ring cannot be solved (see :func:`solve_ring`), or the PI3
            hole, land, UBM or ball do not nest around the embossed portion.
    """
    key = "embossed_ball_pad"
    pi3_diameter = _num(key, "pi3_diameter", pi3_diameter, 0, 2000)
    land_diameter = _num(key, "land_diameter", land_diameter, 0, 2000)
    ubm_diameter = _num(key, "ubm_diameter", ubm_diameter, 0, 2000, low_open=False)
    ball_diameter = _num(key, "ball_diameter", ball_diameter, 0, 2000)
    pi1_inside_margin = _num(key, "pi1_inside_margin", pi1_inside_margin, 0, None)
    if not isinstance(pi1_inside, bool):
        raise ParameterError(f"{key}.pi1_inside", f"must be true or false, got {pi1_inside!r}",
                             pi1_inside, "true or false")
    sol = solve_ring(concave_diameter, ring_inner_diameter, ring_gaps, gap_width, target_ratio,
                     min_moat, min_ring_width, tolerance, key)
    if pi3_diameter <= 2 * sol.outer_radius:
        raise ParameterError(f"{key}.pi3_diameter",
                             f"the PI3 hole ({pi3_diameter:g} µm) must expose the whole ring "
                             f"(outer diameter {2 * sol.outer_radius:.3f} µm)", pi3_diameter,
                             f"> {2 * sol.outer_radius:.3f} µm")
    if land_diameter < max(concave_diameter, pi3_diameter, ubm_diameter):
        need = max(concave_diameter, pi3_diameter, ubm_diameter)
        raise ParameterError(f"{key}.land_diameter",
                             f"the RDL land ({land_diameter:g} µm) must cover the concave "
                             f"opening, the PI3 hole and the UBM ({need:g} µm)", land_diameter,
                             f">= {need:g} µm")
    if ubm_diameter and ubm_diameter < pi3_diameter:
        raise ParameterError(f"{key}.ubm_diameter",
                             f"the UBM ({ubm_diameter:g} µm) must cover the PI3 hole "
                             f"({pi3_diameter:g} µm)", ubm_diameter, f">= {pi3_diameter:g} µm")
    c = gdstk.Cell("emboss_pad")
    concave = gdstk.Polygon(circle_points(sol.concave_radius, tolerance=tolerance))
    pieces, _ = ring_polygons(sol.inner_radius, sol.outer_radius, ring_gaps, gap_width,
                              tolerance)
    if ring_gaps == 0:
        ring = gdstk.boolean(gdstk.Polygon(pieces[0]), gdstk.Polygon(pieces[1]), "not")
    else:
        ring = [gdstk.Polygon(p) for p in pieces]
    pi2 = gdstk.boolean(concave, ring, "not", precision=1e-3, **layers.ld("PI2"))
    c.add(*[gdstk.Polygon(snap(p.points), **layers.ld("PI2")) for p in pi2])
    if pi1_inside:
        r1 = sol.inner_radius - pi1_inside_margin
        if r1 <= 0:
            raise ParameterError(f"{key}.pi1_inside_margin",
                                 f"must be < the ring's inner radius {sol.inner_radius:g} µm, "
                                 f"got {pi1_inside_margin:g}", pi1_inside_margin,
                                 f"< {sol.inner_radius:g} µm")
        c.add(gdstk.Polygon(circle_points(r1, tolerance=tolerance), **layers.ld("PI1")))
    c.add(gdstk.Polygon(circle_points(pi3_diameter / 2, tolerance=tolerance), **layers.ld("PI3")))
    c.add(gdstk.Polygon(circle_points(land_diameter / 2, tolerance=tolerance),
                        **layers.ld("RDL")))
    if ubm_diameter:
        c.add(gdstk.Polygon(circle_points(ubm_diameter / 2, tolerance=tolerance),
                            **layers.ld("UBM")))
    c.add(gdstk.Polygon(circle_points(ball_diameter / 2, tolerance=tolerance),
                        **layers.ld("BALL")))
    return c
