"""Islands of a scope: groups of shapes that no check relates to anything outside.

A die cell's 81 ball pads, each wired by its own RDL trace to its own chip pad, are
81 islands; a wafer-level scope may hold thousands. Two shapes are in one island when
a relation of ``checks.ISLAND_RELATIONS`` joins them: the relations through which
placements interact (``checks.RELATIONS``), judged on boxes, so conservatively.
Shapes of one layer that touch are first joined into groups, and the relations are
judged on the groups' boxes: a ring drawn as four bars has the box of the ring, which
holds its cavity and what lies in it.

Islands whose geometry is the same up to a translation (exactly, in database units)
get the same key, so the engine judges one of them and carries the verdicts to the
others. Checks that read a whole scope (``checks.GLOBAL_CHECKS``) are judged on the
whole scope instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

try:  # the BLAKE2 module alone: hashlib also loads OpenSSL's bindings (6-8 ms a start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

Raw = dict[str, tuple[np.ndarray, np.ndarray]]


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of a graph of ``n`` nodes with edges (i[k], j[k]).

    Returns:
        the component of each node, numbered 0, 1, ... in order of first node.
    """
    parent = np.arange(n)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    keep = i != j
    i, j = i[keep], j[keep]
    while len(i):
        pi, pj = parent[i], parent[j]
        low = np.minimum(pi, pj)
        np.minimum.at(parent, pi, low)
        np.minimum.at(parent, pj, low)
        while True:  # point every node at its root
            pp = parent[parent]
            if np.array_equal(pp, parent):
                break
            parent = pp
        if np.array_equal(parent[i], parent[j]):
            break
    _, dense = np.unique(parent, return_inverse=True)
    return np.asarray(dense).ravel()


def polygon_boxes(coords: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N×4) of concatenated polygons (vertex counts ``lengths``, each >= 1) and
    the index of each one's first vertex."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    return np.hstack((np.minimum.reduceat(coords, starts, axis=0),
                      np.maximum.reduceat(coords, starts, axis=0))), starts


def boxes_meet(a: np.ndarray, b: np.ndarray, d: float) -> np.ndarray:
    """Element by element (numpy broadcasting over the leading axes): True where box
    ``a`` ([..., 4]: x0, y0, x1, y1) grown by ``d`` meets box ``b`` (closed boxes)."""
    return ((a[..., 0] - d <= b[..., 2]) & (b[..., 0] <= a[..., 2] + d)
            & (a[..., 1] - d <= b[..., 3]) & (b[..., 1] <= a[..., 3] + d))


def group_boxes(boxes: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """The box (n×4) of each group of ``boxes`` (N×4), group ``labels[i]`` in 0..n-1."""
    out = np.empty((n, 4))
    out[:, :2], out[:, 2:] = np.inf, -np.inf
    for k, fn in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        fn.at(out[:, k], labels, boxes[:, k])
    return out


def meeting(a: np.ndarray, b: np.ndarray, d: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ia, ib) of boxes of ``a`` grown by ``d`` that meet boxes of ``b``."""
    if len(a) * len(b) <= 4096:
        ia, ib = np.nonzero(boxes_meet(a[:, None], b[None, :], d))
        return ia, ib
    tree = shapely.STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
    ia, ib = tree.query(shapely.box(a[:, 0] - d, a[:, 1] - d, a[:, 2] + d, a[:, 3] + d),
                        predicate="intersects")
    return ia, ib


#: box_pairs looks for a lattice among at least this many boxes
LATTICE_MIN = 256
#: ... and uses it when a box meets at most this many lattice neighbours
LATTICE_NEIGHBOURS = 48


def _slack(d: float) -> float:
    """``d`` and a little more: candidates are gathered within it, so that rounding
    cannot lose a pair exactly ``d`` apart; ``_exact`` then judges them exactly."""
    return d * (1 + 1e-9) + 1e-9


def _exact(b: np.ndarray, out_i: list[np.ndarray], out_j: list[np.ndarray], d: float,
           both: bool) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs that meet by ``boxes_meet(b[i], b[j], d)``, each ordered pair
    judged in its order; with ``both`` False each pair as (lower, higher), judged so."""
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i, j = np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64)
    if not both:
        i, j = np.minimum(i, j), np.maximum(i, j)
    keep = boxes_meet(b[i], b[j], d)
    return i[keep], j[keep]


