"""GDS/OASIS output: same bytes every time, format by extension, no needless fracturing,
atomic writes, every referenced cell written once and sorted."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest
from conftest import REPO, read_layout

from layoutgen import io
from layoutgen.errors import LayoutgenError
from layoutgen.geometry import circle, circle_vertex_count, rect

# GDSII record types (record type byte, data type byte)
BGNLIB, LIBNAME, BGNSTR, STRNAME = 0x0102, 0x0206, 0x0502, 0x0606


def gds_records(data: bytes):
    """(record type, payload) of every record of a GDSII stream."""
    pos = 0
    while pos < len(data):
        length, rtype = struct.unpack(">HH", data[pos:pos + 4])
        assert length >= 4, f"bad record at {pos}"
        yield rtype, data[pos + 4:pos + length]
        pos += length
        if rtype == 0x0400:  # ENDLIB
            break


def structure_names(data: bytes) -> list[str]:
    """STRNAME of every structure, in file order."""
    return [p.rstrip(b"\0").decode() for t, p in gds_records(data) if t == STRNAME]


def sample_hierarchy() -> gdstk.Cell:
    """top -> mid (2 refs) -> leaf (3×2 array) with a fine circle, a label and a path."""
    leaf = gdstk.Cell("a_leaf")
    leaf.add(circle(30.0, layer=10))
    leaf.add(gdstk.Label("pad", (0, 0), layer=90))
    mid = gdstk.Cell("b_mid")
    mid.add(gdstk.Reference(leaf, (0, 0), columns=3, rows=2, spacing=(100, 100)))
    mid.add(gdstk.FlexPath([(0, -50), (300, -50)], 5, layer=30))
    top = gdstk.Cell("z_top")
    top.add(gdstk.Reference(mid, (0, 0)))
    top.add(gdstk.Reference(mid, (1000, 0), rotation=np.pi / 2, x_reflection=True))
    top.add(rect(-100, -100, 1500, 500, layer=1))
    return top


# ----------------------------------------------------------------------------- bytes
@pytest.mark.parametrize("ext", [".gds", ".oas"])
def test_same_cells_give_same_bytes(tmp_path: Path, ext: str) -> None:
    top = sample_hierarchy()
    a = io.write(top, tmp_path / f"a{ext}").read_bytes()
    b = io.write(sample_hierarchy(), tmp_path / f"b{ext}").read_bytes()  # rebuilt objects
    io.write(top, tmp_path / f"a{ext}")  # overwrite in place
    assert a == b == (tmp_path / f"a{ext}").read_bytes()


_WRITE_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_io import sample_hierarchy
from layoutgen import io
io.write(sample_hierarchy(), sys.argv[1])
"""


@pytest.mark.parametrize("ext", [".gds", ".oas"])
def test_bytes_do_not_depend_on_process_or_hash_seed(tmp_path: Path, ext: str) -> None:
    script = _WRITE_SCRIPT.format(tests=str(Path(__file__).parent))
    outs = []
    for seed in ("1", "4242"):
        path = tmp_path / f"{seed}{ext}"
        proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                              text=True, env=dict(os.environ, PYTHONHASHSEED=seed), timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(path.read_bytes())
    here = io.write(sample_hierarchy(), tmp_path / f"here{ext}").read_bytes()
    assert outs[0] == outs[1] == here


def test_gds_header_is_fixed(tmp_path: Path) -> None:
    data = io.write(sample_hierarchy(), tmp_path / "t.gds").read_bytes()
    records = dict(gds_records(data))
    # 2000-01-01 00:00:00, modification and access time; gdstk stores the year as
    # years since 1900 (like C's struct tm), so 2000 is written as 100
    fixed = (100, 1, 1, 0, 0, 0) * 2
    assert struct.unpack(">12h", records[BGNLIB]) == fixed
    assert records[LIBNAME].rstrip(b"\0") == io.LIBRARY_NAME.encode()
    for rtype, payload in gds_records(data):
        if rtype == BGNSTR:
            assert struct.unpack(">12h", payload) == fixed
    layout = read_layout(tmp_path / "t.gds")
    assert layout.dbu == pytest.approx(0.001)  # 1 nm database unit


