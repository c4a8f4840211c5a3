"""The solder seal ring of the hermetic cap (claims 1 C-E, 2, 3, 6, 12 D, 22, 25).

A continuous solder bead (CAP_SOLDER: the openings of the plating mask through which the
bead is electroplated onto the cap metallization) surrounds the chip's active area. The
cap metallization (CAP_METAL) encloses the bead on both sides, and the chip carries a
landing metal (SEAL_LAND) under the bead, the chip area around the active area that the
bead wets when it is reflowed. Cap layers are drawn in device-wafer coordinates.

Cross-section of one side of the ring (µm)::

     ACTIVE        cavity           CAP_SOLDER bead
    ########|<-- clearance -->|<--- width --->|
                          |<->|               |<->|   metal_enclosure (CAP_METAL)
                          m                       m
                           |l|               |l|      land_enclosure (SEAL_LAND)

Top view, ``corner = "chamfer"`` (45° at a right-angled corner; ``leg`` is the chamfer's
leg on the ring's OUTER edge, the inner edge's chamfer runs parallel at ``width``)::

      leg
      |<->|
      +---+----------------   outer edge
     /    |
    +     +----------------   inner edge (chamfer leg = leg - width*(2 - sqrt 2),
    |     |                   sharp when that is <= 0)
    |     |     ACTIVE at ``clearance`` inside the inner edge

``corner = "round"``: the outer edge's convex corners are arcs of ``radius``, the inner
edge's concentric arcs of ``radius - width`` (sharp when ``radius <= width``).
``corner = "square"``: both edges follow the active area's outline with mitred corners.
Concave corners (an L-shaped active area) stay sharp in every style.

Exactness on the 1 nm grid: every vertex of the outer edges is moved to a grid point
outside the exact edge and every vertex of the inner edges to one inside, so the bead
is never narrower than ``width`` and the metal never encloses it by less than
``metal_enclosure``. Edges parallel to the axes are exact; a slanted inner edge may sit
up to about 1.5 nm closer to the active area than ``clearance``.

Errors name the product-spec key path of the offending parameter (``seal.width``),
also when a cell function is called directly with its short argument name.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import gdstk
import numpy as np

from layoutgen.errors import ParameterError
from layoutgen.geometry import CIRCLE_TOLERANCE, GRID, snap
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell
from layoutgen.spec import Param

__all__ = [
    "CORNER_STYLES",
    "DEFAULT_ACTIVE",
    "SEAL_PARAMS",
    "SealGeometry",
    "active_polygon",
    "seal_geometry",
    "seal_ring",
    "snap_toward",
]

CORNER_STYLES = ("square", "chamfer", "round")

#: the default active area: 1400 × 1400 µm centred on the die centre
DEFAULT_ACTIVE: tuple[tuple[float, float], ...] = (
    (-700.0, -700.0), (700.0, -700.0), (700.0, 700.0), (-700.0, 700.0))

#: the seal's parameters, declared once: product specs and the cell functions both
#: validate with them, so the errors are the same from a spec file and from Python.
SEAL_PARAMS: dict[str, Param] = {p.key: p for p in (
    Param("seal.width", 80.0, "width of the solder bead ring (CAP_SOLDER)",
          low=0, low_open=True),
    Param("seal.clearance", 60.0, "distance from the active area to the ring's inner edge",
          low=0, low_open=True),
    Param("seal.corner", "chamfer", "corner style: square, chamfer (45° at right angles, "
          "leg seal.chamfer) or round (radius seal.radius)", unit="", choices=CORNER_STYLES),
    Param("seal.chamfer", 70.0, "chamfer leg length on the ring's outer edge at convex "
          "corners (seal.corner = chamfer)", low=0, low_open=True),
    Param("seal.radius", 100.0, "radius of the ring's outer edge at convex corners "
          "(seal.corner = round); the inner edge is concentric", low=0, low_open=True),
    Param("seal.metal_enclosure", 10.0, "CAP_METAL beyond the bead on both sides "
          "(claims 2, 25)", low=0),
    Param("seal.land_enclosure", 5.0, "SEAL_LAND (chip-side landing metal) beyond the bead "
          "on both sides", low=0),
)}

#: most vertices of an active area outline (the simplicity test is quadratic in them)
MAX_ACTIVE_VERTICES = 2000
#: Clipper miter limit (multiples of the offset) before a very acute corner is squared off
_MITER_LIMIT = 10.0
#: working precision of offsets before the final, directed snap to the grid, µm
_FINE = 1e-9


# ---------------------------------------------------------------- polygon helpers
def _signed_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _ccw(p: np.ndarray) -> np.ndarray:
    """``p`` as a counter-clockwise float array without repeated consecutive vertices."""
    p = np.asarray(p, dtype=float)
    keep = np.any(np.abs(p - np.roll(p, 1, axis=0)) > 1e-12, axis=1)
    p = p[keep] if keep.any() else p[:1]
    return p[::-1].copy() if _signed_area(p) < 0 else p


def _segments_cross(p: np.ndarray) -> bool:
    """True when two edges of the closed polygon ``p`` that are not neighbours meet."""
    n = len(p)
    a, b = p, np.roll(p, -1, axis=0)
    i, j = np.triu_indices(n, k=2)
    keep = ~((i == 0) & (j == n - 1))  # the first and last edges are neighbours
    i, j = i[keep], j[keep]
    if not len(i):
        return False

    def orient(o: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        v = (q[:, 0] - o[:, 0]) * (r[:, 1] - o[:, 1]) - (q[:, 1] - o[:, 1]) * (r[:, 0] - o[:, 0])
        return np.sign(np.where(np.abs(v) < 1e-12, 0.0, v))

    def on_seg(o: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(o, q), np.maximum(o, q)
        return np.all((lo <= r) & (r <= hi), axis=1)

    p1, q1, p2, q2 = a[i], b[i], a[j], b[j]
    o1, o2 = orient(p1, q1, p2), orient(p1, q1, q2)
    o3, o4 = orient(p2, q2, p1), orient(p2, q2, q1)
    proper = (o1 * o2 < 0) & (o3 * o4 < 0)
    touch = (((o1 == 0) & on_seg(p1, q1, p2)) | ((o2 == 0) & on_seg(p1, q1, q2))
             | ((o3 == 0) & on_seg(p2, q2, p1)) | ((o4 == 0) & on_seg(p2, q2, q1)))
    return bool(np.any(proper | touch))


def active_polygon(points: Sequence[Sequence[float]], key: str = "active.points") -> np.ndarray:
    """Validate an active area outline and return it snapped, counter-clockwise.

    Args:
        points: the outline's vertices (x, y), µm, 3 to ``MAX_ACTIVE_VERTICES``; a simple
            polygon (no edge crosses or touches another) with a non-zero area.
        key: the key path named in errors.

    Raises:
        ParameterError: not a list of 3+ number pairs, self-intersecting or zero area.
    """
    allowed = f"a list of 3 to {MAX_ACTIVE_VERTICES} [x, y] vertices (µm) of a simple polygon"
    try:
        if isinstance(points, (str, bytes)) or any(
                isinstance(v, (bool, str, bytes)) for pt in points for v in pt):
            raise TypeError("not a number")  # float() would take True or "80"
        arr = np.array([[float(v) for v in pt] for pt in points], dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(key, f"must be {allowed}, got {points!r}", points, allowed) from None
    if arr.ndim != 2 or arr.shape[1] != 2 or not 3 <= len(arr) <= MAX_ACTIVE_VERTICES \
            or not np.all(np.isfinite(arr)):
        raise ParameterError(key, f"must be {allowed}, got {points!r}", points, allowed)
    p = _ccw(snap(arr))
    if len(p) >= 3 and _segments_cross(p):
        raise ParameterError(key, f"must be a simple polygon (its edges cross or touch); "
                                  f"{allowed}, got {points!r}", points, allowed)
    if len(p) < 3 or abs(_signed_area(p)) < 1e-6:
        raise ParameterError(key, f"must enclose an area; {allowed}, got {points!r}", points,
                             allowed)
    return p


def snap_toward(points: np.ndarray, outward: bool, grid: float = GRID) -> np.ndarray:
    """Snap a polygon's vertices to the grid, each moved to the chosen side of its edges.

    Every vertex goes to the nearest grid point (within two grid steps) that lies on
    the outer side (``outward=True``) or the inner side of the lines of BOTH edges that
    meet at it. Each new edge then lies on that side of the exact one, so the snapped
    polygon contains (outward) or is contained in (inward) the exact polygon. Vertices
    already on the grid stay.

    Args:
        points: the polygon, N×2 µm, any orientation.
        outward: grow (True) or shrink (False) the polygon.
        grid: the grid, µm.
    """
    p = _ccw(points)
    q = p / grid
    edge = np.roll(q, -1, axis=0) - q  # edge i: vertex i -> i+1
    length = np.hypot(edge[:, 0], edge[:, 1])
    normal = np.column_stack((edge[:, 1], -edge[:, 0])) / length[:, None]  # outward for CCW
    if not outward:
        normal = -normal
    n_next, n_prev = normal, np.roll(normal, 1, axis=0)
    steps = np.array([(dx, dy) for dx in (-1, 0, 1, 2) for dy in (-1, 0, 1, 2)], dtype=float)
    cand = np.floor(q)[:, None, :] + steps[None, :, :]
    d = cand - q[:, None, :]
    side = np.minimum((d * n_prev[:, None, :]).sum(-1), (d * n_next[:, None, :]).sum(-1))
    dist2 = (d * d).sum(-1)
    score = np.where(side >= -1e-9, dist2, 1e9 - side)
    best = cand[np.arange(len(q)), np.argmin(score, axis=1)]
    out = snap(best * grid, grid)
    keep = np.any(np.abs(out - np.roll(out, 1, axis=0)) > grid / 2, axis=1)
    return out[keep]


def _offset(p: np.ndarray, distance: float) -> list[np.ndarray]:
    """Mitred offset of one polygon at sub-nm precision (CCW results)."""
    if distance == 0:
        return [p]
    res = gdstk.offset(gdstk.Polygon(p), distance, join="miter", tolerance=_MITER_LIMIT,
                       precision=_FINE)
    return [_ccw(r.points) for r in res]


def _corner_legs(p: np.ndarray, corner: str, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Per vertex: the turning angle (0 where concave or square) and the leg length."""
    u_in = p - np.roll(p, 1, axis=0)
    u_out = np.roll(p, -1, axis=0) - p
    u_in = u_in / np.hypot(u_in[:, 0], u_in[:, 1])[:, None]
    u_out = u_out / np.hypot(u_out[:, 0], u_out[:, 1])[:, None]
    cross = u_in[:, 0] * u_out[:, 1] - u_in[:, 1] * u_out[:, 0]
    dot = (u_in * u_out).sum(1)
    phi = np.where(cross > 1e-9, np.arctan2(cross, dot), 0.0)
    if corner == "chamfer":
        leg = np.where(phi > 0, size, 0.0)
    elif corner == "round":
        leg = size * np.tan(phi / 2)
    else:
        leg = np.zeros(len(p))
    return phi, leg