def _lattice(v: np.ndarray) -> tuple[float, np.ndarray] | None:
    """(step, integer index of each value) when the values ``v`` (µm) are ``v.min()``
    plus whole multiples of one step (to 1e-6 µm): a row or column of a die grid.
    A single distinct value gives step 0 and every index 0."""
    rel = v - float(v.min())
    up = rel[rel > 1e-6]
    if not len(up):
        return 0.0, np.zeros(len(v), dtype=np.int64)

    def on(step: float) -> tuple[float, np.ndarray] | None:
        k = np.rint(rel / step)
        return (step, k.astype(np.int64)) if np.abs(rel - k * step).max() <= 1e-6 else None

    # the step: the nearest value above the lowest (a die grid's second column), else
    # the smallest gap between neighbouring values (found by sorting)
    first = float(up.min())
    found = on(first)
    if found is None:
        gaps = np.diff(np.sort(up))
        gaps = gaps[gaps > 1e-6]
        found = on(min(first, float(gaps.min()))) if len(gaps) else None
    return found


def _lattice_pairs(b: np.ndarray, d: float, both: bool,
                   groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """box_pairs for boxes on a lattice (a wafer's dies): the pairs of the boxes of
    the most common size whose corners sit on one rectangular lattice come from index
    arithmetic (neighbour k of box i is the box at lattice place i + k), the pairs of
    the few others from a direct comparison with all. None when most boxes are not on
    such a lattice, when it is not dense, or when a box could meet too many
    neighbours: then the general grid join serves. Every candidate pair is judged on
    its own two boxes, so a pair is found exactly when the general join finds it.

    With ``groups`` (and ``both`` False), the pairs at one lattice step that meet
    whatever the rounding go there instead, a group per step: (step (x, y) in µm from
    the first box of each pair to the second, first boxes, second boxes)."""
    n = len(b)
    dg = _slack(d)
    sw, sh = np.rint((b[:, 2] - b[:, 0]) * 1e6), np.rint((b[:, 3] - b[:, 1]) * 1e6)
    # the size of most boxes, if most have one size: one of five boxes spread over
    # the list (the placements of one cell come together) has it
    on = None
    for k in (0, n // 4, n // 2, 3 * n // 4, n - 1):
        same = (sw == sw[k]) & (sh == sh[k])
        if on is None or same.sum() > on.sum():
            common, on = np.array([sw[k], sh[k]]), same
        if on.sum() * 2 >= n:
            break
    if on.sum() * 2 < n:
        return None
    ids = np.nonzero(on)[0]
    lx, ly = _lattice(b[ids, 0]), _lattice(b[ids, 1])
    if lx is None or ly is None:
        return None
    (sx, ix), (sy, iy) = lx, ly
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    if nx * ny > 4 * len(ids) + 4096:
        return None  # sparse: the general join serves
    w, h = common / 1e6
    # neighbour k = (dx, dy) can meet when the gap along each axis is at most d (each
    # box is within 1e-6 µm of its lattice place; candidates are judged exactly below)
    kx = int(math.floor((w + d + 1e-5) / sx)) if sx else 0
    ky = int(math.floor((h + d + 1e-5) / sy)) if sy else 0
    if (2 * kx + 1) * (2 * ky + 1) > LATTICE_NEIGHBOURS:
        return None
    grid = np.full((nx, ny), -1, dtype=np.int64)
    grid[ix, iy] = ids
    if (grid >= 0).sum() != len(ids):
        return None  # two boxes at one place
    lat_i: list[np.ndarray] = []  # pairs that meet whatever the rounding
    lat_j: list[np.ndarray] = []
    out_i, out_j = [], []  # candidates, judged by _exact
    for dx in range(-kx, kx + 1):
        for dy in range(-ky, ky + 1):
            if (dx, dy) == (0, 0) or (not both and (dx, dy) < (0, 0)) or \
                    abs(dx) >= nx or abs(dy) >= ny:
                continue
            # the gaps between a box and its neighbour k along x and y at their lattice
            # places; each box is within 1e-6 µm of its place
            gap = max(abs(dx) * sx - w, abs(dy) * sy - h)
            if gap > d + 1e-5:
                continue  # every such pair is apart
            # the place of each box and the place k from it, as two views of the grid
            a = grid[max(0, -dx):nx - max(0, dx), max(0, -dy):ny - max(0, dy)]
            t = grid[max(0, dx):nx + min(0, dx), max(0, dy):ny + min(0, dy)]
            both_there = (a >= 0) & (t >= 0)
            i, j = a[both_there], t[both_there]
            if gap < d - 1e-5 and groups is not None and not both:  # every pair meets
                groups.append((np.array([dx * sx, dy * sy]), i, j))
            elif gap < d - 1e-5:  # every such pair meets
                lat_i.append(i)
                lat_j.append(j)
            else:  # near the limit: judged pair by pair below
                out_i.append(i)
                out_j.append(j)
    rest = np.nonzero(~on)[0]
    chunk = max(1, 2_000_000 // n)
    if len(rest):  # the others against every box
        for r0 in range(0, len(rest), chunk):
            rs = rest[r0:r0 + chunk]
            ri, rj = np.nonzero(boxes_meet(b[rs][:, None, :], b[None, :, :], dg))
            ri = rs[ri]
            keep = ri != rj
            if not both:  # each pair once: from the lower of two others
                keep &= on[rj] | (ri < rj)
            ri, rj = ri[keep], rj[keep]
            out_i.append(ri)
            out_j.append(rj)
            if both:  # (a lattice box's pair with an other, from the lattice side)
                out_i.append(rj[on[rj]])
                out_j.append(ri[on[rj]])
    i, j = _exact(b, out_i, out_j, d, both)
    if not lat_i:
        return i, j
    li, lj = np.concatenate(lat_i), np.concatenate(lat_j)
    if not both:
        li, lj = np.minimum(li, lj), np.maximum(li, lj)
    return np.concatenate((li, i)), np.concatenate((lj, j))


def box_pairs(b: np.ndarray, d: float, both: bool = True,
              groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, of boxes ``b`` (N×4, finite) that come within
    ``d`` of each other (closed boxes: touching counts); with ``both`` False, each pair
    once, as i < j.

    With ``groups`` (a list, and ``both`` False), boxes on a lattice may give some of
    their pairs as groups appended there instead: (step, first, second), every pair of
    a group the same step (x, y, µm) apart, not ordered by index; the pairs returned
    are then the others.

    Boxes of similar size (a wafer's dies) are binned on a grid of cells as large as
    the largest box plus ``d``, so only boxes of neighbouring cells are compared;
    boxes of very different sizes go through an R-tree.
    """
    n = len(b)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if n >= LATTICE_MIN:
        hit = _lattice_pairs(b, d, both, groups)
        if hit is not None:
            return hit
    dg = _slack(d)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    # (cells a little larger than the largest box plus d: two boxes exactly d apart
    # stay in neighbouring cells whatever the rounding; every candidate is then judged
    # by boxes_meet)
    cw, ch = _slack(float(w.max()) + d), _slack(float(h.max()) + d)
    x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
    nx = (float(b[:, 0].max()) - x0) / cw if cw > 0 else math.inf
    ny = (float(b[:, 1].max()) - y0) / ch if ch > 0 else math.inf
    # a grid pays when its cells hold few boxes: boxes of alike sizes, spread out
    # (a middle element, not np.median: its first call imports numpy.ma, 20-30 ms)
    mid_w, mid_h = (float(np.partition(v, n // 2)[n // 2]) for v in (w, h))
    if n < 64 or not (nx * ny < 4 * n * n) or cw > 8 * (mid_w + d) or ch > 8 * (mid_h + d):
        g = dg / 2
        grown = shapely.box(b[:, 0] - g, b[:, 1] - g, b[:, 2] + g, b[:, 3] + g)
        i, j = shapely.STRtree(grown).query(grown, predicate="intersects")
        keep = (i != j if both else i < j)
        return _exact(b, [i[keep]], [j[keep]], d, both)
    cx = np.floor((b[:, 0] - x0) / cw).astype(np.int64)
    cy = np.floor((b[:, 1] - y0) / ch).astype(np.int64)
    stride = int(cy.max()) + 3
    key = (cx + 1) * stride + (cy + 1)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    out_i, out_j = [], []
    # each unordered pair of different cells is met from both cells: once, from the
    # lower cell, is enough when ``both`` is False; a pair in one cell, by i < j
    steps = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)] if both else \
        [(0, 0), (0, 1), (1, -1), (1, 0), (1, 1)]
    for dx, dy in steps:
        tk = key + dx * stride + dy
        lo = np.searchsorted(sk, tk, "left")
        cnt = np.searchsorted(sk, tk, "right") - lo
        total = int(cnt.sum())
        if not total:
            continue
        i = np.repeat(np.arange(n), cnt)
        first = np.cumsum(cnt) - cnt
        j = order[np.repeat(lo - first, cnt) + np.arange(total)]
        meet = boxes_meet(b[i], b[j], dg)
        meet &= (i < j) if (dx, dy) == (0, 0) and not both else (i != j)
        out_i.append(i[meet])
        out_j.append(j[meet])
    return _exact(b, out_i, out_j, d, both)


@dataclass
class Islands:
    """A scope cut into islands.

    Attributes:
        count: number of islands.
        keys: per island, a digest of its geometry relative to ``origins``.
        origins: per island, its lower-left corner (on the database grid), µm.
    """

    count: int
    keys: list[bytes]
    origins: np.ndarray
    _parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]

    def raw(self, island: int) -> Raw:
        """The polygons of one island, per layer (coords, lengths) in µm."""
        out: Raw = {}
        for lay, (coords, lengths, pstart, vstart) in self._parts.items():
            p0, p1 = pstart[island], pstart[island + 1]
            if p1 > p0:
                out[lay] = (coords[vstart[p0]:vstart[p1]], lengths[p0:p1])
        return out


def partition(raw: Raw, halo: dict[tuple[str, str], float], dbu: float) -> Islands | None:
    """Cut the polygons of ``raw`` into islands.

    Args:
        raw: layer -> (coords N×2, ring lengths), µm; coordinates on the dbu grid.
        halo: (layer a, layer b) -> distance within which their shapes relate, µm
            (the pairs of ``checks.ISLAND_RELATIONS``).
        dbu: database unit, µm.

    Returns:
        the islands, or None when the scope has fewer than two polygons.
    """
    tol = dbu / 4
    layers = [lay for lay in sorted(raw) if len(raw[lay][1])]
    if sum(len(raw[lay][1]) for lay in layers) < 2 or any(
            (raw[lay][1] < 1).any() for lay in layers):
        return None  # (a polygon without points is left to the whole-scope judgement)
    boxes: dict[str, np.ndarray] = {}
    starts: dict[str, np.ndarray] = {}
    group: dict[str, np.ndarray] = {}  # per polygon, its touching group within the layer
    gboxes: dict[str, np.ndarray] = {}
    offset: dict[str, int] = {}
    total = 0
    for lay in layers:
        coords, lengths = raw[lay]
        bx, st = polygon_boxes(coords, lengths)
        boxes[lay], starts[lay] = bx, st
        ia, ib = meeting(bx, bx, tol)
        g = components(len(bx), ia, ib)
        ng = int(g.max()) + 1
        group[lay], gboxes[lay], offset[lay] = g, group_boxes(bx, g, ng), total
        total += ng
    ei, ej = [], []
    for (a, b), d in halo.items():
        if a not in gboxes or b not in gboxes:
            continue
        ia, ib = meeting(gboxes[a], gboxes[b], d)
        ei.append(ia + offset[a])
        ej.append(ib + offset[b])
    island_of_group = components(total, np.concatenate(ei) if ei else np.empty(0, np.int64),
                                 np.concatenate(ej) if ej else np.empty(0, np.int64))
    count = int(island_of_group.max()) + 1
    origins = np.full((count, 2), np.inf)
    labels: dict[str, np.ndarray] = {}
    for lay in layers:
        lab = island_of_group[group[lay] + offset[lay]]
        labels[lay] = lab
        np.minimum.at(origins[:, 0], lab, boxes[lay][:, 0])
        np.minimum.at(origins[:, 1], lab, boxes[lay][:, 1])
    origins = np.round(origins / dbu) * dbu
    hashes = [blake2b(digest_size=16) for _ in range(count)]
    parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for lay in layers:
        coords, lengths = raw[lay]
        lab = labels[lay]
        order = np.argsort(lab, kind="stable")
        ln = lengths[order].astype(np.int64)
        # vertex indices of the polygons in island order
        first = starts[lay][order]
        vstart = np.concatenate(([0], np.cumsum(ln))).astype(np.int64)
        vidx = np.repeat(first - vstart[:-1], ln) + np.arange(vstart[-1])
        cs = coords[vidx]
        pstart = np.concatenate(([0], np.cumsum(np.bincount(lab, minlength=count))))
        owner = np.repeat(lab[order], ln)
        rel = np.round((cs - origins[owner]) / dbu).astype(np.int64)
        parts[lay] = (cs, ln, pstart, vstart)
        tag = lay.encode()
        for k in np.nonzero(np.diff(pstart))[0]:
            p0, p1 = pstart[k], pstart[k + 1]
            h = hashes[k]
            h.update(tag)
            h.update(np.int64(p1 - p0).tobytes())
            h.update(ln[p0:p1].tobytes())
            h.update(rel[vstart[p0]:vstart[p1]].tobytes())
    return Islands(count, [h.digest() for h in hashes], origins, parts)
