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

Whether two placements interact is judged on boxes (``_interacting``): candidate pairs
come from a grid join of the placements' boxes; pairs of instances of one cell under
one transformation are reduced to their distinct offsets; what lies in the box of a
solder ring (a ring drawn as bars, in one cell or several) is judged with the ring.
A cell with few polygons under it is judged flat straight away. Inside a scope,
``islands.partition`` cuts the shapes into islands no relation joins; an island
repeated by translation is judged once (``_judge_islands``).

Flat mode flattens everything into one scope; it gives the same verdicts.
The scribe checks always see every die outline of the layout.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gdstk
import numpy as np
import shapely

from layoutgen.check import geom as G
from layoutgen.check import islands as I
from layoutgen.check.checks import (
    ANY_LAYERS,
    CHECK_LAYERS,
    CHECKS,
    DRC_RULES,
    GLOBAL_CHECKS,
    ISLAND_RELATIONS,
    RELATIONS,
    USED_LAYERS,
    Context,
    Scope,
    check_scribe,
    check_scribe_boxes,
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
from layoutgen.progress import progress
from layoutgen.rules import RuleSet, load_ruleset

ROOT = "\0root"
#: flat layouts up to this many polygons are judged as one scope
FLAT_DIRECT = 200_000
#: layers whose components must be whole in a window of the tiled flat mode
WHOLE_LAYERS = ("ACTIVE", "CAP_SOLDER", "CAP_SPACER", "PAD", "PI2", "PI3", "RDL", "UBM", "BALL")
#: relations through which one placement only adds cover for another's shapes, with the
#: check they serve: more cover can only turn that check's fail into a pass
COVER_RELATIONS: dict[tuple[str, str], str] = {
    ("CAP_SPACER", "CAP_CUT"): "spacer.in_cut",
    ("PAD", "CAP_CUT"): "cut.pads_exposed",
    ("CAP_SOLDER", "CAP_METAL"): "seal.metal",
}
#: a cell with placements and at most this many polygons under it is judged flat
SMALL_CELL = 4096
#: layers whose shapes may stand in a solder ring's cavity, away from the ring
CAVITY_LAYERS = ("ACTIVE", "CAP_SPACER", "CAP_CUT", "PAD")
#: deepest cell hierarchy accepted
MAX_DEPTH = 256
#: most violations listed (the counts per check stay exact)
MAX_VIOLATIONS = 100_000
#: draw a progress bar over the dies of a tiled flat check (on a terminal only);
#: ``layoutgen check --quiet`` turns it off
PROGRESS = True

Flat = dict[str, tuple[np.ndarray, np.ndarray]]  # layer -> (coords, lengths)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return (np.empty((0, 2)), np.empty(0, dtype=np.int64))


def _transform(coords: np.ndarray, mats: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """coords (P×2) under K transforms -> (K*P)×2, instance after instance.

    Written out (m00·x + m01·y + ox, ...): the same bits as ``einsum("kij,pj->kpi")``
    and several times faster on these shapes.
    """
    x, y = coords[:, 0], coords[:, 1]
    out = np.empty((len(offs), len(coords), 2))
    out[:, :, 0] = mats[:, 0, 0, None] * x + mats[:, 0, 1, None] * y + offs[:, 0, None]
    out[:, :, 1] = mats[:, 1, 0, None] * x + mats[:, 1, 1, None] * y + offs[:, 1, None]
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
        self._own_box_memo: dict[tuple, Any] = {}
        #: hashes of flat-mode windows whose components were whole without growing
        self._whole_windows: set[bytes] = set()
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
        self._flat_counts: dict[str, int] = {}
        self._on_axes: dict[str, bool] = {}
        for n in reversed(self.order):
            self.present(n)
            self.bbox(n)
            c = self.cells[n]
            self._flat_counts[n] = sum(len(v[1]) for v in c.own.values()) + sum(
                self._flat_counts[p.child] * p.count for p in c.placements)
            # every placement under n turns by quarter turns only: flattening keeps
            # the shapes exact (an angle off the axes moves a keyholed polygon's cut
            # edges apart by rounding; judged in their own frame they stay closed)
            self._on_axes[n] = all(self._on_axes[p.child] and _quarter_turns(
                p.matrices if p.one_matrix is None else p.one_matrix[None])
                                   for p in c.placements)
        present = self.present(ROOT)
        self.enabled = self._enabled(present)
        self.halo = self._halo()
        self.island_halo = self._halo(ISLAND_RELATIONS)
        # the tiled flat mode's margin around a die: what a check of the die reads
        # beyond it (not the ball pitch: balls are compared within a die only)
        self.max_halo = max(self.island_halo.values()) + 1.0

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
            if all(lay in present for lay in lays) and any(
                    lay in present for lay in ANY_LAYERS.get(cid, lays)):
                on.add(cid)
        for r in DRC_RULES:
            if r.rule not in self.rules:
                on.discard(r.id)
        if "emboss.segments" not in self.rules:
            on.discard("emboss.segments")
        return on

    def _halo(self, relations: tuple[tuple[str, str, str | None], ...] = RELATIONS
              ) -> dict[tuple[str, str], float]:
        halo = {}
        for a, b, key in relations:
            d = float(self.rules.get(key, 0.0) or 0.0) if key else 0.0
            halo[(a, b)] = max(halo.get((a, b), 0.0), d + self.tol)
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
            one = p.one_matrix
            if one is not None:  # one transformation: move one box by the offsets' span
                lo, hi = p.offsets.min(0), p.offsets.max(0)
            for lay, bb in self.bbox(p.child).items():
                if one is not None:
                    b0 = _box_under(bb, one)
                    nb = np.concatenate((b0[:2] + lo, b0[2:] + hi))
                else:
                    placed = _boxes_of(bb, p.matrices, p.offsets)
                    nb = np.concatenate((placed[:, :2].min(0), placed[:, 2:].max(0)))
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
        return self._flat_counts[name]

    # ------------------------------------------------------------ judging
    def fine_boxes(self, name: str, layer: str) -> np.ndarray:
        """Boxes (n×4, own coordinates) covering the shapes of ``layer`` under ``name``:
        one per shape, or, past 256 shapes, one per occupied cell of a 16×16 grid."""
        key = ("fine", name, layer)
        hit = self._own_box_memo.get(key)
        if hit is not None:
            return hit
        coords, lengths = self.flat_layer(name, layer)
        if not len(lengths):
            boxes = np.empty((0, 4))
        else:
            boxes, _ = I.polygon_boxes(coords, lengths)
            if len(boxes) > 256:
                lo, hi = boxes[:, :2].min(0), boxes[:, 2:].max(0)
                span = np.maximum(hi - lo, 1e-9)
                centre = (boxes[:, :2] + boxes[:, 2:]) / 2
                cell = np.minimum((16 * (centre - lo) / span).astype(int), 15)
                keyv = cell[:, 0] * 16 + cell[:, 1]
                order = np.argsort(keyv, kind="stable")
                keyv, boxes = keyv[order], boxes[order]
                firsts = np.nonzero(np.r_[True, np.diff(keyv) != 0])[0]
                boxes = np.hstack((np.minimum.reduceat(boxes[:, :2], firsts, axis=0),
                                   np.maximum.reduceat(boxes[:, 2:], firsts, axis=0)))
        self._own_box_memo[key] = boxes
        return boxes

    def _fine_of(self, c: _Cell, g: int, idx: np.ndarray, layer: str) -> np.ndarray:
        """Fine boxes (K×m×4, ``c``'s frame) of K placed instances ``idx`` of group
        ``g``; for ``g == -1`` the boxes (K×1×4) of own shapes ``idx``."""
        if g < 0:
            boxes, _ = self._own_boxes(c.name, layer)
            return boxes[idx][:, None, :]
        p = c.placements[g]
        fb = self.fine_boxes(p.child, layer)
        if not len(fb):
            return np.empty((len(idx), 0, 4))
        corners = np.stack((fb[:, [0, 1]], fb[:, [2, 1]], fb[:, [2, 3]], fb[:, [0, 3]]), axis=1)
        m, o = p.matrices[idx], p.offsets[idx]  # K×2×2, K×2
        pts = np.einsum("kij,mcj->kmci", m, corners) + o[:, None, None, :]
        return np.concatenate((pts.min(2), pts.max(2)), axis=2)

    def _interacting(self, c: _Cell, relaxed: dict[int, set[tuple[str, str]]] | None = None
                     ) -> list[np.ndarray]:
        """Per placement group: boolean mask of instances that interact.

        Items are the placed instances and the cell's own shapes. Candidate pairs of
        items are found once, on their boxes over all layers grown by the largest
        halo. A pair of instances of one cell under one transformation (within an
        array, or across arrays of the same die) is judged by its offset: each
        distinct offset once, on the cell's shape boxes in its own frame. Any other
        pair is judged on the two items' shape boxes in this cell's frame.

        Args:
            c: the cell.
            relaxed: per placement group, the cover relations (COVER_RELATIONS) that can
                be ignored for its instances: its cell alone already passes the check
                they serve, and more cover can only keep it passing.
        """
        relaxed = relaxed or {}
        # a magnified placement changes every length: its cell cannot be judged alone
        masks = [np.abs(np.abs(_det(p)) - 1.0) > 1e-9 for p in c.placements]
        if not c.placements:
            return masks
        base = np.concatenate(([0], np.cumsum([p.count for p in c.placements]))).astype(int)
        n_items = int(base[-1])
        g_of = [np.repeat(np.arange(len(c.placements)), np.diff(base))]
        i_of = [np.concatenate([np.arange(p.count) for p in c.placements])]
        univ = [np.empty((0, 4))]
        for p in c.placements:
            box = self._cell_box(p.child)
            univ.append(_placed_boxes(box, p) if box is not None
                        else np.full((p.count, 4), np.nan))
        # boxes per layer: (owner group, owner index, box); own shapes: group -1. Made
        # row by row as asked (a wafer's dies have a box per layer: only the few that
        # meet something else are looked at)
        boxes: dict[str, tuple[_Column, _Column, _Column]] = {}
        pos: dict[str, _Column] = {}  # item -> its row in boxes[layer], or -1
        for lay in USED_LAYERS:
            table = _LayerTable()
            if lay in c.own and len(c.own[lay][1]):
                ob, _ = self._own_boxes(c.name, lay)
                table.add(n_items, len(ob), -1, ob)
                g_of.append(np.full(len(ob), -1))
                i_of.append(np.arange(len(ob)))
                n_items += len(ob)
                univ.append(ob)
            for gi, p in enumerate(c.placements):
                bb = self.bbox(p.child).get(lay)
                if bb is not None:
                    table.add(int(base[gi]), p.count, gi, (bb, p))
            if table.blocks:
                boxes[lay] = (_Column(table, "group"), _Column(table, "index"),
                              _Column(table, "box"))
                pos[lay] = _Column(table, "row")
        gof, iof = np.concatenate(g_of), np.concatenate(i_of)
        ub = np.vstack(univ)
        live = np.nonzero(~np.isnan(ub[:, 0]))[0]
        # pairs of a lattice (a wafer's dies) may come as groups, one per lattice step
        steps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        cu, cv = I.box_pairs(ub[live], max(self.halo.values()), both=False, groups=steps)
        cu, cv = live[cu], live[cv]  # each pair once

        # frame classes: groups placing one cell under one transformation
        local_frames: dict[int, np.ndarray] = {}
        for gi, p in enumerate(c.placements):
            m0 = p.one_matrix
            if m0 is None and np.allclose(p.matrices, p.matrices[0][None], rtol=0, atol=1e-12):
                m0 = p.matrices[0]
            if m0 is not None and abs(np.linalg.det(m0)) > 1e-12:
                local_frames[gi] = np.linalg.inv(m0)
        frame_cls = np.full(len(c.placements) + 1, -1)  # the last entry: own shapes
        classes: dict[tuple[str, bytes], int] = {}
        cls_rep: list[int] = []
        for gi in local_frames:
            p = c.placements[gi]
            key = (p.child, np.round(p.matrices[0], 12).tobytes())
            if key not in classes:
                classes[key] = len(cls_rep)
                cls_rep.append(gi)
            frame_cls[gi] = classes[key]
        all_offs = np.vstack([p.offsets for p in c.placements])
        ucls = frame_cls[gof]
        # the pairs of a step group within one class are one distinct offset of it;
        # the group's other pairs join the pairs judged one by one
        by_step: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for step, i, j in steps:
            u, v = live[i], live[j]
            ku, kv = ucls[u], ucls[v]
            one = (ku == kv) & (ku >= 0)
            for k in _distinct(ku[one]):
                sel = one & (ku == k)
                inv = local_frames[cls_rep[int(k)]]
                by_step.append((int(k), u[sel], v[sel], (inv @ step)[None]))
            if not one.all():
                cu, cv = np.concatenate((cu, u[~one])), np.concatenate((cv, v[~one]))
        same = (ucls[cu] == ucls[cv]) & (ucls[cu] >= 0)
        su, sv = cu[same], cv[same]
        # the other pairs in both orders: a relation reads layer a on the first item
        ou, ov = np.concatenate((cu[~same], cv[~same])), np.concatenate((cv[~same], cu[~same]))
        # per class: the distinct offsets between its pairs, in the class's own frame
        by_class = []
        sk = ucls[su]
        for k in _distinct(sk):
            sel = np.nonzero(sk == k)[0]
            inv = local_frames[cls_rep[int(k)]]
            dxy = all_offs[sv[sel]] - all_offs[su[sel]]
            if not np.array_equal(inv, np.eye(2)):
                dxy = np.column_stack((inv[0, 0] * dxy[:, 0] + inv[0, 1] * dxy[:, 1],
                                       inv[1, 0] * dxy[:, 0] + inv[1, 1] * dxy[:, 1]))
            urel, inverse = _distinct_offsets(dxy, self.dbu)
            by_class.append((int(k), su[sel], sv[sel], urel, inverse))
        for k, u, v, rel in by_step:  # (every pair at the one offset)
            by_class.append((k, u, v, rel, None))

        def related(a: str, b: str, d: float, coarse: bool) -> tuple[np.ndarray, np.ndarray]:
            """Item pairs whose shapes on ``a`` and ``b`` come within ``d`` (judged on
            shape boxes, or on the items' whole boxes per layer when ``coarse``)."""
            out_u, out_v = [], []
            cover = not coarse and (a, b) in COVER_RELATIONS
            for k, pu, pv, urel, inverse in by_class:
                g = cls_rep[k]
                child = c.placements[g].child
                if a not in self.present(child) or b not in self.present(child):
                    continue
                if cover and (a, b) in relaxed.get(g, ()):
                    continue
                dl = d * math.sqrt(abs(np.linalg.det(local_frames[g])))
                ca, cb = self.bbox(child)[a][None], self.bbox(child)[b][None]
                # a on the first instance and b on the second (offset r), or the reverse:
                # on the layers' whole boxes, then (where those meet) on the fine boxes
                hit_u = _boxes_meet_shifted(ca, cb, urel, dl) | \
                    _boxes_meet_shifted(ca, cb, -urel, dl)
                if not coarse and hit_u.any():
                    fa, fb = self.fine_boxes(child, a), self.fine_boxes(child, b)
                    on = np.nonzero(hit_u)[0]
                    hit_u[on] = _boxes_meet_shifted(fa, fb, urel[on], dl) | \
                        _boxes_meet_shifted(fa, fb, -urel[on], dl)
                if inverse is None and hit_u[0]:
                    out_u.append(pu)
                    out_v.append(pv)
                elif inverse is not None and hit_u.any():
                    hits = hit_u[inverse]
                    out_u.append(pu[hits])
                    out_v.append(pv[hits])
            if a in pos and b in pos and len(ou):
                left, right = pos[a][ou], pos[b][ov]
                on = np.nonzero((left >= 0) & (right >= 0))[0]
                ga, ia, ba = boxes[a]
                gb, ib, bb_ = boxes[b]
                left, right = left[on], right[on]
                meet = I.boxes_meet(ba[left], bb_[right], d)
                if cover and relaxed:
                    ok_group = np.array([(a, b) in relaxed.get(gi, ()) for gi in
                                         range(len(c.placements))] + [False], dtype=bool)
                    meet &= ~ok_group[ga[left]]  # own shapes (group -1): the last entry
                on, left, right = on[meet], left[meet], right[meet]
                if len(on) and not coarse:
                    keep = np.zeros(len(on), dtype=bool)
                    # pair by pair of groups, all their instances at once
                    pg = np.column_stack((ga[left], gb[right]))
                    upg, inv_pg = np.unique(pg, axis=0, return_inverse=True)
                    inv_pg = np.asarray(inv_pg).ravel()
                    for u, (g1, g2) in enumerate(upg):
                        sel = np.nonzero(inv_pg == u)[0]
                        fa = self._fine_of(c, int(g1), ia[left[sel]], a)
                        fb = self._fine_of(c, int(g2), ib[right[sel]], b)
                        keep[sel] = _boxes_meet_each(fa, fb, d)
                    on = on[keep]
                out_u.append(ou[on])
                out_v.append(ov[on])
            if not out_u:
                return np.empty(0, int), np.empty(0, int)
            return np.concatenate(out_u), np.concatenate(out_v)

        def mark(items: np.ndarray) -> None:
            _mark(masks, gof[items], iof[items])

        def other_dies(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            """Pairs whose items each hold their balls within their own die outline's
            box, the two boxes not overlapping: balls of different dies, which the
            pitch rule (within a die) does not compare."""
            if "DIE" not in boxes:
                return np.zeros(len(u), dtype=bool)
            pd, pb = pos["DIE"], pos["BALL"]
            ok = (pd[u] >= 0) & (pd[v] >= 0)
            du, dv = boxes["DIE"][2][pd[u]], boxes["DIE"][2][pd[v]]
            bu, bv = boxes["BALL"][2][pb[u]], boxes["BALL"][2][pb[v]]
            for bx, dx in ((bu, du), (bv, dv)):
                ok &= (bx[:, 0] >= dx[:, 0]) & (bx[:, 1] >= dx[:, 1]) & (bx[:, 2] <= dx[:, 2]) \
                    & (bx[:, 3] <= dx[:, 3])
            apart = (du[:, 2] <= dv[:, 0]) | (dv[:, 2] <= du[:, 0]) | (du[:, 3] <= dv[:, 1]) \
                | (dv[:, 3] <= du[:, 1])
            return ok & apart

        solder_touch = False
        for (a, b), d in self.halo.items():
            if a not in boxes or b not in boxes:
                continue
            u, v = related(a, b, d, False)
            if (a, b) == ("BALL", "BALL") and len(u):
                keep = ~other_dies(u, v)
                u, v = u[keep], v[keep]
            if (a, b) == ("CAP_SOLDER", "CAP_SOLDER") and len(u):
                solder_touch = True
            mark(u)
            mark(v)
        # what lies in a solder ring's box is judged with the ring (a ring drawn as four
        # bars holds the ACTIVE area in its box, not in any bar's): when no two items'
        # solder touch, each ring is within one item, judged on its whole box
        if "CAP_SOLDER" in boxes:
            if solder_touch:
                self._cavities(c, boxes, pos, np.concatenate([cu, *(u for _, u, _, _ in by_step)]),
                               np.concatenate([cv, *(v for _, _, v, _ in by_step)]), masks)
            else:
                for a in CAVITY_LAYERS:
                    if a in boxes:
                        u, v = related(a, "CAP_SOLDER", self.halo.get((a, "CAP_SOLDER"),
                                                                       self.tol), True)
                        mark(u)
                        mark(v)
        return masks

    def _cavities(self, c: _Cell, boxes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                  pos: dict[str, np.ndarray], cu: np.ndarray, cv: np.ndarray,
                  masks: list[np.ndarray]) -> None:
        """Mark what lies in the box of a solder ring made of several items, or of
        several shapes of one placed cell (a ring drawn as four bars): the ring's
        pieces and what stands in its cavity are judged together, although no
        piece's own box meets it."""
        if "CAP_SOLDER" not in boxes:
            return
        gs, is_, bs = boxes["CAP_SOLDER"]
        lft, rgt = pos["CAP_SOLDER"][cu], pos["CAP_SOLDER"][cv]
        on = (lft >= 0) & (rgt >= 0)
        lft, rgt = lft[on], rgt[on]
        meet = I.boxes_meet(bs[lft], bs[rgt], self.tol)
        comp = I.components(len(bs), lft[meet], rgt[meet])
        ng = int(comp.max()) + 1
        gbox = I.group_boxes(bs, comp, ng)
        size = np.bincount(comp, minlength=ng)
        first = np.full(ng, -1)
        first[comp[::-1]] = np.arange(len(comp))[::-1]
        for a in CAVITY_LAYERS:
            if a not in boxes:
                continue
            ga, ia, ba = boxes[a]
            d = self.halo.get((a, "CAP_SOLDER"), self.tol)
            ua, ug = I.meeting(ba, gbox, d)
            if not len(ua):
                continue
            one = first[ug]
            # a ring that is one item, the same as the one in its box (the same placed
            # instance, or both this cell's own shapes): nothing to join
            alone = (size[ug] == 1) & (gs[one] == ga[ua]) & ((gs[one] < 0) | (is_[one] == ia[ua]))
            ua, ug = ua[~alone], ug[~alone]
            if not len(ua):
                continue
            _mark(masks, ga[ua], ia[ua])
            members = np.isin(comp, ug)
            _mark(masks, gs[members], is_[members])

    def judge_cell(self, name: str) -> _Local:
        """Verdicts on ``name`` judged alone (memoised), in its coordinates."""
        if name in self._local:
            return self._local[name]
        c = self.cells[name]
        self.stats["cells_judged"] += 1
        if c.placements and self._flat_counts[name] <= SMALL_CELL and self._on_axes[name]:
            # a small cell is judged flat: telling its placements apart would cost more
            # than judging its shapes, and its repeated islands are judged once anyway
            raw = {lay: self.flat_layer(name, lay) for lay in self.present(name)}
            out = _Local()
            self.stats["flattened_placements"] += sum(p.count for p in c.placements)
            if any(len(v[1]) for v in raw.values()):
                _judge_scope(Scope(raw, self.dbu, name), self, out, name)
            self._local[name] = out
            return out
        relaxed: dict[int, set[tuple[str, str]]] = {}
        for gi, p in enumerate(c.placements):
            rel = {key for key, cid in COVER_RELATIONS.items()
                   if cid in self.enabled and self.judge_cell(p.child).counts.get(cid, 0) == 0}
            if rel:
                relaxed[gi] = rel
        masks = self._interacting(c, relaxed)
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
        """Verdicts on the whole layout flattened, ignoring the file's hierarchy.

        Small layouts are judged as one scope. Large ones with several dies are judged
        die by die: each die's window (its outline grown by the largest interaction
        distance, and grown again until every component of a connectivity layer that
        reaches into it is whole) is gathered flat, its geometry hashed, and judged;
        a die whose window holds exactly the same geometry (translated) as one already
        judged takes that verdict. Each item is reported by the die whose outline
        holds it; what lies outside every die is judged in a last pass.
        """
        n = self.flat_count(ROOT)
        if n > MAX_FLAT_POLYGONS:
            raise LayoutReadError(f"{self.data.source}: flattening would make {n} polygons, over "
                                  f"the limit of {MAX_FLAT_POLYGONS}; use hierarchical mode")
        dies = self.die_outlines() if n > FLAT_DIRECT else []
        if len(dies) < 2:
            raw = {lay: self.flat_layer(ROOT, lay) for lay in self.present(ROOT)}
            out = _Local()
            _judge_scope(Scope(raw, self.dbu, "<flat>"), self, out, "<flat>")
            return out
        return self._judge_tiled(dies)

    # ------------------------------------------------------------ tiled flat mode
    def _cell_box(self, name: str) -> np.ndarray | None:
        bbs = list(self.bbox(name).values())
        if not bbs:
            return None
        a = np.array(bbs)
        return np.array([a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max()])

    def gather(self, window: np.ndarray, skip: Callable[[np.ndarray], np.ndarray] | None = None
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Flat shapes of every placed cell instance whose box meets ``window``.

        Args:
            window: [x0, y0, x1, y1], µm.
            skip: optional test on instance boxes (K×4) telling which subtrees to leave out.
        """
        acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        stack = [(ROOT, np.eye(2)[None], np.zeros((1, 2)))]
        while stack:
            name, mats, offs = stack.pop()
            c = self.cells[name]
            if c.own:
                self._gather_own(name, mats, offs, window, acc)
            for p in c.placements:
                box = self._cell_box(p.child)
                if box is None:
                    continue
                m2 = np.einsum("kij,ljm->klim", mats, p.matrices).reshape(-1, 2, 2)
                o2 = (np.einsum("kij,lj->kli", mats, p.offsets) + offs[:, None, :]).reshape(-1, 2)
                bb = _boxes_of(box, m2, o2)
                hit = ((bb[:, 0] <= window[2]) & (bb[:, 2] >= window[0])
                       & (bb[:, 1] <= window[3]) & (bb[:, 3] >= window[1]))
                if skip is not None and hit.any():
                    hit[hit] &= ~skip(bb[hit])
                if hit.any():
                    stack.append((p.child, m2[hit], o2[hit]))
        return {lay: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]))
                for lay, v in acc.items()}

    def _own_boxes(self, name: str, lay: str) -> tuple[np.ndarray, np.ndarray]:
        """Local boxes (N×4) and vertex start indices of a cell's own shapes on ``lay``."""
        key = (name, lay)
        hit = self._own_box_memo.get(key)
        if hit is None:
            hit = I.polygon_boxes(*self.cells[name].own[lay])
            self._own_box_memo[key] = hit
        return hit

    def _gather_own(self, name: str, mats: np.ndarray, offs: np.ndarray, window: np.ndarray,
                    acc: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> None:
        """Add the own shapes of the instances (mats, offs) of ``name`` meeting ``window``."""
        c = self.cells[name]
        box = self._cell_box(name)
        if box is None:
            return
        bb = _boxes_of(box, mats, offs)
        whole = ((bb[:, 0] >= window[0]) & (bb[:, 2] <= window[2]) & (bb[:, 1] >= window[1])
                 & (bb[:, 3] <= window[3]))
        for lay, (coords, lengths) in c.own.items():
            if not len(lengths):
                continue
            if whole.any():
                acc.setdefault(lay, []).append((_transform(coords, mats[whole], offs[whole]),
                                                np.tile(lengths, int(whole.sum()))))
            if whole.all():
                continue
            boxes, starts = self._own_boxes(name, lay)
            tree = None
            if len(boxes) > 4096:
                tkey = (name, lay, "tree")
                tree = self._own_box_memo.get(tkey)
                if tree is None:
                    tree = shapely.STRtree(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2],
                                                       boxes[:, 3]))
                    self._own_box_memo[tkey] = tree  # type: ignore[assignment]
            for k in np.nonzero(~whole)[0]:
                inv = np.linalg.inv(mats[k])
                wc = np.array([[window[0], window[1]], [window[2], window[1]],
                               [window[2], window[3]], [window[0], window[3]]])
                loc = (wc - offs[k]) @ inv.T
                lw = np.concatenate((loc.min(0), loc.max(0)))
                if tree is not None:
                    lw = np.clip(lw, -1e15, 1e15)
                    sel = np.zeros(len(boxes), dtype=bool)
                    sel[tree.query(shapely.box(*lw), predicate="intersects")] = True
                else:
                    sel = ((boxes[:, 0] <= lw[2]) & (boxes[:, 2] >= lw[0])
                           & (boxes[:, 1] <= lw[3]) & (boxes[:, 3] >= lw[1]))
                if not sel.any():
                    continue
                idx = np.concatenate([np.arange(s0, s0 + n) for s0, n in
                                      zip(starts[sel], lengths[sel], strict=True)])
                acc.setdefault(lay, []).append(
                    (coords[idx] @ mats[k].T + offs[k], lengths[sel]))

    def _window_key(self, window: np.ndarray, core: np.ndarray,
                    raw: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[bytes, np.ndarray]:
        """(hash of a window's geometry relative to its die's corner, that corner)."""
        origin = np.round(core[:2] / self.dbu) * self.dbu
        h = I.blake2b(digest_size=20)
        h.update(np.round((window - np.tile(origin, 2)) / self.dbu).astype(np.int64).tobytes())
        h.update(np.round((core - np.tile(origin, 2)) / self.dbu).astype(np.int64).tobytes())
        for lay in sorted(raw):
            coords, lengths = raw[lay]
            h.update(lay.encode())
            h.update(lengths.astype(np.int64).tobytes())
            h.update(np.round((coords - origin) / self.dbu).astype(np.int64).tobytes())
        return h.digest(), origin

    def _judge_window(self, window: np.ndarray, core: np.ndarray,
                      owns: Callable[[tuple[float, float]], bool],
                      memo: dict[bytes, tuple[np.ndarray, _Local]], out: _Local) -> None:
        # a window whose geometry (translated) was met before and needed no growth is
        # judged by that verdict at once: no shapes are built for it
        raw = self.gather(window)
        key, origin = self._window_key(window, core, raw)
        if key in self._whole_windows and key in memo:
            first, local = memo[key]
            _merge_local(out, local, np.eye(2)[None], (origin - first)[None])
            return
        first_key = key
        for step in range(8):  # grow until the connectivity components are whole
            if step:
                raw = self.gather(window)
            scope = Scope(raw, self.dbu, "<flat>")
            grown = window.copy()
            for lay in WHOLE_LAYERS:
                if not scope.has(lay):
                    continue
                b = np.array([p.bounds for p in scope.parts(lay)])
                if not len(b):
                    continue
                # a component that reaches the die's own box must be whole; one that only
                # lies in the margin around it is judged by its own die
                out_of = ((b[:, 0] < window[0]) | (b[:, 1] < window[1]) | (b[:, 2] > window[2])
                          | (b[:, 3] > window[3]))
                out_of &= ((b[:, 0] <= core[2]) & (b[:, 2] >= core[0]) & (b[:, 1] <= core[3])
                           & (b[:, 3] >= core[1]))
                if out_of.any():
                    bb = b[out_of]
                    grown = np.array([min(grown[0], bb[:, 0].min() - self.max_halo),
                                      min(grown[1], bb[:, 1].min() - self.max_halo),
                                      max(grown[2], bb[:, 2].max() + self.max_halo),
                                      max(grown[3], bb[:, 3].max() + self.max_halo)])
            if np.array_equal(grown, window):
                if step == 0:
                    self._whole_windows.add(first_key)
                break
            window = grown
        key, origin = self._window_key(window, core, raw) if step else (first_key, origin)
        hit = memo.get(key)
        if hit is None:
            local = _Local()
            ctx = Context(self.rules, self.enabled, owns=owns)
            run_scope(scope, ctx)
            for v in ctx.violations:
                if owns((v.x, v.y)):
                    local.violations.append(v)
                    local.counts[v.check] = local.counts.get(v.check, 0) + 1
            local.judged = ctx.judged
            local.details = ctx.details
            memo[key] = (origin, local)
            self.stats["windows_judged"] = self.stats.get("windows_judged", 0) + 1
            _merge_local(out, local, np.eye(2)[None], np.zeros((1, 2)))
        else:
            first, local = hit
            _merge_local(out, local, np.eye(2)[None], (origin - first)[None])

    def _judge_tiled(self, dies: list) -> _Local:
        out = _Local()
        memo: dict[bytes, tuple[np.ndarray, _Local]] = {}
        cores = np.array([d.bounds for d in dies])
        order = np.lexsort((cores[:, 0], cores[:, 1]))
        dies = [dies[int(i)] for i in order]
        cores = cores[order]
        tree = shapely.STRtree(dies)

        def owner_of(pt: tuple[float, float]) -> int:
            """The first die (in this order) whose outline holds ``pt``, or -1."""
            idx = tree.query(shapely.points(pt), predicate="covered_by")
            return int(idx.min()) if len(idx) else -1

        h = self.max_halo
        for i, core in progress(enumerate(cores), total=len(cores), label="checking dies",
                                enabled=PROGRESS):
            self._judge_window(core + np.array([-h, -h, h, h]), core,
                               lambda pt, i=i: owner_of(pt) == i, memo, out)
        self.stats["windows"] = len(cores)

        # what lies outside every die is judged once more, keeping only what no die holds
        def inside_a_die(boxes: np.ndarray) -> np.ndarray:
            q = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
            idx, _ = tree.query(q, predicate="within")
            m = np.zeros(len(boxes), dtype=bool)
            m[idx] = True
            return m

        everything = np.array([-np.inf, -np.inf, np.inf, np.inf])
        rest = self.gather(everything, skip=inside_a_die)
        rest_boxes = []
        for coords, lengths in rest.values():
            boxes, _ = I.polygon_boxes(coords, lengths)
            rest_boxes.append(boxes[~inside_a_die(boxes)])
        boxes = np.vstack(rest_boxes) if rest_boxes else np.empty((0, 4))
        if len(boxes):
            grown = shapely.box(boxes[:, 0] - h, boxes[:, 1] - h, boxes[:, 2] + h, boxes[:, 3] + h)
            for cluster in G.parts(shapely.union_all(grown)):
                window = np.array(cluster.bounds)
                scope = Scope(self.gather(window), self.dbu, "<flat>")
                ctx = Context(self.rules, self.enabled)
                run_scope(scope, ctx)
                for v in ctx.violations:
                    if not cluster.covers(shapely.points(v.x, v.y)):
                        continue
                    if owner_of((v.x, v.y)) >= 0:
                        continue
                    out.violations.append(v)
                    out.counts[v.check] = out.counts.get(v.check, 0) + 1
        return out

    def die_outlines(self) -> list:
        """Every die outline of the layout, placed.

        A cell's own DIE pieces that only abut are merged into one die; pieces that
        overlap stay separate (so two overlapping dies drawn in one cell are caught).
        Separate placements always stay separate polygons.
        """
        return _die_polys(self, ROOT, np.eye(2)[None], np.zeros((1, 2)), [], {})

    def die_boxes(self) -> np.ndarray | None:
        """The boxes (N×4) of every die outline, placed, when every outline is an
        axis-parallel rectangle placed without a rotation off the axes (the usual
        wafer); None otherwise (then ``die_outlines`` serves)."""
        memo: dict[str, list] = {}
        acc = [np.empty((0, 4))]
        stack = [(ROOT, np.eye(2)[None], np.zeros((1, 2)))]
        while stack:
            name, mats, offs = stack.pop()
            c = self.cells[name]
            if "DIE" in c.own:
                if name not in memo:
                    memo[name] = _own_dies(self, c)
                for poly in memo[name]:
                    x0, y0, x1, y1 = poly.bounds
                    if poly.interiors or len(poly.exterior.coords) != 5 or \
                            abs(poly.area - (x1 - x0) * (y1 - y0)) > self.tol ** 2:
                        return None
                    acc.append(_boxes_of(np.array([x0, y0, x1, y1]), mats, offs))
            for p in c.placements:
                if "DIE" not in self.present(p.child):
                    continue
                m2, o2 = _compose(mats, offs, p)
                if not _quarter_turns(m2):
                    return None
                stack.append((p.child, m2, o2))
        return np.vstack(acc)


class _LayerTable:
    """The boxes of one layer's items in a cell, block by block (the cell's own
    shapes, then each placement group's instances), made only for the rows asked."""

    def __init__(self) -> None:
        #: (first row, first item, count, group, boxes K×4 or (cell box, placement))
        self.blocks: list[tuple[int, int, int, int, Any]] = []
        self.rows = 0
        self._full: dict[str, np.ndarray] = {}

    def add(self, item0: int, count: int, group: int, source: Any) -> None:
        self.blocks.append((self.rows, item0, count, group, source))
        self.rows += count

    def row_of(self, items: np.ndarray) -> np.ndarray:
        """The row of each item (-1: the item has no box on this layer)."""
        items = np.asarray(items)
        out = np.full(items.shape, -1, dtype=np.int64)
        for row0, item0, count, _, _ in self.blocks:
            on = (items >= item0) & (items < item0 + count)
            out[on] = items[on] - item0 + row0
        return out

    def column(self, what: str, rows: np.ndarray) -> np.ndarray:
        """Group, index or box of each of ``rows``."""
        rows = np.asarray(rows)
        out = np.empty((*rows.shape, 4)) if what == "box" else np.empty(rows.shape, np.int64)
        for row0, _, count, group, source in self.blocks:
            on = (rows >= row0) & (rows < row0 + count)
            if not on.any():
                continue
            k = rows[on] - row0
            if what == "group":
                out[on] = group
            elif what == "index":
                out[on] = k
            elif isinstance(source, np.ndarray):
                out[on] = source[k]
            else:
                bb, p = source
                out[on] = _placed_boxes(bb, p, k)
        return out

    def full(self, what: str) -> np.ndarray:
        if what not in self._full:
            self._full[what] = self.column(what, np.arange(self.rows))
        return self._full[what]


class _Column:
    """One column of a _LayerTable (or its item -> row map, ``what`` = "row"), indexed
    like an array: by an integer array, or whole (``np.asarray``)."""

    def __init__(self, table: _LayerTable, what: str) -> None:
        self.table, self.what = table, what

    def __len__(self) -> int:
        return self.table.rows

    def __getitem__(self, key: Any) -> np.ndarray:
        if self.what == "row":
            return self.table.row_of(key)
        if isinstance(key, np.ndarray) and key.dtype.kind in "iu":
            return self.table.column(self.what, key)
        return self.table.full(self.what)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.table.full(self.what)
        return a if dtype is None else a.astype(dtype)


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
            if holes:
                for k in range(len(offs)):
                    m, o = mats[k if len(mats) > 1 else 0], offs[k]
                    acc.append(shapely.Polygon(pts @ m.T + o, [h @ m.T + o for h in holes]))
            else:  # every placement at once
                rings = _transform(pts, mats, offs).reshape(len(offs), len(pts), 2)
                acc.extend(shapely.polygons(rings).tolist())
    for p in c.placements:
        if "DIE" not in eng.present(p.child):
            continue
        m2, o2 = _compose(mats, offs, p)
        _die_polys(eng, p.child, m2, o2, acc, memo)
    return acc


def _compose(mats: np.ndarray, offs: np.ndarray, p: Placement
             ) -> tuple[np.ndarray, np.ndarray]:
    """The instances of ``p`` placed by each of K transforms (``mats`` K×2×2, or 1×2×2
    for all K ``offs``): (matrices, offsets) instance after instance within each
    transform; the matrices are one (1×2×2) when one matrix serves all (a wafer's
    dies)."""
    if len(mats) == 1 and p.one_matrix is not None:
        return ((mats[0] @ p.one_matrix)[None],
                (offs[:, None, :] + (p.offsets @ mats[0].T)[None]).reshape(-1, 2))
    if len(mats) == 1 and len(offs) > 1:
        mats = np.broadcast_to(mats, (len(offs), 2, 2))
    return (np.einsum("kij,ljm->klim", mats, p.matrices).reshape(-1, 2, 2),
            (np.einsum("kij,lj->kli", mats, p.offsets) + offs[:, None, :]).reshape(-1, 2))


def _det(p: Placement) -> np.ndarray:
    """The determinant of each instance's linear part (K)."""
    one = p.one_matrix
    if one is not None:
        return np.full(p.count, one[0, 0] * one[1, 1] - one[0, 1] * one[1, 0])
    m = p.matrices
    return m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]


def _quarter_turns(mats: np.ndarray) -> bool:
    """True when every matrix (K×2×2) turns by a multiple of 90° (mirrored, magnified
    or not): each row has one entry off zero, so a box stays a box."""
    return bool((np.abs(mats[:, 0, 0] * mats[:, 0, 1]) < 1e-12).all()
                and (np.abs(mats[:, 1, 0] * mats[:, 1, 1]) < 1e-12).all())


def _distinct_offsets(dxy: np.ndarray, dbu: float) -> tuple[np.ndarray, np.ndarray]:
    """The distinct offsets (rows of ``dxy``, µm) to a tenth of a database unit, and
    for each row the index of its distinct offset."""
    res = min(1e-4, dbu / 10)
    q = np.round(dxy / res).astype(np.int64)
    lo = q.min(0)
    q -= lo
    span = q.max(0) + 1
    if float(span[0]) * float(span[1]) < 2.0**62:
        key = q[:, 0] * span[1] + q[:, 1]
        ukey, inverse = np.unique(key, return_inverse=True)
        uq = np.column_stack((ukey // span[1], ukey % span[1]))
    else:  # offsets too far apart to pack into one integer
        uq, inverse = np.unique(q, axis=0, return_inverse=True)
    return (uq + lo) * res, np.asarray(inverse).ravel()


def _distinct(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``a`` (``np.unique(a)``, which imports numpy.ma)."""
    a = np.sort(np.asarray(a).ravel())
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _mark(masks: list[np.ndarray], g_arr: np.ndarray, i_arr: np.ndarray) -> None:
    """Mark instances (group, index) as interacting; own shapes (group -1) are skipped."""
    sel = g_arr >= 0
    for g in _distinct(g_arr[sel]):
        masks[int(g)][i_arr[sel][g_arr[sel] == g]] = True


def _boxes_meet_shifted(fa: np.ndarray, fb: np.ndarray, shifts: np.ndarray, d: float
                        ) -> np.ndarray:
    """Per shift r (U×2): True when a box of ``fa`` (m×4) grown by ``d`` meets a box of
    ``fb`` (n×4) moved by r."""
    out = np.zeros(len(shifts), dtype=bool)
    if not len(fa) or not len(fb) or not len(shifts):
        return out
    step = max(1, 2_000_000 // (len(fa) * len(fb)))
    for s0 in range(0, len(shifts), step):
        moved = fb[None, :, :] + np.tile(shifts[s0:s0 + step], 2)[:, None, :]  # U×n×4
        out[s0:s0 + step] = I.boxes_meet(fa[None, :, None, :], moved[:, None, :, :],
                                         d).any(axis=(1, 2))
    return out


def _boxes_meet_each(fa: np.ndarray, fb: np.ndarray, d: float) -> np.ndarray:
    """Per k: True when a box of ``fa[k]`` (K×m×4) grown by ``d`` meets a box of
    ``fb[k]`` (K×n×4)."""
    k, m, n = len(fa), fa.shape[1], fb.shape[1]
    out = np.zeros(k, dtype=bool)
    if not m or not n:
        return out
    step = max(1, 2_000_000 // (m * n))
    for s0 in range(0, k, step):
        out[s0:s0 + step] = I.boxes_meet(fa[s0:s0 + step, :, None, :],
                                         fb[s0:s0 + step, None, :, :], d).any(axis=(1, 2))
    return out


def _placed_boxes(box: np.ndarray, p: Placement, idx: np.ndarray | None = None
                  ) -> np.ndarray:
    """Axis-parallel boxes (K×4) of ``box`` at each instance of ``p`` (or at the
    instances ``idx``)."""
    offs = p.offsets if idx is None else p.offsets[idx]
    if p.one_matrix is not None:
        return _boxes_of(box, p.one_matrix[None], offs)
    return _boxes_of(box, p.matrices if idx is None else p.matrices[idx], offs)


def _box_under(box: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The axis-parallel box (4) of ``box`` under the linear map ``m`` (2×2)."""
    pts = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]],
                    [box[0], box[3]]]) @ m.T
    return np.concatenate((pts.min(0), pts.max(0)))


def _boxes_of(box: np.ndarray, mats: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Axis-parallel boxes (K×4) of ``box`` under K transforms (or under one matrix,
    ``mats`` 1×2×2, with K offsets)."""
    if len(mats) == 1 or len(mats) > 1 and (mats == mats[0]).all():
        # one transformation (one matrix for every offset, or all alike): move one box
        return np.tile(offs, 2) + _box_under(box, mats[0])
    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]])
    pts = _transform(corners, mats, offs).reshape(len(offs), 4, 2)
    return np.hstack((pts.min(1), pts.max(1)))


def _judge_scope(s: Scope, eng: Engine, out: _Local, cell: str) -> None:
    """Judge a scope into ``out``: island by island when its islands repeat (each
    distinct island once, its verdicts carried to its copies), else as one."""
    enabled = eng.enabled
    if _judge_islands(s, eng, out, cell):
        enabled = eng.enabled & GLOBAL_CHECKS
        if not enabled:
            return
    ctx = Context(eng.rules, enabled)
    run_scope(s, ctx)
    _add_context(out, ctx, cell)


def _add_context(out: _Local, ctx: Context, cell: str) -> None:
    for v in ctx.violations:
        v.cell = None if cell in (ROOT, "<flat>") else cell
        out.counts[v.check] = out.counts.get(v.check, 0) + 1
    out.violations.extend(ctx.violations[:max(0, MAX_VIOLATIONS - len(out.violations))])
    for k, n in ctx.judged.items():
        out.judged[k] = out.judged.get(k, 0) + n
    _merge_details(out.details, ctx.details, 1)


#: a scope is judged island by island when it has at least this many islands per
#: distinct one (below, judging each distinct island alone costs about as much as
#: judging the scope whole)
ISLAND_REPEAT = 2.0


def _judge_islands(s: Scope, eng: Engine, out: _Local, cell: str) -> bool:
    """Judge the islands of ``s`` (``islands.partition``) that repeat: each distinct
    island once, in a scope of its own, for every check but GLOBAL_CHECKS, with its
    verdicts translated to each copy. Returns False (nothing judged) when the islands
    do not repeat enough to pay."""
    isl = I.partition(s.raw, eng.island_halo, eng.dbu)
    if isl is None or isl.count < 2:
        return False
    members: dict[bytes, list[int]] = {}
    for i, key in enumerate(isl.keys):
        members.setdefault(key, []).append(i)
    if len(members) * ISLAND_REPEAT > isl.count:
        return False
    present = frozenset(lay for lay, v in s.raw.items() if len(v[1]))
    enabled = eng.enabled - GLOBAL_CHECKS
    eye = np.eye(2)[None]
    for same in members.values():
        rep = same[0]
        ctx = Context(eng.rules, enabled)
        run_scope(Scope(isl.raw(rep), eng.dbu, s.name, present), ctx)
        local = _Local()
        _add_context(local, ctx, cell)
        offs = isl.origins[same] - isl.origins[rep]
        _merge_local(out, local, np.repeat(eye, len(same), axis=0), offs)
    eng.stats["islands"] = eng.stats.get("islands", 0) + isl.count
    eng.stats["islands_judged"] = eng.stats.get("islands_judged", 0) + len(members)
    return True


def _merge_details(dst: dict, src: dict, times: int) -> None:
    for check, d in src.items():
        dd = dst.setdefault(check, {})
        for key, counts in d.items():
            cc = dd.setdefault(key, {})
            for val, n in counts.items():
                cc[val] = cc.get(val, 0) + n * times


_XY = re.compile(r"\((-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\)")


def _map_message(msg: str, m: np.ndarray, o: np.ndarray) -> str:
    """``msg`` with every ``(x, y)`` position in it carried through ``m``, ``o``."""
    if np.array_equal(m, np.eye(2)) and not o.any():
        return msg

    def sub(mt: re.Match) -> str:
        p = m @ np.array([float(mt.group(1)), float(mt.group(2))]) + o
        return f"({G.fmt_um(p[0])}, {G.fmt_um(p[1])})"

    return _XY.sub(sub, msg)


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
            msg = _map_message(v.message, mats[i], offs[i])
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
    n_dies = 0
    if "scribe.overlap" in eng.enabled or "scribe.width" in eng.enabled:
        boxes = eng.die_boxes()
        if boxes is not None:
            check_scribe_boxes(boxes, ctx, eng.tol)
            n_dies = len(boxes)
        else:
            dies = eng.die_outlines()
            check_scribe(dies, ctx, eng.tol)
            n_dies = len(dies)
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
        if cid not in results:  # a check that reported although its layers are absent
            results[cid] = CheckResult(CHECKS[cid], judged.get(cid, 0), 0)
        results[cid].violations += n
    violations = violations[:MAX_VIOLATIONS]
    for v in violations:
        if v.cell and not flat:
            v.message = f"{v.message} [judged in cell {v.cell}]"
    violations.sort(key=lambda v: (v.check, round(v.y, 3), round(v.x, 3), v.message))
    stats = dict(eng.stats)
    stats["violations"] = sum(counts.values())
    stats["cells"] = len(data.cells)
    stats["dies"] = n_dies
    stats["top"] = data.tops[0] if data.tops else ""
    if data.notes:
        stats["reader_warnings"] = data.notes
    stats["seconds"] = round(time.perf_counter() - t0, 4)
    return Report(data.source, ruleset.name, results, violations,
                  "flat" if flat else "hierarchical", stats)
