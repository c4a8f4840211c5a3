"""The two benchmark workloads as plain numbers, shared by the anchor scripts.

Anchor scripts are the baselines layoutgen is measured against (raw gdstk, gdsfactory,
KLayout). They never import layoutgen: each draws or checks the workload with nothing
but its own library, as a user of that library would. Units: µm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: GDS layer numbers of DESIGN.md's default map
L = {
    "DIE": (1, 0), "ACTIVE": (2, 0), "SCRIBE": (3, 0), "PAD": (10, 0), "PASSIVATION": (11, 0),
    "PI1": (20, 0), "PI2": (21, 0), "PI3": (22, 0), "RDL": (30, 0), "BALL": (40, 0),
    "SEAL_LAND": (50, 0), "CAP_METAL": (60, 0), "CAP_SOLDER": (61, 0), "CAP_SPACER": (62, 0),
    "CAP_CUT": (63, 0), "TEXT": (90, 0), "WAFER": (99, 0),
}


@dataclass(frozen=True)
class Csp:
    """W-CSP: 9 × 9 embossed ball pads on a 4 mm die, 300 mm wafer."""

    wafer_mm: float = 300.0
    exclusion_mm: float = 3.0
    die: float = 4000.0
    step: float = 4080.0
    rows: int = 9
    pitch: float = 400.0
    concave_r: float = 130.0
    ring_ri: float = 60.0
    gaps: int = 8
    gap: float = 10.0
    pi3_r: float = 120.0
    land_r: float = 140.0
    ball_r: float = 140.0
    trace: float = 20.0
    pad: float = 60.0
    tol: float = 0.1

    def ring_ro(self) -> float:
        """Outer radius for ratio 1: pi ri² = pi (ro² - ri²) - gaps · gap · (ro - ri)."""
        ri, g = self.ring_ri, self.gaps * self.gap
        # pi ro² - g ro + (g ri - 2 pi ri²) = 0
        a, b, c = math.pi, -g, g * ri - 2 * math.pi * ri * ri
        return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)

    def balls(self) -> np.ndarray:
        """Ball centres (N×2), row by row from the top left."""
        k = (np.arange(self.rows) - (self.rows - 1) / 2) * self.pitch
        xs, ys = np.meshgrid(k, -k)
        return np.column_stack((xs.ravel(), ys.ravel()))


@dataclass(frozen=True)
class Cap:
    """W-CAP: capped 2 mm dies on a 2.1 mm step, 200 mm wafer."""

    wafer_mm: float = 200.0
    exclusion_mm: float = 3.0
    die: float = 2000.0
    step: float = 2100.0
    active: float = 1400.0
    seal_w: float = 80.0
    seal_gap: float = 60.0
    chamfer: float = 70.0
    metal_enc: float = 20.0
    land_enc: float = 5.0
    spacer: float = 50.0
    spacer_offset: float = 100.0
    lane: float = 120.0
    pad: float = 80.0
    pad_pitch: float = 150.0
    pads: int = 6
    pad_edge: float = 20.0


def die_centres(wafer_mm: float, exclusion_mm: float, die: float, step: float) -> np.ndarray:
    """Centres of the whole dies (all four corners inside the usable circle), a die on
    the wafer centre."""
    r = wafer_mm * 500.0 - exclusion_mm * 1000.0
    n = int(r // step) + 1
    k = np.arange(-n, n + 1) * step
    x, y = np.meshgrid(k, k)
    x, y = x.ravel(), y.ravel()
    h = die / 2
    far = np.hypot(np.abs(x) + h, np.abs(y) + h)
    keep = far <= r
    return np.column_stack((x[keep], y[keep]))


def circle(r: float, tol: float, n_min: int = 8) -> np.ndarray:
    """An inscribed regular polygon with chord error <= tol."""
    n = max(n_min, math.ceil(math.pi / math.acos(max(-1.0, 1 - tol / r))))
    t = np.arange(n) * 2 * math.pi / n
    return np.column_stack((r * np.cos(t), r * np.sin(t)))


def ring_segments(c: Csp) -> list[np.ndarray]:
    """The convex ring's segments: annular sectors between gaps of parallel sides."""
    ro = c.ring_ro()
    out = []
    for k in range(c.gaps):
        a0 = (2 * k + 1) * math.pi / c.gaps
        a1 = (2 * k + 3) * math.pi / c.gaps
        hi = math.asin(c.gap / (2 * c.ring_ri))
        ho = math.asin(c.gap / (2 * ro))
        ni = max(2, math.ceil((a1 - a0) / (2 * math.acos(1 - c.tol / c.ring_ri))))
        no = max(2, math.ceil((a1 - a0) / (2 * math.acos(1 - c.tol / ro))))
        ti = np.linspace(a0 + hi, a1 - hi, ni + 1)
        to = np.linspace(a1 - ho, a0 + ho, no + 1)
        out.append(np.vstack((np.column_stack((c.ring_ri * np.cos(ti), c.ring_ri * np.sin(ti))),
                              np.column_stack((ro * np.cos(to), ro * np.sin(to))))))
    return out


def chamfered(h: float, leg: float) -> np.ndarray:
    """A square of half-size ``h`` with its corners cut at 45° by ``leg``."""
    return np.array([(-h + leg, -h), (h - leg, -h), (h, -h + leg), (h, h - leg), (h - leg, h),
                     (-h + leg, h), (-h, h - leg), (-h, -h + leg)])