def _cut_corners(p: np.ndarray, corner: str, size: float, tolerance: float) -> np.ndarray:
    """``p`` (CCW) with its convex corners chamfered (legs ``size``) or rounded.

    Arcs are circumscribed polygons (every chord tangent to or outside the circle of
    ``size``), so the edge never comes closer to the arc's centre than ``size``; their
    vertices are at most ``tolerance`` outside the circle.
    """
    if corner == "square":
        return p
    phi, leg = _corner_legs(p, corner, size)
    out: list[np.ndarray] = []
    n = len(p)
    for i in range(n):
        v = p[i]
        if phi[i] <= 0:
            out.append(v[None, :])
            continue
        u1 = v - p[i - 1]
        u1 = u1 / math.hypot(*u1)
        u2 = p[(i + 1) % n] - v
        u2 = u2 / math.hypot(*u2)
        if corner == "chamfer":
            out.append(np.array([v - size * u1, v + size * u2]))
            continue
        centre = v - leg[i] * u1 + size * np.array([-u1[1], u1[0]])
        a0 = math.atan2(-u1[0], u1[1])  # direction of the outward normal (u1y, -u1x)
        step = 2 * math.acos(size / (size + tolerance))
        k = max(1, math.ceil(phi[i] / step - 1e-9))
        delta = phi[i] / k
        rv = size / math.cos(delta / 2)
        ang = a0 + (np.arange(k) + 0.5) * delta
        out.append(centre + rv * np.column_stack((np.cos(ang), np.sin(ang))))
    return _ccw(np.vstack(out))


