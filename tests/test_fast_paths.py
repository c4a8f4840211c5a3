"""The fast paths of the fixed costs give exactly what the slow ones gave.

- The wafer map JSON and CSV (``layoutgen.wafer``) are byte-identical to the reference
  encoders they replace: ``json.dumps(doc, indent=1, sort_keys=True)`` (the pure-Python
  encoder) over one dict per die, and ``csv.writer`` rows, whole and in pieces.
- The die grid, the arrays that place it and the mirrored order of the cap plates are
  what the sorting and per-row implementations they replace gave.
- Each command imports what it needs only: ``--version`` neither gdstk nor numpy, a
  build only its own product kind's cells and no picture or report code, a check
  neither ``cells`` nor ``importlib.metadata`` nor ``xml.sax`` (which pulls
  ``urllib.request``, ``http`` and ``ssl``); what replaced those imports gives the same
  results (``layoutgen.__version__``, ``layoutgen.cell``, the lazy ``KINDS``, the XML
  escape).
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path
from xml.sax.saxutils import escape as sax_escape

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layoutgen import wafer
from layoutgen.layers import xml_escape
from layoutgen.wafer import (
    GRID_OFFSETS,
    WaferGrid,
    die_grid,
    wafer_map_csv,
    wafer_map_csv_pieces,
    wafer_map_json,
    wafer_map_json_pieces,
    wafer_map_rows,
)


# ----------------------------------------------------------------------------- references
def reference_rows(grid: WaferGrid) -> list[dict]:
    """The die rows as layoutgen.wafer made them before (one Python call per die)."""
    return [
        {"index": i, "row": int(r), "col": int(c), "x": float(x), "y": float(y)}
        for i, (r, c, (x, y)) in enumerate(zip(grid.rows, grid.cols, grid.centers, strict=True))
    ]


def reference_json(grid: WaferGrid, product: str, wafer_diameter: float,
                   edge_exclusion: float, notch_depth: float = 1000.0) -> str:
    """The wafer map JSON through the reference (pure-Python, indented) encoder."""
    doc = {
        "notch_depth": notch_depth,
        "product": product,
        "units": "um",
        "wafer_diameter": wafer_diameter,
        "edge_exclusion": edge_exclusion,
        "usable_radius": grid.usable_radius,
        "die_size": list(grid.die),
        "step": list(grid.step),
        "grid_offset": grid.offset,
        "counts_by_offset": grid.counts,
        "die_count": grid.count,
        "dies": reference_rows(grid),
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def reference_csv(grid: WaferGrid) -> str:
    """The wafer map CSV through csv.writer."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "row", "col", "x_um", "y_um"])
    for d in reference_rows(grid):
        w.writerow([d["index"], d["row"], d["col"], f"{d['x']:.3f}", f"{d['y']:.3f}"])
    return buf.getvalue()


def assert_same(grid: WaferGrid, product: str = "w", diameter: float = 300_000.0,
                exclusion: float = 3000.0, notch: float = 1000.0) -> None:
    fast = wafer_map_json(grid, product, diameter, exclusion, notch)
    assert fast.encode() == reference_json(grid, product, diameter, exclusion, notch).encode()
    assert json.loads(fast)["die_count"] == grid.count
    pieces = list(wafer_map_json_pieces(grid, product, diameter, exclusion, notch))
    assert "".join(pieces) == fast and pieces[0].startswith("{\n")
    assert wafer_map_csv(grid).encode() == reference_csv(grid).encode()
    assert "".join(wafer_map_csv_pieces(grid)) == wafer_map_csv(grid)
    assert repr(wafer_map_rows(grid)) == repr(reference_rows(grid))  # (NaN != NaN)
    for mine, ref in zip(wafer_map_rows(grid), reference_rows(grid), strict=True):
        assert [type(v) for v in mine.values()] == [type(v) for v in ref.values()]


