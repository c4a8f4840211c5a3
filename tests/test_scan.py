"""The structural scans of the reader refuse no file a real writer makes.

``layoutgen.check.gdsscan`` and ``layoutgen.check.oasscan`` are strict (a record out of
place is an error), so the other side needs a test too: GDSII and OASIS written by
KLayout (every OASIS option that changes the record stream: CBLOCKs, strict mode with
name tables, repetition detection levels, standard properties, cell bounding boxes)
and by gdstk (compression levels, rectangle/trapezoid detection, CRC-32 and checksum
signatures) over a layout that uses every shape kind, properties, texts and
rotated, mirrored, magnified and arrayed placements, must all scan whole, read, and
give the same flat geometry as KLayout reads from the same file.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest

from layoutgen.check.gdsscan import scan_gds
from layoutgen.check.oasscan import scan_oasis
from layoutgen.check.reader import read_layout


def _klayout_layout(seed: int) -> kdb.Layout:
    """Random boxes, polygons, paths (flush, extended, round), texts and trapezoids,
    some with properties; a cell of aligned boxes (repetition material) and placements
    of every kind."""
    r = random.Random(seed)
    ly = kdb.Layout()
    ly.dbu = 0.001
    a, top, b = ly.create_cell("A"), ly.create_cell("TOP"), ly.create_cell("B")
    for li in range(3):
        lay = ly.layer(li + 1, r.randrange(3))
        for k in range(30):
            x, y = r.randrange(-10**6, 10**6), r.randrange(-10**6, 10**6)
            kind = r.randrange(6)
            shape = None
            if kind == 0:
                shape = a.shapes(lay).insert(kdb.Box(x, y, x + r.randrange(1, 5000),
                                                     y + r.randrange(1, 5000)))
            elif kind == 1:  # a star-shaped (simple) polygon
                n = r.randrange(3, 30)
                angles = sorted(r.uniform(0, 2 * np.pi) for _ in range(n))
                pts = [kdb.Point(x + round(rr * np.cos(t)), y + round(rr * np.sin(t)))
                       for t, rr in zip(angles, (r.randrange(500, 3000) for _ in range(n)),
                                        strict=True)]
                shape = a.shapes(lay).insert(kdb.Polygon(pts))
            elif kind == 2:  # a path going right, then up or down: never over itself
                pts = [kdb.Point(x, y)]
                for i in range(r.randrange(1, 6)):
                    px, py = pts[-1].x, pts[-1].y
                    pts.append(kdb.Point(px + r.randrange(900, 3000), py) if i % 2 == 0
                               else kdb.Point(px, py + r.choice((-1, 1)) * r.randrange(900, 3000)))
                shape = a.shapes(lay).insert(kdb.Path(pts, r.randrange(2, 400) * 2,
                                                      r.randrange(100), r.randrange(100)))
            elif kind == 3:
                shape = a.shapes(lay).insert(kdb.Text(f"t{k}", kdb.Trans(r.randrange(8),
                                                                         kdb.Vector(x, y))))
            elif kind == 4:
                shape = a.shapes(lay).insert(kdb.Polygon([
                    kdb.Point(x, y), kdb.Point(x + 1000, y), kdb.Point(x + 800, y + 500),
                    kdb.Point(x + 100, y + 500)]))
            else:
                for i in range(r.randrange(2, 12)):
                    b.shapes(lay).insert(kdb.Box(x + i * 700, y, x + i * 700 + 300, y + 300))
            if shape is not None and r.random() < 0.3:
                shape.set_property(r.choice([1, "name"]), r.choice(["v", 3, 4.25, -7]))
    top.insert(kdb.CellInstArray(a.cell_index(), kdb.Trans(1, True, kdb.Vector(10, 10)),
                                 kdb.Vector(300_000, 0), kdb.Vector(0, 400_000), 3, 4))
    top.insert(kdb.CellInstArray(a.cell_index(), kdb.ICplxTrans(2.5, 33, False,
                                                                kdb.Vector(10, 10))))
    top.insert(kdb.CellInstArray(b.cell_index(), kdb.ICplxTrans(1.0, 90, True,
                                                                kdb.Vector(-10, 10))))
    for i in range(20):
        top.insert(kdb.CellInstArray(b.cell_index(), kdb.Trans(kdb.Vector(i * 50_000, 0))))
    return ly


def _gdstk_library() -> gdstk.Library:
    """Flexible and robust paths written as GDSII paths, labels, repeated polygons with
    properties, an arrayed rotated mirrored magnified reference, a circle."""
    lib = gdstk.Library()
    c = lib.new_cell("G")
    c.add(gdstk.FlexPath([(0, 0), (10, 0), (10, 10)], [1, 0.5], 0.6,
                         ends=["round", "extended"], simple_path=True))
    rp = gdstk.RobustPath((0, 0), [1, 0.5], 0.6, simple_path=True)
    rp.segment((10, 3))
    c.add(rp)
    c.add(gdstk.Label("hi", (1, 1)))
    for rep in (gdstk.Repetition(3, 4, (2, 2)),
                gdstk.Repetition(offsets=[(0, 0), (3, 1), (7, 5)]),
                gdstk.Repetition(x_offsets=[0, 1, 5])):
        poly = gdstk.regular_polygon((0, 0), 0.7, 5)
        poly.repetition = rep
        poly.set_property("a", [1, 2.5, "s"])
        c.add(poly)
    top = lib.new_cell("T")
    ref = gdstk.Reference(c, (1, 1), rotation=0.3, magnification=2, x_reflection=True)
    ref.repetition = gdstk.Repetition(3, 2, (30, 40))
    top.add(ref)
    top.add(gdstk.ellipse((0, 0), 5, tolerance=0.01))
    return lib


def _klayout_area(path: Path) -> dict[tuple[int, int], float]:
    """Merged flat area per layer of the top cell, as KLayout reads ``path`` (µm²)."""
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.top_cells()[0]
    out = {}
    for li in ly.layer_indexes():
        info = ly.get_info(li)
        reg = kdb.Region(top.begin_shapes_rec(li)).merged()
        if not reg.is_empty():
            out[(info.layer, info.datatype)] = reg.area() * ly.dbu**2
    return out


def _our_area(path: Path) -> dict[tuple[int, int], float]:
    """The same from :func:`read_layout`, flattened with shapely."""
    import shapely

    data = read_layout(path)
    flat: dict[tuple[int, int], list] = {}

    def walk(name: str, m: np.ndarray, o: np.ndarray) -> None:
        c = data.cells[name]
        for key, polys in c.shapes.items():
            for p in polys:
                q = p @ m.T + o
                flat.setdefault(key, []).append(shapely.Polygon(q))
        for pl in c.placements:
            for mm, oo in zip(pl.matrices, pl.offsets, strict=True):
                walk(pl.child, m @ mm, m @ oo + o)

    walk(data.tops[0], np.eye(2), np.zeros(2))
    areas = {k: shapely.union_all(shapely.make_valid(np.array(v))).area
             for k, v in flat.items()}
    return {k: a for k, a in areas.items() if a > 0}


KL_OPTIONS = [dict(zip(("cblocks", "strict", "level", "std", "bbox"), v, strict=True))
              for v in itertools.product([False, True], [False, True], [0, 2, 10], [0, 2],
                                         [False, True])]


@pytest.fixture(scope="module")
def klayout_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The KLayout layout as GDSII and as OASIS with every option combination."""
    folder = tmp_path_factory.mktemp("writers")
    ly = _klayout_layout(1)
    out = [folder / "kl.gds"]
    ly.write(str(out[0]))
    for o in KL_OPTIONS:
        opt = kdb.SaveLayoutOptions()
        opt.format = "OASIS"
        opt.oasis_write_cblocks = o["cblocks"]
        opt.oasis_strict_mode = o["strict"]
        opt.oasis_compression_level = o["level"]
        opt.oasis_write_std_properties = o["std"]
        opt.oasis_write_cell_bounding_boxes = o["bbox"]
        p = folder / ("kl-" + "-".join(f"{k}{int(v)}" for k, v in o.items()) + ".oas")
        ly.write(str(p), opt)
        out.append(p)
    return out


