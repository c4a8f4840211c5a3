"""Product kinds of the embossed-ball-pad WLCSP process (seed 004): ``csp_die``, ``csp_wafer``.

``csp_die``: one CSP die (DIE, SCRIBE half-lanes, chip pads opened by PASSIVATION, PI1
and PI2, embossed ball pads, RDL fan-in, PI3 holes, UBM, balls), its ball map as CSV
and, optionally, a cross-section figure through one ball pad derived from the layout.

``csp_wafer``: a wafer of those dies (one die cell placed by one array reference per
row of whole dies, outline with notch, usable circle) and its wafer map (JSON + CSV,
from :mod:`layoutgen.wafer`, the same code the capped wafer uses).

Rule-derived values: every dimension whose parameter says "0: from the rule set" is
taken from the chosen rule set (``rules``: ``amkor-400`` by default, read from the
shipped Amkor table); every explicit value is checked against the rule set before
anything is built. Builds write nothing: they return Artifacts whose ``write(path)``
writes one file atomically.
"""

from __future__ import annotations

import csv
import io as _io
import math
from pathlib import Path
from typing import Any

import gdstk

from cells.ballmap import ALLOWED_PITCHES
from cells.csp import (
    CENTRE_3X3,
    CHIP_PAD_PLACEMENTS,
    BallPadParams,
    ChipPadParams,
    CspDesign,
    RdlParams,
    csp_die,
    design_balls,
    route_design,
)
from layoutgen import io
from layoutgen.errors import ParameterError
from layoutgen.layers import LayerMap
from layoutgen.rules import BUILTIN_RULESETS, RuleSet, load_ruleset
from layoutgen.spec import Artifact, BuildResult, Param, ProductKind, Spec
from layoutgen.wafer import (
    die_grid,
    place_dies,
    wafer_dims,
    wafer_map_csv,
    wafer_map_json,
    wafer_outline,
    wafer_params,
)

__all__ = ["DIE_PARAMS", "PRODUCT_KINDS", "WAFER_PARAMS", "build_csp_die", "build_csp_wafer",
           "design_from_spec"]

_RULE = "0: from the rule set"

