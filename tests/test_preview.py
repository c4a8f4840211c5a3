"""Pictures: ``layoutgen.preview`` and KLayout draw every layer in the layer map's colour.

Every assertion is made from the pixels of the PNG read back: a layer "appears in its
colour" when pixels inside its shapes lie on the line from the white background to the
layer colour (the preview fills with transparency, so a pixel is ``a·colour + (1-a)·white``)
and some of them reach nearly the full colour (the edges). KLayout, given the generated
``.lyp``, must show the exact colour.
"""

from __future__ import annotations

import io as _io
import os
import subprocess
import sys
from pathlib import Path

import gdstk
import klayout.db as kdb
import klayout.lay as klay
import matplotlib.image as mimg
import numpy as np
import pytest

from layoutgen import io
from layoutgen.check.reader import LayoutData, read_layout
from layoutgen.check.report import CheckInfo, CheckResult, Report, Violation
from layoutgen.errors import LayoutgenError, LayoutReadError
from layoutgen.geometry import rect
from layoutgen.layers import DEFAULT_LAYERS
from layoutgen.preview import (
    FAIL_COLOR,
    PASS_COLOR,
    PreviewError,
    die_failures,
    nice_length,
    render,
    wafer_map,
)
from layoutgen.progress import progress

PITCH, SIDE, COLUMNS = 100.0, 60.0, 5  # one SIDE × SIDE µm square per layer


# ----------------------------------------------------------------------------- helpers
def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float) / 255


def blend(pixels: np.ndarray, color: str) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: (opacity a that best explains it as a·colour over white, residual).

    ``pixels`` is N×3 in 0..1. A residual near 0 means the pixel has the colour's hue.
    """
    c = (1.0 - _rgb(color)).astype(np.float32)
    p = 1.0 - pixels[:, :3].astype(np.float32)
    denom = float(c @ c)
    if denom < 1e-9:  # white layer colour: nothing to explain
        return np.zeros(len(p)), np.abs(p).max(1)
    a = np.clip(p @ c / denom, 0.0, 1.0)
    resid = np.abs(p - a[:, None] * c[None]).max(1)
    return a, resid


def read_png(path: Path) -> np.ndarray:
    """The PNG as H×W×3 floats in 0..1."""
    img = mimg.imread(str(path))
    return img[..., :3].astype(float)


def region(img: np.ndarray, drawn, x0: float, y0: float, x1: float, y1: float,
           inset: int = 3) -> np.ndarray:
    """Pixels (N×3) showing the layout box (x0, y0, x1, y1) µm, kept ``inset`` px inside."""
    c0, r1 = drawn.pixel(x0, y0)
    c1, r0 = drawn.pixel(x1, y1)
    sub = img[r0 + inset:r1 - inset + 1, c0 + inset:c1 - inset + 1]
    assert sub.size, "region outside the picture"
    return sub.reshape(-1, 3)


def assert_layer_colour(pixels: np.ndarray, color: str, name: str, strong: float = 0.6,
                        exclusive: bool = True) -> None:
    """The pixels show ``color`` (blended with white), nearly full somewhere, and (when
    ``exclusive``) no other hue."""
    a, resid = blend(pixels, color)
    on_line = resid < 0.06
    painted = on_line & (a > 0.03)
    assert painted.any(), f"{name}: colour {color} not seen"
    assert a[on_line].max() >= strong, (
        f"{name}: {color} only reaches opacity {a[on_line].max():.2f}")
    if exclusive:
        off = (~on_line).mean()
        assert off < 0.02, f"{name}: {off:.1%} of the pixels have another hue than {color}"


def swatches() -> tuple[gdstk.Cell, dict[str, tuple[float, float]]]:
    """One square per layer of the default map, on a grid."""
    top = gdstk.Cell("swatches")
    origin = {}
    for i, lay in enumerate(DEFAULT_LAYERS):
        x, y = (i % COLUMNS) * PITCH, (i // COLUMNS) * PITCH
        top.add(rect(x, y, x + SIDE, y + SIDE, lay.layer, lay.datatype))
        origin[lay.name] = (x, y)
    return top, origin


@pytest.fixture(scope="module")
def swatch_gds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    top, origin = swatches()
    path = io.write(top, tmp_path_factory.mktemp("swatch") / "swatches.gds")
    return path, origin


def klayout_png(gds: Path, lyp: Path, out: Path, box: tuple[float, float, float, float],
                size: int = 400, only: tuple[int, int] | None = None) -> np.ndarray:
    """KLayout's picture of ``box`` (µm) with the ``.lyp``; only layer ``only`` visible."""
    view = klay.LayoutView()
    view.set_config("background-color", "#ffffff")
    view.set_config("grid-visible", "false")
    view.set_config("text-visible", "false")
    view.resize(size, size)
    view.load_layout(str(gds), True)
    view.load_layer_props(str(lyp))
    view.max_hier()
    if only is not None:
        it = view.begin_layers()
        while not it.at_end():
            node = it.current().dup()
            node.visible = node.source == f"{only[0]}/{only[1]}@1"
            view.set_layer_properties(it, node)
            it.next()
    view.zoom_box(kdb.DBox(*box))
    view.save_image(str(out), size, size)
    rgb = np.rint(read_png(out) * 255).astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def first_shape_box(data: LayoutData, top: str, spec: tuple[int, int]
                    ) -> tuple[float, float, float, float] | None:
    """Bounding box (µm, top coordinates) of one polygon on ``spec`` (first instance)."""
    def walk(name: str, m: np.ndarray, o: np.ndarray):
        cd = data.cells[name]
        polys = cd.shapes.get(spec)
        if polys:
            best = max(polys, key=lambda p: np.ptp(p[:, 0]) * np.ptp(p[:, 1]))
            pts = best @ m.T + o
            return (*pts.min(0), *pts.max(0))
        for p in cd.placements:
            found = walk(p.child, m @ p.matrices[0], m @ p.offsets[0] + o)
            if found is not None:
                return found
        return None

    return walk(top, np.eye(2), np.zeros(2))


