#!/usr/bin/env python3
"""The README's pictures, drawn from freshly built built-in products.

    python scripts/readme_images.py                 # writes docs/images/*.png
    python scripts/readme_images.py -o /tmp/imgs    # somewhere else

Builds the four built-in products into a temporary folder exactly as ``layoutgen build``
does (the same spec files, the same three phases), checks the capped wafer, and draws:

* ``capped_die.png``: the capped die, every layer (``layoutgen.preview.render``);
* ``capped_wafer_map.png``: the capped wafer's map, dies coloured by the check
  (``layoutgen.preview.wafer_map``);
* ``csp_die.png``: the CSP die, every layer;
* ``emboss_pad.png``: one embossed ball pad of the CSP die, zoomed, without the ball;
* ``csp_xsection.png``: the cross-section through ball A1 that the build writes
  (``cells.xsection``, parameters ``xsection.*`` of the csp_die spec).

Pictures are deterministic (fixed sizes, no dates in the PNG), drawn at a lower DPI
than the build's and reduced to a 256-colour palette so that each stays well under
300 kB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
#: resolution of the README's pictures (the build draws at layoutgen.preview.DPI)
DPI = 96
#: the ball whose pad is zoomed and cut (the csp_die spec's xsection.ball)
BALL = "A1"


def _shrink(path: Path) -> Path:
    """Rewrite the PNG at ``path`` with a 256-colour palette (deterministic, lossless
    for these flat-coloured drawings up to the anti-aliased edges)."""
    from PIL import Image

    with Image.open(path) as im:
        pal = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                         dither=Image.Dither.NONE)
    pal.save(path, format="PNG", optimize=True)
    return path


def build(out_dir: Path) -> dict[str, object]:
    """Build every built-in product into ``out_dir``; product name -> BuildResult."""
    import cells.products as products
    from layoutgen.cli import build_products, resolve_specs, write_outputs
    from layoutgen.layers import DEFAULT_LAYERS

    kinds = dict(products.KINDS)
    specs = resolve_specs([], kinds, products.builtin_specs())
    results = build_products(specs, kinds, DEFAULT_LAYERS)
    write_outputs(results, DEFAULT_LAYERS, out_dir)
    return {r.spec.name: r for r in results}


def draw(out: Path) -> list[Path]:
    """Draw every README picture into ``out``; the paths written."""
    import shutil

    from cells.csp import design_balls
    from cells.csp_products import design_from_spec
    from layoutgen.check import check
    from layoutgen.preview import render, wafer_map

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="layoutgen-readme-") as tmp:
        built = Path(tmp)
        results = build(built)

        p = out / "capped_die.png"
        render(built / "capped_die.gds", p, dpi=DPI,
               title="capped_die: hermetic solder-sealed cap (seed 000)")
        written.append(p)

        report = check(built / "capped_wafer.gds", rules="default")
        p = out / "capped_wafer_map.png"
        wafer_map(built / "capped_wafer_wafermap.json", p, report=report, dpi=DPI)
        written.append(p)

        p = out / "csp_die.png"
        render(built / "csp_die.gds", p, dpi=DPI,
               title="csp_die: embossed ball pads over RDL (seed 004)")
        written.append(p)

        design, _rules = design_from_spec(results["csp_die"].spec)
        ball = design_balls(design).by_name()[BALL]
        half = design.ball_pad.land_diameter / 2 + 20.0
        p = out / "emboss_pad.png"
        render(built / "csp_die.gds", p, dpi=DPI,
               layers=["PI2", "PI3", "RDL"],
               window=(ball.x - half, ball.y - half, ball.x + half, ball.y + half),
               title=f"csp_die: embossed ball pad {BALL} (PI2, PI3, RDL)")
        written.append(p)

        p = out / "csp_xsection.png"
        shutil.copyfile(built / "csp_die_xsection.png", p)
        written.append(p)
    for p in written:
        _shrink(p)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=OUT,
                    help=f"folder for the pictures (default: {OUT.relative_to(REPO)})")
    args = ap.parse_args(argv)
    for p in draw(args.output):
        print(f"{p} ({p.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