#: parameters of one CSP die (shared by both kinds)
DIE_PARAMS: tuple[Param, ...] = (
    Param("rules", "amkor-400", "rule set the die is designed to and checked against",
          unit="", choices=BUILTIN_RULESETS),
    Param("die.width", 3200.0, "die width (DIE outline, x), without the scribe lane",
          low=0, low_open=True, high=30000),
    Param("die.height", 3200.0, "die height (y), without the scribe lane", low=0,
          low_open=True, high=30000),
    Param("die.scribe_width", 80.0, "full scribe lane width; the die carries half of it on "
          "each side (SCRIBE), the wafer step is die size plus this", low=0, high=1000),
    Param("die.labels", True, "TEXT labels with ball and chip pad names", unit=""),
    Param("balls.rows", 7, "ball rows (A, B, ... from the top)", unit="", low=1, high=100),
    Param("balls.cols", 7, "ball columns (1, 2, ... from the left)", unit="", low=1, high=100),
    Param("balls.pitch", 400.0, "ball pitch; must equal the rule set's ball.pitch when it "
          "has one", choices=ALLOWED_PITCHES),
    Param("balls.depopulate", list(CENTRE_3X3), "JEDEC names of positions without a ball",
          unit="", kind="list[str]"),
    Param("balls.min_center_to_edge", 0.0, "least ball centre to die edge distance; "
          f"{_RULE} (ubm.center_to_die_edge, and ball radius + ball.to_die_edge)", low=0),
    Param("ball_pad.concave_diameter", 240.0, "diameter of the concave PI2 opening "
          "(the embossed portion, exposing PI1; claims 2, 3)", low=0, low_open=True,
          high=2000),
    Param("ball_pad.ring_inner_diameter", 120.0, "inner diameter of the convex PI2 ring; "
          "its outer diameter is solved for the target ratio", low=0, low_open=True,
          high=2000),
    Param("ball_pad.ring_gaps", 4, "gaps splitting the ring: 0 continuous (claim 3), 2..64 "
          "discontinuous (claim 4)", unit="", low=0, high=64),
    Param("ball_pad.gap_width", 15.0, "width of each parallel-sided gap in the ring", low=0,
          low_open=True, high=500),
    Param("ball_pad.target_ratio", 0.0, "(area inside the ring) / (ring area), claims 5 "
          f"and 16; {_RULE} (emboss.target_ratio)", unit="", low=0, high=10),
    Param("ball_pad.min_moat", 10.0, "least radial width of PI2 opening between the ring "
          "and the concave edge", low=0, low_open=True),
    Param("ball_pad.min_ring_width", 5.0, "least radial width of the ring", low=0,
          low_open=True),
    Param("ball_pad.pi3_diameter", 200.0, "PI3 connection hole over the embossed portion "
          "(claim 6); must expose the whole ring and be >= pi3.min_width", low=0,
          low_open=True, high=2000),
    Param("ball_pad.ubm", True, "draw UBM over the PI3 hole", unit=""),
    Param("ball_pad.ubm_diameter", 0.0, "UBM diameter; 0: the PI3 hole plus twice "
          "ubm.encloses_pi3, at least ubm.min_width", low=0, high=2000),
    Param("ball_pad.land_diameter", 0.0, "RDL capture land diameter; 0: the larger of UBM "
          "plus twice rdl.encloses_ubm and the concave opening plus twice land_margin", low=0,
          high=2000),
    Param("ball_pad.land_margin", 10.0, "RDL land beyond the concave opening (when derived)",
          low=0),
    Param("ball_pad.ball_diameter", 280.0, "solder ball footprint (BALL); >= ball.min_width",
          low=0, low_open=True, high=2000),
    Param("ball_pad.pi1_inside", False, "also open PI1 inside the ring so the passivation is "
          "exposed there (claims 8, 9); not allowed by rule sets with pi1_pi3.min_space",
          unit=""),
    Param("ball_pad.pi1_inside_margin", 5.0, "PI1 opening inside the ring's inner edge by "
          "this", low=0, low_open=True),
    Param("ball_pad.circle_tolerance", 0.01, "chord error of every circle", low=0.001,
          high=1.0),
    Param("chip_pads.placement", "periphery", "periphery: per_side pads on each die side, "
          "fanned in by RDL; beside: one pad per populated ball, half a ball pitch to its "
          "right (+x), wired to it (per_side, pitch and edge_offset unused)", unit="",
          choices=CHIP_PAD_PLACEMENTS),
    Param("chip_pads.per_side", 10, "chip pads on each die side (the default net map needs "
          "4 × per_side = populated balls)", unit="", low=1, high=500),
    Param("chip_pads.pitch", 200.0, "chip pad pitch along a side", low=0, low_open=True),
    Param("chip_pads.edge_offset", 100.0, "chip pad centre to die edge", low=0, low_open=True),
    Param("chip_pads.size", 80.0, "chip pad (PAD) edge", low=0, low_open=True, high=1000),
    Param("chip_pads.passivation_enclosure", 5.0, "PAD encloses the passivation opening by",
          low=0),
    Param("chip_pads.pi1_enclosure", 0.0, f"PAD encloses the PI1 opening by; {_RULE} "
          "(pad.encloses_pi1)", low=0),
    Param("chip_pads.pi2_margin", 0.0, "PI2 opening over the chip pad = PI1 opening grown "
          "by this per side", low=0),
    Param("chip_pads.rdl_enclosure", 0.0, f"RDL encloses the PI1/PI2 openings by; {_RULE} "
          "(rdl.encloses_pi1)", low=0),
    Param("rdl.trace_width", 0.0, f"RDL trace width; {_RULE} (rdl.min_width)", low=0,
          high=500),
    Param("rdl.trace_space", 0.0, f"least space between RDL of different nets; {_RULE} "
          "(rdl.min_space)", low=0, high=500),
    Param("rdl.style", "octilinear", "trace segments: octilinear (0/45/90°) or manhattan",
          unit="", choices=("octilinear", "manhattan")),
    Param("rdl.teardrop_length", -1.0, "teardrop reach out of a pad or land; -1: 1.5 × the "
          "trace width, 0: only the fillets an oblique exit needs (no acute notch)", low=-1,
          high=200),
    Param("rdl.edge_clearance", 20.0, "least distance from RDL to the die edge", low=0),
    Param("rdl.grid_pitch", 0.0, "routing grid pitch; 0: the least whole µm that lets "
          "traces run on neighbouring grid lines", low=0, high=1000),
    Param("nets.map", [], "net map [[chip pad, ball], ...], e.g. [[\"P1\", \"G1\"]]; empty: "
          "a planar fan-in wiring every ball, pads and balls in the same counter-clockwise "
          "order", unit="", kind="list[list]"),
    Param("xsection.enabled", True, "write <name>_xsection.png, a cross-section through "
          "ball pad xsection.ball derived from the layout", unit=""),
    Param("xsection.ball", "A1", "ball whose pad the cross-section cuts", unit=""),
    Param("xsection.angle", 0.0, "direction of the cut line through the ball centre "
          "(0: along x)", unit="deg", low=-180, high=180),
    Param("xsection.passivation", 1.0, "passivation thickness", low=0, low_open=True),
    Param("xsection.pi1", 5.0, "PI1 thickness", low=0, low_open=True),
    Param("xsection.pi2", 5.0, "PI2 thickness (height of the convex ring)", low=0,
          low_open=True),
    Param("xsection.rdl", 4.0, "RDL thickness", low=0, low_open=True),
    Param("xsection.pi3", 8.0, "PI3 thickness", low=0, low_open=True),
    Param("xsection.ubm", 2.0, "UBM thickness", low=0, low_open=True),
    Param("xsection.ball_height", 0.0, "solder ball height above the rim of the metal it "
          "wets; 0: the sphere whose widest chord is the BALL footprint", low=0),
    Param("xsection.vertical_exaggeration", 4.0, "vertical scale / horizontal scale of the "
          "figure", unit="", low=1, high=100),
)