# ----------------------------------------------------------------------------- swatches
@pytest.mark.parametrize("fmt", ["png"])
def test_each_layer_drawn_in_its_colour(swatch_gds: tuple[Path, dict], tmp_path: Path,
                                        fmt: str) -> None:
    gds, origin = swatch_gds
    drawn = render(gds, tmp_path / f"sw.{fmt}")
    assert drawn.layers == DEFAULT_LAYERS.names
    img = read_png(drawn.path)
    for lay in DEFAULT_LAYERS:
        x, y = origin[lay.name]
        # inside the square, slightly beyond its edges: background and the layer only
        px = region(img, drawn, x - 2, y - 2, x + SIDE + 2, y + SIDE + 2, inset=0)
        assert_layer_colour(px, lay.color, lay.name)
        # the fill follows the map's pattern: solid strongest, hollow nearly clear
        inner = region(img, drawn, x, y, x + SIDE, y + SIDE, inset=6)
        a, _ = blend(inner, lay.color)
        fill = float(np.median(a))
        if lay.pattern == "I1":
            assert fill < 0.12, f"{lay.name}: hollow layer filled to {fill:.2f}"
        elif lay.color not in ("#ffffff",):
            assert fill > 0.2, f"{lay.name}: {lay.pattern} fill only {fill:.2f}"


