"""The checks: each a dotted id, the claims it verifies, and a function over a scope.

A *scope* is the merged geometry of every layer in one region judged together (a
die cell judged once, or a whole flattened layout). Each check function reads the
scope and reports violations through a :class:`Context`. The claims are those of
the two seeds: ``cap`` = seed 000 (hermetically solder-sealed cap), ``csp`` = seed
004 (embossed ball pad over a redistribution layer).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from layoutgen.check import geom as G
from layoutgen.check.report import CheckInfo, Violation
from layoutgen.rules import RuleSet


def _c(*claims: str) -> tuple[str, ...]:
    return claims


CHECKS: dict[str, CheckInfo] = {c.id: c for c in [
    CheckInfo("seal.closed", _c("cap:1", "cap:12", "cap:22"),
              "every ACTIVE area lies in the hole of a closed CAP_SOLDER ring"),
    CheckInfo("seal.width", _c("cap:1", "cap:22"),
              "the solder bead is at least seal.min_width wide everywhere"),
    CheckInfo("seal.metal", _c("cap:2", "cap:3", "cap:25"),
              "the solder bead lies on CAP_METAL, enclosed by seal.metal_enclosure"),
    CheckInfo("seal.clearance", _c("cap:1", "cap:22"),
              "each ACTIVE area keeps seal.min_clearance from the solder"),
    CheckInfo("spacer.in_cut", _c("cap:8", "cap:9", "cap:14"),
              "every spacer lies inside a cap region cut away (CAP_CUT)"),
    CheckInfo("spacer.off_seal", _c("cap:8", "cap:9", "cap:13"),
              "no spacer touches a seal ring or its sealed cavity"),
    CheckInfo("cut.off_seal", _c("cap:8", "cap:9", "cap:14"),
              "CAP_CUT never touches a seal ring or its sealed cavity"),
    CheckInfo("cut.pads_exposed", _c("cap:8", "cap:14"),
              "every PAD outside the seal rings is under CAP_CUT (exposed after the cut)"),
    CheckInfo("emboss.present", _c("csp:1", "csp:6", "csp:11", "csp:13"),
              "every PI3 hole sits over an embossed PI2 portion (a convex ring in a "
              "concave opening)"),
    CheckInfo("emboss.ring_inside", _c("csp:2", "csp:3", "csp:14"),
              "the convex ring is smaller than the concave opening and does not touch it"),
    CheckInfo("emboss.ratio", _c("csp:5", "csp:16"),
              "area inside the convex ring / ring area within emboss.ratio_tolerance of "
              "emboss.target_ratio"),
    CheckInfo("emboss.exposes_pi1", _c("csp:2", "csp:13"),
              "the concave portion exposes PI1 (PI1 not opened between ring and concave edge)"),
    CheckInfo("emboss.segments", _c("csp:4", "csp:15"),
              "the convex ring has emboss.segments segments (1 = continuous)"),
    CheckInfo("pad.opened", _c("csp:1", "csp:10", "csp:13", "csp:17"),
              "every chip pad is opened by PASSIVATION, PI1 and PI2"),
    CheckInfo("rdl.connected", _c("csp:6", "csp:11"),
              "every ball pad (PI3 hole) is wired through RDL to an exposed chip pad"),
    CheckInfo("rdl.short", _c("csp:6", "csp:11"),
              "no RDL net joins two ball pads or two chip pads"),
    CheckInfo("scribe.overlap", _c("cap:12", "csp:1", "csp:7", "csp:17"),
              "dies (DIE outlines) do not overlap"),
    CheckInfo("scribe.width", _c("cap:12", "csp:1", "csp:7", "csp:17"),
              "lanes between neighbouring dies are at least scribe.min_width wide"),
]}


@dataclass(frozen=True)
class DrcRule:
    """A design rule judged by a generic width, space or enclosure computation.

    Attributes:
        id: check id (``drc.rdl.width``).
        kind: ``width``, ``space``, ``space2`` (between two layers), ``enclosure``,
            ``pitch`` (centre distance), ``edge`` (component to DIE edge),
            ``center_edge`` (component centre to DIE edge).
        layers: the layer names (one, or inner then outer / first then second).
        rule: the rule key in the rule set.
        claims: related claims.
    """

    id: str
    kind: str
    layers: tuple[str, ...]
    rule: str
    claims: tuple[str, ...]
    description: str


DRC_RULES: tuple[DrcRule, ...] = (
    DrcRule("drc.pi1.width", "width", ("PI1",), "pi1.min_width", _c("csp:1"),
            "PI1 openings at least pi1.min_width wide"),
    DrcRule("drc.pi1.space", "space", ("PI1",), "pi1.min_space", _c("csp:1"),
            "PI1 openings at least pi1.min_space apart"),
    DrcRule("drc.pad.encloses_pi1", "enclosure", ("PI1", "PAD"), "pad.encloses_pi1",
            _c("csp:1"), "PAD encloses each PI1 opening on it by pad.encloses_pi1"),
    DrcRule("drc.rdl.width", "width", ("RDL",), "rdl.min_width", _c("csp:6"),
            "RDL at least rdl.min_width wide"),
    DrcRule("drc.rdl.space", "space", ("RDL",), "rdl.min_space", _c("csp:6"),
            "RDL shapes at least rdl.min_space apart"),
    DrcRule("drc.rdl.encloses_pi1", "enclosure", ("PI1", "RDL"), "rdl.encloses_pi1",
            _c("csp:6"), "RDL encloses each PI1 opening under it by rdl.encloses_pi1"),
    DrcRule("drc.pi3.width", "width", ("PI3",), "pi3.min_width", _c("csp:6"),
            "PI3 holes at least pi3.min_width wide"),
    DrcRule("drc.pi1_pi3.space", "space2", ("PI1", "PI3"), "pi1_pi3.min_space", _c("csp:6"),
            "PI1 and PI3 openings at least pi1_pi3.min_space apart, no overlap"),
    DrcRule("drc.ubm.width", "width", ("UBM",), "ubm.min_width", _c("csp:7"),
            "UBM at least ubm.min_width wide"),
    DrcRule("drc.ubm.encloses_pi3", "enclosure", ("PI3", "UBM"), "ubm.encloses_pi3",
            _c("csp:7"), "UBM encloses each PI3 hole under it by ubm.encloses_pi3"),
    DrcRule("drc.rdl.encloses_ubm", "enclosure", ("UBM", "RDL"), "rdl.encloses_ubm",
            _c("csp:6"), "RDL encloses UBM by rdl.encloses_ubm"),
    DrcRule("drc.pi1_ubm.space", "space2", ("PI1", "UBM"), "pi1_ubm.min_space", _c("csp:7"),
            "PI1 openings and UBM at least pi1_ubm.min_space apart, no overlap"),
    DrcRule("drc.ubm.die_edge", "center_edge", ("UBM", "DIE"), "ubm.center_to_die_edge",
            _c("csp:7"), "each UBM centre at least ubm.center_to_die_edge from the die edge"),
    DrcRule("drc.ball.width", "width", ("BALL",), "ball.min_width", _c("csp:7", "csp:12"),
            "BALL footprints at least ball.min_width wide"),
    DrcRule("drc.ball.pitch", "pitch", ("BALL",), "ball.pitch", _c("csp:7", "csp:12"),
            "ball centres at least ball.pitch apart within a die"),
    DrcRule("drc.ball.die_edge", "edge", ("BALL", "DIE"), "ball.to_die_edge",
            _c("csp:7", "csp:12"), "each ball at least ball.to_die_edge from the die edge"),
)

for _r in DRC_RULES:
    CHECKS[_r.id] = CheckInfo(_r.id, _r.claims, _r.description)

#: layers a check reads (for deciding which checks run and which layers to load)
CHECK_LAYERS: dict[str, tuple[str, ...]] = {
    "seal.closed": ("ACTIVE",),
    "seal.width": ("CAP_SOLDER",),
    "seal.metal": ("CAP_SOLDER",),
    "seal.clearance": ("ACTIVE", "CAP_SOLDER"),
    "spacer.in_cut": ("CAP_SPACER",),
    "spacer.off_seal": ("CAP_SPACER", "CAP_SOLDER"),
    "cut.off_seal": ("CAP_CUT", "CAP_SOLDER"),
    "cut.pads_exposed": ("CAP_SOLDER", "PAD"),
    "emboss.present": ("PI3",),
    "emboss.ring_inside": ("PI3", "PI2"),
    "emboss.ratio": ("PI3", "PI2"),
    "emboss.exposes_pi1": ("PI3", "PI2"),
    "emboss.segments": ("PI3", "PI2"),
    "pad.opened": ("PAD",),
    "rdl.connected": ("PI3",),
    "rdl.short": ("PI3", "RDL"),
    "scribe.overlap": ("DIE",),
    "scribe.width": ("DIE",),
}
for _r in DRC_RULES:
    CHECK_LAYERS[_r.id] = _r.layers[:1]

#: checks that also need at least one of these layers (pads are judged for openings
#: only in a layout with dielectrics: a capped die's bond pads are not)
ANY_LAYERS: dict[str, tuple[str, ...]] = {
    "pad.opened": ("PASSIVATION", "PI1", "PI2", "PI3"),
}

#: layers the checks read
USED_LAYERS = ("DIE", "ACTIVE", "PAD", "PASSIVATION", "PI1", "PI2", "PI3", "RDL", "BALL", "UBM",
               "CAP_METAL", "CAP_SOLDER", "CAP_SPACER", "CAP_CUT")

#: pairs of layers whose shapes, when near each other in two placements, make the
#: placements interact (so they must be judged together): (a, b, rule key for the
#: distance or None for touching)
RELATIONS: tuple[tuple[str, str, str | None], ...] = (
    ("ACTIVE", "ACTIVE", None), ("ACTIVE", "CAP_SOLDER", "seal.min_clearance"),
    ("CAP_SOLDER", "CAP_SOLDER", None), ("CAP_SOLDER", "CAP_METAL", "seal.metal_enclosure"),
    ("CAP_SPACER", "CAP_SPACER", None), ("CAP_SPACER", "CAP_CUT", None),
    ("CAP_SPACER", "CAP_SOLDER", None), ("CAP_CUT", "CAP_SOLDER", None),
    ("PAD", "CAP_CUT", None), ("PAD", "CAP_SOLDER", None), ("PAD", "PAD", None),
    ("PAD", "PASSIVATION", None), ("PAD", "PI1", "pad.encloses_pi1"), ("PAD", "PI2", None),
    ("PI3", "PI3", None), ("PI3", "PI2", None), ("PI2", "PI2", None), ("PI2", "PI1", None),
    ("PI3", "RDL", None), ("RDL", "RDL", "rdl.min_space"), ("RDL", "PAD", None),
    ("RDL", "PASSIVATION", None), ("RDL", "PI1", "rdl.encloses_pi1"), ("RDL", "PI2", None),
    ("PI1", "PI1", "pi1.min_space"), ("PI1", "PI3", "pi1_pi3.min_space"),
    ("PI1", "UBM", "pi1_ubm.min_space"), ("UBM", "UBM", None),
    ("UBM", "PI3", "ubm.encloses_pi3"), ("UBM", "RDL", "rdl.encloses_ubm"),
    ("BALL", "BALL", "ball.pitch"), ("UBM", "DIE", None), ("BALL", "DIE", None),
)

#: checks that read a whole scope at once (ball centres against every other ball of
#: the die, components against the die outline around them): judged on the whole
#: scope, never island by island
GLOBAL_CHECKS = frozenset({"drc.ball.pitch", "drc.ball.die_edge", "drc.ubm.die_edge"})

#: the relations that join shapes into one island of a scope (see engine): RELATIONS
#: without those only GLOBAL_CHECKS read (ball pitch, the die outline), and every layer
#: joined with itself where its shapes touch
ISLAND_RELATIONS: tuple[tuple[str, str, str | None], ...] = tuple(
    (a, b, None if (a, b) == ("BALL", "BALL") else key) for a, b, key in RELATIONS
    if (a, b) not in (("UBM", "DIE"), ("BALL", "DIE"))) + tuple(
    (lay, lay, None) for lay in ("DIE", "PASSIVATION", "CAP_METAL", "CAP_CUT"))


class Scope:
    """Merged geometry of every layer in one region.

    Args:
        raw: layer name -> (coords N×2 µm, ring lengths): the layer's polygons.
        dbu: database unit of the file, µm.
        name: what the scope is (a cell name, or ``<flat>``).
        present: for an island of a larger scope, the layers that scope has.
    """

    def __init__(self, raw: dict[str, tuple[np.ndarray, np.ndarray]], dbu: float,
                 name: str, present: frozenset[str] | None = None) -> None:
        self.raw = raw
        self.present = present
        self.dbu = dbu
        self.tol = dbu / 4
        self.grid = dbu / 1000
        self.name = name
        self._geoms: dict[str, np.ndarray] = {}
        self._merged: dict[str, BaseGeometry] = {}
        self._parts: dict[str, list[Polygon]] = {}
        self._trees: dict[str, shapely.STRtree] = {}

    def has(self, layer: str) -> bool:
        """True when the scope has shapes on ``layer`` (for an island of a larger scope:
        when that scope has, so that an island is judged as it is in the whole)."""
        if self.present is not None:
            return layer in self.present
        r = self.raw.get(layer)
        return r is not None and len(r[1]) > 0

    def geoms(self, layer: str) -> np.ndarray:
        """Valid, unmerged polygons of ``layer``."""
        if layer not in self._geoms:
            r = self.raw.get(layer)
            self._geoms[layer] = G.to_shapely(*r) if r is not None else \
                np.empty(0, dtype=object)
        return self._geoms[layer]

    def merged(self, layer: str) -> BaseGeometry:
        """All shapes of ``layer`` merged."""
        if layer not in self._merged:
            self._merged[layer] = G.merge(self.geoms(layer), self.grid)
        return self._merged[layer]

    def parts(self, layer: str) -> list[Polygon]:
        """Connected components of ``layer`` (touching at a point: separate)."""
        if layer not in self._parts:
            self._parts[layer] = G.parts(self.merged(layer))
        return self._parts[layer]

    def merged_at(self, layer: str, g: BaseGeometry) -> BaseGeometry:
        """The merged shapes of ``layer`` that meet ``g``: what ``merged(layer)`` is on
        ``g`` (for ``g.difference``), without a wafer-sized polygon when the layer is
        one net of lanes."""
        geoms = self.geoms(layer)
        if len(geoms) <= 64:
            return self.merged(layer)
        key = f"raw:{layer}"
        if key not in self._trees:
            self._trees[key] = shapely.STRtree(geoms)
        idx = self._trees[key].query(g, predicate="intersects")
        return G.merge(geoms[np.sort(idx)], self.grid) if len(idx) else G.EMPTY

    def near(self, layer: str, g: BaseGeometry, distance: float = 0.0) -> list[Polygon]:
        """Components of ``layer`` within ``distance`` of ``g`` (touching included)."""
        ps = self.parts(layer)
        if not ps:
            return []
        if layer not in self._trees:
            self._trees[layer] = shapely.STRtree(ps)
        tree = self._trees[layer]
        if distance > 0:
            idx = tree.query(g, predicate="dwithin", distance=distance)
        else:
            idx = tree.query(g, predicate="intersects")
        return [ps[i] for i in sorted(idx)]


@dataclass
class Context:
    """Where checks report to.

    Attributes:
        rules: the rule set.
        enabled: ids of the checks to run.
        violations: collected violations (scope coordinates).
        judged: check id -> items judged.
        details: check id -> extra facts.
        owns: when set (tiled flat mode), only items located where it answers True are
            counted (their die's own); violations are filtered by the engine.
    """

    rules: RuleSet
    enabled: set[str]
    violations: list[Violation] = field(default_factory=list)
    judged: dict[str, int] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    owns: Callable[[tuple[float, float]], bool] | None = None

    def on(self, check: str) -> bool:
        """True when ``check`` is enabled."""
        return check in self.enabled

    def judge(self, check: str, at: BaseGeometry | list | None = None, n: int = 1) -> None:
        """Count items judged by ``check``: ``n``, or the items ``at`` (a geometry or a
        list of them) that this context owns."""
        if at is not None:
            items = at if isinstance(at, list) else [at]
            if self.owns is not None:
                items = [g for g in items if self.owns(G.representative_point(g))]
            n = len(items)
        self.judged[check] = self.judged.get(check, 0) + n

    def emit(self, check: str, message: str, where: BaseGeometry | tuple[float, float],
             value: float | None = None, limit: float | None = None) -> None:
        """Report a violation at ``where`` (a geometry or a point)."""
        if isinstance(where, tuple):
            x, y = where
            bbox = None
        else:
            x, y = G.representative_point(where)
            b = where.bounds
            bbox = (b[0], b[1], b[2], b[3]) if len(b) == 4 and all(map(math.isfinite, b)) \
                else None
        self.violations.append(Violation(check, message, x, y, value, limit, bbox))

    def detail_count(self, check: str, key: str, value: Any, at: BaseGeometry | None = None
                     ) -> None:
        """Count one occurrence of ``value`` under ``details[check][key]``."""
        if at is not None and self.owns is not None and not self.owns(
                G.representative_point(at)):
            return
        d = self.details.setdefault(check, {}).setdefault(key, {})
        k = str(value)
        d[k] = d.get(k, 0) + 1


def _xy(p: tuple[float, float]) -> str:
    return f"({G.fmt_um(p[0])}, {G.fmt_um(p[1])})"


def _at(g: BaseGeometry) -> str:
    return _xy(G.representative_point(g))


# ---------------------------------------------------------------- seal, spacer, cut
def check_seal(s: Scope, ctx: Context) -> None:
    """seal.closed, seal.width, seal.metal, seal.clearance."""
    tol = s.tol
    rings = s.parts("CAP_SOLDER")
    if ctx.on("seal.closed") or ctx.on("seal.clearance"):
        # closure is judged on the bead shrunk by a quarter database unit: a neck of
        # zero width (pieces touching at a point) opens, a real one-dbu neck does not
        closed_holes: list[tuple[Polygon, Polygon]] = []
        for ring in rings:
            shrunk = ring.buffer(-tol, join_style="mitre")
            for piece in G.parts(shrunk):
                for h in G.holes(piece):
                    closed_holes.append((h, ring))
        hole_tree = shapely.STRtree([h for h, _ in closed_holes]) if closed_holes else None
        for act in s.parts("ACTIVE"):
            ctx.judge("seal.closed", act)
            enclosing: list[Polygon] = []
            if hole_tree is not None:
                for i in hole_tree.query(act, predicate="covered_by"):
                    enclosing.append(closed_holes[int(i)][1])
            if not enclosing and ctx.on("seal.closed"):
                ctx.emit("seal.closed", _why_open(s, act), act)
            # the clearance is judged sealed or not: an open ring's bead still wets
            if ctx.on("seal.clearance") and (enclosing or s.has("CAP_SOLDER")):
                ctx.judge("seal.clearance", act)
                limit = ctx.rules["seal.min_clearance"]
                near = s.near("CAP_SOLDER", act, limit)
                d = min(float(act.distance(r)) for r in near) if near else math.inf
                if d < limit - tol:
                    ctx.emit("seal.clearance",
                             f"ACTIVE at {_at(act)} is {G.fmt_um(d)} µm from the solder seal, "
                             f"needs >= {G.fmt_um(limit)} µm", act, d, limit)
    if ctx.on("seal.width"):
        limit = ctx.rules["seal.min_width"]
        for ring in rings:
            ctx.judge("seal.width", ring)
            for region, w in G.width_violations(ring, limit, tol):
                ctx.emit("seal.width",
                         f"solder seal at {_at(region)} is {G.fmt_um(w)} µm wide, needs >= "
                         f"{G.fmt_um(limit)} µm", region, w, limit)
    if ctx.on("seal.metal"):
        enc = ctx.rules["seal.metal_enclosure"]
        metal = s.merged("CAP_METAL")
        for ring in rings:
            ctx.judge("seal.metal", ring)
            near = s.near("CAP_METAL", ring, max(enc, 0.0) + tol)
            cover = shapely.union_all(near) if near else G.EMPTY
            bad = G.outside_enclosure(ring, cover if near else metal, enc, tol)
            for region in G.parts(bad):
                what = "is not on CAP_METAL" if enc <= tol else \
                    f"is not enclosed by CAP_METAL by {G.fmt_um(enc)} µm"
                ctx.emit("seal.metal", f"solder seal at {_at(region)} {what}", region, None, enc)


def _why_open(s: Scope, act: Polygon) -> str:
    at = _at(act)
    solder = s.near("CAP_SOLDER", act, 0.0)
    if any(r.intersection(act).area > 0 for r in solder):
        return f"ACTIVE at {at} overlaps the solder seal instead of lying inside its ring"
    around = [r for r in s.parts("CAP_SOLDER") if G.fill(r).covers(act)]
    if around:
        return (f"ACTIVE at {at}: the solder ring around it is not closed (a gap, or "
                "pieces touching only at a point)")
    x0, y0, x1, y1 = act.bounds
    around = s.near("CAP_SOLDER", act, max(x1 - x0, y1 - y0))
    if around and shapely.convex_hull(shapely.union_all(around)).covers(act):
        return (f"ACTIVE at {at}: the solder ring around it is open (a gap, or pieces "
                "touching only at a point)")
    partly = [r for r in s.parts("CAP_SOLDER") if G.fill(r).intersects(act)]
    if partly:
        return f"ACTIVE at {at} is not inside the hole of the solder ring (it sticks out)"
    return f"ACTIVE at {at} has no solder seal ring around it"


def _ring_fills(s: Scope) -> list[Polygon]:
    """Each solder ring with its sealed cavity (the ring filled)."""
    return [G.fill(r) for r in s.parts("CAP_SOLDER")]


def check_spacer_cut(s: Scope, ctx: Context) -> None:
    """spacer.in_cut, spacer.off_seal, cut.off_seal, cut.pads_exposed."""
    tol = s.tol
    fills = _ring_fills(s)
    fill_tree = shapely.STRtree(fills) if fills else None
    for sp in s.parts("CAP_SPACER"):
        if ctx.on("spacer.in_cut"):
            ctx.judge("spacer.in_cut", sp)
            out = G.thick(sp.difference(s.merged_at("CAP_CUT", sp)), tol)
            if not out.is_empty:
                ctx.emit("spacer.in_cut", f"spacer at {_at(sp)} is not inside a CAP_CUT region "
                         "(it would stay on the cap)", out)
        if ctx.on("spacer.off_seal"):
            ctx.judge("spacer.off_seal", sp)
            hit = fill_tree.query(sp, predicate="intersects") if fill_tree is not None else []
            if len(hit):
                ctx.emit("spacer.off_seal", f"spacer at {_at(sp)} touches a seal ring or its "
                         "sealed cavity", sp)
    if ctx.on("cut.off_seal"):
        for part in s.parts("CAP_CUT"):
            ctx.judge("cut.off_seal", part)
            hit = fill_tree.query(part, predicate="intersects") if fill_tree is not None else []
            for i in hit:
                touch = part.intersection(fills[int(i)])
                where = touch if not touch.is_empty else part
                ctx.emit("cut.off_seal", f"CAP_CUT at {_at(where)} touches a seal ring or its "
                         "sealed cavity", where)
    if ctx.on("cut.pads_exposed"):
        for pad in s.parts("PAD"):
            if fill_tree is not None and len(fill_tree.query(pad, predicate="intersects")):
                continue  # a pad inside (or under) a seal is not a bond pad to expose
            ctx.judge("cut.pads_exposed", pad)
            out = G.thick(pad.difference(s.merged_at("CAP_CUT", pad)), tol)
            if not out.is_empty:
                ctx.emit("cut.pads_exposed", f"PAD at {_at(pad)} outside the seal is not under "
                         "CAP_CUT: it stays covered by the cap", out)


# ---------------------------------------------------------------- emboss, pad, rdl
@dataclass
class Emboss:
    """The embossed portion found under one PI3 hole."""

    hole: Polygon
    concave: BaseGeometry
    ring: BaseGeometry
    center: tuple[float, float]


def find_emboss(s: Scope, hole: Polygon) -> Emboss | None:
    """The concave PI2 opening under ``hole`` and the convex ring standing in it."""
    opens = [p for p in s.near("PI2", hole) if p.intersection(hole).area > s.tol * s.tol]
    if not opens:
        return None
    concave = shapely.union_all([G.fill(p) for p in opens])
    # the concave portion is a circle (claims 3, 14): a ring touching its edge at a point
    # cuts the opening around it into a crescent, whose outline no longer encloses the
    # ring; the opening's convex hull does
    hull = shapely.convex_hull(shapely.union_all(opens))
    if concave.area < 0.98 * hull.area:
        concave = hull
    pi2 = shapely.union_all(s.near("PI2", concave))
    ring = G.thick(concave.difference(pi2), s.tol)
    center = G.circle_fit(concave)
    return Emboss(hole, concave, ring, center)


def check_emboss(s: Scope, ctx: Context) -> None:
    """emboss.present, emboss.ring_inside, emboss.ratio, emboss.exposes_pi1, emboss.segments."""
    if not ctx.on("emboss.present"):
        return
    tol = s.tol
    target = ctx.rules["emboss.target_ratio"]
    rtol = ctx.rules["emboss.ratio_tolerance"]
    want_segments = ctx.rules.get("emboss.segments")
    for hole in s.parts("PI3"):
        ctx.judge("emboss.present", hole)
        e = find_emboss(s, hole)
        if e is None:
            ctx.emit("emboss.present", f"PI3 hole at {_at(hole)} has no PI2 opening under it: "
                     "no embossed portion", hole)
            continue
        if e.ring.is_empty:
            ctx.emit("emboss.present", f"PI3 hole at {_at(hole)}: the PI2 opening under it is "
                     "flat, no convex PI2 ring stands inside it (a ring that reaches the "
                     "concave edge all round merges with the PI2 outside and leaves this too)",
                     e.concave)
            continue
        if not e.ring.intersects(hole):
            ctx.emit("emboss.present", f"PI3 hole at {_at(hole)} does not lie over the embossed "
                     f"portion at {_xy(e.center)}", hole)
            continue
        rings = G.parts(e.ring)
        nseg = len(rings)
        ctx.detail_count("emboss.present", "segments", nseg, hole)
        if ctx.on("emboss.ring_inside"):
            ctx.judge("emboss.ring_inside", hole)
            ring_d = 2 * G.max_radius(e.ring, e.center)
            conc_d = 2 * G.min_radius_of_boundary(e.concave, e.center)
            edge = e.concave.boundary
            touch = e.ring.distance(edge) <= tol
            if touch or ring_d >= conc_d - tol:
                ctx.emit("emboss.ring_inside",
                         f"convex ring at {_xy(e.center)} (outer diameter {G.fmt_um(ring_d)} µm) "
                         f"{'touches' if touch else 'is not smaller than'} the concave opening "
                         f"(diameter {G.fmt_um(conc_d)} µm)", e.ring, ring_d, conc_d)
        inside = G.inner_edge_area(e.ring, e.center, tol)
        ring_area = e.ring.area
        ratio = inside / ring_area if ring_area > 0 else math.inf
        if ctx.on("emboss.ratio"):
            ctx.judge("emboss.ratio", hole)
            ctx.detail_count("emboss.ratio", "ratios", round(ratio, 3), hole)
            if not abs(ratio - target) <= rtol * target + 1e-9:
                ctx.emit("emboss.ratio",
                         f"embossed pad at {_xy(e.center)}: inside/ring area ratio "
                         f"{ratio:.3f} (inside {inside:.1f} µm², ring {ring_area:.1f} µm²), "
                         f"needs {target:g} ± {rtol * 100:g} %", e.ring, ratio, target)
        if ctx.on("emboss.exposes_pi1") and s.has("PI1"):
            ctx.judge("emboss.exposes_pi1", hole)
            annulus = e.concave.difference(_ring_with_inside(e.ring, e.center, tol))
            opened = G.thick(annulus.intersection(shapely.union_all(
                s.near("PI1", annulus)) if s.near("PI1", annulus) else G.EMPTY), tol)
            if not opened.is_empty:
                ctx.emit("emboss.exposes_pi1",
                         f"embossed pad at {_xy(e.center)}: PI1 is opened between the convex "
                         "ring and the concave edge, so the concave portion does not expose PI1",
                         opened)
        if want_segments is not None and ctx.on("emboss.segments"):
            ctx.judge("emboss.segments", hole)
            if nseg != int(want_segments):
                ctx.emit("emboss.segments", f"convex ring at {_xy(e.center)} has {nseg} "
                         f"segment(s), expected {int(want_segments)}", e.ring, nseg,
                         want_segments)


def _ring_with_inside(ring: BaseGeometry, center: tuple[float, float], tol: float
                      ) -> BaseGeometry:
    """The ring plus the region its inner edge encloses (gaps bridged by the hull)."""
    ps = G.parts(ring)
    if len(ps) == 1 and ps[0].interiors:
        return G.fill(ps[0])
    return shapely.convex_hull(ring).union(ring)


def exposed_pads(s: Scope) -> list[tuple[Polygon, BaseGeometry]]:
    """Each chip pad with its stacked opening PAD ∩ PASSIVATION ∩ PI1 ∩ PI2."""
    out = []
    for pad in s.parts("PAD"):
        stack: BaseGeometry = pad
        for layer in ("PASSIVATION", "PI1", "PI2"):
            near = s.near(layer, stack)
            stack = stack.intersection(shapely.union_all(near)) if near else G.EMPTY
            if stack.is_empty:
                break
        out.append((pad, G.thick(stack, s.tol)))
    return out


def check_pad(s: Scope, ctx: Context) -> None:
    """pad.opened."""
    if not ctx.on("pad.opened"):
        return
    for pad, stack in exposed_pads(s):
        ctx.judge("pad.opened", pad)
        if stack.is_empty:
            missing = [lay for lay in ("PASSIVATION", "PI1", "PI2")
                       if not any(p.intersection(pad).area > s.tol ** 2
                                  for p in s.near(lay, pad))]
            why = ("not opened by " + ", ".join(missing)) if missing else \
                "the PASSIVATION, PI1 and PI2 openings on it do not overlap"
            ctx.emit("pad.opened", f"chip pad at {_at(pad)}: {why}", pad)


def check_rdl(s: Scope, ctx: Context) -> None:
    """rdl.connected, rdl.short."""
    if not (ctx.on("rdl.connected") or ctx.on("rdl.short")):
        return
    tol2 = s.tol * s.tol
    pads = [(p, st) for p, st in exposed_pads(s) if not st.is_empty]
    pad_tree = shapely.STRtree([st for _, st in pads]) if pads else None
    nets = s.parts("RDL")
    net_balls: dict[int, list[Polygon]] = {}
    index = {id(n): i for i, n in enumerate(nets)}
    connected = ctx.on("rdl.connected")
    for hole in s.parts("PI3"):
        if connected:
            ctx.judge("rdl.connected", hole)
        under = [n for n in s.near("RDL", hole) if n.intersection(hole).area > tol2]
        if not under:
            if connected:
                ctx.emit("rdl.connected", f"ball pad at {_at(hole)} has no RDL under its PI3 "
                         "hole", hole)
            continue
        reached = False
        for net in under:
            net_balls.setdefault(index[id(net)], []).append(hole)
            if pad_tree is not None:
                for i in pad_tree.query(net, predicate="intersects"):
                    if net.intersection(pads[int(i)][1]).area > tol2:
                        reached = True
        if not reached and connected:
            ctx.emit("rdl.connected", f"ball pad at {_at(hole)}: its RDL net reaches no chip pad "
                     "opened by PASSIVATION, PI1 and PI2 (open RDL)", hole)
    if ctx.on("rdl.short"):
        for i, net in enumerate(nets):
            ctx.judge("rdl.short", net)
            balls = net_balls.get(i, [])
            n_pads = 0
            if pad_tree is not None:
                n_pads = sum(1 for j in pad_tree.query(net, predicate="intersects")
                             if net.intersection(pads[int(j)][1]).area > tol2)
            if len(balls) > 1 or n_pads > 1:
                ctx.emit("rdl.short", f"RDL net at {_at(net)} joins {len(balls)} ball pads and "
                         f"{n_pads} chip pads (a short)", net, float(max(len(balls), n_pads)), 1)


# ---------------------------------------------------------------- scribe (global)
def check_scribe(dies: list[Polygon], ctx: Context, tol: float) -> None:
    """scribe.overlap and scribe.width over every die outline of the layout."""
    if len(dies) < 2:
        return
    ctx.judge("scribe.overlap", n=len(dies))
    ctx.judge("scribe.width", n=len(dies))
    width = ctx.rules["scribe.min_width"]
    for i, j, d in G.close_pairs(dies, max(width - tol, tol)):
        _scribe_pair(dies[i], dies[j], d, ctx, tol, width)


def check_scribe_boxes(boxes: np.ndarray, ctx: Context, tol: float) -> None:
    """check_scribe for dies that are all axis-parallel rectangles (N×4 boxes), from
    box arithmetic: no polygon is built but for a pair that violates."""
    from layoutgen.check.islands import box_pairs

    if len(boxes) < 2:
        return
    ctx.judge("scribe.overlap", n=len(boxes))
    ctx.judge("scribe.width", n=len(boxes))
    width = ctx.rules["scribe.min_width"]
    limit = max(width - tol, tol)
    i, j = box_pairs(boxes, limit, both=False)
    a, b = boxes[i], boxes[j]
    dx = np.maximum(0.0, np.maximum(a[:, 0], b[:, 0]) - np.minimum(a[:, 2], b[:, 2]))
    dy = np.maximum(0.0, np.maximum(a[:, 1], b[:, 1]) - np.minimum(a[:, 3], b[:, 3]))
    d = np.hypot(dx, dy)
    for k in np.nonzero(d < limit)[0]:
        _scribe_pair(shapely.box(*boxes[i[k]]), shapely.box(*boxes[j[k]]), float(d[k]), ctx,
                     tol, width)


def _scribe_pair(a: Polygon, b: Polygon, d: float, ctx: Context, tol: float, width: float
                 ) -> None:
    """Judge two dies closer than the scribe width: overlapping, or a narrow lane."""
    inter = a.intersection(b)
    if inter.area > tol * tol:
        if ctx.on("scribe.overlap"):
            ctx.emit("scribe.overlap", f"dies at {_at(a)} and {_at(b)} overlap "
                     f"({inter.area:.1f} µm²)", inter, inter.area, 0)
    elif ctx.on("scribe.width"):
        line = shapely.shortest_line(a, b)
        ctx.emit("scribe.width", f"lane between dies at {_at(a)} and {_at(b)} is "
                 f"{G.fmt_um(d)} µm wide, needs >= {G.fmt_um(width)} µm",
                 line.buffer(max(d / 2, 0.5)), d, width)


# ---------------------------------------------------------------- generic DRC
def check_drc(s: Scope, ctx: Context) -> None:
    """Every DRC rule whose rule value is in the rule set."""
    tol = s.tol
    for r in DRC_RULES:
        if not ctx.on(r.id) or r.rule not in ctx.rules:
            continue
        limit = ctx.rules[r.rule]
        a = r.layers[0]
        if r.kind == "width":
            for p in s.parts(a):
                ctx.judge(r.id, p)
                for region, w in G.width_violations(p, limit, tol):
                    ctx.emit(r.id, f"{a} at {_at(region)} is {G.fmt_um(w)} µm wide, needs >= "
                             f"{G.fmt_um(limit)} µm", region, w, limit)
        elif r.kind == "space":
            ps = s.parts(a)
            ctx.judge(r.id, ps)
            for i, j, d in G.close_pairs(ps, limit - tol):
                line = shapely.shortest_line(ps[i], ps[j])
                ctx.emit(r.id, f"{a} shapes at {_at(line)} are {G.fmt_um(d)} µm apart, needs "
                         f">= {G.fmt_um(limit)} µm", line.buffer(max(d / 2, tol)), d, limit)
            for p in ps:  # notches, slots and holes narrower than the space in one shape
                if not p.interiors and shapely.convex_hull(p).area - p.area <= tol * tol:
                    continue
                found = G.notches(p, limit, tol)
                if not found:
                    continue
                marks = shapely.union_all([g for g, _ in found])
                for region in G.clusters(marks, limit):
                    d = min(d for g, d in found if g.intersects(region))
                    ctx.emit(r.id, f"{a} notch at {_at(region)} is {G.fmt_um(d)} µm wide, "
                             f"needs >= {G.fmt_um(limit)} µm", region, d, limit)
        elif r.kind == "space2":
            b = r.layers[1]
            pa, pb = s.parts(a), s.parts(b)
            ctx.judge(r.id, pa)
            if not pa or not pb:
                continue
            tree = shapely.STRtree(pb)
            for p in pa:
                for j in tree.query(p, predicate="dwithin", distance=limit - tol):
                    q = pb[int(j)]
                    d = float(p.distance(q))
                    if d < limit - tol:
                        where = p.intersection(q) if d == 0 else shapely.shortest_line(p, q)
                        where = where if not where.is_empty else p
                        ctx.emit(r.id, f"{a} at {_at(p)} and {b} at {_at(q)} are "
                                 f"{'overlapping' if d == 0 else G.fmt_um(d) + ' µm apart'}, "
                                 f"needs >= {G.fmt_um(limit)} µm", where.buffer(max(d / 2, tol)),
                                 d, limit)
        elif r.kind == "enclosure":
            outer_layer = r.layers[1]
            for p in s.parts(a):
                outer = [o for o in s.near(outer_layer, p) if o.intersection(p).area > tol * tol]
                if not outer:
                    continue  # not on this layer at all: not this rule's business
                ctx.judge(r.id, p)
                bad = G.outside_enclosure(p, shapely.union_all(outer), limit, tol)
                for region in G.parts(bad):
                    ctx.emit(r.id, f"{a} at {_at(p)} is not enclosed by {outer_layer} by "
                             f"{G.fmt_um(limit)} µm (at {_at(region)})", region, None, limit)
        elif r.kind in ("edge", "center_edge"):
            dies = s.parts("DIE")
            if not dies:
                continue
            tree = shapely.STRtree(dies)
            for p in s.parts(a):
                ctx.judge(r.id, p)
                hit = [dies[int(i)] for i in tree.query(p, predicate="intersects")]
                if not hit:
                    ctx.emit(r.id, f"{a} at {_at(p)} is not on a die", p)
                    continue
                die = max(hit, key=lambda dd: dd.intersection(p).area)
                if r.kind == "edge":
                    out = G.thick(p.difference(die), tol)
                    d = -1.0 if not out.is_empty else float(die.exterior.distance(p))
                    msg = f"{a} at {_at(p)} is {G.fmt_um(d)} µm from the die edge"
                else:
                    c = shapely.centroid(p)
                    d = float(die.exterior.distance(c)) if die.covers(c) else -1.0
                    msg = f"{a} centre {_at(p)} is {G.fmt_um(d)} µm from the die edge"
                if d < limit - tol:
                    ctx.emit(r.id, f"{msg}, needs >= {G.fmt_um(limit)} µm", p, d, limit)
        elif r.kind == "pitch":
            ps = s.parts(a)
            ctx.judge(r.id, ps)
            if len(ps) < 2:
                continue
            cents = shapely.centroid(np.asarray(ps, dtype=object))
            dies = s.parts("DIE")
            die_of = np.full(len(ps), -1)
            if dies:
                dtree = shapely.STRtree(dies)
                pi, di = dtree.query(cents, predicate="within")
                die_of[pi] = di
            tree = shapely.STRtree(cents)
            left, right = tree.query(cents, predicate="dwithin", distance=limit - tol)
            for i, j in zip(left, right, strict=True):
                if i >= j or die_of[i] != die_of[j]:
                    continue
                d = float(shapely.distance(cents[i], cents[j]))
                if d < limit - tol:
                    ctx.emit(r.id, f"{a} centres at {_at(ps[i])} and {_at(ps[j])} are "
                             f"{G.fmt_um(d)} µm apart, needs >= {G.fmt_um(limit)} µm",
                             shapely.shortest_line(cents[i], cents[j]).buffer(1.0), d, limit)


#: the scope-level check functions, each with the prefixes of the check ids it judges
SCOPE_CHECKS: tuple[tuple[Callable[[Scope, Context], None], tuple[str, ...]], ...] = (
    (check_seal, ("seal.",)), (check_spacer_cut, ("spacer.", "cut.")),
    (check_emboss, ("emboss.",)), (check_pad, ("pad.",)), (check_rdl, ("rdl.",)),
    (check_drc, ("drc.",)))


def run_scope(s: Scope, ctx: Context) -> None:
    """Run every enabled scope-level check on ``s``."""
    for fn, prefixes in SCOPE_CHECKS:
        if any(cid.startswith(prefixes) for cid in ctx.enabled):
            fn(s, ctx)
