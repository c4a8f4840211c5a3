"""The checker's engine: hierarchical (each distinct cell judged once) or flat.

Hierarchical mode walks down from the top. In a cell, every placement of a child
is tested against every other placement and the cell's own shapes, layer pair by
layer pair (``checks.RELATIONS``, with the rule distances): a placement that
interacts with nothing is *independent* and is judged by judging its child cell
once, in the child's own coordinates, and mapping the verdicts through each
placement's transformation. Interacting placements are flattened into the cell and
judged together with its own shapes. So a wafer of thousands of identical, separate
dies is judged as one die plus the placements, and a ring split over sub-cells, or
a die with a stray shape on top, is still judged as a whole.

Flat mode flattens everything into one scope; it gives the same verdicts.
The scribe checks always see every die outline of the layout.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gdstk
import numpy as np
import shapely

from layoutgen.check import geom as G
from layoutgen.check.checks import (
    CHECK_LAYERS,
    CHECKS,
    DRC_RULES,
    RELATIONS,
    USED_LAYERS,
    Context,
    Scope,
    check_scribe,
    run_scope,
)
from layoutgen.check.reader import (
    MAX_FLAT_POLYGONS,
    LayoutData,
    Placement,
    from_cells,
    read_layout,
    topo_order,
)
from layoutgen.check.report import CheckResult, Report, Violation
from layoutgen.errors import LayoutReadError
from layoutgen.layers import DEFAULT_LAYERS, LayerMap
from layoutgen.rules import RuleSet, load_ruleset

ROOT = "\0root"
#: deepest cell hierarchy accepted
MAX_DEPTH = 256
#: most violations listed (the counts per check stay exact)
MAX_VIOLATIONS = 100_000

Flat = dict[str, tuple[np.ndarray, np.ndarray]]  # layer -> (coords, lengths)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return (np.empty((0, 2)), np.empty(0, dtype=np.int64))


def _transform(coords: np.ndarray, mats: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """coords (P×2) under K transforms -> (K*P)×2, instance after instance."""
    out = np.einsum("kij,pj->kpi", mats, coords) + offs[:, None, :]
    return out.reshape(-1, 2)


@dataclass
class _Cell:
    name: str
    own: Flat
    placements: list[Placement]


@dataclass
class _Local:
    """Verdicts on one cell judged alone, in its own coordinates."""

    violations: list[Violation] = field(default_factory=list)
    judged: dict[str, int] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # exact, even past the list's cap


class Engine:
    """Judges one layout.

    Args:
        data: the layout.
        layers: the layer map naming the GDS numbers.
        rules: the rule set.
    """

    def __init__(self, data: LayoutData, layers: LayerMap, rules: RuleSet) -> None:
        self.data = data
        self.rules = rules
        self.dbu = data.dbu
        self.tol = data.dbu / 4
        spec_to_name = {layers.spec(n): n for n in USED_LAYERS if n in layers}
        self.cells: dict[str, _Cell] = {}
        for name, cd in data.cells.items():
            own: Flat = {}
            for spec, arrays in cd.shapes.items():
                lname = spec_to_name.get(spec)
                if lname is None or not arrays:
                    continue
                own[lname] = (np.concatenate(arrays).astype(float),
                              np.array([len(a) for a in arrays], dtype=np.int64))
            self.cells[name] = _Cell(name, own, cd.placements)
        tops = data.tops
        eye = np.eye(2)[None, :, :]
        self.cells[ROOT] = _Cell(ROOT, {}, [Placement(t, eye.copy(), np.zeros((1, 2)))
                                            for t in tops])
        self._present: dict[str, frozenset[str]] = {}
        self._bbox: dict[str, dict[str, np.ndarray]] = {}
        self._flat: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._local: dict[str, _Local] = {}
        self.stats: dict[str, Any] = {"cells_judged": 0, "independent_placements": 0,
                                      "flattened_placements": 0}
        # parents before children; raises on a reference cycle. Facts per cell are
        # computed children first, so no recursion runs deep on a deep hierarchy.
        self.order = topo_order(self.cells, [ROOT])  # type: ignore[arg-type]
        depth = {ROOT: 0}
        for n in self.order:
            for p in self.cells[n].placements:
                depth[p.child] = max(depth.get(p.child, 0), depth[n] + 1)
        self.depth = max(depth.values())
        if self.depth > MAX_DEPTH:
            raise LayoutReadError(f"{data.source}: cell hierarchy is {self.depth} levels deep, "
                                  f"over the limit of {MAX_DEPTH}")
        for n in reversed(self.order):
            self.present(n)
            self.bbox(n)
        present = self.present(ROOT)
        self.enabled = self._enabled(present)
        self.halo = self._halo()

    # ------------------------------------------------------------ facts per cell
    def present(self, name: str) -> frozenset[str]:
        """Layers with shapes anywhere under ``name``."""
        if name not in self._present:
            c = self.cells[name]
            s = set(k for k, v in c.own.items() if len(v[1]))
            for p in c.placements:
                s |= self.present(p.child)
            self._present[name] = frozenset(s)
        return self._present[name]

    def _enabled(self, present: frozenset[str]) -> set[str]:
        on = set()
        for cid, lays in CHECK_LAYERS.items():
            if all(lay in present for lay in lays):
                on.add(cid)
        for r in DRC_RULES:
            if r.rule not in self.rules:
                on.discard(r.id)
        if "emboss.segments" not in self.rules:
            on.discard("emboss.segments")
        return on

    def _halo(self) -> dict[tuple[str, str], float]:
        halo = {}
        for a, b, key in RELATIONS:
            d = float(self.rules.get(key, 0.0) or 0.0) if key else 0.0
            halo[(a, b)] = d + self.tol
        return halo

    def bbox(self, name: str) -> dict[str, np.ndarray]:
        """Per-layer bounding box [x0, y0, x1, y1] of ``name`` flattened."""
        if name in self._bbox:
            return self._bbox[name]
        c = self.cells[name]
        out: dict[str, np.ndarray] = {}
        for lay, (coords, _lengths) in c.own.items():
            if len(coords):
                out[lay] = np.concatenate((coords.min(0), coords.max(0)))
        for p in c.placements:
            for lay, bb in self.bbox(p.child).items():
                corners = np.array([[bb[0], bb[1]], [bb[2], bb[1]], [bb[2], bb[3]],
                                    [bb[0], bb[3]]])
                pts = _transform(corners, p.matrices, p.offsets)
                nb = np.concatenate((pts.min(0), pts.max(0)))
                if lay in out:
                    o = out[lay]
                    nb = np.array([min(o[0], nb[0]), min(o[1], nb[1]), max(o[2], nb[2]),
                                   max(o[3], nb[3])])
                out[lay] = nb
        self._bbox[name] = out
        return out

    def flat_layer(self, name: str, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Every polygon of ``layer`` under ``name``, flattened (coords, lengths)."""
        key = (name, layer)
        if key in self._flat:
            return self._flat[key]
        c = self.cells[name]
        coords = [c.own[layer][0]] if layer in c.own else []
        lengths = [c.own[layer][1]] if layer in c.own else []
        for p in c.placements:
            if layer not in self.present(p.child):
                continue
            cc, ll = self.flat_layer(p.child, layer)
            if not len(ll):
                continue
            coords.append(_transform(cc, p.matrices, p.offsets))
            lengths.append(np.tile(ll, p.count))
        res = (np.concatenate(coords), np.concatenate(lengths)) if coords else _empty()
        self._flat[key] = res
        return res

    def flat_count(self, name: str) -> int:
        """Polygons on the used layers under ``name``, counted without expanding."""
        memo: dict[str, int] = {}
        for n in reversed(self.order):
            c = self.cells[n]
            memo[n] = sum(len(v[1]) for v in c.own.values()) + sum(
                memo[p.child] * p.count for p in c.placements)
        return memo[name]

    # ------------------------------------------------------------ judging
    def _interacting(self, c: _Cell) -> list[np.ndarray]:
        """Per placement group: boolean mask of instances that interact."""
        masks = [np.zeros(p.count, dtype=bool) for p in c.placements]
        if not c.placements:
            return masks
        # boxes per layer: (owner group, owner index, box) ; own shapes have group -1
        boxes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for lay in USED_LAYERS:
            grp, idx, bxs = [], [], []
            if lay in c.own and len(c.own[lay][1]):
                coords, lengths = c.own[lay]
                starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
                mn = np.minimum.reduceat(coords, starts, axis=0)
                mx = np.maximum.reduceat(coords, starts, axis=0)
                grp.append(np.full(len(lengths), -1))
                idx.append(np.arange(len(lengths)))
                bxs.append(np.hstack((mn, mx)))
            for gi, p in enumerate(c.placements):
                bb = self.bbox(p.child).get(lay)
                if bb is None:
                    continue
                corners = np.array([[bb[0], bb[1]], [bb[2], bb[1]], [bb[2], bb[3]],
                                    [bb[0], bb[3]]])
                pts = np.einsum("kij,pj->kpi", p.matrices, corners) + p.offsets[:, None, :]
                grp.append(np.full(p.count, gi))
                idx.append(np.arange(p.count))
                bxs.append(np.hstack((pts.min(1), pts.max(1))))
            if grp:
                boxes[lay] = (np.concatenate(grp), np.concatenate(idx), np.vstack(bxs))
        trees: dict[str, shapely.STRtree] = {}
        local_frames: dict[int, np.ndarray] = {}
        for gi, p in enumerate(c.placements):
            m0 = p.matrices[0]
            if np.allclose(p.matrices, m0[None], rtol=0, atol=1e-12) and \
                    abs(np.linalg.det(m0)) > 1e-12:
                local_frames[gi] = np.linalg.inv(m0)
        for (a, b), d in self.halo.items():
            if a not in boxes or b not in boxes:
                continue
            ga, ia, ba = boxes[a]
            gb, ib, bb_ = boxes[b]
            if b not in trees:
                trees[b] = shapely.STRtree(shapely.box(bb_[:, 0], bb_[:, 1], bb_[:, 2], bb_[:, 3]))
            qa = shapely.box(ba[:, 0] - d, ba[:, 1] - d, ba[:, 2] + d, ba[:, 3] + d)
            left, right = trees[b].query(qa, predicate="intersects")
            diff = (ga[left] != gb[right]) | (ia[left] != ib[right])
            left, right = left[diff], right[diff]
            # two instances of one rotated array: axis-parallel boxes in the top frame
            # overlap where the cells do not; judge them again in the cell's own frame
            same = (ga[left] == gb[right]) & (ga[left] >= 0)
            if same.any():
                keep = np.ones(len(left), dtype=bool)
                for g in np.unique(ga[left][same]):
                    p = c.placements[int(g)]
                    inv = local_frames.get(int(g))
                    if inv is None:
                        continue
                    sel = np.nonzero(same & (ga[left] == g))[0]
                    rel = (p.offsets[ib[right[sel]]] - p.offsets[ia[left[sel]]]) @ inv.T
                    dl = d * math.sqrt(abs(np.linalg.det(inv)))
                    bba = self.bbox(p.child).get(a)
                    bbb = self.bbox(p.child).get(b)
                    hit = ((bba[0] - dl <= bbb[2] + rel[:, 0])
                           & (bbb[0] + rel[:, 0] <= bba[2] + dl)
                           & (bba[1] - dl <= bbb[3] + rel[:, 1])
                           & (bbb[1] + rel[:, 1] <= bba[3] + dl))
                    keep[sel] = hit
                left, right = left[keep], right[keep]
            for g_arr, i_arr in ((ga[left], ia[left]), (gb[right], ib[right])):
                sel = g_arr >= 0
                for g in np.unique(g_arr[sel]):
                    masks[int(g)][i_arr[sel][g_arr[sel] == g]] = True
        return masks

    def judge_cell(self, name: str) -> _Local:
        """Verdicts on ``name`` judged alone (memoised), in its coordinates."""
        if name in self._local:
            return self._local[name]
        c = self.cells[name]
        self.stats["cells_judged"] += 1
        masks = self._interacting(c)
        scope_raw: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
            lay: [v] for lay, v in c.own.items()}
        out = _Local()
        for p, mask in zip(c.placements, masks, strict=True):
            if mask.any():
                self.stats["flattened_placements"] += int(mask.sum())
                sub = Placement(p.child, p.matrices[mask], p.offsets[mask])
                for lay in self.present(p.child):
                    cc, ll = self.flat_layer(p.child, lay)
                    if len(ll):
                        scope_raw.setdefault(lay, []).append(
                            (_transform(cc, sub.matrices, sub.offsets), np.tile(ll, sub.count)))
            free = ~mask
            if free.any():
                self.stats["independent_placements"] += int(free.sum())
                local = self.judge_cell(p.child)
                _merge_local(out, local, p.matrices[free], p.offsets[free])
        raw = {lay: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]))
               for lay, v in scope_raw.items()}
        if any(len(v[1]) for v in raw.values()):
            _judge_scope(Scope(raw, self.dbu, name), self, out, name)
        self._local[name] = out
        return out

    def judge_flat(self) -> _Local:
        """Verdicts on the whole layout flattened into one scope."""
        n = self.flat_count(ROOT)
        if n > MAX_FLAT_POLYGONS:
            raise LayoutReadError(f"{self.data.source}: flattening would make {n} polygons, over "
                                  f"the limit of {MAX_FLAT_POLYGONS}; use hierarchical mode")
        raw = {lay: self.flat_layer(ROOT, lay) for lay in self.present(ROOT)}
        out = _Local()
        _judge_scope(Scope(raw, self.dbu, "<flat>"), self, out, "<flat>")
        return out

    def die_outlines(self) -> list:
        """Every die outline of the layout, placed.

        A cell's own DIE pieces that only abut are merged into one die; pieces that
        overlap stay separate (so two overlapping dies drawn in one cell are caught).
        Separate placements always stay separate polygons.
        """
        return _die_polys(self, ROOT, np.eye(2)[None], np.zeros((1, 2)), [], {})


