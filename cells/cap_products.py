"""Product kinds of the hermetic solder-seal cap process: ``capped_die`` and ``capped_wafer``.

``capped_die``: one die with every device and cap layer, in device-wafer coordinates.

``capped_wafer``: the device-wafer layout of a whole wafer (one capped-die cell placed
by one array per row of whole dies, alignment sites, wafer outline with its notch), its
wafer map, and the cap-wafer mask set: one GDS per cap plate, mirrored about the
wafer's Y axis ((x, y) -> (-x, y)), because the cap is patterned face up and bonded face
down, and a manifest saying for each plate its layer, mirror state and tone.

Tone ("digitized data clear" / "digitized data dark": whether the drawn shapes are
clear or chrome on the plate) follows from how each cap layer is made:

* cap metal: the metallization is etched through a positive photoresist; the metal
  that stays is the resist that stays, which the chrome shields from exposure:
  data dark.
* solder plating: the bead is electroplated through openings in a positive photoresist
  (claims 3, 4, 6): the drawn bead is the opening, exposed through clear glass: data
  clear.
* spacer: spacers of a negative-tone photo-definable polymer (SU-8 type) stay where
  exposed: data clear.
* cap cut: the regions cut away are trench-etched into the cap's inner face through
  openings in a positive resist, then released after sealing from the back (grinding
  or sawing): data clear. Being an inner-face pattern it is mirrored like the others.

Builds write nothing: they return :class:`layoutgen.spec.Artifact` objects whose
``write(path)`` writes one file atomically.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gdstk
import numpy as np

from cells.align import ALIGN_PARAMS, align_site
from cells.capped import capped_die, die_params
from layoutgen import io
from layoutgen.errors import ParameterError
from layoutgen.layers import LayerMap
from layoutgen.spec import Artifact, BuildResult, Param, ProductKind, Spec
from layoutgen.wafer import (
    WaferGrid,
    die_grid,
    die_runs,
    place_dies,
    wafer_dims,
    wafer_map_csv_pieces,
    wafer_map_json_pieces,
    wafer_outline,
    wafer_params,
)

__all__ = ["PLATES", "PRODUCT_KINDS", "WAFER_PARAMS", "build_capped_die", "build_capped_wafer"]

#: the wafer's parameters
WAFER_PARAMS: dict[str, Param] = {p.key: p for p in wafer_params(200.0, "product dies")}

#: the cap plates: (plate name, layer name, tone, how the layer is made)
PLATES: tuple[tuple[str, str, str, str], ...] = (
    ("cap_metal", "CAP_METAL", "digitized data dark",
     "metallization etched through positive resist: drawn metal is chrome"),
    ("cap_solder", "CAP_SOLDER", "digitized data clear",
     "solder electroplated through openings in positive resist (claims 3, 4, 6): "
     "drawn bead is an opening, clear"),
    ("cap_spacer", "CAP_SPACER", "digitized data clear",
     "negative-tone photo-definable polymer spacers: drawn spacers are exposed, clear"),
    ("cap_cut", "CAP_CUT", "digitized data clear",
     "cut regions trench-etched into the inner face through positive resist, released "
     "after sealing: drawn cut is an opening, clear"),
)


def _die_kwargs(spec: Spec) -> dict[str, Any]:
    """The :func:`cells.capped.capped_die` arguments of a spec (``seal.width``: ``seal_width``)."""
    return {key.replace(".", "_"): spec[key] for key in die_params()}


def _layout_artifact(name: str, top: gdstk.Cell | list[gdstk.Cell], role: str) -> Artifact:
    return Artifact(name, lambda path: io.write(top, Path(path)), role)


def _text_artifact(name: str, text: str, role: str) -> Artifact:
    return Artifact(name, lambda path: io.write_text(Path(path), text), role)


# ------------------------------------------------------------------ capped die
def build_capped_die(spec: Spec, layers: LayerMap) -> BuildResult:
    """One capped die (``<name>.gds``: a top cell named after the product)."""
    die = capped_die(**_die_kwargs(spec), layers=layers)
    top = gdstk.Cell(spec.name)
    top.add(gdstk.Reference(die))
    info = {"die_cell": die.name, "seal_corner": spec["seal.corner"],
            "die_size_um": [spec["die.width"], spec["die.height"]]}
    return BuildResult(spec, top, [_layout_artifact(f"{spec.name}.gds", top, "layout")], info)


# ------------------------------------------------------------------ wafer
def _subset(grid: WaferGrid, keep: np.ndarray) -> WaferGrid:
    return dataclasses.replace(grid, centers=grid.centers[keep], rows=grid.rows[keep],
                               cols=grid.cols[keep])


def _mirrored(grid: WaferGrid) -> WaferGrid:
    """The grid mirrored about the wafer's Y axis, in place_dies order."""
    order = _mirror_order(grid.centers)
    centers = grid.centers[order]
    np.negative(centers[:, 0], out=centers[:, 0])
    cols = grid.cols[order]
    return dataclasses.replace(grid, centers=centers, rows=grid.rows[order],
                               cols=cols.max() - cols if len(cols) else cols)


