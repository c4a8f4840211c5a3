"""The RDL router: wires each chip pad to its ball land with octilinear traces.

Model::

    grid of nodes, pitch p           traces: centrelines on grid edges, 0/45/90° only
    . . . . . . . . .                       . . . . .
    . [pad]-------. .                 edge clearances, exact on the centrelines:
    . . . . . .\\  . .                   trace-trace    >= space + 2·w/2·√2
    . . . . . . \\ . .                   trace-terminal >= space + w/2·√2
    . . . . . . (land)                 (w/2·√2: farthest a mitred corner reaches)

* Each net is found by A* over (node, heading) states: straight, 45° turns, and 90°
  turns only between Manhattan headings (so every mitre vertex is on the 1 nm grid).
  Bends cost extra, so traces stay straight where they can.
* Clearances are judged on grid *edges*: a move is allowed when its whole segment is
  far enough from other nets' terminals and traces (segment-to-shape distances in
  numpy), so a route can never short or cross another net's pad, land or hole.
* Nets that fail are moved to the front and the set is routed again (a few passes);
  what still fails raises :class:`~layoutgen.errors.RoutingError` naming the nets and
  the nets in their way.
* Trace outlines are built from offset lines in integer nanometres: Manhattan sides
  at w/2, diagonal sides at ceil(w/(2√2)) nm in x and y, so every vertex is on the grid
  and no snapped diagonal is narrower than ``width``.
* Near its own pad a trace leaves in a straight line, moving away; near its own land
  it arrives in a straight line, moving toward it: a trace never runs alongside its
  own pad or land, which would leave a notch narrower than the space rule.
* Teardrops: where a trace leaves a pad or land, the metal is widened to the convex
  hull of the terminal and two points on the trace's sides past the terminal (kept
  only outside the terminal), so trace and terminal meet along tangents, never in an
  acute notch, whatever the exit angle. Where a pad and its land are too close for
  two teardrops (a chip pad beside its ball), the two would meet or cross between them
  and their flanks leave an acute notch: both are shortened alike to the longest that
  keep ``space`` from the other end's metal. A teardrop that would come closer than
  ``space`` to another net is shortened (down to the fillet an oblique exit needs).
* Finally every net's metal (terminals, traces, teardrops) is merged with shapely and
  checked: one piece per net, at least ``space`` from every other net, inside the
  routing area. A failure is a RoutingError, never a silent short.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.geometry.polygon
from shapely.geometry import LineString, Point, Polygon

from layoutgen.errors import RoutingError
from layoutgen.geometry import CIRCLE_TOLERANCE, circle_points, snap

__all__ = ["Net", "Routing", "Terminal", "route", "route_straight"]

NM = 1e-3  # µm per database unit
#: the eight headings, counter-clockwise from +x; even = Manhattan, odd = diagonal
DIRS8 = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
#: the four canonical edge directions stored in the owner arrays
DIRS4 = ((1, 0), (0, 1), (1, 1), (-1, 1))
FREE = -1
BLOCKED = -2


@dataclass(frozen=True)
class Terminal:
    """A net end: a chip pad's RDL cover (square) or a ball's RDL land (circle).

    Attributes:
        name: pad or ball name (``P7``, ``C4``).
        shape: ``rect`` or ``circle``.
        x: centre x, µm (on the 1 nm grid).
        y: centre y, µm.
        size: square edge or circle diameter, µm.
        tolerance: chord error of a circle, µm (as drawn by the cell).
    """

    name: str
    shape: str
    x: float
    y: float
    size: float
    tolerance: float = CIRCLE_TOLERANCE

    def points(self) -> np.ndarray:
        """The terminal's polygon as drawn (a centred cell placed at (x, y)), µm."""
        if self.shape == "circle":
            pts = circle_points(self.size / 2, tolerance=self.tolerance)
        else:
            h = self.size / 2
            pts = snap([(-h, -h), (h, -h), (h, h), (-h, h)])
        return snap(pts + np.array([self.x, self.y]))

    def inradius(self) -> float:
        """Radius of the largest disc about the centre inside the drawn polygon, µm."""
        if self.shape == "circle":
            n = len(self.points())
            return self.size / 2 * math.cos(math.pi / n) - NM
        return self.size / 2


@dataclass(frozen=True)
class Net:
    """One connection to route.

    Attributes:
        name: net name (``P7-C4``).
        a: the chip pad end.
        b: the ball end.
    """

    name: str
    a: Terminal
    b: Terminal


@dataclass
class Routing:
    """The routed RDL.

    Attributes:
        paths: net name -> centreline vertices (µm, N×2), from pad to ball.
        traces: net name -> trace outline polygons (µm, on the 1 nm grid).
        teardrops: net name -> teardrop polygons (µm, on the 1 nm grid).
        pitch: routing grid pitch, µm.
        passes: how many routing passes were needed.
        order: the net order of the successful pass.
    """

    paths: dict[str, np.ndarray] = field(default_factory=dict)
    traces: dict[str, list[np.ndarray]] = field(default_factory=dict)
    teardrops: dict[str, list[np.ndarray]] = field(default_factory=dict)
    pitch: float = 0.0
    passes: int = 0
    order: list[str] = field(default_factory=list)

    def polygons(self) -> list[np.ndarray]:
        """Every trace and teardrop polygon, nets in name order."""
        out: list[np.ndarray] = []
        for name in sorted(self.traces):
            out += self.traces[name] + self.teardrops.get(name, [])
        return out