#: parameters of the wafer
WAFER_PARAMS: tuple[Param, ...] = wafer_params(300.0, "whole dies")


def _rule(rules: RuleSet, rule: str, key: str, given: float) -> float:
    """``given`` if > 0, else the rule's value; ParameterError when the set lacks the rule."""
    if given > 0:
        return given
    val = rules.get(rule)
    if val is None:
        raise ParameterError(key, f"0 takes {rule} from the rule set, but rule set "
                             f"{rules.name!r} has no {rule}; give a value > 0", given, "> 0")
    return val


def _at_least(rules: RuleSet, rule: str, key: str, value: float, what: str) -> None:
    """ParameterError when ``value`` is below the rule (rules the set lacks are skipped)."""
    lim = rules.get(rule)
    if lim is not None and value < lim - 1e-9:
        src = rules.rules[rule].source
        raise ParameterError(key, f"{what} is {value:g} µm; rule set {rules.name} needs >= "
                             f"{lim:g} µm ({rule}, {src})", value, f">= {lim:g} µm")


def design_from_spec(spec: Spec) -> tuple[CspDesign, RuleSet]:
    """The :class:`CspDesign` of a spec, rule-derived values filled in and every rule checked.

    Raises:
        ParameterError: a value breaks the rule set or the parameters are inconsistent.
    """
    rules = load_ruleset(spec["rules"])
    w = _rule(rules, "rdl.min_width", "rdl.trace_width", spec["rdl.trace_width"])
    s = _rule(rules, "rdl.min_space", "rdl.trace_space", spec["rdl.trace_space"])
    _at_least(rules, "rdl.min_width", "rdl.trace_width", w, "the trace width")
    _at_least(rules, "rdl.min_space", "rdl.trace_space", s, "the trace space")

    # chip pads
    pi1_enc = _rule(rules, "pad.encloses_pi1", "chip_pads.pi1_enclosure",
                    spec["chip_pads.pi1_enclosure"])
    rdl_enc = _rule(rules, "rdl.encloses_pi1", "chip_pads.rdl_enclosure",
                    spec["chip_pads.rdl_enclosure"])
    _at_least(rules, "pad.encloses_pi1", "chip_pads.pi1_enclosure", pi1_enc,
              "PAD's enclosure of the PI1 opening")
    _at_least(rules, "rdl.encloses_pi1", "chip_pads.rdl_enclosure", rdl_enc,
              "RDL's enclosure of the PI1 opening")
    size = spec["chip_pads.size"]
    pi2_margin = spec["chip_pads.pi2_margin"]
    pi1_open = size - 2 * pi1_enc
    _at_least(rules, "pi1.min_width", "chip_pads.size", pi1_open,
              f"the PI1 opening ({size:g} µm pad less 2 × {pi1_enc:g} µm)")
    # PI2's openings over chip pads follow the pi1 rules (rules/README.md)
    _at_least(rules, "pad.encloses_pi1", "chip_pads.pi2_margin", pi1_enc - pi2_margin,
              "PAD's enclosure of the PI2 opening")
    pi1_space = spec["chip_pads.pitch"] - (pi1_open + 2 * pi2_margin)
    _at_least(rules, "pi1.min_space", "chip_pads.pitch", pi1_space,
              "the space between neighbouring chip pads' PI1/PI2 openings")

    # ball pad: circles are inscribed polygons (chord error <= circle_tolerance) with
    # vertices snapped to the 1 nm grid, so a drawn circle falls short of its nominal
    # radius by up to tol = circle_tolerance + 2 nm: its drawn width is the diameter less
    # 2 tol and two concentric circles' drawn enclosure is the difference of radii less
    # tol; rule checks use the drawn values
    tol = spec["ball_pad.circle_tolerance"] + 0.002
    ratio = spec["ball_pad.target_ratio"] or rules.get("emboss.target_ratio", 1.0) or 1.0
    pi3 = spec["ball_pad.pi3_diameter"]
    _at_least(rules, "pi3.min_width", "ball_pad.pi3_diameter", pi3 - 2 * tol,
              "the PI3 hole as drawn")
    ubm = 0.0
    if spec["ball_pad.ubm"]:
        ubm = spec["ball_pad.ubm_diameter"]
        if ubm == 0:
            ubm = max(pi3 + 2 * (rules.get("ubm.encloses_pi3", 0.0) + tol),
                      rules.get("ubm.min_width", 0.0) + 2 * tol)
        _at_least(rules, "ubm.min_width", "ball_pad.ubm_diameter", ubm - 2 * tol,
                  "the UBM as drawn")
        enc = rules.get("ubm.encloses_pi3")
        if enc is not None and (ubm - pi3) / 2 - tol < enc - 1e-9:
            need = pi3 + 2 * (enc + tol)
            raise ParameterError("ball_pad.ubm_diameter",
                                 f"the UBM ({ubm:g} µm) encloses the PI3 hole ({pi3:g} µm) by "
                                 f"{(ubm - pi3) / 2 - tol:g} µm as drawn; rule set {rules.name} "
                                 f"needs >= {enc:g} µm (ubm.encloses_pi3); must be >= "
                                 f"{need:g} µm", ubm, f">= {need:g} µm")
    concave = spec["ball_pad.concave_diameter"]
    land = spec["ball_pad.land_diameter"]
    if land == 0:
        land = max(ubm + 2 * (rules.get("rdl.encloses_ubm", 0.0) + tol) if ubm else 0.0,
                   concave + 2 * spec["ball_pad.land_margin"], pi3)
    enc = rules.get("rdl.encloses_ubm")
    if ubm and enc is not None and (land - ubm) / 2 - tol < enc - 1e-9:
        need = ubm + 2 * (enc + tol)
        raise ParameterError("ball_pad.land_diameter",
                             f"the RDL land ({land:g} µm) encloses the UBM ({ubm:g} µm) by "
                             f"{(land - ubm) / 2 - tol:g} µm as drawn; rule set {rules.name} "
                             f"needs >= {enc:g} µm (rdl.encloses_ubm); must be >= {need:g} µm",
                             land, f">= {need:g} µm")
    ball = spec["ball_pad.ball_diameter"]
    _at_least(rules, "ball.min_width", "ball_pad.ball_diameter", ball - 2 * tol,
              "the ball footprint as drawn")
    pitch = spec["balls.pitch"]
    rule_pitch = rules.get("ball.pitch")
    if rule_pitch is not None and abs(pitch - rule_pitch) > 1e-9:
        raise ParameterError("balls.pitch", f"rule set {rules.name} is for {rule_pitch:g} µm "
                             f"ball pitch ({rules.rules['ball.pitch'].source}), got {pitch:g}",
                             pitch, f"{rule_pitch:g} µm")
    if spec["ball_pad.pi1_inside"]:
        for rule in ("pi1_pi3.min_space", "pi1_ubm.min_space"):
            if rule in rules:
                raise ParameterError("ball_pad.pi1_inside",
                                     f"a PI1 opening inside the ring lies under the PI3 hole, "
                                     f"which rule set {rules.name} forbids ({rule} "
                                     f"{rules[rule]:g} µm); use rules = \"default\" for "
                                     "the claims 8/9 variant", True, "false")
    min_edge = spec["balls.min_center_to_edge"]
    if min_edge == 0:
        min_edge = max(rules.get("ubm.center_to_die_edge", 0.0),
                       ball / 2 + rules.get("ball.to_die_edge", 0.0))
    net_map = tuple(tuple(str(x) for x in pair) if isinstance(pair, (list, tuple))
                    else (str(pair),) for pair in spec["nets.map"])
    design = CspDesign(
        die_width=spec["die.width"], die_height=spec["die.height"],
        scribe_width=spec["die.scribe_width"], ball_rows=spec["balls.rows"],
        ball_cols=spec["balls.cols"], ball_pitch=pitch,
        depopulate=tuple(str(n) for n in spec["balls.depopulate"]),
        min_ball_to_edge=min_edge,
        ball_pad=BallPadParams(
            concave_diameter=concave, ring_inner_diameter=spec["ball_pad.ring_inner_diameter"],
            ring_gaps=spec["ball_pad.ring_gaps"], gap_width=spec["ball_pad.gap_width"],
            target_ratio=ratio, pi3_diameter=pi3, land_diameter=land, ubm_diameter=ubm,
            ball_diameter=ball, pi1_inside=spec["ball_pad.pi1_inside"],
            pi1_inside_margin=spec["ball_pad.pi1_inside_margin"],
            min_moat=spec["ball_pad.min_moat"], min_ring_width=spec["ball_pad.min_ring_width"],
            tolerance=spec["ball_pad.circle_tolerance"]),
        chip_pads=ChipPadParams(
            placement=spec["chip_pads.placement"],
            per_side=spec["chip_pads.per_side"], pitch=spec["chip_pads.pitch"],
            edge_offset=spec["chip_pads.edge_offset"], size=size,
            passivation_enclosure=spec["chip_pads.passivation_enclosure"],
            pi1_enclosure=pi1_enc, pi2_margin=pi2_margin, rdl_enclosure=rdl_enc),
        rdl=RdlParams(trace_width=w, trace_space=s, style=spec["rdl.style"],
                      teardrop_length=spec["rdl.teardrop_length"],
                      edge_clearance=spec["rdl.edge_clearance"], pitch=spec["rdl.grid_pitch"]),
        net_map=net_map,  # type: ignore[arg-type]
        labels=spec["die.labels"],
    )
    return design, rules