def grid_of(centers, rows=None, cols=None, **kw) -> WaferGrid:
    centers = np.asarray(centers, dtype=float).reshape(-1, 2)
    n = len(centers)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    cols = np.arange(n)[::-1] if cols is None else np.asarray(cols)
    args = {"offset": "die", "counts": {"die": n, "corner": 0}, "step": (1.5, 2.25),
            "die": (1.0, 2.0), "usable_radius": 147000.5}
    args.update(kw)
    return WaferGrid(centers, rows, cols, **args)


# ----------------------------------------------------------------------------- wafer map
@pytest.mark.parametrize(("diameter", "exclusion", "die", "step", "offset"), [
    (25_000.0, 3000.0, (5000.0, 4000.0), (5080.0, 4080.0), "auto"),       # tiny
    (25_000.0, 3000.0, (2000.0, 2000.0), (2080.0, 2080.0), "corner"),
    (300_000.0, 3000.0, (4000.0, 3000.0), (4080.0, 3080.0), "auto"),       # ~5,500 dies
    (300_000.0, 5000.0, (3333.333, 2777.777), (3413.333, 2857.777), "edge_x"),
    (450_000.0, 3000.0, (4000.0, 3000.0), (4080.0, 3080.0), "auto"),       # ~12,500 dies
    (450_000.0, 3000.0, (2000.0, 2500.0), (2060.0, 2560.0), "auto"),       # ~30,000 dies
])
def test_wafer_map_bytes_equal_the_reference_encoders(diameter, exclusion, die, step,
                                                       offset) -> None:
    grid = die_grid(diameter, exclusion, die, step, offset)
    assert grid.count > 0
    assert_same(grid, "w_test", diameter, exclusion, 1000.0)


def test_empty_wafer_map_bytes() -> None:
    grid = die_grid(25_000.0, 3000.0, (30_000.0, 30_000.0), (30_080.0, 30_080.0))
    assert grid.count == 0
    assert_same(grid)
    assert '\n "dies": [],\n' in wafer_map_json(grid, "w", 25_000.0, 3000.0)
    assert wafer_map_csv(grid) == "index,row,col,x_um,y_um\n"


def test_odd_numbers_and_names() -> None:
    centers = [(-0.0, 0.0), (-1234.5675, 1e-7), (1e17, -3.3333333333333335), (0.1 + 0.2, -2.5e-5),
               (-149_999.9995, 5e-324), (123456789.123, -1.7976931348623157e308)]
    grid = grid_of(centers, rows=np.array([0, 0, 1, 1, 2, -3]), cols=np.array([5, 4, 3, 2, 1, 0]))
    for product in ("w", 'a "quoted" \\ name\n', "dies", "é\u2028"):
        assert_same(grid, product, 450_000.0, 2999.5, 0.25)
    # float32 centres, numpy scalars in the metadata
    grid32 = grid_of(np.asarray(centers[:4], dtype=np.float32), die=(np.float64(1.1), 2),
                     step=(np.float64(1.7), 3), usable_radius=np.float64(-0.0))
    assert_same(grid32, "w", np.float64(450_000.0), 2999.5, np.float64(0.1))


def test_extreme_integers() -> None:
    big = np.iinfo(np.int64)
    grid = grid_of([(1.0, 2.0)] * 6, rows=np.array([big.min, big.max, -1, 0, 2**32, -(2**32)]),
                   cols=np.array([0, 9, 10, 99, 100, big.max], dtype=np.int64))
    assert_same(grid)
    assert_same(grid_of([(0.5, -0.5)], rows=np.array([0]), cols=np.array([0])))


def test_coordinates_found_by_row_and_column() -> None:
    """x by column and y by row when they determine them (few rows and columns, many
    dies), by sorting when they do not: the same text either way."""
    n = 40
    rows, cols = np.arange(n) // 8, np.arange(n) % 8
    xs, ys = cols * 1.5 - 3.0, rows * -2.25 + 0.0
    assert_same(grid_of(np.column_stack((xs, ys)), rows=rows, cols=cols))
    for i, bad in [(5, 0.1), (17, -0.0), (39, math.nan), (0, 1e300)]:
        other = xs.copy()
        other[i] = bad  # a column whose dies differ in x: found by sorting
        assert_same(grid_of(np.column_stack((other, ys)), rows=rows, cols=cols))
        other = ys.copy()
        other[i] = bad
        assert_same(grid_of(np.column_stack((xs, other)), rows=rows, cols=cols))
    zero = np.zeros(n)  # 0.0 and -0.0 in one column and one row
    zero[::3] = -0.0
    assert_same(grid_of(np.column_stack((zero, zero)), rows=rows, cols=cols))
    gaps = grid_of(np.column_stack((xs, ys)), rows=rows * 3 - 7, cols=cols * 2)  # unused keys
    assert_same(gaps)