def test_klayout_files_scan_whole(klayout_files: list[Path]) -> None:
    """Every KLayout-written file passes its scan."""
    for p in klayout_files:
        (scan_gds if p.suffix == ".gds" else scan_oasis)(p)


def test_klayout_files_read_as_klayout_reads_them(klayout_files: list[Path]) -> None:
    """The reader's flat geometry of a sample equals KLayout's (merged area per layer;
    KLayout snaps the 33° placement to the 1 nm grid, hence 1e-4)."""
    for p in klayout_files[:: max(1, len(klayout_files) // 3)]:
        ours, theirs = _our_area(p), _klayout_area(p)
        assert ours.keys() == theirs.keys(), p.name
        for k in theirs:
            assert ours[k] == pytest.approx(theirs[k], rel=1e-4), (p.name, k)  # KLayout snaps


@pytest.mark.parametrize("level,detect,validation", [
    (0, False, None), (6, True, "crc32"), (9, True, "checksum32"), (3, False, "crc32")])
def test_gdstk_files_scan_and_read(tmp_path: Path, level: int, detect: bool,
                                   validation: str | None) -> None:
    """gdstk-written OASIS (and GDSII) scan whole, read, and agree with KLayout."""
    lib = _gdstk_library()
    oas = tmp_path / "g.oas"
    lib.write_oas(str(oas), compression_level=level, detect_rectangles=detect,
                  detect_trapezoids=detect, validation=validation)
    gds = tmp_path / "g.gds"
    lib.write_gds(str(gds))
    scan_oasis(oas)
    scan_gds(gds)
    for p in (oas, gds):
        ours, theirs = _our_area(p), _klayout_area(p)
        assert ours.keys() == theirs.keys(), p.name
        for k in theirs:
            assert ours[k] == pytest.approx(theirs[k], rel=1e-3), (p.name, k)