# ----------------------------------------------------------------------------- distances
def _pt_seg(px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray,
            by: np.ndarray) -> np.ndarray:
    """Distance from points P to segments AB (broadcasting)."""
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(ll > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(ll > 0, ll, 1), 0.0)
    t = np.clip(t, 0.0, 1.0)
    qx, qy = ax + t * dx - px, ay + t * dy - py
    return np.hypot(qx, qy)


def _cross(ax, ay, bx, by, cx, cy):  # noqa: ANN001, ANN202 - vectorised helper
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def _seg_seg(ax, ay, bx, by, cx, cy, dx, dy) -> np.ndarray:  # noqa: ANN001
    """Distance between segments AB and CD (broadcasting); 0 where they cross."""
    d = np.minimum.reduce([
        _pt_seg(ax, ay, cx, cy, dx, dy), _pt_seg(bx, by, cx, cy, dx, dy),
        _pt_seg(cx, cy, ax, ay, bx, by), _pt_seg(dx, dy, ax, ay, bx, by),
    ])
    o1 = np.sign(_cross(ax, ay, bx, by, cx, cy))
    o2 = np.sign(_cross(ax, ay, bx, by, dx, dy))
    o3 = np.sign(_cross(cx, cy, dx, dy, ax, ay))
    o4 = np.sign(_cross(cx, cy, dx, dy, bx, by))
    crossing = (o1 * o2 < 0) & (o3 * o4 < 0)
    return np.where(crossing, 0.0, d)