def _layout_artifact(name: str, top: gdstk.Cell, role: str = "layout") -> Artifact:
    return Artifact(name, lambda path: io.write(top, Path(path)), role)


def _text_artifact(name: str, text: str, role: str) -> Artifact:
    return Artifact(name, lambda path: io.write_text(Path(path), text), role)


def _ballmap_csv(nets: tuple[tuple[str, str], ...], balls: Any, sites: Any) -> str:
    by_ball = {b: p for p, b in nets}
    pads = {s.name: s for s in sites}
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["ball", "row", "col", "x_um", "y_um", "chip_pad", "pad_x_um", "pad_y_um"])
    for b in balls.balls:
        p = by_ball.get(b.name, "")
        s = pads.get(p)
        w.writerow([b.name, b.row + 1, b.col + 1, f"{b.x:.3f}", f"{b.y:.3f}", p,
                    f"{s.x:.3f}" if s else "", f"{s.y:.3f}" if s else ""])
    return buf.getvalue()


def _die(spec: Spec, layers: LayerMap) -> tuple[gdstk.Cell, CspDesign, dict[str, Any], str]:
    design, rules = design_from_spec(spec)
    routing, nets, balls, sites, sol = route_design(design)
    if spec.values.get("xsection.enabled") and spec["xsection.ball"] not in balls.by_name():
        raise ParameterError("xsection.ball", f"{spec['xsection.ball']!r} is not a populated "
                             "ball of this die", spec["xsection.ball"], "a populated ball name")
    die = csp_die(design=design, layers=layers)
    info = {
        "die_cell": die.name,
        "rules": rules.name,
        "die_size_um": [design.die_width, design.die_height],
        "balls": len(balls.balls),
        "chip_pads": len(sites),
        "nets": [list(n) for n in nets],
        "ring": {"inner_diameter_um": 2 * sol.inner_radius,
                 "outer_diameter_um": round(2 * sol.outer_radius, 6),
                 "concave_diameter_um": 2 * sol.concave_radius, "gaps": sol.gaps,
                 "ratio": round(sol.ratio, 6)},
        "trace_width_um": design.rdl.trace_width,
        "trace_space_um": design.rdl.trace_space,
        "routing_passes": routing.passes,
        "routing_grid_um": routing.pitch,
    }
    return die, design, info, _ballmap_csv(nets, balls, sites)