def _own_dies(eng: Engine, c: _Cell) -> list:
    geoms = G.to_shapely(*c.own["DIE"])
    merged = G.parts(G.merge(geoms, eng.dbu / 1000))
    if len(merged) == len(geoms):
        return merged
    out = []
    tree = shapely.STRtree(geoms)
    for comp in merged:
        pieces = [geoms[int(i)] for i in tree.query(comp, predicate="intersects")
                  if geoms[int(i)].intersection(comp).area > 0]
        if sum(p.area for p in pieces) > comp.area + eng.tol * eng.tol * len(pieces):
            out.extend(pieces)
        else:
            out.append(comp)
    return out


def _die_polys(eng: Engine, name: str, mats: np.ndarray, offs: np.ndarray, acc: list,
               memo: dict) -> list:
    c = eng.cells[name]
    if "DIE" in c.own:
        if name not in memo:
            memo[name] = _own_dies(eng, c)
        for poly in memo[name]:
            pts = np.asarray(poly.exterior.coords)[:-1]
            holes = [np.asarray(r.coords)[:-1] for r in poly.interiors]
            for k in range(len(offs)):
                m, o = mats[k], offs[k]
                acc.append(shapely.Polygon(pts @ m.T + o, [h @ m.T + o for h in holes]))
    for p in c.placements:
        if "DIE" not in eng.present(p.child):
            continue
        m2 = np.einsum("kij,ljm->klim", mats, p.matrices).reshape(-1, 2, 2)
        o2 = (np.einsum("kij,lj->kli", mats, p.offsets) + offs[:, None, :]).reshape(-1, 2)
        _die_polys(eng, p.child, m2, o2, acc, memo)
    return acc