def test_klayout_and_preview_agree_on_colours(swatch_gds: tuple[Path, dict],
                                              tmp_path: Path) -> None:
    """Same file, same generated ``.lyp``: KLayout shows each layer's exact colour where
    the preview shows the same hue."""
    gds, origin = swatch_gds
    lyp = io.write_text(tmp_path / "map.lyp", DEFAULT_LAYERS.to_lyp())
    rows = -(-len(DEFAULT_LAYERS) // COLUMNS)
    size = 500
    margin = 20.0
    span = max(COLUMNS, rows) * PITCH
    box = (-margin, -margin, span - margin, span - margin)
    kimg = klayout_png(gds, lyp, tmp_path / "k.png", box, size)
    drawn = render(gds, tmp_path / "p.png", window=box)
    pimg = read_png(drawn.path)
    scale = size / span

    def kcol(v: float) -> int:
        return int((v + margin) * scale)

    for lay in DEFAULT_LAYERS:
        x, y = origin[lay.name]
        c0, c1 = kcol(x) - 3, kcol(x + SIDE) + 3  # the square and a rim of background
        r0, r1 = size - kcol(y + SIDE) - 3, size - kcol(y) + 3
        seen = set(np.unique(kimg[r0:r1, c0:c1]).tolist()) - {0xFFFFFF}
        assert seen == {int(lay.color[1:], 16)}, f"KLayout {lay.name}: {seen}"
        assert_layer_colour(region(pimg, drawn, x, y, x + SIDE, y + SIDE, inset=0),
                            lay.color, f"preview {lay.name}")


def test_layers_window_and_legend_choice(swatch_gds: tuple[Path, dict], tmp_path: Path) -> None:
    gds, origin = swatch_gds
    drawn = render(gds, tmp_path / "two.png", layers="PI2,CAP_SOLDER")
    assert drawn.layers == ["PI2", "CAP_SOLDER"]
    img = read_png(drawn.path)
    x, y = origin["PAD"]
    assert drawn.window[0] > x + SIDE or drawn.window[2] < x or drawn.window[1] > y + SIDE \
        or drawn.window[3] < y or np.all(
            region(img, drawn, x, y, x + SIDE, y + SIDE) > 0.98), "a hidden layer was drawn"
    x, y = origin["RDL"]
    win = render(gds, tmp_path / "win.png", window=(x - 5, y - 5, x + SIDE + 5, y + SIDE + 5))
    assert win.layers == ["RDL"]
    assert win.window[0] <= x - 5 and win.window[2] >= x + SIDE + 5


def test_transforms_match_a_flattened_copy(tmp_path: Path) -> None:
    """Rotation, mirror, magnification, arrays and overlapping polygons draw exactly as
    gdstk's flattened copy does (mirrored instances keep their fill)."""
    leaf = gdstk.Cell("leaf")
    leaf.add(gdstk.Polygon([(0, 0), (30, 0), (0, 12)], layer=30))  # asymmetric
    leaf.add(rect(5, 5, 20, 20, 30, 0), rect(12, 12, 28, 28, 30, 0))  # overlapping pair
    leaf.add(rect(-5, -5, 3, 3, 22, 0))
    mid = gdstk.Cell("mid")
    mid.add(gdstk.Reference(leaf, (0, 0), rotation=np.pi / 2, magnification=1.5))
    mid.add(gdstk.Reference(leaf, (60, 0), x_reflection=True))
    top = gdstk.Cell("top")
    top.add(gdstk.Reference(mid, (0, 0), columns=3, rows=2, spacing=(120, 90)))
    top.add(gdstk.Reference(mid, (400, 0), rotation=np.pi, x_reflection=True))
    hier = io.write(top, tmp_path / "hier.gds")
    flat_cell = top.copy("top").flatten()
    flat = io.write(flat_cell, tmp_path / "flat.gds")
    window = (-80, -80, 520, 250)
    a = read_png(render(hier, tmp_path / "h.png", window=window, title="t").path)
    b = read_png(render(flat, tmp_path / "f.png", window=window, title="t").path)
    assert a.shape == b.shape
    diff = np.abs(a - b).max(2)
    assert (diff > 0.1).mean() < 0.002, f"{(diff > 0.1).mean():.3%} of pixels differ"


def test_many_instances_drawn_as_outlines_and_fast(tmp_path: Path) -> None:
    import time

    die = gdstk.Cell("die")
    die.add(rect(-400, -400, 400, 400, 1, 0), rect(-300, -300, 300, 300, 2, 0))
    for i in range(20):
        die.add(gdstk.ellipse((-350 + 35 * i, 350), 12, layer=40, tolerance=0.01))
    top = gdstk.Cell("wafer")
    top.add(gdstk.Reference(die, (0, 0), columns=120, rows=120, spacing=(1000, 1000)))
    path = io.write(top, tmp_path / "big.gds")
    t0 = time.perf_counter()
    whole = render(path, tmp_path / "whole.png")
    elapsed = time.perf_counter() - t0
    assert whole.outlined == {"die": 14400}
    assert elapsed < 15, f"14400 dies took {elapsed:.1f} s"
    img = read_png(whole.path)
    assert_layer_colour(region(img, whole, 1000 * 60 - 400, 1000 * 60 - 400,
                               1000 * 60 + 400, 1000 * 60 + 400, inset=0),
                        DEFAULT_LAYERS["DIE"].color, "die outline", strong=0.3, exclusive=False)
    zoom = render(path, tmp_path / "zoom.png", window=(-500, -500, 2500, 2500))
    assert zoom.outlined == {}
    assert zoom.layers == ["DIE", "ACTIVE", "BALL"]


def test_violations_are_marked(swatch_gds: tuple[Path, dict], tmp_path: Path) -> None:
    gds, origin = swatch_gds
    x, y = origin["ACTIVE"]
    report = {"passed": False, "checks": ["seal.closed"],
              "violations": [{"check": "seal.closed", "message": "open", "x": x + 30,
                              "y": y + 30}]}
    drawn = render(gds, tmp_path / "v.png", violations=report)
    assert drawn.violations == 1
    img = read_png(drawn.path)
    near = region(img, drawn, x + 27, y + 27, x + 33, y + 33, inset=0)
    a, resid = blend(near, FAIL_COLOR)
    assert ((resid < 0.08) & (a > 0.6)).any(), "no red cross at the violation"


def test_deterministic_bytes(swatch_gds: tuple[Path, dict], tmp_path: Path) -> None:
    gds, _ = swatch_gds
    for suffix in (".png", ".svg"):
        one = render(gds, tmp_path / f"a{suffix}").path.read_bytes()
        two = render(gds, tmp_path / f"b{suffix}").path.read_bytes()
        assert one == two, suffix
    svg = (tmp_path / "a.svg").read_text()
    assert "<dc:date>" not in svg
    # another process with another hash seed writes the same SVG
    code = ("import sys; from layoutgen.preview import render; "
            "render(sys.argv[1], sys.argv[2])")
    env = dict(os.environ, PYTHONHASHSEED="123")
    subprocess.run([sys.executable, "-c", code, str(gds), str(tmp_path / "c.svg")], env=env,
                   check=True, timeout=120)
    assert (tmp_path / "c.svg").read_bytes() == (tmp_path / "a.svg").read_bytes()


def test_bad_input_is_one_clear_error(swatch_gds: tuple[Path, dict], tmp_path: Path) -> None:
    gds, _ = swatch_gds
    cases = [
        ({"cell": "nope"}, "cell 'nope'"),
        ({"layers": "PI9"}, "unknown layer 'PI9'"),
        ({"window": "1,2,3"}, "x0,y0,x1,y1"),
        ({"window": (5, 0, 1, 1)}, "x0 < x1"),
    ]
    for kwargs, text in cases:
        with pytest.raises(PreviewError, match=text.replace("(", r"\(")) as err:
            render(gds, tmp_path / "x.png", **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(PreviewError, match=r"\.png or \.svg"):
        render(gds, tmp_path / "x.jpg")
    bad = tmp_path / "bad.gds"
    bad.write_bytes(b"not a layout at all")
    with pytest.raises(LayoutReadError):
        render(bad, tmp_path / "x.png")
    with pytest.raises(PreviewError, match="none of the chosen layers"):
        render(gds, tmp_path / "x.png", layers="21/7")


# ----------------------------------------------------------------------------- wafer map
def _small_wafer() -> dict:
    die, step, radius = 2000.0, 2100.0, 10000.0
    dies = []
    for j in range(-6, 7):
        for i in range(-6, 7):
            x, y = i * step, j * step
            if (abs(x) + die / 2) ** 2 + (abs(y) + die / 2) ** 2 <= radius ** 2:
                dies.append({"index": len(dies), "row": -j, "col": i, "x": x, "y": y})
    return {"product": "tiny", "units": "um", "wafer_diameter": 25000.0,
            "edge_exclusion": 2500.0, "usable_radius": radius, "die_size": [die, die],
            "step": [step, step], "die_count": len(dies), "dies": dies}


def test_wafer_map_colours_failing_die_red(tmp_path: Path) -> None:
    doc = _small_wafer()
    bad = doc["dies"][5]
    report = Report("tiny.gds", "default",
                    {"seal.closed": CheckResult(CheckInfo("seal.closed", ("cap:1",), "closed"),
                                                judged=len(doc["dies"]), violations=2)},
                    [Violation("seal.closed", "open ring", bad["x"] + 300, bad["y"] - 400),
                     Violation("seal.closed", "in the lane", 1050.0, 0.0)])
    drawn = wafer_map(doc, tmp_path / "map.png", report=report)
    assert (drawn.dies, drawn.failing, drawn.passing, drawn.outside) == (
        len(doc["dies"]), 1, len(doc["dies"]) - 1, 1)
    img = read_png(drawn.path)

    def colour_at(x: float, y: float) -> np.ndarray:
        col, row = drawn.pixel(x, y)
        return img[row - 2:row + 3, col - 2:col + 3].reshape(-1, 3).mean(0)

    assert np.allclose(colour_at(bad["x"], bad["y"]), _rgb(FAIL_COLOR), atol=0.03)
    good = doc["dies"][0]
    assert np.allclose(colour_at(good["x"], good["y"]), _rgb(PASS_COLOR), atol=0.03)
    # the same from the JSON form of the report, read from a file
    js = tmp_path / "check.json"
    report.write_json(js)
    again = wafer_map(doc, tmp_path / "map2.png", report=js)
    assert again.failing == 1
    # without a report: no red anywhere on the dies
    plain = wafer_map(doc, tmp_path / "plain.png")
    a, resid = blend(read_png(plain.path).reshape(-1, 3), FAIL_COLOR)
    assert not ((resid < 0.05) & (a > 0.9)).any()


def test_die_failures_edges_and_lanes() -> None:
    centres = np.array([[0.0, 0.0], [2100.0, 0.0]])
    pts = np.array([[1000.0, 1000.0], [1050.0, 0.0], [3100.0, -999.0], [5000.0, 0.0]])
    failing, outside = die_failures(centres, (2000.0, 2000.0), pts)
    assert failing.tolist() == [True, True]
    assert outside == 2


def test_wafer_map_rejects_other_json(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match="not a wafer map"):
        wafer_map({"dies": []}, tmp_path / "m.png")
    f = tmp_path / "x.json"
    f.write_text("{oops")
    with pytest.raises(PreviewError, match="not a JSON wafer map"):
        wafer_map(f, tmp_path / "m.png")


def test_notebook_picture_of_a_cell() -> None:
    from layoutgen.preview import picture

    cell = gdstk.Cell("nb")
    cell.add(rect(0, 0, 50, 20, *DEFAULT_LAYERS.spec("RDL")))
    png = picture(cell, title="in a notebook")._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = mimg.imread(_io.BytesIO(png), format="png")[..., :3]
    a, resid = blend(img.reshape(-1, 3), DEFAULT_LAYERS["RDL"].color)
    assert ((resid < 0.05) & (a > 0.9)).any()


def test_nice_scale_lengths() -> None:
    assert nice_length(2376) == 200
    assert nice_length(200_000) == 20_000
    assert nice_length(0.9) == 0.1
    assert nice_length(10) == 2


# ----------------------------------------------------------------------------- products
def _layouts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix in (".gds", ".oas"))


def test_built_products_show_each_layer_in_its_colour(builtin_build: Path,
                                                      tmp_path: Path) -> None:
    """Every layout of ``layoutgen build``: for each layer it draws, a window around one of
    its shapes, drawn by the preview (that layer only) and by KLayout with the build's
    ``layoutgen.lyp`` (that layer only), shows the layer's colour."""
    import json

    plates = {p["file"] for m in builtin_build.glob("*_masks.json")
              for p in json.loads(m.read_text())["plates"]}
    # mask plates are single-layer copies of the product's layers: the products suffice
    layouts = [p for p in _layouts(builtin_build) if p.name not in plates]
    if not layouts:
        pytest.skip("no built-in products yet (cells/products/*.toml)")
    lyp = builtin_build / "layoutgen.lyp"
    for path in layouts:
        data = read_layout(path)
        top = data.tops[0]
        whole = render(data, tmp_path / f"{path.stem}.png")
        assert whole.path.stat().st_size > 0
        specs = sorted({s for c in data.cells.values() for s, polys in c.shapes.items()
                        if polys})
        for spec in specs:
            lay = DEFAULT_LAYERS.by_spec(*spec)
            assert lay is not None, f"{path.name}: layer {spec} is not in the map"
            box = first_shape_box(data, top, spec)
            if box is None:
                continue
            w, h = box[2] - box[0], box[3] - box[1]
            m = 0.15 * max(w, h, 1.0)
            win = (box[0] - m, box[1] - m, box[2] + m, box[3] + m)
            drawn = render(data, tmp_path / f"{path.stem}_{lay.name}.png", layers=[lay.name],
                           window=win, dpi=60)
            img = read_png(drawn.path)
            left, top_px, right, bottom = (int(v) for v in drawn.axes_px)
            px = img[top_px + 2:bottom - 1, left + 2:right - 1].reshape(-1, 3)
            assert_layer_colour(px, lay.color, f"{path.name} {lay.name}")
            side = max(win[2] - win[0], win[3] - win[1])
            square = (win[0], win[1], win[0] + side, win[1] + side)
            kimg = klayout_png(path, lyp, tmp_path / f"k_{path.stem}_{lay.name}.png", square,
                               size=200, only=spec)
            seen = set(np.unique(kimg).tolist())
            assert int(lay.color[1:], 16) in seen, (
                f"KLayout {path.name} {lay.name}: {lay.color} not in "
                f"{sorted(f'#{c:06x}' for c in seen)[:8]}")


def test_built_wafer_maps_render(builtin_build: Path, tmp_path: Path) -> None:
    maps = sorted(builtin_build.glob("*_wafermap.json"))
    if not maps:
        pytest.skip("no wafer product built yet")
    for m in maps:
        done = wafer_map(m, tmp_path / f"{m.stem}.png")
        assert done.dies > 0
        img = read_png(done.path)
        assert img.shape[0] > 500


# ----------------------------------------------------------------------------- command
def _parse(argv: list[str]):
    import argparse

    from layoutgen.cli import add_common_options
    from layoutgen.preview_command import add_parser

    parser = argparse.ArgumentParser(prog="layoutgen")
    sub = parser.add_subparsers(dest="command")
    add_common_options(add_parser(sub))
    return parser.parse_args(["preview", *argv])


def test_preview_command(swatch_gds: tuple[Path, dict], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    from layoutgen.preview_command import run

    gds, _ = swatch_gds
    out = tmp_path / "cmd.svg"
    assert run(_parse([str(gds), "-o", str(out), "--show", "PI1,PI2",
                       "--window=-10,-10,500,400"])) == 0
    assert out.read_text().lstrip().startswith("<?xml")
    assert "wrote" in capsys.readouterr().out
    assert run(_parse([str(gds), "-o", str(tmp_path / "n.png"), "--window", "-10", "-10",
                       "300", "300", "-q"])) == 0
    assert capsys.readouterr().out == ""
    js = tmp_path / "w_wafermap.json"
    import json

    js.write_text(json.dumps(_small_wafer()))
    assert run(_parse([str(js), "-q"])) == 0
    assert (tmp_path / "w_wafermap.png").exists()


@pytest.mark.parametrize("argv, option", [
    (["--cell", "nope"], "--cell:"),
    (["--show", "NOPE"], "--show:"),
    (["--window=1,2,3"], "--window:"),
    (["--window=5,0,1,1"], "--window:"),
    (["-o", "x.jpg"], "-o/--output:"),
    (["--report", "missing.json"], "--report:"),
    (["--layers", "PI1,PI2"], "--layers:"),
])
def test_preview_command_errors_name_the_option(swatch_gds: tuple[Path, dict], tmp_path: Path,
                                                argv: list[str], option: str) -> None:
    from layoutgen.preview_command import run

    gds, _ = swatch_gds
    args = _parse([str(gds), *argv])
    if args.output is None:
        args.output = str(tmp_path / "o.png")
    with pytest.raises(LayoutgenError) as err:
        run(args)
    msg = str(err.value)
    assert msg.startswith(option) and "\n" not in msg, msg


def test_missing_file_is_a_read_error(tmp_path: Path) -> None:
    from layoutgen.preview_command import run

    with pytest.raises(LayoutReadError, match="no such file"):
        run(_parse([str(tmp_path / "none.gds")]))


# ----------------------------------------------------------------------------- progress
class _Tty(_io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    tty = _Tty()
    assert list(progress(range(5), label="work", stream=tty)) == list(range(5))
    text = tty.getvalue()
    assert "work" in text and "5/5" in text and text.endswith("\n")
    quiet = _Tty()
    assert list(progress(range(5), stream=quiet, enabled=False)) == list(range(5))
    assert quiet.getvalue() == ""
    pipe = _io.StringIO()
    assert list(progress(iter(range(3)), stream=pipe)) == [0, 1, 2]
    assert pipe.getvalue() == ""


def test_commands_that_draw_nothing_do_not_import_matplotlib(swatch_gds: tuple[Path, dict]
                                                             ) -> None:
    gds, _ = swatch_gds
    code = (
        "import sys\n"
        "import layoutgen.preview, layoutgen.preview_command, layoutgen.htmlreport\n"
        "import layoutgen.progress\n"
        "from layoutgen.cli import main\n"
        "assert main(['layers']) == 0\n"
        f"main(['check', {str(gds)!r}])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')\n"
        "assert not bad, bad[:3]\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
