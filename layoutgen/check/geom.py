"""Geometry primitives of the checker (shapely 2, vectorised where it counts).

Conventions: lengths in µm; ``tol`` is a quarter of the file's database unit, so a
value exactly at a rule passes and one database unit less fails.

* :func:`to_shapely` turns point arrays into valid polygons (self-intersecting or
  keyholed boundaries repaired with GEOS ``make_valid``).
* :func:`merge` unions a layer with snap-rounding on a grid far finer than the
  database unit: abutting or overlapping pieces become one, slivers of floating
  point noise (rotated placements) vanish, a gap of one database unit stays a gap,
  and pieces touching at a point stay separate polygons.
* :func:`narrow` finds where a shape is narrower than a width (Euclidean, like a
  DRC width check: a neck anywhere shows; convex corners of 23° or more do not).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

EMPTY = Polygon()


def to_shapely(coords: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Valid shapely polygons (an object array) from concatenated rings.

    Args:
        coords: all vertices, N×2 µm, ring after ring (not closed).
        lengths: vertex count of each ring.

    Degenerate inputs (fewer than 3 points, zero area) are dropped; invalid ones
    (self-intersecting, keyholed) are repaired with GEOS ``make_valid``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if not len(lengths):
        return np.empty(0, dtype=object)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ok = lengths >= 3
    if not ok.all():
        keep_idx = np.concatenate([np.arange(s, s + n) for s, n in
                                   zip(starts[ok], lengths[ok], strict=True)]) if ok.any() \
            else np.empty(0, dtype=np.int64)
        coords = coords[keep_idx]
        lengths = lengths[ok]
        if not len(lengths):
            return np.empty(0, dtype=object)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = starts + lengths
    closed = np.insert(np.asarray(coords, dtype=float), ends, coords[starts], axis=0)
    ring_off = np.concatenate(([0], np.cumsum(lengths + 1)))
    poly_off = np.arange(len(lengths) + 1)
    geoms = shapely.from_ragged_array(shapely.GeometryType.POLYGON, closed, (ring_off, poly_off))
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    keep = shapely.area(geoms) > 0
    return geoms[keep]


def polygonal(g: BaseGeometry | None) -> BaseGeometry:
    """Only the polygonal part of ``g`` (Polygon or MultiPolygon, maybe empty)."""
    if g is None or g.is_empty:
        return EMPTY
    if isinstance(g, (Polygon, MultiPolygon)):
        return g
    parts = [p for p in shapely.get_parts(g) if isinstance(p, (Polygon, MultiPolygon))]
    if not parts:
        return EMPTY
    return shapely.union_all(parts)


def merge(geoms: np.ndarray | list, grid: float) -> BaseGeometry:
    """Union of ``geoms`` snapped to ``grid`` (µm); empty Polygon when none."""
    if len(geoms) == 0:
        return EMPTY
    return polygonal(shapely.union_all(np.asarray(geoms, dtype=object), grid_size=grid))


def parts(g: BaseGeometry) -> list[Polygon]:
    """The polygons of ``g`` (connected components; touching at a point = separate)."""
    if g is None or g.is_empty:
        return []
    return [p for p in shapely.get_parts(g) if isinstance(p, Polygon) and not p.is_empty]


def fill(p: Polygon) -> Polygon:
    """``p`` with its holes filled."""
    return Polygon(p.exterior)


def holes(p: Polygon) -> list[Polygon]:
    """The holes of ``p`` as polygons."""
    return [Polygon(r) for r in p.interiors]


def thick(g: BaseGeometry, tol: float) -> BaseGeometry:
    """The parts of ``g`` thicker than ``2*tol`` (slivers and noise removed)."""
    g = polygonal(g)
    if g.is_empty:
        return g
    core = g.buffer(-tol, join_style="mitre")
    if core.is_empty:
        return EMPTY
    keep = [p for p in parts(g) if p.intersects(core)]
    return shapely.union_all(keep) if keep else EMPTY


def narrow(g: BaseGeometry, width: float, tol: float, erosion: str = "round") -> BaseGeometry:
    """Regions of ``g`` narrower than ``width`` (µm).

    A morphological opening: erode by ``width/2 - tol`` with round joins (exact
    Euclidean), dilate back with mitre joins (limit 5, so convex corners of about
    23° and more come back whole, sharper spikes do not). What the opening does not
    give back, above noise, is narrower than ``width``. ``erosion="mitre"`` erodes with
    mitre joins too: used on the space around a shape (notches), where round joins at
    the many vertices of a polygonised arc would leave slivers at every junction of a
    trace and a pad.
    """
    g = polygonal(g)
    d = width / 2 - tol
    if g.is_empty or d <= 0:
        return EMPTY
    er = g.buffer(-d, quad_segs=16, join_style=erosion, mitre_limit=5.0)
    op = er.buffer(d, quad_segs=16, join_style="mitre", mitre_limit=5.0) if not er.is_empty \
        else EMPTY
    return thick(g.difference(op), tol)


def clusters(g: BaseGeometry, distance: float) -> list[BaseGeometry]:
    """Parts of ``g`` grouped when closer than ``distance`` (one violation each)."""
    ps = parts(g)
    if len(ps) <= 1:
        return ps
    grown = parts(shapely.union_all([p.buffer(distance / 2) for p in ps]))
    groups: list[list[Polygon]] = [[] for _ in grown]
    tree = shapely.STRtree(grown)
    for p in ps:
        idx = tree.query(p, predicate="intersects")
        groups[int(idx[0]) if len(idx) else 0].append(p)
    return [shapely.union_all(grp) for grp in groups if grp]


def local_width(g: BaseGeometry, region: BaseGeometry, width: float, tol: float) -> float:
    """Estimate of the narrowest width of ``g`` inside ``region`` (µm), by bisection."""
    clip = polygonal(g.intersection(region.buffer(width)))
    core = region.buffer(-tol) if not region.buffer(-tol).is_empty else region
    lo, hi = 0.0, width
    for _ in range(20):
        mid = (lo + hi) / 2
        if clip.buffer(-mid / 2, join_style="round").intersects(core):
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    return lo


def erode(g: BaseGeometry, d: float) -> BaseGeometry:
    """``g`` shrunk by ``d`` (µm), Euclidean (round joins)."""
    if d <= 0:
        return g
    return g.buffer(-d, quad_segs=16, join_style="round")


def outside_enclosure(inner: BaseGeometry, outer: BaseGeometry, enclosure: float,
                      tol: float) -> BaseGeometry:
    """Parts of ``inner`` not enclosed by ``outer`` with at least ``enclosure`` (µm)."""
    core = erode(outer, enclosure - tol) if enclosure > tol else outer
    return thick(inner.difference(core), tol)


def representative_point(g: BaseGeometry) -> tuple[float, float]:
    """A point inside ``g`` (its centroid when that lies inside)."""
    c = g.centroid
    if not c.is_empty and g.covers(c):
        return (c.x, c.y)
    p = g.representative_point()
    return (p.x, p.y)


def close_pairs(geoms: list[BaseGeometry], distance: float) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) of geometries closer than ``distance``, with their distance."""
    if len(geoms) < 2 or distance <= 0:
        return []
    arr = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="dwithin", distance=distance)
    sel = left < right
    left, right = left[sel], right[sel]
    if not len(left):
        return []
    d = shapely.distance(arr[left], arr[right])
    keep = d < distance
    return [(int(i), int(j), float(x)) for i, j, x in zip(left[keep], right[keep], d[keep],
                                                          strict=True)]


