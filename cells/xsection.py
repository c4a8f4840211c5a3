"""Cross-section figures derived from the layout along a cut line.

The cut line is intersected with every layer's polygons read from the cell (after
flattening); each layer's stretch along the cut then builds the stack from the bottom
up, with layer thicknesses as parameters::

    z ^        ____ ball (sphere of footprint Ø, truncated to ball_height)
      |   ____/ UBM\\____          PI3: a film with the connection hole opened
      |  |  RDL follows the surface |   RDL: metal where drawn, on whatever is below
      |  |__  _  _  _  _  __________|   PI2: a film with the concave opening; the ring
      |     |_| |_| |_| |_|              standing inside it gives the convex profile
      |_______________________________  PI1, passivation: films with their openings
      +-----------------------------------> position along the cut (µm)

Dielectrics are drawn in the layout as openings, so a dielectric is present along the
cut wherever its opening layer is absent. Everything is conformal (each film follows
the surface below it); sidewalls are vertical. The vertical scale is exaggerated by a
stated factor. matplotlib is imported only when a figure is drawn (Agg backend).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import gdstk
import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from layoutgen.io import atomic_path
from layoutgen.layers import DEFAULT_LAYERS, LayerMap

__all__ = ["DEFAULT_THICKNESSES", "cross_section_png", "cross_section_profile", "stack"]

#: default film thicknesses, µm
DEFAULT_THICKNESSES: dict[str, float] = {
    "pad": 1.0, "passivation": 1.0, "pi1": 5.0, "pi2": 5.0, "rdl": 4.0, "pi3": 8.0, "ubm": 2.0,
}
_LAYERS = ("PAD", "PASSIVATION", "PI1", "PI2", "RDL", "PI3", "UBM", "BALL")


def cross_section_profile(cell: gdstk.Cell, cut: tuple[tuple[float, float], tuple[float, float]],
                          layers: LayerMap = DEFAULT_LAYERS
                          ) -> dict[str, list[tuple[float, float]]]:
    """Where each layer's shapes lie along the cut line.

    Args:
        cell: the cell to cut (its hierarchy is flattened).
        cut: ((x0, y0), (x1, y1)), µm.
        layers: layer map.

    Returns:
        Layer name -> sorted, merged intervals (s0, s1) along the cut, µm from its
        midpoint (negative towards (x0, y0)).
    """
    (x0, y0), (x1, y1) = cut
    line = LineString(cut)
    length = math.hypot(x1 - x0, y1 - y0)
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    box = line.buffer(1.0).bounds
    out: dict[str, list[tuple[float, float]]] = {}
    for name in _LAYERS:
        lay, dt = layers.spec(name)
        geoms = []
        for p in cell.get_polygons(layer=lay, datatype=dt):
            (bx0, by0), (bx1, by1) = p.bounding_box()
            if bx1 < box[0] or bx0 > box[2] or by1 < box[1] or by0 > box[3]:
                continue
            geoms.append(shapely.make_valid(Polygon(p.points)))
        ivals: list[tuple[float, float]] = []
        if geoms:
            inter = shapely.union_all(geoms).intersection(line)
            parts = getattr(inter, "geoms", [inter])
            for g in parts:
                if g.is_empty or g.geom_type != "LineString":
                    continue
                s = [(px - mx) * ux + (py - my) * uy for px, py in g.coords]
                ivals.append((min(s), max(s)))
        ivals.sort()
        merged: list[tuple[float, float]] = []
        for a, b in ivals:
            if merged and a <= merged[-1][1] + 1e-9:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        out[name] = merged
    return out


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]
               ) -> list[tuple[float, float]]:
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def _mask(s: np.ndarray, ivals: list[tuple[float, float]]) -> np.ndarray:
    m = np.zeros(len(s), dtype=bool)
    for a, b in ivals:
        m |= (s >= a) & (s <= b)
    return m


def stack(profile: Mapping[str, list[tuple[float, float]]], s: np.ndarray,
          thicknesses: Mapping[str, float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Bottom and top (µm) of every film at the positions ``s`` along the cut.

    Args:
        profile: from :func:`cross_section_profile`.
        s: positions along the cut, µm.
        thicknesses: film thicknesses by name (pad, passivation, pi1, pi2, rdl, pi3, ubm), µm.

    Returns:
        Film name -> (bottom, top) arrays; where a film is absent, top == bottom.
    """
    t = {**DEFAULT_THICKNESSES, **thicknesses}
    z = np.zeros(len(s))
    films: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for film, layer, drawn_as_opening in (("pad", "PAD", False),
                                          ("passivation", "PASSIVATION", True),
                                          ("pi1", "PI1", True), ("pi2", "PI2", True),
                                          ("rdl", "RDL", False), ("pi3", "PI3", True),
                                          ("ubm", "UBM", False)):
        m = _mask(s, profile.get(layer, []))
        present = ~m if drawn_as_opening else m
        top = z + np.where(present, t[film], 0.0)
        films[film] = (z.copy(), top)
        z = top
    return films


