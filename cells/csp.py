"""The wafer-level CSP die (seed 004): chip pads fanned in to embossed ball pads.

Top view of the default die (3.2 × 3.2 mm, 7 × 7 balls at 400 µm, centre 3 × 3
depopulated, 40 peripheral chip pads)::

    +-------------------------------------+  <- SCRIBE half-lane around the DIE
    |       P30 .............. P21        |
    |  P31 (A1) (A2) ...      (A7)  P20   |  o  embossed ball pad: PI2 concave opening
    |   .  (B1) (B2) ...      (B7)   .    |     with convex ring, RDL land, PI3 hole,
    |   .   ..  [depopulated]  ..    .    |     UBM, BALL
    |  P40 (G1) ...           (G7)  P11   |  P  chip pad: PAD, PASSIVATION/PI1/PI2
    |       P1 ............... P10        |     openings, RDL cover
    +-------------------------------------+  RDL traces wire each pad to one ball

Chip pads are numbered counter-clockwise from the left end of the bottom side. The
die cell's origin is the die centre. Layers follow the default map (DESIGN.md);
dielectrics are drawn as openings.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import gdstk
import numpy as np

from cells.ballmap import Ball, BallMap, ball_map
from cells.chip_pad import ChipPadSizes, chip_pad, chip_pad_sizes
from cells.emboss import RingSolution, embossed_ball_pad, solve_ring
from cells.rdl import Net, Routing, Terminal, route, route_straight
from layoutgen.errors import ParameterError
from layoutgen.geometry import rect
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.naming import cell

__all__ = [
    "CHIP_PAD_PLACEMENTS",
    "BallPadParams",
    "ChipPadParams",
    "ChipPadSite",
    "CspDesign",
    "RdlParams",
    "check_design",
    "chip_pad_sites",
    "csp_die",
    "default_net_map",
    "design_balls",
    "resolve_net_map",
    "route_design",
]

#: the depopulated centre 3 × 3 of a 7 × 7 array
CENTRE_3X3 = ("C3", "C4", "C5", "D3", "D4", "D5", "E3", "E4", "E5")


@dataclass(frozen=True)
class BallPadParams:
    """The embossed ball pad (see :func:`cells.emboss.embossed_ball_pad`), µm.

    Attributes:
        concave_diameter: concave PI2 opening.
        ring_inner_diameter: convex ring inner diameter (outer solved).
        ring_gaps: gaps in the ring, 0 = continuous.
        gap_width: gap width.
        target_ratio: inside / ring area.
        pi3_diameter: PI3 connection hole.
        land_diameter: RDL capture land.
        ubm_diameter: UBM, 0 = none.
        ball_diameter: ball footprint.
        pi1_inside: open PI1 inside the ring (claims 8, 9).
        pi1_inside_margin: PI1 opening inside the ring's inner edge by this.
        min_moat: least moat between ring and concave edge.
        min_ring_width: least ring width.
        tolerance: circle chord error.
    """

    concave_diameter: float = 240.0
    ring_inner_diameter: float = 120.0
    ring_gaps: int = 4
    gap_width: float = 15.0
    target_ratio: float = 1.0
    pi3_diameter: float = 200.0
    land_diameter: float = 260.0
    ubm_diameter: float = 230.0
    ball_diameter: float = 280.0
    pi1_inside: bool = False
    pi1_inside_margin: float = 5.0
    min_moat: float = 10.0
    min_ring_width: float = 5.0
    tolerance: float = 0.01


@dataclass(frozen=True)
class ChipPadParams:
    """Chip pads, µm: on the die's periphery, or one beside each ball.

    Attributes:
        placement: ``periphery`` (``per_side`` pads on each die side, fanned in by RDL)
            or ``beside`` (one pad per populated ball, half a ball pitch from it along
            +x, wired to it; ``per_side``, ``pitch`` and ``edge_offset`` are unused).
        per_side: pads on each die side.
        pitch: centre-to-centre pitch along a side.
        edge_offset: pad centre to die edge.
        size: PAD edge.
        passivation_enclosure: PAD encloses the passivation opening by.
        pi1_enclosure: PAD encloses the PI1 opening by.
        pi2_margin: PI2 opening = PI1 opening grown by.
        rdl_enclosure: RDL cover encloses PI1/PI2 openings by.
    """

    per_side: int = 10
    pitch: float = 200.0
    edge_offset: float = 100.0
    size: float = 80.0
    passivation_enclosure: float = 5.0
    pi1_enclosure: float = 7.5
    pi2_margin: float = 0.0
    rdl_enclosure: float = 10.0
    placement: str = "periphery"


#: chip pad placements
CHIP_PAD_PLACEMENTS = ("periphery", "beside")


@dataclass(frozen=True)
class RdlParams:
    """RDL routing, µm.

    Attributes:
        trace_width: trace width.
        trace_space: least space between different nets.
        style: ``octilinear`` or ``manhattan``.
        teardrop_length: teardrop reach out of a pad; 0 = only the fillets oblique exits
            need, < 0 = 1.5 × width.
        edge_clearance: RDL to die edge.
        pitch: routing grid pitch; 0 = automatic.
    """

    trace_width: float = 10.0
    trace_space: float = 10.0
    style: str = "octilinear"
    teardrop_length: float = -1.0
    edge_clearance: float = 20.0
    pitch: float = 0.0


@dataclass(frozen=True)
class CspDesign:
    """Everything that defines a CSP die (all lengths µm).

    Attributes:
        die_width: die width (DIE outline).
        die_height: die height.
        scribe_width: full scribe lane width; the die carries half of it on each side.
        ball_rows: ball rows.
        ball_cols: ball columns.
        ball_pitch: ball pitch, one of 300, 350, 400, 500.
        depopulate: JEDEC names of empty ball positions.
        min_ball_to_edge: least ball centre to die edge distance.
        ball_pad: the embossed ball pad.
        chip_pads: the peripheral chip pads.
        rdl: routing.
        net_map: (chip pad, ball) pairs; empty for the default planar fan-in.
        labels: add TEXT labels with ball and pad names.
    """

    die_width: float = 3200.0
    die_height: float = 3200.0
    scribe_width: float = 80.0
    ball_rows: int = 7
    ball_cols: int = 7
    ball_pitch: float = 400.0
    depopulate: tuple[str, ...] = CENTRE_3X3
    min_ball_to_edge: float = 155.0
    ball_pad: BallPadParams = field(default_factory=BallPadParams)
    chip_pads: ChipPadParams = field(default_factory=ChipPadParams)
    rdl: RdlParams = field(default_factory=RdlParams)
    net_map: tuple[tuple[str, str], ...] = ()
    labels: bool = True


@dataclass(frozen=True)
class ChipPadSite:
    """One placed chip pad.

    Attributes:
        name: ``P1``..``Pn``, counter-clockwise from the left end of the bottom side.
        x: centre x, µm.
        y: centre y, µm.
        side: 0 bottom, 1 right, 2 top, 3 left.
    """

    name: str
    x: float
    y: float
    side: int


def design_balls(d: CspDesign) -> BallMap:
    """The design's ball map, centred on the die."""
    return ball_map(d.ball_rows, d.ball_cols, d.ball_pitch, tuple(d.depopulate))