def circle_fit(g: BaseGeometry) -> tuple[float, float]:
    """Centre x, y of ``g``'s minimum bounding circle (µm)."""
    c = shapely.minimum_bounding_circle(g).centroid
    return (c.x, c.y)


def angle_of(p: np.ndarray, c: tuple[float, float]) -> np.ndarray:
    """Angles (radians) of points ``p`` (N×2) around ``c``."""
    return np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0])


def inner_edge_area(ring: BaseGeometry, center: tuple[float, float], tol: float) -> float:
    """Area enclosed by a ring's inner edge, gaps bridged along that edge (µm²).

    A continuous ring (one polygon with a hole): the area of its largest hole. A
    segmented ring: the vertices of its boundary that face the centre (the ring lies
    just outward of them along the ray from the centre, and not just inward), less
    those on the gap sides (both their edges run radially), form the inner edge;
    joined in angular order, consecutive segments are bridged by chords.
    """
    ps = parts(ring)
    if len(ps) == 1 and ps[0].interiors:
        return max(Polygon(r).area for r in ps[0].interiors)
    verts, radial_edges = [], []
    for p in ps:
        for ring_ in (p.exterior, *p.interiors):
            c = np.asarray(ring_.coords)[:-1]
            if len(c) < 3:
                continue
            verts.append(c)
            # a vertex between two edges that both run mostly radially lies on a gap
            # side, not on the inner edge
            rel = c - np.asarray(center)
            u = rel / np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1e-12)[:, None]
            nxt = np.roll(c, -1, axis=0) - c
            prv = c - np.roll(c, 1, axis=0)
            cn = np.abs(np.einsum("ij,ij->i", nxt, u)) / np.maximum(np.hypot(*nxt.T), 1e-12)
            cp = np.abs(np.einsum("ij,ij->i", prv, u)) / np.maximum(np.hypot(*prv.T), 1e-12)
            radial_edges.append((cn > 0.8) & (cp > 0.8))
    if not verts:
        return 0.0
    v = np.concatenate(verts)
    side = np.concatenate(radial_edges)
    d = v - np.asarray(center)
    r = np.hypot(d[:, 0], d[:, 1])
    ok = (r > 0) & ~side
    v, d, r = v[ok], d[ok], r[ok]
    u = d / r[:, None]
    eps = max(tol * 8, 1e-4)
    out_pts = shapely.points(v + u * eps)
    in_pts = shapely.points(v - u * eps)
    shapely.prepare(ring)
    inner = shapely.contains(ring, out_pts) & ~shapely.contains(ring, in_pts)
    if inner.sum() < 3:
        return 0.0
    w = v[inner]
    ang = angle_of(w, center)
    order = np.argsort(ang, kind="stable")
    w = w[order]
    x, y = w[:, 0], w[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def max_radius(g: BaseGeometry, center: tuple[float, float]) -> float:
    """Largest distance from ``center`` to a vertex of ``g`` (µm)."""
    coords = shapely.get_coordinates(g)
    if not len(coords):
        return 0.0
    return float(np.max(np.hypot(coords[:, 0] - center[0], coords[:, 1] - center[1])))


def min_radius_of_boundary(g: BaseGeometry, center: tuple[float, float]) -> float:
    """Smallest distance from ``center`` to the exterior boundary of ``g`` (µm)."""
    return float(shapely.distance(shapely.points(center), g.exterior)) if isinstance(
        g, Polygon) else float(shapely.distance(shapely.points(center), g.boundary))


def fmt_um(x: float) -> str:
    """A length for messages: µm with up to 3 decimals."""
    if not math.isfinite(x):
        return str(x)
    out = f"{x:.3f}".rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def _segments(p: Polygon) -> tuple[np.ndarray, np.ndarray]:
    """Boundary segments of ``p`` (start, end arrays) with the interior on the left."""
    starts, ends = [], []
    rings = [p.exterior, *p.interiors]
    for k, ring in enumerate(rings):
        c = np.asarray(ring.coords)
        ccw = shapely.is_ccw(ring)
        if (k == 0) != bool(ccw):  # exterior CCW, holes CW: interior always on the left
            c = c[::-1]
        starts.append(c[:-1])
        ends.append(c[1:])
    return np.concatenate(starts), np.concatenate(ends)


def notches(p: Polygon, space: float, tol: float) -> list[tuple[BaseGeometry, float]]:
    """Places where two parts of one polygon's boundary face each other across the
    outside closer than ``space`` (a notch, slot or narrow hole), as in a DRC space
    check with projection: two non-adjacent edges, running in opposite directions,
    whose projections onto each other overlap, closer than ``space``, with the gap
    between them outside the polygon.

    Returns:
        (shortest line between the edges, its length) per violating edge pair.
    """
    a, b = _segments(p)
    n = len(a)
    if n < 4:
        return []
    lines = shapely.linestrings(np.stack((a, b), axis=1))
    tree = shapely.STRtree(lines)
    left, right = tree.query(lines, predicate="dwithin", distance=space - tol)
    sel = left < right
    left, right = left[sel], right[sel]
    if not len(left):
        return []
    # not touching (adjacent edges, or edges meeting at a vertex)
    touch = shapely.intersects(lines[left], lines[right])
    left, right = left[~touch], right[~touch]
    d1 = b[left] - a[left]
    d2 = b[right] - a[right]
    anti = np.einsum("ij,ij->i", d1, d2) < 0
    left, right, d1, d2 = left[anti], right[anti], d1[anti], d2[anti]
    if not len(left):
        return []

    def overlap(a1: np.ndarray, dd: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
        ll = np.einsum("ij,ij->i", dd, dd)
        t0 = np.einsum("ij,ij->i", p0 - a1, dd) / ll
        t1 = np.einsum("ij,ij->i", p1 - a1, dd) / ll
        lo, hi = np.minimum(t0, t1), np.maximum(t0, t1)
        return (hi > 1e-9) & (lo < 1 - 1e-9)

    ok = overlap(a[left], d1, a[right], b[right]) & overlap(a[right], d2, a[left], b[left])
    left, right = left[ok], right[ok]
    out = []
    for i, j in zip(left, right, strict=True):
        line = shapely.shortest_line(lines[i], lines[j])
        d = float(line.length)
        if d >= space - tol or d <= 0:
            continue
        mid = line.interpolate(0.5, normalized=True)
        if p.covers(mid):
            continue  # the edges face each other across the inside: a width, not a space
        out.append((line, d))
    return out