def cross_section_png(cell: gdstk.Cell, cut: tuple[tuple[float, float], tuple[float, float]],
                      path: str | Path, thicknesses: Mapping[str, float] | None = None,
                      ball_height: float = 0.0, vertical_exaggeration: float = 4.0,
                      layers: LayerMap = DEFAULT_LAYERS, title: str = "",
                      samples: int = 6000, dpi: int = 150) -> Path:
    """Draw the cross-section along ``cut`` to a PNG, atomically.

    Args:
        cell: the cell to cut.
        cut: ((x0, y0), (x1, y1)), µm.
        path: output PNG.
        thicknesses: film thicknesses, µm (see :data:`DEFAULT_THICKNESSES`).
        ball_height: solder ball height above the rim of the metal it wets (UBM, else
            the RDL in the PI3 hole), µm; the ball is the sphere through the wetted edges
            with this height. 0: the sphere whose widest chord is the BALL footprint. The
            figure is cut off above the film stack; the ball's size is stated.
        vertical_exaggeration: vertical scale / horizontal scale.
        layers: layer map (also gives the colours).
        title: figure title.
        samples: positions sampled along the cut.
        dpi: resolution of the PNG.

    Returns:
        The path written.
    """
    # a Figure of its own with the Agg canvas: no pyplot, so a notebook's backend and
    # figures are left alone
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon as MplPolygon

    prof = cross_section_profile(cell, cut, layers)
    (x0, y0), (x1, y1) = cut
    half = math.hypot(x1 - x0, y1 - y0) / 2
    s = np.linspace(-half, half, samples)
    th = {**DEFAULT_THICKNESSES, **(thicknesses or {})}
    films = stack(prof, s, th)
    colors = {"pad": layers["PAD"].color, "passivation": layers["PASSIVATION"].color,
              "pi1": layers["PI1"].color, "pi2": layers["PI2"].color,
              "rdl": layers["RDL"].color, "pi3": layers["PI3"].color, "ubm": layers["UBM"].color}
    labels = {"pad": "chip pad (PAD)", "passivation": "passivation", "pi1": "PI1",
              "pi2": "PI2 (concave opening, convex ring)", "rdl": "RDL", "pi3": "PI3",
              "ubm": "UBM"}
    stack_top = float(max(films["ubm"][1].max(), films["pi3"][1].max()))
    top_view = stack_top + 2.5 * th["pi3"]
    fig = Figure(figsize=(10, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.fill_between(s, -3.5, 0.0, color="#9e9e9e", label="silicon", linewidth=0)
    for film in ("pad", "passivation", "pi1", "pi2", "rdl", "pi3", "ubm"):
        bot, top = films[film]
        if np.any(top > bot):
            ax.fill_between(s, bot, top, where=top > bot, color=colors[film],
                            label=labels[film], linewidth=0, alpha=0.95, step=None)
    # the ball: a sphere through the edges of the wetted metal (UBM, else the RDL in the
    # PI3 hole), its bottom following the surface it wets
    ball = prof.get("BALL", [])
    wet = prof.get("UBM") or _intersect(prof.get("PI3", []), prof.get("RDL", []))
    ball_note = ""
    if ball and wet:
        a, b = max(ball, key=lambda iv: iv[1] - iv[0])
        c = (a + b) / 2
        wa, wb = min(wet, key=lambda iv: abs((iv[0] + iv[1]) / 2 - c))
        surf = films["ubm"][1]
        ia, ib = int(np.searchsorted(s, wa)), int(np.searchsorted(s, wb)) - 1
        z_rim = float(max(surf[ia], surf[ib]))
        hw = (wb - wa) / 2
        cw = (wa + wb) / 2
        if ball_height > 0:
            height = ball_height
        else:  # the sphere whose widest chord is the BALL footprint
            r_f = (b - a) / 2
            height = r_f + math.sqrt(max(r_f * r_f - hw * hw, 0.0))
        d = (height * height - hw * hw) / (2 * height)
        r = height - d
        zc = z_rim + d
        t0 = math.atan2(-d, -hw)  # left wetted edge, going over the top to the right
        t1 = math.atan2(-d, hw)
        ang = np.linspace(t0, t1 - 2 * math.pi if t1 > t0 else t1, 721)
        arc = np.column_stack((cw + r * np.cos(ang), zc + r * np.sin(ang)))
        inside = (s >= wa) & (s <= wb)
        bottom = np.column_stack((s[inside], surf[inside]))[::-1]
        ax.add_patch(MplPolygon(np.vstack((arc, bottom)), closed=True,
                                facecolor=layers["BALL"].color, edgecolor="#606060",
                                linewidth=0.8, label="solder ball", zorder=2))
        ball_note = (f"solder ball: widest Ø {2 * r:.0f} µm (BALL footprint Ø {b - a:.0f} µm), "
                     f"{height:.0f} µm high above the rim; cut off above")
    # name the embossed portion: the PI2 openings around the ball centre and the ring
    # PI2 left standing between them
    pi2 = prof.get("PI2", [])
    centre = (sum(ball[0]) / 2) if ball else 0.0
    near = [iv for iv in pi2 if iv[1] >= centre - 200 and iv[0] <= centre + 200]
    if len(near) >= 2:
        ca, cb = near[0][0], near[-1][1]
        zt = float(films["pi1"][1].max())
        ax.annotate("", xy=(ca, -1.5), xytext=(cb, -1.5),
                    arrowprops={"arrowstyle": "<->", "lw": 0.8})
        ax.text((ca + cb) / 2, -2.6, "concave portion (PI2 opening)", ha="center",
                va="center", fontsize=7, bbox={"fc": "white", "ec": "none", "pad": 0.5})
        for (_a1, b1), (a2, _b2) in zip(near[:-1], near[1:], strict=True):
            ring_c = (b1 + a2) / 2
            ax.annotate("convex ring", xy=(ring_c, zt + th["pi2"]),
                        xytext=(ring_c, top_view - 2.0 * th["pi3"]), ha="center", fontsize=7,
                        arrowprops={"arrowstyle": "->", "lw": 0.6}, zorder=3)
    ax.set_xlim(-half, half)
    ax.set_ylim(-3.5, top_view)
    ax.set_aspect(vertical_exaggeration)
    ax.set_xlabel(f"position along the cut ({x0:g}, {y0:g}) → ({x1:g}, {y1:g}), µm")
    ax.set_ylabel("height, µm")
    note = (f"vertical scale ×{vertical_exaggeration:g} (1 µm of height is drawn as "
            f"{vertical_exaggeration:g} µm of width); films conformal, sidewalls vertical")
    if ball_note:
        note += "\n" + ball_note
    fig.text(0.01, 0.01, note, fontsize=7, va="bottom")
    ax.set_title(title or "cross-section", fontsize=10)
    handles, labs = ax.get_legend_handles_labels()
    ax.legend(handles, labs, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7,
              framealpha=0.9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    return path