def _mirror_order(centers: np.ndarray) -> np.ndarray:
    """``np.lexsort((-x, -y))`` of die centres (N×2, µm): y descending, then mirrored x
    ascending. For centres in die_grid order (y descending, then x strictly ascending)
    that is each row reversed, found without sorting."""
    x, y = centers[:, 0], centers[:, 1]
    if len(y) < 2:
        return np.arange(len(y))
    dy = np.diff(y)
    new_row = dy != 0
    if not np.all((dy < 0) | (~new_row & (np.diff(x) > 0))):
        return np.lexsort((-x, -y))
    starts = np.flatnonzero(np.concatenate(([True], new_row)))
    ends = np.append(starts[1:], len(y))
    row = np.cumsum(np.concatenate(([True], new_row))) - 1
    return (starts + ends - 1)[row] - np.arange(len(y))


def _nearest_zero(values: np.ndarray) -> float:
    """The value nearest 0, the negative one of a tie: ``min(np.unique(values),
    key=lambda v: (abs(v), v))``, without np.unique (which imports numpy.ma: 15 ms)."""
    size = np.abs(values)
    return float(values[size == size.min()].min())


def _align_mask(grid: WaferGrid, count: int) -> np.ndarray:
    """Which dies give way to alignment sites: the ends of the row nearest the wafer
    centre, and with 4 sites also the ends of the column nearest it."""
    mask = np.zeros(grid.count, dtype=bool)
    if grid.count == 0:
        return mask
    x, y = grid.centers[:, 0], grid.centers[:, 1]
    row_y = _nearest_zero(y)
    in_row = np.nonzero(y == row_y)[0]
    mask[in_row[np.argmin(x[in_row])]] = True
    mask[in_row[np.argmax(x[in_row])]] = True
    if count == 4:
        col_x = _nearest_zero(x)
        in_col = np.nonzero(x == col_x)[0]
        mask[in_col[np.argmax(y[in_col])]] = True
        mask[in_col[np.argmin(y[in_col])]] = True
    return mask


def _fits(diameter: float, exclusion: float, die: tuple[float, float], scribe: float,
          offset: str, need: int) -> bool:
    g = die_grid(diameter, exclusion, die, (die[0] + scribe, die[1] + scribe), offset)
    return g.count >= need


def _largest(fits: Callable[[float], bool], hi: float) -> float:
    """The largest size in [1, hi] µm for which ``fits(size)`` holds (to 1 µm), or 0."""
    if not fits(1.0):
        return 0.0
    lo = 1.0
    for _ in range(40):
        if hi - lo < 1.0:
            break
        mid = (lo + hi) / 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return math.floor(lo)