def _legs_fit(p: np.ndarray, corner: str, size: float) -> float:
    """The largest chamfer leg / radius whose corner cuts do not overlap along any edge."""
    phi, _ = _corner_legs(p, corner, 1.0)
    per_unit = np.tan(phi / 2) if corner == "round" else (phi > 0).astype(float)
    edge = np.hypot(*(np.roll(p, -1, axis=0) - p).T)
    need = per_unit + np.roll(per_unit, -1)
    with np.errstate(divide="ignore"):
        limits = np.where(need > 0, edge / need, np.inf)
    return float(limits.min())


def _min_distance(points: np.ndarray, poly: np.ndarray) -> float:
    """Smallest distance from any of ``points`` to the boundary of ``poly``."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    ab = b - a
    ab2 = np.maximum((ab * ab).sum(1), 1e-30)
    ap = points[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab[None]).sum(-1) / ab2[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    d = np.hypot(*(points[:, None, :] - closest).transpose(2, 0, 1))
    return float(d.min())


# ---------------------------------------------------------------- geometry
@dataclass(frozen=True)
class SealGeometry:
    """The snapped outlines of one seal stack (every array N×2 µm, CCW, read-only).

    Attributes:
        active: the active area.
        outer, inner: the solder ring's outer and inner (cavity) edges.
        metal_outer, metal_inner: the CAP_METAL ring's edges.
        land_outer, land_inner: the SEAL_LAND ring's edges.
    """

    active: np.ndarray
    outer: np.ndarray
    inner: np.ndarray
    metal_outer: np.ndarray
    metal_inner: np.ndarray
    land_outer: np.ndarray
    land_inner: np.ndarray

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of everything the seal draws, µm."""
        pts = np.vstack((self.outer, self.metal_outer, self.land_outer))
        return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()),
                float(pts[:, 1].max()))

    def solder_extent(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the solder ring, µm."""
        o = self.outer
        return (float(o[:, 0].min()), float(o[:, 1].min()), float(o[:, 0].max()),
                float(o[:, 1].max()))


def _check(key: str, value: object) -> object:
    return SEAL_PARAMS[key].validate(value)


def _outer_edge(active: np.ndarray, reach: float, corner: str, size: float,
                tolerance: float) -> np.ndarray:
    base = _offset(active, reach)
    if len(base) != 1:  # pragma: no cover - an outward offset of a simple polygon is one piece
        raise ParameterError("active.points", "the seal ring around this outline would not "
                             "be one ring", None, "a simple polygon")
    return _cut_corners(base[0], corner, size, tolerance)


def _corner_limit(active: np.ndarray, reach: float, corner: str, size: float,
                  tolerance: float) -> tuple[float, str]:
    """The largest leg/radius allowed here, and why (a phrase for the error)."""
    base = _offset(active, reach)[0]
    fit = _legs_fit(base, corner, size)
    if corner == "round":
        clear = reach  # an arc of the outer edge centred on the active corner
    else:
        lo, hi = 0.0, size
        for _ in range(48):
            mid = (lo + hi) / 2
            edge = _cut_corners(base, corner, mid, tolerance)
            if _min_distance(active, edge) >= reach - 1e-6:
                lo = mid
            else:
                hi = mid
        clear = lo
    if fit < clear:
        return fit, "so that the corner cuts do not overlap along the ring's edges"
    return clear, ("so that the ring's inner edge stays seal.clearance from the active area "
                   "at the corners")


@functools.lru_cache(maxsize=256)
def _seal_geometry(active: tuple[tuple[float, float], ...], clearance: float, width: float,
                   corner: str, chamfer: float, radius: float, metal_enclosure: float,
                   land_enclosure: float, tolerance: float) -> SealGeometry:
    act = active_polygon(active)
    size = {"chamfer": chamfer, "round": radius}.get(corner, 0.0)
    key = {"chamfer": "seal.chamfer", "round": "seal.radius"}.get(corner, "")
    reach = clearance + width
    for enc, ekey in ((metal_enclosure, "seal.metal_enclosure"),
                      (land_enclosure, "seal.land_enclosure")):
        if enc >= clearance:
            allowed = f"< seal.clearance ({clearance:g} µm)"
            raise ParameterError(ekey, f"must be {allowed} so that the ring's metal stays off "
                                       f"the active area, got {enc:g}", enc, allowed)
    outer_f = _outer_edge(act, reach, corner, size, tolerance)
    if corner != "square":
        base = _offset(act, reach)[0]
        if size > _legs_fit(base, corner, size) + 1e-9 or \
                _min_distance(act, outer_f) < reach - 1e-6:
            limit, why = _corner_limit(act, reach, corner, size, tolerance)
            allowed = f"> 0 and <= {math.floor(limit * 1000) / 1000:g} µm"
            raise ParameterError(key, f"must be {allowed} {why} (for this active area, "
                                      f"seal.clearance {clearance:g} µm and seal.width "
                                      f"{width:g} µm), got {size:g}", size, allowed)
    inner_f = _offset(outer_f, -width)
    if len(inner_f) != 1:
        allowed = "a width whose ring has one cavity"
        raise ParameterError("seal.width", f"the ring's cavity splits in {len(inner_f)} "
                                           f"pieces for this active area, got {width:g}",
                             width, allowed)
    outer = snap_toward(outer_f, outward=True)
    inner = snap_toward(inner_f[0], outward=False)

    def grow(enc: float) -> tuple[np.ndarray, np.ndarray]:
        if enc == 0:
            return outer, inner
        o = _offset(outer, enc)
        i = _offset(inner, -enc)
        if len(o) != 1 or len(i) != 1:  # pragma: no cover - enc < clearance keeps one hole
            raise ParameterError("seal.metal_enclosure", "the enclosing ring would not be one "
                                 "ring", enc, "< seal.clearance")
        return snap_toward(o[0], outward=True), snap_toward(i[0], outward=False)

    metal_o, metal_i = grow(metal_enclosure)
    land_o, land_i = grow(land_enclosure)
    arrays = (act, outer, inner, metal_o, metal_i, land_o, land_i)
    for a in arrays:
        a.flags.writeable = False
    return SealGeometry(*arrays)


def seal_geometry(*, active: Sequence[Sequence[float]] = DEFAULT_ACTIVE, clearance: float = 60.0,
                  width: float = 80.0, corner: str = "chamfer", chamfer: float = 70.0,
                  radius: float = 100.0, metal_enclosure: float = 10.0,
                  land_enclosure: float = 5.0,
                  tolerance: float = CIRCLE_TOLERANCE) -> SealGeometry:
    """Validate the seal's parameters and compute its snapped outlines (cached).

    Args: as :func:`seal_ring`.

    Raises:
        ParameterError: a parameter out of its range, a corner cut so large that the
            inner edge would come closer than ``clearance`` to the active area or that
            cuts overlap, an enclosure >= ``clearance``, a bad active outline.
    """
    clearance = _check("seal.clearance", clearance)
    width = _check("seal.width", width)
    corner = _check("seal.corner", corner)
    chamfer = _check("seal.chamfer", chamfer)
    radius = _check("seal.radius", radius)
    metal_enclosure = _check("seal.metal_enclosure", metal_enclosure)
    land_enclosure = _check("seal.land_enclosure", land_enclosure)
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 10):
        raise ParameterError("tolerance", f"must be > 0 and < 10 µm, got {tolerance!r}",
                             tolerance, "> 0 and < 10 µm")
    pts = tuple((float(x), float(y)) for x, y in active_polygon(active))
    return _seal_geometry(pts, clearance, width, corner, chamfer, radius, metal_enclosure,
                          land_enclosure, float(tolerance))


def ring_polygons(outer: np.ndarray, inner: np.ndarray, layer: int,
                  datatype: int) -> list[gdstk.Polygon]:
    """The closed ring between ``outer`` and ``inner`` as ONE polygon (keyholed by gdstk).

    Raises:
        RuntimeError: the boolean did not give one polygon of the expected area (a bug).
    """
    res = gdstk.boolean(gdstk.Polygon(outer), gdstk.Polygon(inner), "not", precision=GRID,
                        layer=layer, datatype=datatype)
    want = abs(_signed_area(outer)) - abs(_signed_area(inner))
    # the keyhole's cut ends on an outer edge at a point rounded to the grid: that edge
    # moves by up to half a grid step, so the area may differ by up to that times its
    # length (0.1 µm² for a 400 µm edge)
    edges = max(float(np.hypot(*np.diff(np.vstack((r, r[:1])), axis=0).T).max())
                for r in (outer, inner))
    if len(res) != 1 or abs(res[0].area() - want) > max(1e-6 * want, GRID * edges):
        raise RuntimeError(f"seal ring is {len(res)} polygons of area "
                           f"{sum(r.area() for r in res):.6f}, expected one of {want:.6f}")
    return [gdstk.Polygon(snap(res[0].points), layer=layer, datatype=datatype)]


@cell("seal_ring")
def seal_ring(*, active: Sequence[Sequence[float]] = DEFAULT_ACTIVE, clearance: float = 60.0,
              width: float = 80.0, corner: str = "chamfer", chamfer: float = 70.0,
              radius: float = 100.0, metal_enclosure: float = 10.0,
              land_enclosure: float = 5.0, tolerance: float = CIRCLE_TOLERANCE,
              layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:
    """The seal stack around one active area: solder ring, cap metal ring, land ring.

    Each is ONE closed polygon with one hole: CAP_SOLDER (the bead, i.e. the plating
    mask's opening), CAP_METAL (enclosing the bead by ``metal_enclosure`` on both sides)
    and SEAL_LAND (the chip-side landing metal, enclosing it by ``land_enclosure``). The
    active area itself is not drawn here. Coordinates are those of ``active``.

    Args:
        active: the active area's outline, (x, y) vertices in µm, any simple polygon
            (default the 1400 × 1400 µm square centred on the origin).
        clearance: distance from the active area to the ring's inner edge, µm (> 0).
        width: width of the solder ring, µm (> 0).
        corner: ``square``, ``chamfer`` or ``round``.
        chamfer: leg length of the chamfer on the ring's outer edge, µm (``chamfer``).
        radius: radius of the ring's outer edge at convex corners, µm (``round``).
        metal_enclosure: CAP_METAL beyond the bead on each side, µm (>= 0, < clearance).
        land_enclosure: SEAL_LAND beyond the bead on each side, µm (>= 0, < clearance).
        tolerance: chord error of the arcs of ``round`` corners, µm.
        layers: the layer map.
    """
    g = seal_geometry(active=active, clearance=clearance, width=width, corner=corner,
                      chamfer=chamfer, radius=radius, metal_enclosure=metal_enclosure,
                      land_enclosure=land_enclosure, tolerance=tolerance)
    c = gdstk.Cell("seal_ring")
    for name, (o, i) in (("CAP_SOLDER", (g.outer, g.inner)),
                         ("CAP_METAL", (g.metal_outer, g.metal_inner)),
                         ("SEAL_LAND", (g.land_outer, g.land_inner))):
        ld = layers.ld(name)
        c.add(*ring_polygons(o, i, ld["layer"], ld["datatype"]))
    return c