@pytest.mark.parametrize("block", [1, 2, 3, 7])
def test_dies_in_blocks(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Lines made a block of dies at a time join as one text (the ``,`` between JSON dies
    too), whether the last block is full or not."""
    monkeypatch.setattr(wafer, "_BLOCK", block)
    for n in (1, 2, 3, 6, 7, 8, 15):
        centers = [(-1.5 * i, 0.1 * (i % 4)) for i in range(n)]
        grid = grid_of(centers, rows=np.arange(n) // 3, cols=np.arange(n) % 3)
        assert_same(grid)
        if n > block:
            assert len(list(wafer_map_csv_pieces(grid))) == 1 + -(-n // block)


def test_non_finite_centres_encode_as_json_does() -> None:
    grid = grid_of([(math.nan, 1.0), (math.inf, -math.inf), (2.0, 3.5)])
    assert_same(grid)
    assert '"x": NaN' in wafer_map_json(grid, "w", 1.0, 0.0)


def test_mismatched_grid_still_refused() -> None:
    grid = grid_of([(1.0, 2.0), (3.0, 4.0)], rows=np.array([0]), cols=np.array([0, 1]))
    for encode in (wafer_map_rows, wafer_map_csv,
                   lambda g: wafer_map_json(g, "w", 1.0, 0.0)):
        with pytest.raises(ValueError):
            encode(grid)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.floats(allow_nan=False, allow_infinity=False, width=64),
                          st.integers(-10**6, 10**6), st.integers(0, 10**6)),
                max_size=40),
       st.text(max_size=8))
def test_any_die_list_matches_the_reference(dies, product) -> None:
    centers = [(x, y) for x, y, _, _ in dies]
    grid = grid_of(centers, rows=np.array([r for *_, r, _ in dies], dtype=np.int64),
                   cols=np.array([c for *_, c in dies], dtype=np.int64))
    assert_same(grid, product)


# ----------------------------------------------------------------------------- imports
#: never needed by the commands below (a check, a --no-report build, --version)
UNNEEDED = ("xml.sax", "urllib.request", "http.client", "ssl", "email", "matplotlib",
            "PIL", "numpy.ma", "layoutgen.preview", "layoutgen.htmlreport")


def imported_by(code: str, cwd: Path) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return set(json.loads(proc.stdout.splitlines()[-1]))


def loaded(mods: set[str], *names: str) -> list[str]:
    """Which of ``names`` (packages with their submodules) are in ``mods``."""
    return sorted(m for m in mods for n in names if m == n or m.startswith(n + "."))


def test_version_output_and_attribute(tmp_path: Path) -> None:
    import layoutgen

    assert layoutgen.__version__ == version("layoutgen")
    code = """
        import contextlib, io
        from layoutgen.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(["--version"])
        print(out.getvalue().strip())
    """
    script = textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"layoutgen {version('layoutgen')}"
    mods = imported_by(code, tmp_path)
    # (importlib.metadata, which reads the version, parses with email)
    assert not loaded(mods, "gdstk", "numpy", "shapely", "cells", "tomllib",
                      *(m for m in UNNEEDED if m != "email"))


def test_importing_the_cli_imports_little(tmp_path: Path) -> None:
    mods = imported_by("import layoutgen.cli; layoutgen.cli.make_parser()", tmp_path)
    assert not loaded(mods, "importlib.metadata", "gdstk", "numpy", "shapely", "cells",
                      "layoutgen.spec", *UNNEEDED)


def test_lazy_package_attributes() -> None:
    import layoutgen
    import layoutgen.naming

    assert layoutgen.cell is layoutgen.naming.cell
    names: dict = {}
    exec("from layoutgen import *", names)
    assert names["cell"] is layoutgen.naming.cell
    assert names["DEFAULT_LAYERS"] is layoutgen.DEFAULT_LAYERS
    with pytest.raises(AttributeError):
        _ = layoutgen.no_such_name


@pytest.mark.parametrize(("product", "own", "other"), [
    ("capped_wafer", "cells.cap_products", ("cells.csp_products", "cells.rdl", "shapely")),
    ("csp_wafer", "cells.csp_products", ("cells.cap_products", "cells.capped")),
])
def test_build_imports_only_its_kind(tmp_path: Path, product: str, own: str,
                                     other: tuple[str, ...]) -> None:
    mods = imported_by(f"""
        from layoutgen.cli import main
        assert main(["build", {product!r}, "--no-report", "-q", "-o", "out"]) == 0
    """, tmp_path)
    assert (tmp_path / "out" / f"{product}.gds").is_file()
    assert own in mods
    assert not loaded(mods, *other, "importlib.metadata", "importlib.resources",
                      "layoutgen.check.engine", *UNNEEDED)


def test_check_imports_neither_cells_nor_unused_modules(tmp_path: Path) -> None:
    from cells.products import KINDS, builtin_specs
    from layoutgen import io as lio
    from layoutgen.layers import DEFAULT_LAYERS
    from layoutgen.spec import load_spec

    spec = load_spec(builtin_specs()["capped_die"], KINDS)
    gds = lio.write(KINDS["capped_die"].build(spec, DEFAULT_LAYERS).top, tmp_path / "die.gds")
    mods = imported_by(f"""
        from layoutgen.cli import main
        assert main(["check", {str(gds)!r}, "-q"]) in (0, 1)
    """, tmp_path)
    assert "layoutgen.check.engine" in mods
    assert not loaded(mods, "cells", "layoutgen.spec", "importlib.metadata",
                      "importlib.resources", "tomllib", *UNNEEDED)


def test_lazy_kinds_are_the_modules_kinds() -> None:
    import cells.cap_products
    import cells.csp_products
    from cells.products import KIND_MODULES, KINDS

    eager = {**cells.cap_products.PRODUCT_KINDS, **cells.csp_products.PRODUCT_KINDS}
    assert list(KINDS) == list(eager) == list(KIND_MODULES)
    assert len(KINDS) == len(eager)
    assert all(KINDS[k] is v for k, v in eager.items())
    assert dict(KINDS) == eager and "capped_wafer" in KINDS and "toy" not in KINDS
    with pytest.raises(KeyError):
        KINDS["toy"]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_xml_escape_is_saxutils_escape(text: str) -> None:
    assert xml_escape(text) == sax_escape(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1,
                max_size=30))
def test_nearest_zero_is_the_unique_expression(values: list[float]) -> None:
    from cells.cap_products import _nearest_zero

    arr = np.array(values)
    ref = min(np.unique(arr), key=lambda v: (abs(v), v))
    got = _nearest_zero(arr)
    assert got == ref
    assert np.array_equal(arr == got, arr == ref)


def test_kind_membership_imports_no_kind(tmp_path: Path) -> None:
    mods = imported_by("""
        from cells.products import KINDS
        assert "csp_wafer" in KINDS and "toy" not in KINDS and len(KINDS) == 4
        assert sorted(KINDS) == ["capped_die", "capped_wafer", "csp_die", "csp_wafer"]
    """, tmp_path)
    assert not loaded(mods, "cells.cap_products", "cells.csp_products", "gdstk")


# ----------------------------------------------------------------------------- die placement
def reference_place_dies(top, die_cell, grid: WaferGrid, die_origin=(0.0, 0.0)) -> int:
    """layoutgen.wafer.place_dies as it was (a comparison of every die per row)."""
    import gdstk

    n = 0
    sx = grid.step[0]
    for r in np.unique(grid.rows):
        sel = grid.rows == r
        xs = grid.centers[sel, 0]
        y = float(grid.centers[sel, 1][0])
        cols = grid.cols[sel]
        breaks = np.nonzero(np.diff(cols) != 1)[0] + 1
        for chunk in np.split(np.arange(len(xs)), breaks):
            x0 = float(xs[chunk[0]])
            origin = (x0 - die_origin[0], y - die_origin[1])
            ref = gdstk.Reference(die_cell, origin)
            if len(chunk) > 1:
                ref.repetition = gdstk.Repetition(columns=len(chunk), rows=1, spacing=(sx, 0))
            top.add(ref)
            n += 1
    return n


def _refs(cell) -> list[tuple]:
    return [(r.origin, r.repetition.columns, r.repetition.rows, r.repetition.spacing)
            for r in cell.references]


def reference_die_grid(wafer_diameter: float, edge_exclusion: float, die, step,
                       offset: str = "auto") -> WaferGrid:
    """layoutgen.wafer.die_grid as it was (a full mesh per offset, then a sort)."""
    from layoutgen.geometry import snap

    radius = wafer_diameter / 2 - edge_exclusion
    counts, results = {}, {}
    names = list(GRID_OFFSETS) if offset == "auto" else [offset]
    for name in names:
        off = GRID_OFFSETS[name]
        nx = int(math.ceil(radius / step[0])) + 2
        ny = int(math.ceil(radius / step[1])) + 2
        gx, gy = np.meshgrid(np.arange(-nx, nx + 1), np.arange(-ny, ny + 1))
        cx, cy = (gx + off[0]) * step[0], (gy + off[1]) * step[1]
        fx, fy = np.abs(cx) + die[0] / 2, np.abs(cy) + die[1] / 2
        ok = fx * fx + fy * fy <= radius * radius
        counts[name] = int(ok.sum())
        results[name] = (cx[ok], cy[ok], np.column_stack((gx[ok], gy[ok])))
    best = max(names, key=lambda n: (counts[n], -names.index(n)))
    cx, cy, idx = results[best]
    order = np.lexsort((cx, -cy))
    cx, cy, idx = cx[order], cy[order], idx[order]
    rows = (idx[:, 1].max() - idx[:, 1]) if len(idx) else idx[:, 1]
    cols = (idx[:, 0] - idx[:, 0].min()) if len(idx) else idx[:, 0]
    return WaferGrid(snap(np.column_stack((cx, cy))), rows.astype(int), cols.astype(int), best,
                     counts, step, die, radius)


def assert_same_grid(mine: WaferGrid, ref: WaferGrid) -> None:
    assert (mine.offset, mine.counts, mine.step, mine.die, mine.usable_radius) == \
        (ref.offset, ref.counts, ref.step, ref.die, ref.usable_radius)
    for name in ("centers", "rows", "cols"):
        a, b = getattr(mine, name), getattr(ref, name)
        assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), name


@pytest.mark.parametrize(("diameter", "exclusion", "die", "step"), [
    (200_000.0, 3000.0, (2000.0, 2000.0), (2100.0, 2100.0)),      # W-CAP
    (450_000.0, 3000.0, (2000.0, 2000.0), (2100.0, 2100.0)),
    (300_000.0, 5000.0, (3333.333, 2777.777), (3413.333, 2857.777)),
    (25_000.0, 3000.0, (5000.0, 4000.0), (5080.0, 4080.0)),
    (25_000.0, 3000.0, (30_000.0, 30_000.0), (30_080.0, 30_080.0)),  # no die
])
@pytest.mark.parametrize("offset", ["auto", *GRID_OFFSETS])
def test_die_grid_is_what_it_was(diameter, exclusion, die, step, offset) -> None:
    assert_same_grid(die_grid(diameter, exclusion, die, step, offset),
                     reference_die_grid(diameter, exclusion, die, step, offset))


@settings(max_examples=150, deadline=None)
@given(st.floats(25_000, 200_000), st.floats(0, 10_000), st.floats(700, 30_000),
       st.floats(700, 30_000), st.floats(0, 300), st.floats(0, 300),
       st.sampled_from(["auto", *GRID_OFFSETS]))
def test_any_die_grid_is_what_it_was(diameter, exclusion, w, h, sx, sy, offset) -> None:
    if exclusion >= diameter / 2:
        return
    step = (w + sx, h + sy)
    assert_same_grid(die_grid(diameter, exclusion, (w, h), step, offset),
                     reference_die_grid(diameter, exclusion, (w, h), step, offset))


def test_die_grid_refuses_a_step_of_zero() -> None:
    with pytest.raises(ValueError, match="step"):
        die_grid(100_000.0, 3000.0, (0.0, 10.0), (0.0, 10.0))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([-2.0, -0.0, 0.0, 1.5, 3.0, math.nan]),
                          st.sampled_from([-1.0, -0.0, 0.0, 2.0, 7.5])), max_size=12),
       st.booleans())
def test_mirror_order_is_the_lexsort(centers, grid_order) -> None:
    from cells.cap_products import _mirror_order

    arr = np.array(centers, dtype=float).reshape(-1, 2)
    if grid_order:  # (the fast path: y descending, then x ascending)
        arr = arr[np.lexsort((arr[:, 0], -arr[:, 1]))] if len(arr) else arr
    assert np.array_equal(_mirror_order(arr), np.lexsort((-arr[:, 0], -arr[:, 1])))


@pytest.mark.parametrize("diameter", [25_000.0, 200_000.0, 300_000.0])
def test_mirrored_die_grids(diameter: float) -> None:
    from cells.cap_products import _align_mask, _mirror_order, _mirrored, _subset

    full = die_grid(diameter, 3000.0, (4000.0, 3000.0), (4080.0, 3080.0))
    for grid in (full, _subset(full, ~_align_mask(full, 4)),
                 _subset(full, np.arange(full.count) % 5 != 0)):
        c = grid.centers
        order = np.lexsort((-c[:, 0], -c[:, 1]))
        assert np.array_equal(_mirror_order(c), order)
        # the mirrored grid as it was made: x negated, then sorted
        mine = _mirrored(grid)
        ref = np.column_stack((-c[:, 0], c[:, 1]))[order]
        assert mine.centers.tobytes() == ref.tobytes()
        assert np.array_equal(mine.rows, grid.rows[order])
        assert np.array_equal(mine.cols, (grid.cols.max() - grid.cols)[order])


@pytest.mark.parametrize("case", ["300", "450", "holes", "unsorted", "empty", "one"])
def test_place_dies_places_what_it_did(case: str) -> None:
    import gdstk

    from layoutgen.wafer import die_runs, place_dies

    if case in ("300", "450"):
        d = float(case) * 1000
        grid = die_grid(d, 3000.0, (4000.0, 3000.0), (4080.0, 3080.0))
    elif case == "holes":  # columns missing inside rows (as the alignment sites leave)
        full = die_grid(100_000.0, 3000.0, (4000.0, 3000.0), (4080.0, 3080.0))
        keep = np.ones(full.count, dtype=bool)
        keep[::7] = False
        grid = grid_of(full.centers[keep], full.rows[keep], full.cols[keep], step=full.step)
    elif case == "unsorted":  # rows not in order: each row's dies keep their order
        grid = grid_of([(0, 5), (10, 0), (-10, 5), (20, 0), (30, 0), (5, 9)],
                       rows=np.array([1, 2, 1, 2, 2, 0]), cols=np.array([1, 0, 2, 1, 2, 0]),
                       step=(10.0, 5.0))
    elif case == "empty":
        grid = die_grid(25_000.0, 3000.0, (30_000.0, 30_000.0), (30_080.0, 30_080.0))
    else:
        grid = grid_of([(1.5, -2.5)], step=(3.0, 4.0))
    die = gdstk.Cell("DIE")
    mine, ref = gdstk.Cell("MINE"), gdstk.Cell("REF")
    assert place_dies(mine, die, grid, (0.25, -0.5)) == \
        reference_place_dies(ref, die, grid, (0.25, -0.5))
    assert _refs(mine) == _refs(ref)
    again = gdstk.Cell("AGAIN")  # the runs computed once, given to each placement
    place_dies(again, die, grid, (0.25, -0.5), runs=die_runs(grid))
    assert _refs(again) == _refs(ref)