def _seg_box(ax, ay, bx, by, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:  # noqa: ANN001
    """Distance from segments AB to the box [x0, x1] × [y0, y1]; 0 where they meet."""
    corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    dists = [_pt_seg(np.float64(cx), np.float64(cy), ax, ay, bx, by) for cx, cy in corners]
    for px, py in ((ax, ay), (bx, by)):
        ex = np.maximum(np.maximum(x0 - px, px - x1), 0.0)
        ey = np.maximum(np.maximum(y0 - py, py - y1), 0.0)
        dists.append(np.hypot(ex, ey))
    d = np.minimum.reduce(dists)
    # slab test: does the segment pass through the box?
    dx, dy = bx - ax, by - ay
    t0 = np.zeros_like(ax, dtype=float)
    t1 = np.ones_like(ax, dtype=float)
    ok = np.ones_like(ax, dtype=bool)
    for p, dp, lo, hi in ((ax, dx, x0, x1), (ay, dy, y0, y1)):
        par = dp == 0
        ok &= ~(par & ((p < lo) | (p > hi)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = np.where(par, -np.inf, (lo - p) / np.where(par, 1, dp))
            tb = np.where(par, np.inf, (hi - p) / np.where(par, 1, dp))
        t0 = np.maximum(t0, np.minimum(ta, tb))
        t1 = np.minimum(t1, np.maximum(ta, tb))
    meets = ok & (t0 <= t1)
    return np.where(meets, 0.0, d)


# ----------------------------------------------------------------------------- grid
class _Grid:
    """Routing grid: nodes origin + (i, j)·pitch and the owner of every unit edge."""

    def __init__(self, origin: tuple[float, float], pitch: float, nx: int, ny: int,
                 area: tuple[float, float, float, float]) -> None:
        self.ox, self.oy = origin
        self.p = pitch
        self.nx, self.ny = nx, ny
        self.owner = np.full((4, nx, ny), FREE, dtype=np.int32)
        xs = self.ox + np.arange(nx) * pitch
        ys = self.oy + np.arange(ny) * pitch
        inside_x = (xs >= area[0] - 1e-9) & (xs <= area[2] + 1e-9)
        inside_y = (ys >= area[1] - 1e-9) & (ys <= area[3] + 1e-9)
        node_ok = inside_x[:, None] & inside_y[None, :]
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        for k, (dx, dy) in enumerate(DIRS4):
            i2, j2 = ii + dx, jj + dy
            inb = (i2 >= 0) & (i2 < nx) & (j2 >= 0) & (j2 < ny)
            ok = inb & node_ok
            ok[inb] &= node_ok[i2[inb], j2[inb]]
            self.owner[k][~ok] = BLOCKED
        self.base = self.owner.copy()
        self.reach = 0.0  # farthest the trace polygon reaches from its centreline, µm
        self.d_term = 0.0  # least centreline distance to another net's terminal, µm

    def xy(self, i: np.ndarray | int, j: np.ndarray | int) -> tuple:
        return self.ox + np.asarray(i) * self.p, self.oy + np.asarray(j) * self.p

    def window(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
        i0 = max(0, int(math.floor((x0 - self.ox) / self.p)) - 1)
        i1 = min(self.nx, int(math.ceil((x1 - self.ox) / self.p)) + 2)
        j0 = max(0, int(math.floor((y0 - self.oy) / self.p)) - 1)
        j1 = min(self.ny, int(math.ceil((y1 - self.oy) / self.p)) + 2)
        return slice(i0, i1), slice(j0, j1)

    def edges_near(self, bbox: tuple[float, float, float, float], margin: float):  # noqa: ANN201
        """For each canonical direction: (index arrays i, j, segment endpoint arrays)."""
        ii, jj, ax, ay, bx, by = self.edges_near_all(bbox, margin)
        for k in range(len(DIRS4)):
            yield k, ii, jj, ax[k], ay[k], bx[k], by[k]

    def edges_near_all(self, bbox: tuple[float, float, float, float], margin: float
                       ) -> tuple[np.ndarray, ...]:
        """The edges near ``bbox`` in all four canonical directions at once: node index
        arrays i, j (window shape) and endpoint arrays ax, ay, bx, by (4 × window shape,
        one plane per direction of DIRS4)."""
        si, sj = self.window(bbox[0] - margin, bbox[1] - margin, bbox[2] + margin,
                             bbox[3] + margin)
        ii, jj = np.meshgrid(np.arange(self.nx)[si], np.arange(self.ny)[sj], indexing="ij")
        ax, ay = self.xy(ii, jj)
        ddx = np.array([d[0] for d in DIRS4], dtype=float)[:, None, None] * self.p
        ddy = np.array([d[1] for d in DIRS4], dtype=float)[:, None, None] * self.p
        ax4 = np.broadcast_to(ax, (len(DIRS4), *ax.shape))
        ay4 = np.broadcast_to(ay, (len(DIRS4), *ay.shape))
        return ii, jj, ax4, ay4, ax + ddx, ay + ddy

    def stamp(self, k: int, ii: np.ndarray, jj: np.ndarray, mask: np.ndarray, net: int) -> None:
        """Mark edges (k, ii[mask], jj[mask]) as near ``net`` (BLOCKED when shared)."""
        i, j = ii[mask], jj[mask]
        cur = self.owner[k, i, j]
        new = np.where(cur == FREE, net, np.where(cur == net, net, BLOCKED))
        self.owner[k, i, j] = new


# ----------------------------------------------------------------------------- polygons
def _trace_outline(vertices_nm: np.ndarray, half_nm: int, diag_nm: int) -> np.ndarray:
    """Outline (nm) of an octilinear trace along integer-nm vertices, flat ends, mitred."""
    v = vertices_nm.astype(np.int64)
    dirs = []
    for a, b in zip(v[:-1], v[1:], strict=True):
        d = b - a
        dirs.append((int(np.sign(d[0])), int(np.sign(d[1]))))
    sides = []
    for sgn in (1, -1):
        lines = []
        for (dx, dy), a in zip(dirs, v[:-1], strict=True):
            nx_, ny_ = -dy, dx
            off = half_nm if (dx == 0 or dy == 0) else diag_nm
            lines.append((a + sgn * off * np.array([nx_, ny_]), np.array([dx, dy])))
        pts = [lines[0][0]]
        for (p1, d1), (p2, d2) in zip(lines[:-1], lines[1:], strict=True):
            den = d1[0] * d2[1] - d1[1] * d2[0]
            num = (p2[0] - p1[0]) * d2[1] - (p2[1] - p1[1]) * d2[0]
            if num % den:
                raise AssertionError("mitre off the grid")  # pragma: no cover
            pts.append(p1 + (num // den) * d1)
        # the end: the last offset line at the last vertex (flat end)
        pts.append(v[-1] + (lines[-1][0] - v[-2]))
        sides.append(pts)
    return np.array(sides[0] + sides[1][::-1], dtype=np.int64)


def _densify_axis_edges(pts: np.ndarray, step: float) -> np.ndarray:
    """The polygon's vertices plus grid points every ~``step`` µm along its axis-parallel
    edges (other edges unchanged)."""
    out = [pts]
    b = np.roll(pts, -1, axis=0)
    for a, c in zip(pts, b, strict=True):
        if a[0] == c[0] or a[1] == c[1]:
            m = int(float(np.hypot(*(c - a))) // step)
            if m > 1:
                t = (np.arange(1, m) / m)[:, None]
                out.append(snap(a + (c - a) * t))
    return np.vstack(out)


# ----------------------------------------------------------------------------- router
@dataclass
class _NetState:
    index: int
    net: Net
    path: list[tuple[int, int]] | None = None


def _simplify(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = [path[0]]
    for k in range(1, len(path) - 1):
        a, b, c = out[-1], path[k], path[k + 1]
        d1 = (np.sign(b[0] - a[0]), np.sign(b[1] - a[1]))
        d2 = (np.sign(c[0] - b[0]), np.sign(c[1] - b[1]))
        if d1 != d2:
            out.append(b)
    out.append(path[-1])
    return out


def route(nets: Sequence[Net], area: tuple[float, float, float, float], width: float,
          space: float, obstacles: Sequence[Terminal] = (), style: str = "octilinear",
          pitch: float = 0.0, origin: tuple[float, float] = (0.0, 0.0),
          teardrop_length: float = -1.0, max_passes: int = 4) -> Routing:
    """Route every net; raise RoutingError naming the nets it cannot wire.

    Args:
        nets: the connections, each a chip pad terminal and a ball land terminal.
        area: (xmin, ymin, xmax, ymax), µm: the box RDL metal must stay inside.
        width: trace width, µm (rounded up to an even number of nm).
        space: least distance between metal of different nets, µm.
        obstacles: terminals of no net (unwired pads): every trace keeps ``space`` away.
        style: ``octilinear`` (0/45/90° segments) or ``manhattan`` (0/90° only).
        pitch: routing grid pitch, µm; 0 picks the least whole µm that lets traces run
            on neighbouring grid lines.
        origin: a grid node, µm (put it on a ball centre to align the grid with the balls).
        teardrop_length: how far a teardrop reaches out of its pad, µm; < 0 for
            1.5 × width; 0 for only the fillets an oblique exit needs to leave no acute
            notch between trace and pad.
        max_passes: routing passes (each moves the failed nets to the front).

    Raises:
        RoutingError: a net cannot be wired without coming closer than ``space`` to
            another net's metal, or the final shapely verification finds a short or a
            split net.
    """
    if style not in ("octilinear", "manhattan"):
        raise ValueError(f"style must be octilinear or manhattan, got {style!r}")
    w_nm = 2 * math.ceil(round(width / NM, 6) / 2)
    width = w_nm * NM
    half_nm = w_nm // 2
    diag_nm = math.ceil(half_nm / math.sqrt(2) - 1e-9)
    reach = width / 2 * math.sqrt(2)  # farthest a trace polygon gets from its centreline
    d_trace = space + 2 * reach + 2 * NM
    d_term = space + reach + 2 * NM
    if pitch <= 0:
        pitch = float(math.ceil(d_trace))
    if teardrop_length < 0:
        teardrop_length = 1.5 * width

    # grid covering the area, with a node on `origin`
    ox = origin[0] - math.floor((origin[0] - area[0]) / pitch) * pitch
    oy = origin[1] - math.floor((origin[1] - area[1]) / pitch) * pitch
    nx = int(math.floor((area[2] - ox) / pitch)) + 1
    ny = int(math.floor((area[3] - oy) / pitch)) + 1
    inner = (area[0] + reach, area[1] + reach, area[2] - reach, area[3] - reach)
    grid = _Grid((round(ox, 3), round(oy, 3)), pitch, nx, ny, inner)
    grid.reach = reach
    grid.d_term = d_term

    names = [n.name for n in nets]
    if len(set(names)) != len(names):
        raise RoutingError("net names must be unique")
    # static zones around terminals
    for idx, net in enumerate(nets):
        for t in (net.a, net.b):
            _stamp_terminal(grid, t, idx, d_term)
    for t in obstacles:
        _stamp_terminal(grid, t, BLOCKED, d_term)
    grid.base = grid.owner.copy()

    order = list(range(len(nets)))
    # longest nets first: they have the fewest alternatives
    order.sort(key=lambda k: -math.hypot(nets[k].a.x - nets[k].b.x, nets[k].a.y - nets[k].b.y))
    failed: list[int] = []
    paths: dict[int, list[tuple[int, int]]] = {}
    passes = 0
    for passes in range(1, max_passes + 1):  # noqa: B007 - reported in Routing.passes
        grid.owner = grid.base.copy()
        paths = {}
        failed = []
        for k in order:
            p = _astar(grid, nets[k], k, style)
            if p is None:
                failed.append(k)
                continue
            paths[k] = p
            _stamp_path(grid, p, k, d_trace)
        if not failed:
            break
        order = failed + [k for k in order if k not in failed]
    if failed:
        raise RoutingError(_blame(grid, nets, failed, paths, style, d_trace))

    result = Routing(pitch=pitch, passes=passes, order=[nets[k].name for k in order])
    for k, p in paths.items():
        simple = _simplify(p)
        xy = np.array([grid.xy(i, j) for i, j in simple], dtype=float)
        vnm = np.rint(xy / NM).astype(np.int64)
        result.paths[nets[k].name] = snap(xy)
        if len(simple) >= 2:
            result.traces[nets[k].name] = [_trace_outline(vnm, half_nm, diag_nm) * NM]
        else:
            result.traces[nets[k].name] = []
    _add_teardrops(result, nets, obstacles, width, space, teardrop_length, area)
    verify(result, nets, obstacles, space, area)
    return result


def route_straight(nets: Sequence[Net], area: tuple[float, float, float, float], width: float,
                   space: float, obstacles: Sequence[Terminal] = (),
                   teardrop_length: float = -1.0) -> Routing:
    """Wire each net by one straight trace from its pad's centre to its land's centre.

    For terminals that face each other along x or y (a chip pad beside its ball): no
    search is needed. Teardrops and the final verification are those of :func:`route`.

    Raises:
        RoutingError: a net whose ends are not on one horizontal or vertical line, or a
            short, split net or notch found by the verification.
    """
    w_nm = 2 * math.ceil(round(width / NM, 6) / 2)
    width = w_nm * NM
    if teardrop_length < 0:
        teardrop_length = 1.5 * width
    result = Routing(pitch=0.0, passes=1, order=[n.name for n in nets])
    for net in nets:
        xy = snap(np.array([[net.a.x, net.a.y], [net.b.x, net.b.y]], dtype=float))
        if xy[0, 0] != xy[1, 0] and xy[0, 1] != xy[1, 1]:
            raise RoutingError(f"RDL: net {net.name} has its pad and land on no common "
                               "horizontal or vertical line; it needs the router")
        vnm = np.rint(xy / NM).astype(np.int64)
        result.paths[net.name] = xy
        result.traces[net.name] = [_trace_outline(vnm, w_nm // 2, w_nm // 2) * NM]
    _add_teardrops(result, nets, obstacles, width, space, teardrop_length, area)
    verify(result, nets, obstacles, space, area)
    return result


def _stamp_terminal(grid: _Grid, t: Terminal, owner: int, clearance: float) -> None:
    r = t.size / 2
    bbox = (t.x - r, t.y - r, t.x + r, t.y + r)
    # the four directions' edges in one array each: the same elementwise arithmetic
    ii, jj, ax, ay, bx, by = grid.edges_near_all(bbox, clearance + grid.p)
    if t.shape == "circle":
        d = _pt_seg(np.float64(t.x), np.float64(t.y), ax, ay, bx, by) - r
    else:
        d = _seg_box(ax, ay, bx, by, *bbox)
    near = d < clearance
    for k in range(len(DIRS4)):
        grid.stamp(k, ii, jj, near[k], owner)


def _stamp_path(grid: _Grid, path: list[tuple[int, int]], owner: int, clearance: float) -> None:
    simple = _simplify(path)
    for (i0, j0), (i1, j1) in zip(simple[:-1], simple[1:], strict=True):
        (x0, y0), (x1, y1) = grid.xy(i0, j0), grid.xy(i1, j1)
        bbox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        ii, jj, ax, ay, bx, by = grid.edges_near_all(bbox, clearance + grid.p)
        d = _seg_seg(ax, ay, bx, by, np.float64(x0), np.float64(y0), np.float64(x1),
                     np.float64(y1))
        near = d < clearance
        for k in range(len(DIRS4)):
            grid.stamp(k, ii, jj, near[k], owner)


def _terminal_nodes(grid: _Grid, t: Terminal, margin: float) -> list[tuple[int, int]]:
    """Grid nodes deep enough inside the terminal that a trace ending there is covered."""
    r = t.inradius() - margin
    if r <= 0:
        return []
    si, sj = grid.window(t.x - r, t.y - r, t.x + r, t.y + r)
    out = []
    for i in range(si.start, si.stop):
        for j in range(sj.start, sj.stop):
            x, y = grid.xy(i, j)
            if t.shape == "circle":
                ok = math.hypot(float(x) - t.x, float(y) - t.y) <= r
            else:
                ok = abs(float(x) - t.x) <= r and abs(float(y) - t.y) <= r
            if ok:
                out.append((i, j))
    return out


_TURN_COST = {0: 0.0, 1: 0.6, 7: 0.6, 2: 1.2, 6: 1.2}


def _term_dist(t: Terminal, x: float, y: float) -> float:
    """Distance from (x, y) to the terminal's shape (0 inside), µm."""
    if t.shape == "circle":
        return max(math.hypot(x - t.x, y - t.y) - t.size / 2, 0.0)
    h = t.size / 2
    return math.hypot(max(abs(x - t.x) - h, 0.0), max(abs(y - t.y) - h, 0.0))


def _own_zone_ok(grid: _Grid, net: Net, u: tuple[int, int], v: tuple[int, int], d: int,
                 nd: int, cache: dict[tuple[int, int], tuple[float, float]]) -> bool:
    """May the trace of ``net`` move u -> v (heading nd, after heading d) near its own ends?

    Within the clearance of its own pad a trace leaves in a straight line, moving away;
    within the clearance of its own land it arrives in a straight line, moving toward
    it. So a trace never runs alongside its own pad or land, which would leave a notch
    narrower than the space rule inside the net's own metal.
    """
    def dists(n: tuple[int, int]) -> tuple[float, float]:
        got = cache.get(n)
        if got is None:
            x, y = grid.ox + n[0] * grid.p, grid.oy + n[1] * grid.p
            got = (_term_dist(net.a, x, y), _term_dist(net.b, x, y))
            cache[n] = got
        return got

    (au, bu), (av, bv) = dists(u), dists(v)
    dz = grid.d_term
    if min(au, av) < dz and not (au == av == 0.0):
        if av <= au or (au > 0.0 and nd != d):
            return False
    if min(bu, bv) < dz and not (bu == bv == 0.0):
        if bv >= bu or (0.0 < bu < dz and nd != d):
            return False
    return True


def _astar(grid: _Grid, net: Net, idx: int, style: str,
           ignore_traces: bool = False) -> list[tuple[int, int]] | None:
    """Cheapest path (node list) from the pad to the land of ``net``, or None."""
    margin = grid.reach
    starts = _terminal_nodes(grid, net.a, margin)
    goals = set(_terminal_nodes(grid, net.b, margin))
    if not starts or not goals:
        return None
    gi = np.array([g[0] for g in goals])
    gj = np.array([g[1] for g in goals])
    gx0, gx1, gy0, gy1 = gi.min(), gi.max(), gj.min(), gj.max()
    dirs = range(0, 8, 2) if style == "manhattan" else range(8)
    sq2 = math.sqrt(2)
    dist_cache: dict[tuple[int, int], tuple[float, float]] = {}

    def h(i: int, j: int) -> float:
        dx = max(gx0 - i, 0, i - gx1)
        dy = max(gy0 - j, 0, j - gy1)
        if style == "manhattan":
            return float(dx + dy)
        return max(dx, dy) + (sq2 - 1) * min(dx, dy)

    heap: list[tuple[float, float, int, int, int]] = []
    best: dict[tuple[int, int, int], float] = {}
    parent: dict[tuple[int, int, int], tuple[int, int, int] | None] = {}
    for i, j in sorted(starts):
        st = (i, j, -1)
        best[st] = 0.0
        parent[st] = None
        heapq.heappush(heap, (h(i, j), 0.0, i, j, -1))
    nx, ny = grid.nx, grid.ny
    own = grid.base if ignore_traces else grid.owner
    lookup_k = {0: (0, 0, 0), 2: (1, 0, 0), 1: (2, 0, 0), 3: (3, 0, 0),
                4: (0, -1, 0), 6: (1, 0, -1), 5: (2, -1, -1), 7: (3, 1, -1)}
    while heap:
        _f, g, i, j, d = heapq.heappop(heap)
        state = (i, j, d)
        if g > best.get(state, math.inf) + 1e-12:
            continue
        if (i, j) in goals:
            out = []
            s: tuple[int, int, int] | None = state
            while s is not None:
                out.append((s[0], s[1]))
                s = parent[s]
            return out[::-1]
        for nd in dirs:
            if d >= 0:
                turn = (nd - d) % 8
                if turn not in _TURN_COST:
                    continue
                if turn in (2, 6) and d % 2:
                    continue
                tc = _TURN_COST[turn]
            else:
                tc = 0.0
            dx, dy = DIRS8[nd]
            i2, j2 = i + dx, j + dy
            if not (0 <= i2 < nx and 0 <= j2 < ny):
                continue
            k, ai, aj = lookup_k[nd]
            o = int(own[k, i + ai, j + aj])
            if o != FREE and o != idx:
                continue
            if o == idx and not _own_zone_ok(grid, net, (i, j), (i2, j2), d, nd, dist_cache):
                continue
            ng = g + (sq2 if nd % 2 else 1.0) + tc
            ns = (i2, j2, nd)
            if ng < best.get(ns, math.inf) - 1e-12:
                best[ns] = ng
                parent[ns] = state
                heapq.heappush(heap, (ng + h(i2, j2), ng, i2, j2, nd))
    return None


def _blame(grid: _Grid, nets: Sequence[Net], failed: list[int],
           paths: dict[int, list[tuple[int, int]]], style: str, d_trace: float) -> str:
    """A one-line message naming the nets that could not be routed and why."""
    too_small: list[str] = []
    walled: list[str] = []
    blocked: list[str] = []
    for k in failed:
        net = nets[k]
        small = [t.name for t in (net.a, net.b) if not _terminal_nodes(grid, t, grid.reach)]
        if small:
            too_small.append(f"{net.name} ({' and '.join(small)})")
            continue
        alone = _astar(grid, net, k, style, ignore_traces=True)
        if alone is None:
            walled.append(net.name)
            continue
        blockers = set()
        a = _simplify(alone)
        for m, p in paths.items():
            b = _simplify(p)
            for (i0, j0), (i1, j1) in zip(a[:-1], a[1:], strict=True):
                x0, y0 = grid.xy(i0, j0)
                x1, y1 = grid.xy(i1, j1)
                for (k0, l0), (k1, l1) in zip(b[:-1], b[1:], strict=True):
                    u0, v0 = grid.xy(k0, l0)
                    u1, v1 = grid.xy(k1, l1)
                    dd = _seg_seg(np.float64(x0), np.float64(y0), np.float64(x1),
                                  np.float64(y1), np.float64(u0), np.float64(v0),
                                  np.float64(u1), np.float64(v1))
                    if float(dd) < d_trace:
                        blockers.add(nets[m].name)
        who = ", ".join(sorted(blockers)) if blockers else "other nets"
        blocked.append(f"{net.name} (crosses {who})")
    parts = []
    if blocked:
        parts.append("blocked by other nets: " + "; ".join(blocked))
    if walled:
        parts.append("walled in by other pads, balls or the die edge: " + ", ".join(walled))
    if too_small:
        parts.append("trace too wide to end inside the pad or land: " + ", ".join(too_small))
    return (f"RDL: cannot route {len(failed)} net(s) without a short: " + " | ".join(parts)
            + "; change the net map, the pad positions or rdl.trace_width/trace_space")


#: teardrop lengths tried, as fractions of the one asked for; 0 leaves only the fillet an
#: oblique exit needs
_TEARDROP_SCALES = (1.0, 0.5, 0.25, 0.1, 0.0)
#: bisection steps for the longest teardrops both ends of a short net can have
_PAIR_STEPS = 6


class _Teardrops:
    """The teardrops of one net end, drawn when first asked for, by length."""

    def __init__(self, term: Terminal, path: np.ndarray, width: float) -> None:
        self.term, self.path, self.width = term, path, width
        self._drawn: dict[float, np.ndarray | None] = {}

    def at(self, length: float) -> np.ndarray | None:
        """The teardrop reaching ``length`` out of the terminal, or None."""
        if length not in self._drawn:
            self._drawn[length] = _teardrop(self.term, self.path, self.width, length)
        return self._drawn[length]

    def first(self, length: float, k: int = 0) -> tuple[int, np.ndarray | None]:
        """The first teardrop of ``length`` × :data:`_TEARDROP_SCALES` from index ``k``
        on that can be drawn: (its index, it), or (len(_TEARDROP_SCALES), None)."""
        for j in range(k, len(_TEARDROP_SCALES)):
            td = self.at(length * _TEARDROP_SCALES[j])
            if td is not None:
                return j, td
        return len(_TEARDROP_SCALES), None


def _pair_clear(ta: np.ndarray | None, tb: np.ndarray | None, a: Polygon, b: Polygon,
                space: float) -> bool:
    """Do the teardrops at the two ends of one net each keep ``space`` from the other
    end's metal (its terminal and its teardrop)?

    Where a pad and its land are closer than the two teardrops reach, the teardrops
    meet or cross between them, and their flanks leave an acute notch (or a notch
    narrower than the space rule) inside the net's own metal.
    """
    for td, far, far_td in ((ta, b, tb), (tb, a, ta)):
        if td is None:
            continue
        lo, hi = td.min(axis=0) - space, td.max(axis=0) + space
        boxes = [far.bounds] + ([] if far_td is None else [(*far_td.min(axis=0),
                                                             *far_td.max(axis=0))])
        if not any(bx[0] < hi[0] and bx[2] > lo[0] and bx[1] < hi[1] and bx[3] > lo[1]
                   for bx in boxes):
            continue  # far apart (a long trace between them)
        other = far if far_td is None else shapely.union(far, Polygon(far_td))
        if Polygon(td).distance(other) < space - 1e-6:
            return False
    return True


def _add_teardrops(result: Routing, nets: Sequence[Net], obstacles: Sequence[Terminal],
                   width: float, space: float, length: float,
                   area: tuple[float, float, float, float]) -> None:
    """Add teardrops where traces leave their terminals, shrinking any that crowd others.

    With ``length`` 0 only the fillets an oblique exit needs (so that no acute notch
    is left between trace and terminal) are added. A net whose pad and land are too
    close for two teardrops of ``length`` (they would come closer than ``space`` to
    the other end's terminal or teardrop) gets both shortened alike to the longest that
    fit (by bisection; at worst those fillets); a teardrop that would come closer than
    ``space`` to another net is shortened further.
    """
    metal = _net_metal(result, nets)
    parts: list[tuple[str, shapely.Geometry]] = [(n, g) for n, g in metal.items()]
    parts += [("", Polygon(t.points())) for t in obstacles]
    # the parts' boxes, kept beside them (shapely's .bounds per call is slow)
    boxes = [tuple(b) for b in shapely.bounds([g for _, g in parts]).tolist()] if parts else []
    inside = shapely.box(*area)
    for net in nets:
        path = result.paths.get(net.name)
        drops: list[np.ndarray] = []
        result.teardrops[net.name] = drops
        if path is None or len(path) < 2:
            continue
        ends = (_Teardrops(net.a, path, width), _Teardrops(net.b, path[::-1], width))
        a_poly, b_poly = Polygon(net.a.points()), Polygon(net.b.points())

        def clear(lg: float, ends=ends, a_poly=a_poly, b_poly=b_poly) -> bool:  # noqa: ANN001
            return _pair_clear(ends[0].first(lg)[1], ends[1].first(lg)[1], a_poly, b_poly,
                               space)

        # the longest teardrops the two ends can both have (the fillets always): where
        # the pad and the land are too close for ``length``, found by bisection
        lg = length
        if lg > 0 and not clear(lg):
            lo, hi = 0.0, lg
            for _ in range(_PAIR_STEPS):
                mid = round((lo + hi) / 2, 3)
                if mid <= lo or mid >= hi:
                    break
                lo, hi = (mid, hi) if clear(mid) else (lo, mid)
            lg = lo
        for end in ends:
            for k in range(end.first(lg)[0], len(_TEARDROP_SCALES)):
                td = end.at(lg * _TEARDROP_SCALES[k])
                if td is None:
                    continue
                geom = Polygon(td)
                if not inside.contains(geom):
                    continue
                x0, y0, x1, y1 = geom.bounds
                near = [g for (n, g), gb in zip(parts, boxes, strict=True) if n != net.name
                        and gb[0] < x1 + space and gb[2] > x0 - space
                        and gb[1] < y1 + space and gb[3] > y0 - space
                        and g.distance(geom) < space]
                if not near:
                    drops.append(td)
                    parts.append((net.name, geom))
                    boxes.append((x0, y0, x1, y1))
                    break


def _teardrop(term: Terminal, path: np.ndarray, width: float, length: float
              ) -> np.ndarray | None:
    """Teardrop polygon (µm, grid) where ``path`` (from inside ``term``) leaves it.

    Each side of the trace is followed ``length`` beyond the point where it crosses the
    terminal's outline (Q1, Q2, exactly on the trace's sides). The teardrop is the part
    of the convex hull of the terminal (near the exit) and Q1, Q2 that lies outside the
    terminal: T1, Q.., T2 with T1, T2 terminal vertices, closed by the chord T2-T1
    inside the convex terminal. So the metal meets the terminal along tangents and the
    trace's sides, never in an acute notch, whatever the exit angle.
    """
    tpoly = term.points()
    shape = Polygon(tpoly)
    for a, b in zip(path[:-1], path[1:], strict=True):
        if shape.contains(Point(b)):
            continue
        d = (b - a) / np.linalg.norm(b - a)
        s = np.sign(d)
        diagonal = d[0] != 0 and d[1] != 0
        off = (math.ceil(width / 2 / math.sqrt(2) / NM - 1e-9) * NM) if diagonal else width / 2
        q = []
        needed = False  # does the terminal reach past a side's crossing (an oblique exit)?
        for sgn in (1, -1):
            p0 = a + sgn * off * np.array([-s[1], s[0]])  # the side line through p0, along s
            p1 = b + sgn * off * np.array([-s[1], s[0]])
            cut = LineString([p0, p1]).intersection(shape.exterior)
            pts = [np.array(g.coords[0]) for g in getattr(cut, "geoms", [cut])
                   if not g.is_empty and g.geom_type == "Point"]
            if not pts:
                return None
            t_cross = max(float(np.dot(pt - p0, d)) for pt in pts)
            # Q beyond every terminal vertex along the trace, so the tangent from Q meets
            # the trace side at >= 90° (an exit at an angle needs a longer teardrop)
            t_far = float(np.max((tpoly - p0) @ d)) + 2 * NM
            t_max = float(np.linalg.norm(p1 - p0)) - width
            needed |= t_far > t_cross + 3 * NM
            t = max(t_cross + length, t_far)
            if t > t_max or t <= t_cross + NM:
                return None
            if diagonal:
                steps = math.ceil(t / math.sqrt(2) / NM) * NM
                q.append(snap(p0 + s * steps))
            else:
                q.append(snap(p0 + d * (math.ceil(t / NM) * NM)))
        if length <= 0 and not needed:
            return None  # a square exit: nothing to fill
        if term.shape == "circle":
            sel = tpoly
        else:
            near = _densify_axis_edges(tpoly, 1.0)
            mid = (q[0] + q[1]) / 2
            sel = near[np.hypot(*(near - mid).T) <= 2 * width + 2 * length + 1e-9]
        hull = shapely.convex_hull(shapely.multipoints(np.vstack([sel, *q])))
        if hull.geom_type != "Polygon":
            return None
        ring = [tuple(p) for p in np.array(hull.exterior.coords[:-1])]
        qs = {tuple(p) for p in q}
        n = len(ring)
        on = [k for k in range(n) if ring[k] in qs]
        if not on:
            return None
        # the run of Q vertices on the hull, with the terminal vertex on either side
        if len(on) == 2 and (on[0] + 1) % n != on[1]:
            on = [on[1], on[0]]
            if (on[0] + 1) % n != on[1]:
                return None
        chain = [ring[(on[0] - 1) % n], *[ring[k] for k in on], ring[(on[-1] + 1) % n]]
        return snap(np.array(chain))
    return None


def _net_metal(result: Routing, nets: Sequence[Net]) -> dict[str, shapely.Geometry]:
    out = {}
    for net in nets:
        parts = [Polygon(net.a.points()), Polygon(net.b.points())]
        parts += [Polygon(p) for p in result.traces.get(net.name, [])]
        parts += [Polygon(p) for p in result.teardrops.get(net.name, [])]
        out[net.name] = shapely.union_all(parts)
    return out


def _acute_notch(geom: shapely.Geometry) -> tuple[float, float] | None:
    """A concave vertex of the merged metal whose empty wedge is below 90°, or None.

    Such a wedge is a notch of zero width that a space check flags at any distance.
    """
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    for poly in polys:
        poly = shapely.geometry.polygon.orient(poly, 1.0)  # material on the left
        for ring in (poly.exterior, *poly.interiors):
            pts = np.array(ring.coords[:-1])
            if len(pts) < 3:
                continue
            a = pts - np.roll(pts, 1, axis=0)   # incoming edge
            b = np.roll(pts, -1, axis=0) - pts  # outgoing edge
            la, lb = np.hypot(*a.T), np.hypot(*b.T)
            ok = (la > 1e-9) & (lb > 1e-9)
            cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
            dot = (a * b).sum(axis=1)
            turn = np.degrees(np.arctan2(cross, dot))  # > 0 left (convex), < 0 right
            # a right turn sharper than 90° leaves an empty wedge below 90°
            hit = np.nonzero(ok & (turn < -90.0 - 1e-6))[0]
            if len(hit):
                return float(pts[hit[0], 0]), float(pts[hit[0], 1])
    return None


def verify(result: Routing, nets: Sequence[Net], obstacles: Sequence[Terminal],
           space: float, area: tuple[float, float, float, float] | None = None) -> None:
    """Raise RoutingError unless each net is one piece and ``space`` from all other metal.

    Args:
        result: the routing.
        nets: the nets routed.
        obstacles: unwired terminals.
        space: least distance between different nets' metal, µm.
        area: (xmin, ymin, xmax, ymax) every trace and teardrop must stay inside, µm.
    """
    metal = _net_metal(result, nets)
    items = [(n.name, metal[n.name]) for n in nets]
    items += [(f"pad {t.name}", Polygon(t.points())) for t in obstacles]
    bad = []
    for name, geom in items[:len(nets)]:
        if geom.geom_type != "Polygon":
            bad.append(f"net {name} is not one connected piece of RDL")
    for name, geom in items[:len(nets)]:
        spot = _acute_notch(geom)
        if spot is not None:
            bad.append(f"net {name} has an acute notch at ({spot[0]:.3f}, {spot[1]:.3f})")
    if area is not None:
        box = shapely.box(*area)
        for name in sorted(result.traces):
            for p in result.traces[name] + result.teardrops.get(name, []):
                if not box.contains(Polygon(p)):
                    bad.append(f"net {name} leaves the routing area {area}")
    tree = shapely.STRtree([g for _, g in items])
    for a, (name, geom) in enumerate(items):
        for b in tree.query(geom, predicate="dwithin", distance=space):
            if b <= a:
                continue
            d = geom.distance(items[b][1])
            if d < space - 1e-6:
                bad.append(f"{name} and {items[b][0]} are {d:.3f} µm apart (< {space:g} µm)")
    if bad:
        raise RoutingError("RDL verification failed: " + "; ".join(bad))