def chip_pad_sites(d: CspDesign) -> list[ChipPadSite]:
    """The chip pads: peripheral ones counter-clockwise from the left end of the bottom
    side; with ``placement = "beside"``, ``P<k>`` half a ball pitch to the right of the
    k-th populated ball (in ball map order), on side 1."""
    c = d.chip_pads
    if c.placement == "beside":
        return [ChipPadSite(f"P{k + 1}", round(b.x + d.ball_pitch / 2, 3), round(b.y, 3), 1)
                for k, b in enumerate(design_balls(d).balls)]
    hw, hh = d.die_width / 2, d.die_height / 2
    out = []
    span = (c.per_side - 1) * c.pitch
    for side in range(4):
        for k in range(c.per_side):
            t = -span / 2 + k * c.pitch
            if side == 0:
                x, y = t, -hh + c.edge_offset
            elif side == 1:
                x, y = hw - c.edge_offset, t
            elif side == 2:
                x, y = -t, hh - c.edge_offset
            else:
                x, y = -hw + c.edge_offset, -t
            out.append(ChipPadSite(f"P{len(out) + 1}", round(x, 3), round(y, 3), side))
    return out


def _pad_sizes(d: CspDesign) -> ChipPadSizes:
    c = d.chip_pads
    return chip_pad_sizes(c.size, c.passivation_enclosure, c.pi1_enclosure, c.pi2_margin,
                          c.rdl_enclosure, key="chip_pads")


