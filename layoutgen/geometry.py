"""Geometry helpers shared by the cells: grid snapping, circles, rings, boxes.

All lengths are µm; the database grid is 1 nm (``GRID``). Every vertex a cell writes
goes through :func:`snap`.
"""

from __future__ import annotations

import math

import gdstk
import numpy as np

#: database grid, µm (1 nm)
GRID = 1e-3
#: GDSII's limit of vertices in one boundary
MAX_VERTICES = 8190
#: default chord tolerance of circles, µm
CIRCLE_TOLERANCE = 0.01


def snap(points: np.ndarray | list, grid: float = GRID) -> np.ndarray:
    """Round points (N×2, µm) to the database grid."""
    return np.round(np.asarray(points, dtype=float) / grid) * grid


def circle_vertex_count(radius: float, tolerance: float = CIRCLE_TOLERANCE) -> int:
    """Vertices of a circle of ``radius`` (µm) whose chord error is <= ``tolerance`` (µm).

    The count is a multiple of 8 (so the polygon keeps the circle's mirror symmetries
    about both axes and both diagonals), at least 16 and at most 8184 (< 8190, the
    GDSII vertex limit).
    """
    if radius <= 0:
        raise ValueError(f"radius must be > 0 µm, got {radius}")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0 µm, got {tolerance}")
    if tolerance >= radius:
        n = 16
    else:
        n = math.ceil(math.pi / math.acos(1.0 - tolerance / radius))
    n = max(16, 8 * math.ceil(n / 8))
    return min(n, 8 * (MAX_VERTICES // 8))


def circle_points(radius: float, center: tuple[float, float] = (0.0, 0.0),
                  tolerance: float = CIRCLE_TOLERANCE) -> np.ndarray:
    """Vertices (N×2, µm, snapped) of a circle inscribed with chord error <= tolerance."""
    n = circle_vertex_count(radius, tolerance)
    t = (np.arange(n) + 0.5) * (2 * math.pi / n)
    pts = np.column_stack((center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)))
    return snap(pts)


def circle(radius: float, center: tuple[float, float] = (0.0, 0.0),
           tolerance: float = CIRCLE_TOLERANCE, layer: int = 0, datatype: int = 0) -> gdstk.Polygon:
    """A circle polygon (see :func:`circle_points`)."""
    return gdstk.Polygon(circle_points(radius, center, tolerance), layer=layer, datatype=datatype)


def rect(x0: float, y0: float, x1: float, y1: float, layer: int = 0,
         datatype: int = 0) -> gdstk.Polygon:
    """An axis-parallel rectangle with snapped corners."""
    p = snap([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    return gdstk.Polygon(p, layer=layer, datatype=datatype)


def centered_rect(cx: float, cy: float, w: float, h: float, layer: int = 0,
                  datatype: int = 0) -> gdstk.Polygon:
    """A ``w`` × ``h`` rectangle centred on (cx, cy)."""
    return rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, layer, datatype)


def snapped(polys: list[gdstk.Polygon], layer: int, datatype: int) -> list[gdstk.Polygon]:
    """Copies of ``polys`` on ``layer/datatype`` with every vertex snapped to the grid."""
    return [gdstk.Polygon(snap(p.points), layer=layer, datatype=datatype) for p in polys]


def polygon_area(points: np.ndarray) -> float:
    """Unsigned area of a simple polygon (shoelace), µm²."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