def _xsection_artifact(spec: Spec, die: gdstk.Cell, design: CspDesign,
                       layers: LayerMap) -> Artifact:
    ball = design_balls(design).by_name()[spec["xsection.ball"]]
    half = design.ball_pad.land_diameter / 2 + 60.0
    ang = math.radians(spec["xsection.angle"])
    dx, dy = half * math.cos(ang), half * math.sin(ang)
    cut = ((ball.x - dx, ball.y - dy), (ball.x + dx, ball.y + dy))
    thick = {k: spec[f"xsection.{k}"] for k in ("passivation", "pi1", "pi2", "rdl", "pi3",
                                                 "ubm")}

    def write(path: Path) -> Path:
        from cells.xsection import cross_section_png

        return cross_section_png(die, cut, Path(path), thicknesses=thick,
                                 ball_height=spec["xsection.ball_height"],
                                 vertical_exaggeration=spec["xsection.vertical_exaggeration"],
                                 layers=layers,
                                 title=f"{spec.name}: section through ball {ball.name}")

    return Artifact(f"{spec.name}_xsection.png", write, "figure")


def build_csp_die(spec: Spec, layers: LayerMap) -> BuildResult:
    """One CSP die: ``<name>.gds`` (top cell named after the product), ball map CSV, figure."""
    die, design, info, balls_csv = _die(spec, layers)
    top = gdstk.Cell(spec.name)
    top.add(gdstk.Reference(die))
    artifacts = [_layout_artifact(f"{spec.name}.gds", top),
                 _text_artifact(f"{spec.name}_ballmap.csv", balls_csv, "ball map")]
    if spec["xsection.enabled"]:
        artifacts.append(_xsection_artifact(spec, die, design, layers))
    return BuildResult(spec, top, artifacts, info)