def check_design(d: CspDesign) -> tuple[BallMap, list[ChipPadSite], RingSolution]:
    """Geometric consistency of a design; ParameterError naming the key path otherwise.

    Checks: the ring can meet its ratio inside the concave opening; the gaps are not
    wider than a segment; the pad's PI3 hole, land, UBM and ball nest; the pitch is
    larger than the ball and the land plus the RDL space; the balls are on the die;
    the chip pads fit on their sides and keep clear of the balls' lands.

    Returns:
        (ball map, chip pad sites, solved ring).
    """
    bp = d.ball_pad
    sol = solve_ring(bp.concave_diameter, bp.ring_inner_diameter, bp.ring_gaps, bp.gap_width,
                     bp.target_ratio, bp.min_moat, bp.min_ring_width, bp.tolerance,
                     key="ball_pad")
    if bp.pi3_diameter <= 2 * sol.outer_radius:
        raise ParameterError("ball_pad.pi3_diameter",
                             f"the PI3 hole must expose the whole convex ring (outer diameter "
                             f"{2 * sol.outer_radius:.3f} µm); must be > "
                             f"{2 * sol.outer_radius:.3f} µm, got {bp.pi3_diameter:g}",
                             bp.pi3_diameter, f"> {2 * sol.outer_radius:.3f} µm")
    need = max(bp.concave_diameter, bp.pi3_diameter, bp.ubm_diameter)
    if bp.land_diameter < need:
        raise ParameterError("ball_pad.land_diameter",
                             f"the RDL land must cover the concave opening, PI3 hole and UBM; "
                             f"must be >= {need:g} µm, got {bp.land_diameter:g}",
                             bp.land_diameter, f">= {need:g} µm")
    if bp.ubm_diameter and bp.ubm_diameter < bp.pi3_diameter:
        raise ParameterError("ball_pad.ubm_diameter",
                             f"the UBM must cover the PI3 hole; must be 0 or >= "
                             f"{bp.pi3_diameter:g} µm, got {bp.ubm_diameter:g}",
                             bp.ubm_diameter, f"0 or >= {bp.pi3_diameter:g} µm")
    if bp.pi1_inside and bp.pi1_inside_margin >= sol.inner_radius:
        raise ParameterError("ball_pad.pi1_inside_margin",
                             f"must be < the ring's inner radius {sol.inner_radius:g} µm, got "
                             f"{bp.pi1_inside_margin:g}", bp.pi1_inside_margin,
                             f"< {sol.inner_radius:g} µm")
    biggest = max(bp.ball_diameter, bp.land_diameter + d.rdl.trace_space)
    if d.ball_pitch <= biggest:
        what = ("the ball" if bp.ball_diameter >= bp.land_diameter + d.rdl.trace_space
                else "the RDL land plus the RDL space")
        raise ParameterError("balls.pitch",
                             f"pitch {d.ball_pitch:g} µm is not larger than {what} "
                             f"({biggest:g} µm); must be > {biggest:g} µm", d.ball_pitch,
                             f"> {biggest:g} µm")
    balls = design_balls(d)
    min_edge = max(d.min_ball_to_edge, bp.ball_diameter / 2, bp.land_diameter / 2
                   + d.rdl.edge_clearance)
    balls.check_on_die(d.die_width, d.die_height, min_edge)
    sizes = _pad_sizes(d)
    sites = chip_pad_sites(d)
    c = d.chip_pads
    half = sizes.rdl / 2
    if c.placement == "beside":
        _check_beside(d, sites, half)
    else:
        _check_periphery(d, sizes)
    # pads clear of the ball lands
    r_land = bp.land_diameter / 2
    for s in sites:
        for b in balls.balls:
            ex = max(abs(s.x - b.x) - half, 0.0)
            ey = max(abs(s.y - b.y) - half, 0.0)
            if math.hypot(ex, ey) < r_land + d.rdl.trace_space:
                key = "balls.pitch" if c.placement == "beside" else "chip_pads.edge_offset"
                hint = ("a larger ball pitch or a smaller land or pad" if c.placement == "beside"
                        else "move the pads toward the die edge or shrink the ball array")
                raise ParameterError(key, f"chip pad {s.name} at ({s.x:g}, {s.y:g}) overlaps or "
                                     f"crowds ball {b.name}'s land; {hint}",
                                     d.ball_pitch if c.placement == "beside" else c.edge_offset)
    return balls, sites, sol