def _too_few(spec: Spec, grid: WaferGrid, sites: int, diameter: float, exclusion: float,
             scribe: float) -> ParameterError:
    """The error for a wafer that cannot hold the alignment sites and wafer.min_dies."""
    w, h = spec["die.width"], spec["die.height"]
    offset, min_dies = spec["wafer.grid_offset"], spec["wafer.min_dies"]
    need = sites + min_dies
    have = grid.count - sites
    where = (f"only {max(have, 0)} whole dies fit in the usable circle (radius "
             f"{grid.usable_radius / 1000:g} mm) beside {sites} alignment sites")
    if have >= 1:
        allowed = f">= 1 and <= {have}"
        return ParameterError("wafer.min_dies", f"must be {allowed}: {where}, got {min_dies}",
                              min_dies, allowed)
    max_w = _largest(lambda v: _fits(diameter, exclusion, (v, h), scribe, offset, need), w)
    if max_w >= 1:
        allowed = f"> 0 and <= {max_w:g} µm (with die.height {h:g} µm)"
        return ParameterError("die.width", f"must be {allowed}: {where}, got {w:g}", w,
                              allowed)
    max_h = _largest(lambda v: _fits(diameter, exclusion, (w, v), scribe, offset, need), h)
    if max_h >= 1:
        allowed = f"> 0 and <= {max_h:g} µm (with die.width {w:g} µm)"
        return ParameterError("die.height", f"must be {allowed}: {where}, got {h:g}", h,
                              allowed)
    allowed = "a larger wafer or smaller dies"
    return ParameterError("wafer.diameter", f"too small: {where}", spec["wafer.diameter"],
                          allowed)


def _with_sites(map_json: str, sites: list[dict[str, Any]]) -> str:
    """The wafer map JSON text (or its first piece, up to the die list at least) with an
    ``align_sites`` list added.

    Equal to re-encoding the whole document with ``indent=1, sort_keys=True``
    (``align_sites`` sorts first), without re-encoding the die list, which is slow.
    """
    if not map_json.startswith("{\n"):  # pragma: no cover - layoutgen.wafer's format
        raise ValueError("unexpected wafer map JSON layout")
    body = json.dumps(sites, indent=1, sort_keys=True).replace("\n", "\n ")
    return '{\n "align_sites": ' + body + ",\n" + map_json[2:]


def _mirrored_cell(src: gdstk.Cell, layer: int, datatype: int) -> gdstk.Cell | None:
    """``src`` flattened on one layer and mirrored about its own Y axis, or None if empty."""
    polys = src.get_polygons(layer=layer, datatype=datatype)
    if not polys:
        return None
    c = gdstk.Cell(f"{src.name}_mirror_{layer}_{datatype}")
    flip = np.array([-1.0, 1.0])
    for p in polys:
        c.add(gdstk.Polygon(p.points * flip, layer=layer, datatype=datatype))
    return c


