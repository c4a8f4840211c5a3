"""Geometry primitives of the checker (shapely 2, vectorised where it counts).

Conventions: lengths in µm; ``tol`` is a quarter of the file's database unit, so a
value exactly at a rule passes and one database unit less fails.

* :func:`to_shapely` turns point arrays into valid polygons (self-intersecting or
  keyholed boundaries repaired with GEOS ``make_valid``).
* :func:`merge` unions a layer with snap-rounding on a grid far finer than the
  database unit: abutting or overlapping pieces become one, slivers of floating
  point noise (rotated placements) vanish, a gap of one database unit stays a gap,
  and pieces touching at a point stay separate polygons.
* :func:`edge_pairs` finds where a shape is narrower than a width, or faces itself
  across the outside closer than a space, as a DRC check with the projection metric
  does: a neck anywhere shows, corners do not.
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


def _lone(arr: np.ndarray, grid: float) -> np.ndarray:
    """Which of ``arr`` are polygons with every vertex on ``grid`` and no other shape
    within two grid steps: snap-rounded union leaves such a polygon exactly as drawn."""
    n = len(arr)
    lone = shapely.get_type_id(arr) == 3  # Polygon
    if n > 1:
        tree = shapely.STRtree(arr)
        left, right = tree.query(arr, predicate="dwithin", distance=2 * grid)
        other = left != right
        lone[left[other]] = False
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    q = coords / grid
    off = np.abs(q - np.rint(q)).max(axis=1) > 1e-3
    lone[owner[off]] = False
    return lone


def merge(geoms: np.ndarray | list, grid: float) -> BaseGeometry:
    """Union of ``geoms`` snapped to ``grid`` (µm); empty Polygon when none.

    Polygons that meet no other shape and lie on the grid are kept as drawn (their
    snap-rounded union is themselves); only the others go through the overlay, which
    costs tens of microseconds a vertex.
    """
    if len(geoms) == 0:
        return EMPTY
    arr = np.asarray(geoms, dtype=object)
    lone = _lone(arr, grid)
    if not lone.any():
        return polygonal(shapely.union_all(arr, grid_size=grid))
    rest = arr[~lone]
    kept = list(arr[lone])
    if len(rest):
        kept += parts(polygonal(shapely.union_all(rest, grid_size=grid)))
    return kept[0] if len(kept) == 1 else MultiPolygon(kept)


def parts(g: BaseGeometry) -> list[Polygon]:
    """The polygons of ``g`` (connected components; touching at a point = separate)."""
    if g is None or g.is_empty:
        return []
    return [p for p in shapely.get_parts(g) if isinstance(p, Polygon) and not p.is_empty]


def fill(p: Polygon) -> BaseGeometry:
    """``p`` with its holes filled: the whole area its outline encloses.

    An outline that touches itself at a point (GEOS keeps a hole pinched against the
    outline inside the outline) encloses its pinched-off loops too: they are filled.
    """
    ext = p.exterior
    if ext.is_simple:
        return Polygon(ext)
    faces = shapely.polygonize(shapely.get_parts(shapely.node(ext)))
    return polygonal(shapely.union_all(shapely.get_parts(faces)))


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


def erode(g: BaseGeometry, d: float) -> BaseGeometry:
    """``g`` shrunk by ``d`` (µm), Euclidean (round joins)."""
    if d <= 0:
        return g
    return g.buffer(-d, quad_segs=16, join_style="round")


#: GEOS simplifies a buffer's input by 1 % of the distance before offsetting (its
#: BufferInputLineSimplifier): an erosion by d may stray up to d/100 from the exact one
BUFFER_SLACK = 0.02


def outside_enclosure(inner: BaseGeometry, outer: BaseGeometry, enclosure: float,
                      tol: float) -> BaseGeometry:
    """Parts of ``inner`` not enclosed by ``outer`` with at least ``enclosure`` (µm).

    Candidates come from an erosion of ``outer`` grown by :data:`BUFFER_SLACK` (a
    superset: GEOS's eroded outline strays from the exact one); each candidate is then
    judged by its exact distance to the boundary of ``outer``, so an enclosure drawn at
    exactly the rule passes and one short by a database unit fails.
    """
    if enclosure <= tol:
        return thick(inner.difference(outer), tol)
    core = erode(outer, enclosure * (1 + BUFFER_SLACK) + 2 * tol)
    cand = thick(inner.difference(core), tol)
    if cand.is_empty:
        return cand
    edge = outer.boundary
    bad: list[BaseGeometry] = []
    for part in parts(cand):
        out = thick(part.difference(outer), tol)
        if not out.is_empty:
            bad.append(out)
            rest = part.difference(out)
            if rest.is_empty:
                continue
        if float(shapely.distance(part, edge)) >= enclosure - tol:
            continue
        near = polygonal(part.intersection(edge.buffer(enclosure - tol, quad_segs=16)))
        if near.is_empty:  # the exact distance says too close; the buffer lost it
            a, _b = shapely.shortest_line(part, edge).coords
            near = shapely.Point(a).buffer(tol)
        bad.append(near)
    return shapely.union_all(bad) if bad else EMPTY


def representative_point(g: BaseGeometry) -> tuple[float, float]:
    """Where an item or a violation is reported: its centroid when that lies on it,
    else the point of ``g`` nearest to the centroid (for a ring: on the ring, not in
    its cavity).

    Both move with every placement transformation (rotation, mirror, magnification),
    so a cell judged in its own frame and the same cell judged flat report the same
    point.
    """
    c = g.centroid
    if c.is_empty:
        b = g.bounds
        return ((b[0] + b[2]) / 2 + 0.0, (b[1] + b[3]) / 2 + 0.0) if len(b) == 4 \
            else (0.0, 0.0)
    if not g.intersects(c):
        a, _b = shapely.shortest_line(g, c).coords
        return (a[0] + 0.0, a[1] + 0.0)
    return (c.x + 0.0, c.y + 0.0)


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


def edge_pairs(p: Polygon, dist: float, tol: float, inside: bool
               ) -> list[tuple[BaseGeometry, float]]:
    """Pairs of edges of one polygon that face each other closer than ``dist``.

    As in a DRC width or space check with the projection metric: two edges that do not
    touch, run in opposite directions, and whose projections onto each other overlap,
    closer than ``dist - tol``. ``inside=True`` keeps the pairs facing each other across
    the polygon (a width violation: a neck, a thin part); ``inside=False`` those facing
    across the outside (a notch, slot or narrow hole: a space violation).

    Returns:
        (the strip between the two edges, their distance) per violating pair.
    """
    a, b = _segments(p)
    if len(a) < 3:
        return []
    lines = shapely.linestrings(np.stack((a, b), axis=1))
    tree = shapely.STRtree(lines)
    # candidates by bounding boxes grown by the distance (cheap), then the exact tests
    # in numpy; the segment distance is computed last, for the few pairs that face
    # each other (a circle's every edge is near every other one)
    r = dist - tol
    lo_xy, hi_xy = np.minimum(a, b) - r, np.maximum(a, b) + r
    left, right = tree.query(shapely.box(lo_xy[:, 0], lo_xy[:, 1], hi_xy[:, 0], hi_xy[:, 1]))
    sel = left < right
    left, right = left[sel], right[sel]
    if not len(left):
        return []
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
    left, right, d1, d2 = left[ok], right[ok], d1[ok], d2[ok]
    if not len(left):
        return []
    touch = shapely.intersects(lines[left], lines[right])
    left, right, d1, d2 = left[~touch], right[~touch], d1[~touch], d2[~touch]
    if not len(left):
        return []
    short = shapely.shortest_line(lines[left], lines[right])
    length = shapely.length(short)
    keep = (length < dist - tol) & (length > 0)
    left, right, d1, d2 = left[keep], right[keep], d1[keep], d2[keep]
    short, length = short[keep], length[keep]
    if not len(short):
        return []
    # which side the pair faces across: test the middle of the strip between the two
    # edges (the middle of their common projection), never a point on an edge
    a1, a2 = a[left], a[right]
    l1 = np.einsum("ij,ij->i", d1, d1)
    t0 = np.einsum("ij,ij->i", a2 - a1, d1) / l1
    t1 = np.einsum("ij,ij->i", b[right] - a1, d1) / l1
    tm = (np.clip(np.minimum(t0, t1), 0, 1) + np.clip(np.maximum(t0, t1), 0, 1)) / 2
    q1 = a1 + tm[:, None] * d1
    l2 = np.einsum("ij,ij->i", d2, d2)
    u = np.clip(np.einsum("ij,ij->i", q1 - a2, d2) / l2, 0, 1)
    q2 = a2 + u[:, None] * d2
    mids = shapely.points((q1 + q2) / 2)
    shapely.prepare(p)
    inner = shapely.contains(p, mids)
    side = inner if inside else ~shapely.intersects(p, mids)
    if not side.any():
        return []
    # mark the whole strip between the two edges (their common projection), so that a
    # thin stretch is one region, whatever the edges it is made of
    sel = np.nonzero(side)[0]
    lo = np.clip(np.minimum(t0, t1), 0, 1)[sel]
    hi = np.clip(np.maximum(t0, t1), 0, 1)[sel]
    e1a = a1[sel] + lo[:, None] * d1[sel]
    e1b = a1[sel] + hi[:, None] * d1[sel]

    def proj(q: np.ndarray) -> np.ndarray:
        uu = np.clip(np.einsum("ij,ij->i", q - a2[sel], d2[sel]) / l2[sel], 0, 1)
        return a2[sel] + uu[:, None] * d2[sel]

    quads = np.stack((e1a, e1b, proj(e1b), proj(e1a)), axis=1)
    strips = shapely.polygons(quads)
    strips = shapely.buffer(strips, tol, join_style="mitre")
    strips = np.where(shapely.is_empty(strips), shapely.buffer(short[sel], tol), strips)
    return [(g, float(d)) for g, d in zip(strips, length[sel], strict=True)]


def notches(p: Polygon, space: float, tol: float) -> list[tuple[BaseGeometry, float]]:
    """Places where one polygon's boundary faces itself across the outside closer than
    ``space`` (a notch, slot or narrow hole): see :func:`edge_pairs`."""
    return edge_pairs(p, space, tol, inside=False)


def thin(p: Polygon, width: float, tol: float) -> list[tuple[BaseGeometry, float]]:
    """Places where a polygon is narrower than ``width``: see :func:`edge_pairs`."""
    return edge_pairs(p, width, tol, inside=True)


def width_violations(p: Polygon, width: float, tol: float) -> list[tuple[BaseGeometry, float]]:
    """Width violations of ``p`` grouped into regions: (region, narrowest width there)."""
    found = thin(p, width, tol)
    if not found:
        return []
    marks = shapely.union_all([g for g, _ in found])
    out = []
    for region in clusters(marks, width):
        d = min(d for ln, d in found if ln.intersects(region))
        out.append((region, d))
    return out