def _check_beside(d: CspDesign, sites: list[ChipPadSite], half: float) -> None:
    """Pads placed beside their balls stay on the die, clear of its edge."""
    hw, hh = d.die_width / 2, d.die_height / 2
    for s in sites:
        room = min(hw - abs(s.x), hh - abs(s.y)) - half
        if room < d.rdl.edge_clearance:
            raise ParameterError("chip_pads.placement",
                                 f"chip pad {s.name} at ({s.x:g}, {s.y:g}) beside its ball: its "
                                 f"RDL cover reaches within {room:g} µm of the die edge (needs "
                                 f"rdl.edge_clearance {d.rdl.edge_clearance:g} µm); use a larger "
                                 "die or the periphery placement", d.chip_pads.placement)


def _check_periphery(d: CspDesign, sizes: ChipPadSizes) -> None:
    """Peripheral pads clear of the die edge and of each other, corners included."""
    c = d.chip_pads
    half = sizes.rdl / 2
    if c.edge_offset - half < d.rdl.edge_clearance:
        raise ParameterError("chip_pads.edge_offset",
                             f"the pads' RDL cover ({sizes.rdl:g} µm) reaches within "
                             f"{c.edge_offset - half:g} µm of the die edge; must be >= "
                             f"{half + d.rdl.edge_clearance:g} µm, got {c.edge_offset:g}",
                             c.edge_offset, f">= {half + d.rdl.edge_clearance:g} µm")
    if c.pitch < sizes.rdl + d.rdl.trace_space:
        raise ParameterError("chip_pads.pitch",
                             f"pads' RDL covers ({sizes.rdl:g} µm) would be closer than the RDL "
                             f"space; must be >= {sizes.rdl + d.rdl.trace_space:g} µm, got "
                             f"{c.pitch:g}", c.pitch, f">= {sizes.rdl + d.rdl.trace_space:g} µm")
    # corner: last pad of one side against the first of the next
    span = (c.per_side - 1) * c.pitch / 2
    gap_x = d.die_width / 2 - c.edge_offset - span
    gap_y = d.die_height / 2 - c.edge_offset - span
    if min(gap_x, gap_y) < sizes.rdl + d.rdl.trace_space:
        most = math.floor(min(d.die_width, d.die_height) / 2 - c.edge_offset - sizes.rdl
                          - d.rdl.trace_space)
        raise ParameterError("chip_pads.per_side",
                             f"{c.per_side} pads at {c.pitch:g} µm pitch do not fit a side: the "
                             f"corner pads collide; (per_side - 1) × pitch must be <= "
                             f"{2 * most:g} µm", c.per_side, f"(per_side - 1) × pitch <= "
                             f"{2 * most:g} µm")