def build_capped_wafer(spec: Spec, layers: LayerMap) -> BuildResult:
    """The device-wafer layout, wafer map and mirrored cap mask set of a capped wafer."""
    name = spec.name
    die = capped_die(**_die_kwargs(spec), layers=layers)
    w, h, s = spec["die.width"], spec["die.height"], spec["scribe.width"]
    diameter, exclusion, notch = wafer_dims(spec)
    n_sites = spec["align.sites"]
    site = align_site(die_width=w, die_height=h, scribe_width=s,
                      lane_width=spec["cut.lane_width"], size=spec["align.size"],
                      arm_width=spec["align.arm_width"], gap=spec["align.gap"],
                      keepout=spec["align.keepout"], layers=layers)
    full = die_grid(diameter, exclusion, (w, h), (w + s, h + s), spec["wafer.grid_offset"])
    mask = _align_mask(full, n_sites)
    if full.count - n_sites < spec["wafer.min_dies"]:
        raise _too_few(spec, full, n_sites, diameter, exclusion, s)
    if int(mask.sum()) != n_sites:
        raise ParameterError("align.sites", f"must be 2: the dies nearest the wafer's centre "
                             f"lines give fewer than {n_sites} distinct sites, got {n_sites}",
                             n_sites, "2")
    grid = _subset(full, ~mask)
    sites = full.centers[mask]

    top = gdstk.Cell(name)
    top.add(*wafer_outline(diameter, exclusion, notch, **layers.ld("WAFER")))
    arrays = place_dies(top, die, grid)
    for x, y in sites:
        top.add(gdstk.Reference(site, (float(x), float(y))))

    site_rows = [{"x": float(x), "y": float(y), "row": int(r), "col": int(c)}
                 for (x, y), r, c in zip(sites, full.rows[mask], full.cols[mask], strict=True)]

    def write_map_json(path: Path) -> Path:
        # (written piece by piece: the first piece holds the text before the dies)
        pieces = wafer_map_json_pieces(grid, name, diameter, exclusion, notch)
        return io.write_text(path, itertools.chain([_with_sites(next(pieces), site_rows)],
                                                   pieces))

    artifacts = [_layout_artifact(f"{name}.gds", top, "layout"),
                 Artifact(f"{name}_wafermap.json", write_map_json, "wafer map"),
                 Artifact(f"{name}_wafermap.csv",
                          lambda path: io.write_text(path, wafer_map_csv_pieces(grid)),
                          "wafer map")]
    mgrid = _mirrored(grid)
    mruns = die_runs(mgrid)  # (the same arrays on every plate)
    plates = []
    for plate, layer_name, tone, how in PLATES:
        lay, dt = layers.spec(layer_name)
        ptop = gdstk.Cell(f"{name}_{plate}")
        mdie = _mirrored_cell(die, lay, dt)
        if mdie is not None:
            place_dies(ptop, mdie, mgrid, runs=mruns)
        msite = _mirrored_cell(site, lay, dt)
        if msite is not None:
            for x, y in sites:
                ptop.add(gdstk.Reference(msite, (-float(x), float(y))))
        fname = f"{name}_{plate}.gds"
        artifacts.append(_layout_artifact(fname, ptop, "mask"))
        plates.append({"plate": plate, "file": fname, "layer": layer_name,
                       "gds_layer": lay, "gds_datatype": dt, "mirrored": True, "tone": tone,
                       "process": how})
    manifest = {
        "product": name,
        "units": "um",
        "device_layout": f"{name}.gds",
        "mirror": {"axis": "wafer Y axis (x = 0)", "transform": "(x, y) -> (-x, y)",
                   "why": "the cap is patterned face up and bonded face down onto the device "
                          "wafer; its layers are drawn in device-wafer coordinates"},
        "tone_convention": "digitized data clear: drawn shapes are clear (glass) on the "
                           "plate; digitized data dark: drawn shapes are chrome",
        "plates": plates,
    }
    artifacts.append(_text_artifact(f"{name}_masks.json",
                                    json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                    "mask manifest"))
    info = {"die_cell": die.name, "die_count": grid.count, "grid_offset": grid.offset,
            "counts_by_offset": dict(full.counts), "align_sites": site_rows,
            "array_references": arrays}
    return BuildResult(spec, top, artifacts, info)


_DIE_DOC = "one capped die: device and cap layers in device-wafer coordinates"
_WAFER_DOC = ("device-wafer layout of capped dies (per-row arrays, alignment sites, notch), "
              "wafer map, and the mirrored cap-wafer mask set with its manifest")

PRODUCT_KINDS: dict[str, ProductKind] = {
    "capped_die": ProductKind("capped_die", tuple(die_params().values()), build_capped_die,
                              _DIE_DOC),
    "capped_wafer": ProductKind("capped_wafer", (*die_params().values(),
                                                 *ALIGN_PARAMS.values(),
                                                 *WAFER_PARAMS.values()),
                                build_capped_wafer, _WAFER_DOC),
}