def build_csp_wafer(spec: Spec, layers: LayerMap) -> BuildResult:
    """A wafer of CSP dies (one array reference per row) and its wafer map."""
    die, design, info, balls_csv = _die(spec, layers)
    name = spec.name
    diameter, exclusion, notch = wafer_dims(spec)
    w, h, s = design.die_width, design.die_height, design.scribe_width
    grid = die_grid(diameter, exclusion, (w, h), (w + s, h + s), spec["wafer.grid_offset"])
    if grid.count < spec["wafer.min_dies"]:
        raise ParameterError("wafer.min_dies",
                             f"only {grid.count} whole {w:g} × {h:g} µm dies fit the "
                             f"{spec['wafer.diameter']:g} mm wafer with "
                             f"{spec['wafer.edge_exclusion']:g} mm edge exclusion; must be <= "
                             f"{grid.count}", spec["wafer.min_dies"], f"<= {grid.count}")
    top = gdstk.Cell(name)
    top.add(*wafer_outline(diameter, exclusion, notch, **layers.ld("WAFER")))
    arrays = place_dies(top, die, grid)
    map_json = wafer_map_json(grid, name, diameter, exclusion, notch)
    map_csv = wafer_map_csv(grid)
    artifacts = [_layout_artifact(f"{name}.gds", top),
                 _text_artifact(f"{name}_wafermap.json", map_json, "wafer map"),
                 _text_artifact(f"{name}_wafermap.csv", map_csv, "wafer map"),
                 _text_artifact(f"{name}_ballmap.csv", balls_csv, "ball map")]
    info.update({"die_count": grid.count, "grid_offset": grid.offset,
                 "counts_by_offset": dict(grid.counts), "array_references": arrays})
    return BuildResult(spec, top, artifacts, info)


_DIE_DOC = ("one WLCSP die with embossed ball pads (seed 004): chip pads, PI1/PI2 openings, "
            "concave PI2 openings with convex rings, RDL fan-in, PI3 holes, UBM, balls")
_WAFER_DOC = ("a wafer of CSP dies (one array reference per row of whole dies, notch, edge "
              "exclusion) and its wafer map")

_XS_KEYS = {p.key for p in DIE_PARAMS if p.key.startswith("xsection.")}

PRODUCT_KINDS: dict[str, ProductKind] = {
    "csp_die": ProductKind("csp_die", DIE_PARAMS, build_csp_die, _DIE_DOC),
    "csp_wafer": ProductKind("csp_wafer",
                             (*(p for p in DIE_PARAMS if p.key not in _XS_KEYS), *WAFER_PARAMS),
                             build_csp_wafer, _WAFER_DOC),
}