def _perimeter_key(b: Ball, rows: int, cols: int, pitch: float) -> tuple[int, float, int]:
    """(side, position along the side counter-clockwise, depth) of a ball's escape."""
    depth = min(b.row, rows - 1 - b.row, b.col, cols - 1 - b.col)
    bottom = b.row == rows - 1 - depth
    top = b.row == depth
    left = b.col == depth
    right = b.col == cols - 1 - depth
    # a corner belongs to the side that starts there, going counter-clockwise
    if bottom and not right:
        side, t = 0, b.x
    elif right and not top:
        side, t = 1, b.y
    elif top and not left:
        side, t = 2, -b.x
    else:
        side, t = 3, -b.y
    if depth > 0:
        t -= pitch / 2  # escapes through the channel before it
    return side, t, depth


def default_net_map(balls: BallMap, sites: list[ChipPadSite]) -> tuple[tuple[str, str], ...]:
    """A planar fan-in: pads and balls in the same counter-clockwise order.

    Every populated ball gets one pad; the cyclic shift with the least total distance
    is chosen. Raises ParameterError when the pad and ball counts differ.
    """
    n = len(balls.balls)
    if len(sites) != n:
        raise ParameterError("chip_pads.per_side",
                             f"{len(sites)} chip pads for {n} populated balls: the default net "
                             f"map wires every ball to one pad, so 4 × per_side must equal "
                             f"{n} (or give nets.map)", len(sites) // 4, f"4 × per_side = {n}")
    order = sorted(balls.balls, key=lambda b: _perimeter_key(b, balls.rows, balls.cols,
                                                             balls.pitch))
    px = np.array([s.x for s in sites])
    py = np.array([s.y for s in sites])
    bx = np.array([b.x for b in order])
    by = np.array([b.y for b in order])
    best, best_cost = 0, math.inf
    for shift in range(n):
        cost = float(np.hypot(px - np.roll(bx, -shift), py - np.roll(by, -shift)).sum())
        if cost < best_cost - 1e-9:
            best, best_cost = shift, cost
    return tuple((sites[i].name, order[(i + best) % n].name) for i in range(n))


def resolve_net_map(d: CspDesign, balls: BallMap, sites: list[ChipPadSite]
                    ) -> tuple[tuple[str, str], ...]:
    """The design's net map, validated: known pads and balls, each used once, all balls wired."""
    if not d.net_map:
        if d.chip_pads.placement == "beside":  # each ball to the pad beside it
            return tuple((s.name, b.name) for s, b in zip(sites, balls.balls, strict=True))
        return default_net_map(balls, sites)
    pads = {s.name for s in sites}
    names = balls.by_name()
    used_p: set[str] = set()
    used_b: set[str] = set()
    for pair in d.net_map:
        if len(pair) != 2:
            raise ParameterError("nets.map", f"each entry must be [pad, ball], got {pair!r}",
                                 pair)
        p, b = str(pair[0]), str(pair[1])
        if p not in pads:
            raise ParameterError("nets.map", f"unknown chip pad {p!r}; pads are P1..P{len(sites)}",
                                 p, f"P1..P{len(sites)}")
        if b not in names:
            why = "a depopulated position" if b in balls.depopulated else "not in the ball map"
            raise ParameterError("nets.map", f"unknown ball {b!r} ({why})", b,
                                 "a populated ball name")
        if p in used_p:
            raise ParameterError("nets.map", f"chip pad {p} is wired twice", p)
        if b in used_b:
            raise ParameterError("nets.map", f"ball {b} is wired twice", b)
        used_p.add(p)
        used_b.add(b)
    missing = [b.name for b in balls.balls if b.name not in used_b]
    if missing:
        raise ParameterError("nets.map", f"balls {', '.join(missing)} are not wired; every "
                             "populated ball needs one chip pad", missing)
    return tuple((str(p), str(b)) for p, b in d.net_map)


@functools.lru_cache(maxsize=8)
def route_design(d: CspDesign) -> tuple[Routing, tuple[tuple[str, str], ...], BallMap,
                                        list[ChipPadSite], RingSolution]:
    """Check the design and route its RDL (raises ParameterError or RoutingError).

    Cached by design (a frozen dataclass): the die cell and the product build share one
    routing. The returned objects are shared: do not modify them.
    """
    balls, sites, sol = check_design(d)
    nets_map = resolve_net_map(d, balls, sites)
    sizes = _pad_sizes(d)
    by_ball = balls.by_name()
    by_pad = {s.name: s for s in sites}
    tol = d.ball_pad.tolerance
    nets = []
    for p, b in nets_map:
        s, bl = by_pad[p], by_ball[b]
        nets.append(Net(f"{p}-{b}", Terminal(p, "rect", s.x, s.y, sizes.rdl),
                        Terminal(b, "circle", bl.x, bl.y, d.ball_pad.land_diameter, tol)))
    wired = {p for p, _ in nets_map}
    obstacles = [Terminal(s.name, "rect", s.x, s.y, sizes.rdl) for s in sites
                 if s.name not in wired]
    e = d.rdl.edge_clearance
    area = (-d.die_width / 2 + e, -d.die_height / 2 + e, d.die_width / 2 - e,
            d.die_height / 2 - e)
    first = balls.balls[0]
    if d.chip_pads.placement == "beside" and not d.net_map:
        # each pad faces its own ball along x: one straight trace each, no search
        routing = route_straight(nets, area, d.rdl.trace_width, d.rdl.trace_space, obstacles,
                                 d.rdl.teardrop_length)
    else:
        routing = route(nets, area, d.rdl.trace_width, d.rdl.trace_space, obstacles,
                        d.rdl.style, d.rdl.pitch, (first.x, first.y), d.rdl.teardrop_length)
    return routing, nets_map, balls, sites, sol


@cell("csp_die")
def csp_die(design: CspDesign = CspDesign(), layers: LayerMap = DEFAULT_LAYERS) -> gdstk.Cell:  # noqa: B008
    """A CSP die centred on the origin: DIE, SCRIBE half-lanes, chip pads, ball pads, RDL.

    Args:
        design: the die's parameters (:class:`CspDesign`, all lengths µm).
        layers: layer map.

    Raises:
        ParameterError: inconsistent parameters (see :func:`check_design`).
        RoutingError: nets that cannot be wired without a short.
    """
    d = design
    routing, _nets_map, balls, sites, _sol = route_design(d)
    c = gdstk.Cell("csp_die")
    hw, hh = d.die_width / 2, d.die_height / 2
    c.add(rect(-hw, -hh, hw, hh, **layers.ld("DIE")))
    s = d.scribe_width / 2
    if s > 0:
        lane = gdstk.boolean(rect(-hw - s, -hh - s, hw + s, hh + s), rect(-hw, -hh, hw, hh),
                             "not", **layers.ld("SCRIBE"))
        c.add(*lane)
    cp = d.chip_pads
    pad_cell = chip_pad(pad_size=cp.size, passivation_enclosure=cp.passivation_enclosure,
                        pi1_enclosure=cp.pi1_enclosure, pi2_margin=cp.pi2_margin,
                        rdl_enclosure=cp.rdl_enclosure, layers=layers)
    for site in sites:
        c.add(gdstk.Reference(pad_cell, (site.x, site.y)))
    bp = asdict(d.ball_pad)
    ball_cell = embossed_ball_pad(**bp, layers=layers)
    for b in balls.balls:
        c.add(gdstk.Reference(ball_cell, (b.x, b.y)))
    for poly in routing.polygons():
        c.add(gdstk.Polygon(poly, **layers.ld("RDL")))
    if d.labels:
        text = layers["TEXT"]
        for b in balls.balls:
            c.add(gdstk.Label(b.name, (b.x, b.y), layer=text.layer, texttype=text.datatype))
        for site in sites:
            c.add(gdstk.Label(site.name, (site.x, site.y), layer=text.layer,
                              texttype=text.datatype))
    return c