def _judge_scope(s: Scope, eng: Engine, out: _Local, cell: str) -> None:
    ctx = Context(eng.rules, eng.enabled)
    run_scope(s, ctx)
    for v in ctx.violations:
        v.cell = None if cell in (ROOT, "<flat>") else cell
        out.counts[v.check] = out.counts.get(v.check, 0) + 1
    out.violations.extend(ctx.violations[:max(0, MAX_VIOLATIONS - len(out.violations))])
    for k, n in ctx.judged.items():
        out.judged[k] = out.judged.get(k, 0) + n
    _merge_details(out.details, ctx.details, 1)


def _merge_details(dst: dict, src: dict, times: int) -> None:
    for check, d in src.items():
        dd = dst.setdefault(check, {})
        for key, counts in d.items():
            cc = dd.setdefault(key, {})
            for val, n in counts.items():
                cc[val] = cc.get(val, 0) + n * times


def _merge_local(out: _Local, local: _Local, mats: np.ndarray, offs: np.ndarray) -> None:
    k = len(offs)
    for kname, n in local.judged.items():
        out.judged[kname] = out.judged.get(kname, 0) + n * k
    _merge_details(out.details, local.details, k)
    for kname, n in local.counts.items():
        out.counts[kname] = out.counts.get(kname, 0) + n * k
    if not local.violations:
        return
    room = MAX_VIOLATIONS - len(out.violations)
    if room <= 0:
        return
    k = min(k, max(1, room // len(local.violations)))
    mats, offs = mats[:k], offs[:k]
    for v in local.violations:
        xy = np.einsum("kij,j->ki", mats, np.array([v.x, v.y])) + offs
        if v.bbox is not None:
            x0, y0, x1, y1 = v.bbox
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            pts = np.einsum("kij,pj->kpi", mats, corners) + offs[:, None, :]
            bmin, bmax = pts.min(1), pts.max(1)
        for i in range(k):
            x, y = float(xy[i, 0]), float(xy[i, 1])
            msg = v.message
            if (x, y) != (v.x, v.y):
                msg = f"{msg} [in cell {v.cell} placed at ({G.fmt_um(x)}, {G.fmt_um(y)})]" \
                    if v.cell else msg
            bbox = (float(bmin[i, 0]), float(bmin[i, 1]), float(bmax[i, 0]),
                    float(bmax[i, 1])) if v.bbox is not None else None
            out.violations.append(Violation(v.check, msg, x, y, v.value, v.limit, bbox, v.cell))


def check(layout: Any, rules: str | Path | RuleSet = "default", layers: LayerMap | None = None,
          flat: bool = False) -> Report:
    """Judge a layout against the claims' checks and a rule set.

    Args:
        layout: a GDS/OASIS path, a :class:`gdstk.Cell` (or list of cells), a
            :class:`gdstk.Library`, or :class:`LayoutData`.
        rules: ``default``, ``amkor-400``, ``amkor-500``, a TOML rules file or a RuleSet.
        layers: the layer map (default: DESIGN.md's).
        flat: judge the whole layout flattened instead of cell by cell.

    Returns:
        The :class:`Report`.

    Raises:
        LayoutReadError: the layout is unusable.
        SpecError: unknown rule set or bad rules file.
    """
    t0 = time.perf_counter()
    ruleset = load_ruleset(rules)
    layers = layers or DEFAULT_LAYERS
    if isinstance(layout, LayoutData):
        data = layout
    elif isinstance(layout, (str, os.PathLike)):
        data = read_layout(layout)
    elif isinstance(layout, gdstk.Library):
        from layoutgen.check.reader import from_library

        data = from_library(layout, layout.name, layout.precision / 1e-6)
    elif isinstance(layout, gdstk.Cell) or (isinstance(layout, (list, tuple)) and layout
                                            and all(isinstance(c, gdstk.Cell) for c in layout)):
        data = from_cells(layout)
    else:
        raise TypeError(f"layout must be a path, gdstk.Cell or gdstk.Library, got "
                        f"{type(layout).__name__}")
    eng = Engine(data, layers, ruleset)
    local = eng.judge_flat() if flat else eng.judge_cell(ROOT)
    ctx = Context(ruleset, eng.enabled)
    dies = eng.die_outlines() if ("scribe.overlap" in eng.enabled
                                  or "scribe.width" in eng.enabled) else []
    check_scribe(dies, ctx, eng.tol)
    violations = local.violations + ctx.violations
    counts = dict(local.counts)
    for v in ctx.violations:
        counts[v.check] = counts.get(v.check, 0) + 1
    judged = dict(local.judged)
    for k, n in ctx.judged.items():
        judged[k] = judged.get(k, 0) + n
    results: dict[str, CheckResult] = {}
    for cid in sorted(eng.enabled):
        results[cid] = CheckResult(CHECKS[cid], judged.get(cid, 0), 0,
                                   local.details.get(cid, {}))
    for cid, n in counts.items():
        results[cid].violations += n
    violations = violations[:MAX_VIOLATIONS]
    violations.sort(key=lambda v: (v.check, round(v.y, 3), round(v.x, 3), v.message))
    stats = dict(eng.stats)
    stats["violations"] = sum(counts.values())
    stats["cells"] = len(data.cells)
    stats["dies"] = len(dies)
    stats["top"] = data.tops[0] if data.tops else ""
    if data.notes:
        stats["reader_warnings"] = data.notes
    stats["seconds"] = round(time.perf_counter() - t0, 4)
    return Report(data.source, ruleset.name, results, violations,
                  "flat" if flat else "hierarchical", stats)
