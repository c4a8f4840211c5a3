"""Placements on a lattice (a wafer's dies): the pairs of neighbouring boxes come from
index arithmetic, the pairs of dies at one lattice step are judged as one offset, and
a die's boxes per layer are made only where something else meets it. Each of these
must give exactly what the general paths give: the same pairs as comparing every box
with every other, and the same report as the engine without the lattice path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from klayouts import capped_array

from layoutgen.check import check
from layoutgen.check import engine as E
from layoutgen.check import islands as I

# ---------------------------------------------------------------- box pairs


def _brute(b: np.ndarray, d: float, both: bool) -> set[tuple[int, int]]:
    meet = I.boxes_meet(b[:, None, :], b[None, :, :], d)
    np.fill_diagonal(meet, False)
    i, j = np.nonzero(meet)
    if not both:
        keep = i < j
        i, j = i[keep], j[keep]
    return set(zip(i.tolist(), j.tolist(), strict=True))


def _random_lattice(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Equal boxes on a rectangular lattice with holes, a few other boxes, sometimes a
    box twice, in random order; and a distance d, often exactly a lattice gap."""
    nx, ny = rng.integers(1, 30, 2)
    sx = float(rng.choice([2100.0, 100.0, 0.5, 1234.567]))
    sy = float(rng.choice([2100.0, 50.0, 0.25, 999.001]))
    w = sx * float(rng.choice([0.5, 0.999, 1.0, 1.5, 0.1]))
    h = sy * float(rng.choice([0.5, 1.0, 1.2, 0.3]))
    xs, ys = np.meshgrid(np.arange(nx) * sx + rng.uniform(-1e5, 1e5),
                         np.arange(ny) * sy + rng.uniform(-1e5, 1e5))
    keep = rng.random(xs.size) < rng.uniform(0.3, 1.0)
    x0, y0 = xs.ravel()[keep], ys.ravel()[keep]
    b = np.column_stack((x0, y0, x0 + w, y0 + h))
    extra = int(rng.integers(0, 6))
    if extra and len(b):
        e0 = rng.uniform(b[:, :2].min(0) - 100, b[:, 2:].max(0) + 100, (extra, 2))
        b = np.vstack((b, np.hstack((e0, e0 + rng.uniform(0, 5000, (extra, 2))))))
    if rng.random() < 0.2 and len(b) > 3:
        b = np.vstack((b, b[:1]))
    b = b[rng.permutation(len(b))]
    d = float(rng.choice([0.0, 0.001, 10.0, 80.0, sx, w]))
    return b, d


def test_lattice_box_pairs_equal_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    """On random lattices (holes, strangers, a box twice, d exactly a gap between
    neighbours), the lattice path finds exactly the pairs within d, each once; the
    step groups hold only pairs that meet, a group's pairs the step apart."""
    monkeypatch.setattr(I, "LATTICE_MIN", 2)
    rng = np.random.default_rng(11)
    used = 0
    for _ in range(400):
        b, d = _random_lattice(rng)
        if len(b) < 2:
            continue
        used += I._lattice_pairs(b, d, True) is not None
        for both in (True, False):
            i, j = I.box_pairs(b, d, both)
            got = list(zip(i.tolist(), j.tolist(), strict=True))
            assert len(got) == len(set(got))
            assert set(got) == _brute(b, d, both), (len(b), d, both)
        groups: list = []
        i, j = I.box_pairs(b, d, False, groups=groups)
        pairs = {(min(p, q), max(p, q)) for p, q in zip(i.tolist(), j.tolist(), strict=True)}
        for step, gi, gj in groups:
            assert np.allclose(b[gj, :2] - b[gi, :2], step, atol=1e-5)
            more = {(min(p, q), max(p, q)) for p, q in zip(gi.tolist(), gj.tolist(),
                                                           strict=True)}
            assert not pairs & more
            pairs |= more
        assert pairs == _brute(b, d, False)
    assert used > 150  # the lattice path itself was tested, not only the fallback


def test_general_box_pairs_exact_at_the_limit() -> None:
    """Boxes exactly d apart (d not a binary fraction, so rounding could go either
    way) are found by the grid join and by the R-tree path alike: the candidates are
    gathered with a little slack and judged by ``boxes_meet``, the lower box first."""
    d = 1234.567
    x0 = np.arange(100) * 2 * d + 0.1234567
    b = np.column_stack((x0, np.zeros(100), x0 + d, np.full(100, 10.0)))
    b = np.vstack((b, [[-5e4, -5e4, 5e4, -4e4]]))  # (a box far bigger: the R-tree path)
    for sub in (b[:-1], b):
        for both in (True, False):
            i, j = I.box_pairs(sub, d, both)
            assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute(sub, d, both)


# ---------------------------------------------------------------- the engine


def _summary(r) -> tuple:
    return (r.passed,
            sorted((k, v.judged, v.violations) for k, v in r.results.items()),
            sorted((v.check, round(v.x, 3), round(v.y, 3), v.message) for v in r.violations))


@pytest.mark.parametrize("pitch,bad,rot", [
    (2100.0, None, 0.0),          # a wafer: no two dies interact
    (2100.0, {"gap": 30.0}, 90.0),  # one die's ring open, another cell on the lattice
    (2000.0, None, 0.0),          # dies abut: their lanes and outlines touch
    (1990.0, {"spacer": "straddle"}, 0.0),  # dies overlap by 10 µm
    (1400.0, None, 0.0),          # a ring 20 µm from the next die's ACTIVE
])
def test_lattice_engine_equals_general_engine(tmp_path: Path, pitch: float, bad, rot: float,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """17 × 16 dies (over LATTICE_MIN) checked with the lattice paths and without
    them (LATTICE_MIN out of reach): the same verdicts, counts and violations. The
    wafer is judged by its placements (SMALL_CELL = 0), as a big wafer is."""
    monkeypatch.setattr(E, "SMALL_CELL", 0)
    path, _ = capped_array(tmp_path / "a.gds", nx=17, ny=16, pitch=pitch, rot=rot, bad=bad,
                           bad_at=(5, 7))
    steps = []
    real = I._lattice_pairs

    def spy(b, d, both, groups=None):
        out = real(b, d, both, groups)
        steps.append(0 if groups is None else len(groups))
        return out

    monkeypatch.setattr(I, "_lattice_pairs", spy)
    fast = check(path)
    assert steps  # the lattice path ran
    if pitch < 2100.0:  # neighbours meet: dies at a lattice step judged as one offset
        assert sum(steps) > 0
    monkeypatch.setattr(I, "LATTICE_MIN", 10**9)
    slow = check(path)
    assert _summary(fast) == _summary(slow)
    assert fast.results["scribe.width"].judged == 17 * 16
    if bad is not None or pitch < 2000.0:
        assert not fast.passed
    if pitch == 2100.0 and bad is None:
        assert fast.passed