# ----------------------------------------------------------------------------- format
def test_format_follows_the_extension(tmp_path: Path) -> None:
    top = sample_hierarchy()
    gds = io.write(top, tmp_path / "t.gds").read_bytes()
    oas = io.write(top, tmp_path / "t.oas").read_bytes()
    upper = io.write(top, tmp_path / "T.GDS").read_bytes()
    assert gds[:4] == b"\x00\x06\x00\x02"  # HEADER record
    assert oas.startswith(b"%SEMI-OASIS\r\n")
    assert upper == gds

    ly_gds, ly_oas = read_layout(tmp_path / "t.gds"), read_layout(tmp_path / "t.oas")

    def region(ly: kdb.Layout, layer: int) -> kdb.Region:
        return kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(layer, 0)))

    for layer in (1, 10, 30):
        r_gds, r_oas = region(ly_gds, layer), region(ly_oas, layer)
        assert r_gds.area() > 0
        assert (r_gds ^ r_oas).is_empty(), f"GDS and OASIS differ on layer {layer}"


@pytest.mark.parametrize("name", ["t.txt", "t", "t.gds.bak"])
def test_unknown_extension_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(LayoutgenError, match="extension must be .gds or .oas"):
        io.write(sample_hierarchy(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- circles
def _polygons_on(path: Path, layer: int) -> list[kdb.Polygon]:
    ly = read_layout(path)
    return [s.polygon for s in ly.top_cell().shapes(ly.layer(layer, 0)).each()
            if s.is_polygon() or s.is_box()]


@pytest.mark.parametrize("ext", [".gds", ".oas"])
def test_fine_circle_is_one_polygon(tmp_path: Path, ext: str) -> None:
    n = circle_vertex_count(150.0)
    assert n > 200  # more than gdstk's default max_points (199) would allow
    c = gdstk.Cell("circle")
    c.add(circle(150.0, layer=10))
    polys = _polygons_on(io.write(c, tmp_path / f"c{ext}"), 10)
    assert len(polys) == 1
    assert polys[0].num_points() == n


def _ngon(n: int, radius: float = 2000.0) -> gdstk.Polygon:
    t = np.arange(n) * 2 * np.pi / n
    return gdstk.Polygon(np.round(np.c_[radius * np.cos(t), radius * np.sin(t)], 3), layer=1)


def test_largest_gds_boundary_is_kept_whole_and_written_quietly(tmp_path: Path, capfd,
                                                                recwarn) -> None:
    c = gdstk.Cell("big")
    c.add(_ngon(io.GDS_MAX_POINTS))
    polys = _polygons_on(io.write(c, tmp_path / "big.gds"), 1)
    assert [p.num_points() for p in polys] == [io.GDS_MAX_POINTS]
    assert "[GDSTK]" not in capfd.readouterr().err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_larger_polygon_is_split_without_losing_area(tmp_path: Path) -> None:
    c = gdstk.Cell("huge")
    poly = _ngon(9000)
    c.add(poly)
    path = io.write(c, tmp_path / "huge.gds")
    polys = _polygons_on(path, 1)
    assert len(polys) > 1 and all(p.num_points() <= io.GDS_MAX_POINTS for p in polys)
    merged = kdb.Region(polys).merged()
    assert merged.count() == 1
    assert merged.area() * 1e-6 == pytest.approx(poly.area(), rel=1e-9)  # nm² -> µm²


# ----------------------------------------------------------------------------- atomic
class _FailingLibrary:
    """Writes half a file, then fails like a full disk."""

    def write_gds(self, path, **kwargs) -> None:
        Path(path).write_bytes(b"\x00\x06\x00\x02partial")
        raise OSError(28, "No space left on device")


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "keep.gds"
    old = io.write(sample_hierarchy(), target).read_bytes()
    monkeypatch.setattr(io, "library", lambda tops: _FailingLibrary())
    with pytest.raises(OSError, match="No space left"):
        io.write(sample_hierarchy(), target)
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["keep.gds"]


def test_failed_first_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(io, "library", lambda tops: _FailingLibrary())
    with pytest.raises(OSError):
        io.write(sample_hierarchy(), tmp_path / "new.gds")
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    gds = io.write(sample_hierarchy(), tmp_path / "t.gds")
    assert gds.stat().st_mode & 0o777 == 0o666 & ~umask  # not the 0600 of a temp file
    gds.chmod(0o640)
    io.write(sample_hierarchy(), gds)  # a replaced file keeps its permissions
    assert gds.stat().st_mode & 0o777 == 0o640


def test_atomic_path_and_write_text(tmp_path: Path) -> None:
    target = io.write_text(tmp_path / "a.txt", "old\n")
    with pytest.raises(ValueError), io.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target  # same folder: rename is atomic
        tmp.write_text("half")
        raise ValueError("boom")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    io.write_text(target, "new\r\n")
    assert target.read_bytes() == b"new\r\n"


def test_write_text_in_pieces(tmp_path: Path) -> None:
    pieces = ["{\n", "é\u2028", "", "x\r\n" * 1000, "end\n"]
    target = io.write_text(tmp_path / "p.txt", iter(pieces))
    assert target.read_bytes() == "".join(pieces).encode("utf-8")

    def failing():
        yield "half"
        raise ValueError("boom")

    with pytest.raises(ValueError):
        io.write_text(target, failing())
    assert target.read_bytes() == "".join(pieces).encode("utf-8")  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["p.txt"]


# ----------------------------------------------------------------------------- cells
def test_every_referenced_cell_is_written_once_sorted(tmp_path: Path) -> None:
    top = sample_hierarchy()
    gdstk.Cell("c_orphan")  # exists but is not referenced: not written
    data = io.write(top, tmp_path / "t.gds").read_bytes()
    assert structure_names(data) == ["a_leaf", "b_mid", "z_top"]
    layout = read_layout(tmp_path / "t.gds")
    assert sorted(c.name for c in layout.each_cell()) == ["a_leaf", "b_mid", "z_top"]
    assert [c.name for c in layout.top_cells()] == ["z_top"]
    # the array survives as an array: 6 leaf instances from one reference
    mid = layout.cell("b_mid")
    assert sum(inst.size() for inst in mid.each_inst()) == 6


def test_several_tops_share_their_cells(tmp_path: Path) -> None:
    shared = gdstk.Cell("shared")
    shared.add(rect(0, 0, 1, 1, layer=2))
    tops = []
    for name in ("top_b", "top_a"):
        t = gdstk.Cell(name)
        t.add(gdstk.Reference(shared))
        tops.append(t)
    data = io.write(tops, tmp_path / "t.gds").read_bytes()
    assert structure_names(data) == ["shared", "top_a", "top_b"]


def test_library_uses_um_and_nm() -> None:
    lib = io.library(sample_hierarchy())
    assert (lib.unit, lib.precision) == (1e-6, 1e-9)
    assert [c.name for c in lib.cells] == ["a_leaf", "b_mid", "z_top"]


# ----------------------------------------------------------------------------- README
def test_readme_python_example_runs(tmp_path: Path, monkeypatch) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no ```python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    written = sorted(tmp_path.rglob("*.gds"))
    assert written, "the README example writes no GDS file"
    layout = read_layout(written[0])
    assert layout.top_cell().name.startswith("pad_with_ring_")
    assert not layout.top_cell().shapes(layout.layer(10, 0)).is_empty()  # PAD
    assert not layout.top_cell().shapes(layout.layer(50, 0)).is_empty()  # SEAL_LAND
