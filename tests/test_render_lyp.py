"""KLayout renders our layouts with the generated ``.lyp`` in the map's names and colours.

A headless ``klayout.lay.LayoutView`` loads a GDS and the ``.lyp``, renders a PNG, and
the PNG is read back pixel by pixel: inside each layer's rectangle the only colours are
the background and that layer's colour, and solid/hollow patterns fill as declared.
"""

from __future__ import annotations

from pathlib import Path

import gdstk
import klayout.db as kdb
import klayout.lay as klay
import pytest
from conftest import layout_layers

from layoutgen import io
from layoutgen.geometry import rect
from layoutgen.layers import DEFAULT_LAYERS, LayerMap, load_layer_map

BACKGROUND = 0xFFFFFF
PITCH, SIDE, MARGIN = 100, 60, 20  # µm: one SIDE × SIDE square per layer on a PITCH grid
COLUMNS = 5
SCALE = 1  # pixels per µm


def _rgb(color: str) -> int:
    return int(color[1:], 16)


def _view(gds: Path, lyp: Path, size: tuple[int, int]) -> klay.LayoutView:
    view = klay.LayoutView()
    view.set_config("background-color", "#ffffff")
    view.set_config("grid-visible", "false")
    view.resize(*size)
    view.load_layout(str(gds), True)
    view.load_layer_props(str(lyp))
    view.max_hier()
    return view


def _view_layers(view: klay.LayoutView) -> dict[str, klay.LayerPropertiesNode]:
    out = {}
    it = view.begin_layers()
    while not it.at_end():
        node = it.current()
        out[node.source] = node
        it.next()
    return out


def _layer_grid(layers: LayerMap) -> tuple[gdstk.Cell, dict[str, tuple[int, int]]]:
    top = gdstk.Cell("swatches")
    origin = {}
    for i, lay in enumerate(layers):
        x, y = (i % COLUMNS) * PITCH + MARGIN, (i // COLUMNS) * PITCH + MARGIN
        top.add(rect(x, y, x + SIDE, y + SIDE, lay.layer, lay.datatype))
        origin[lay.name] = (x, y)
    return top, origin


def _user_map(tmp_path: Path) -> LayerMap:
    f = tmp_path / "pdk.toml"
    f.write_text('[layers.PI2]\nlayer = 121\ndatatype = 4\ncolor = "#0a0b0c"\npattern = "I0"\n'
                 '[layers.ALIGN]\ncolor = "#00ff00"\n')
    return load_layer_map(f)


@pytest.mark.parametrize("which", ["default", "user"])
def test_png_shows_each_layer_in_its_colour(tmp_path: Path, which: str) -> None:
    layers = DEFAULT_LAYERS if which == "default" else _user_map(tmp_path)
    top, origin = _layer_grid(layers)
    gds = io.write(top, tmp_path / "swatches.gds")
    lyp = io.write_text(tmp_path / "map.lyp", layers.to_lyp())
    rows = -(-len(layers) // COLUMNS)
    width, height = COLUMNS * PITCH * SCALE, rows * PITCH * SCALE
    view = _view(gds, lyp, (width, height))
    view.zoom_box(kdb.DBox(0, 0, COLUMNS * PITCH, rows * PITCH))
    png = tmp_path / "swatches.png"
    view.save_image(str(png), width, height)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the view took the map's names, sources and colours from the .lyp
    nodes = _view_layers(view)
    for lay in layers:
        node = nodes[f"{lay.layer}/{lay.datatype}@1"]
        assert node.name.split()[0] == lay.name
        assert node.fill_color & 0xFFFFFF == _rgb(lay.color)
        assert node.frame_color & 0xFFFFFF == _rgb(lay.color)

    # and the pixels show it
    image = klay.PixelBuffer.read_png(str(png))
    assert (image.width(), image.height()) == (width, height)
    inset = 2  # px kept away from the square's edge on the outside
    for lay in layers:
        x0, y0 = origin[lay.name]
        counts: dict[int, int] = {}
        for px in range((x0 - inset) * SCALE, (x0 + SIDE + inset) * SCALE):
            for py in range(height - (y0 + SIDE + inset) * SCALE, height - (y0 - inset) * SCALE):
                rgb = image.pixel(px, py) & 0xFFFFFF
                counts[rgb] = counts.get(rgb, 0) + 1
        drawn = {c: n for c, n in counts.items() if c != BACKGROUND}
        assert set(drawn) == {_rgb(lay.color)}, (
            f"{lay.name}: expected only {lay.color}, saw "
            f"{sorted(f'#{c:06x}' for c in drawn)}")
        filled = drawn[_rgb(lay.color)] / (SIDE * SCALE) ** 2
        if lay.pattern == "I0":  # solid
            assert filled > 0.95, f"{lay.name}: solid pattern covers only {filled:.0%}"
        elif lay.pattern == "I1":  # hollow: the frame only
            assert filled < 0.1, f"{lay.name}: hollow pattern covers {filled:.0%}"
        else:  # hatched: partly filled
            assert 0.05 < filled < 0.95, f"{lay.name}: {lay.pattern} covers {filled:.0%}"


def test_builtin_layouts_render_with_the_generated_lyp(builtin_build: Path,
                                                       tmp_path: Path) -> None:
    """Every layout of ``layoutgen build`` loads with its ``layoutgen.lyp``: each layer it
    uses is shown under the map's name and colour, and the PNG shows map colours."""
    layouts = sorted(p for p in builtin_build.rglob("*") if p.suffix in (".gds", ".oas"))
    if not layouts:
        pytest.skip("no built-in products yet (cells/products/*.toml)")
    lyp = builtin_build / "layoutgen.lyp"
    colours = {_rgb(lay.color) for lay in DEFAULT_LAYERS}
    for path in layouts:
        view = _view(path, lyp, (400, 400))
        view.zoom_fit()
        png = tmp_path / f"{path.name}.png"
        view.save_image(str(png), 400, 400)
        nodes = _view_layers(view)
        layout = view.cellview(0).layout()
        for layer, datatype in layout_layers(layout):
            lay = DEFAULT_LAYERS.by_spec(layer, datatype)
            assert lay is not None, f"{path.name}: layer {layer}/{datatype} is not in the map"
            node = nodes[f"{layer}/{datatype}@1"]
            assert node.name.split()[0] == lay.name
            assert node.fill_color & 0xFFFFFF == _rgb(lay.color)
        image = klay.PixelBuffer.read_png(str(png))
        seen = {image.pixel(x, y) & 0xFFFFFF for x in range(0, 400, 2) for y in range(0, 400, 2)}
        assert seen & colours, f"{path.name}: no layer colour visible in the PNG"
