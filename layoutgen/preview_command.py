"""``layoutgen preview``: draw a layout (or a wafer map) to PNG or SVG.

::

    layoutgen preview out/capped_die.gds                       # -> out/capped_die.png
    layoutgen preview out/capped_wafer.gds -o corner.svg --window=-5000,-5000,5000,5000
    layoutgen preview out/capped_die.gds --show CAP_SOLDER,SEAL_LAND --cell capped_die
    layoutgen preview out/capped_wafer.gds --report check.json   # violations as red crosses
    layoutgen preview out/capped_wafer_wafermap.json --report check.json  # pass/fail dies

The layer map comes from the shared ``--layers FILE`` option (a TOML layer map, as in
every subcommand); the layers to *show* are chosen with ``--show NAMES``. Unusable
input raises a :class:`~layoutgen.errors.LayoutgenError` whose one line names the
option and its allowed form; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from layoutgen.check.command import DEFAULT_TIMEOUT, seconds_arg, time_limit
from layoutgen.errors import LayoutgenError, SpecError
from layoutgen.layers import DEFAULT_LAYERS, LayerMap

__all__ = ["add_parser", "default_output", "run"]

SUFFIXES = (".png", ".svg")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``preview`` subcommand on ``sub`` (an argparse subparsers object).

    The shared options (``--layers FILE``, ``--quiet``) are added by the CLI with
    ``layoutgen.cli.add_common_options``.

    Returns:
        The subcommand's parser.
    """
    p = sub.add_parser(
        "preview",
        help="draw a GDS/OASIS cell or a wafer map to PNG or SVG",
        description="Draw a cell of a GDS or OASIS file in the layer map's colours, with a "
                    "legend and a scale bar, to PNG or SVG. Given a <name>_wafermap.json "
                    "instead, draw the wafer map (dies coloured pass/fail with --report).")
    p.add_argument("file", metavar="FILE",
                   help="layout (.gds, .oas) or wafer map (<name>_wafermap.json)")
    p.add_argument("-o", "--output", metavar="OUT.png|OUT.svg",
                   help="picture to write (default: FILE with the suffix .png)")
    p.add_argument("--cell", metavar="NAME", help="cell to draw (default: the top cell)")
    p.add_argument("--show", metavar="NAMES",
                   help="layers to draw, comma-separated names such as PI1,PI2,RDL "
                        "(default: all)")
    p.add_argument("--window", metavar="x0,y0,x1,y1", nargs="+",
                   help="area to draw in µm; write --window=-500,-500,500,500 when x0 is "
                        "negative, or give four numbers: --window -500 -500 500 500")
    p.add_argument("--report", metavar="CHECK.json",
                   help="check report from 'layoutgen check --json': violations are marked "
                        "on the layout; on a wafer map, dies are coloured pass/fail")
    p.add_argument("--title", metavar="TEXT", help="picture title (default: the cell name)")
    p.add_argument("--timeout", type=seconds_arg, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="give up (exit 2) when reading and drawing take longer "
                        "(default: %(default)g; 0: no limit)")
    return p


def default_output(file: str | Path) -> Path:
    """The picture written when ``-o`` is not given: FILE with the suffix ``.png``."""
    return Path(file).with_suffix(".png")


def _layer_map(args: argparse.Namespace) -> LayerMap:
    """The map named by ``--layers FILE``, with a hint when layer *names* were given."""
    from layoutgen.layers import load_layer_map

    path = getattr(args, "layers", None)
    if not path:
        return DEFAULT_LAYERS
    names = [n.strip() for n in str(path).split(",")]
    if not Path(path).exists() and names and all(n in DEFAULT_LAYERS for n in names):
        raise SpecError(f"--layers: takes a layer map FILE (TOML), got layer names {path!r}; "
                        f"to draw only some layers use --show {path}")
    return load_layer_map(path)


def _with_option(option: str, exc: LayoutgenError) -> LayoutgenError:
    """``exc`` as a SpecError whose message starts with the option's name."""
    return SpecError(f"{option}: {exc}")


def run(args: argparse.Namespace, layers: LayerMap | None = None) -> int:
    """Run ``layoutgen preview``; returns 0 (unusable input raises LayoutgenError).

    Args:
        args: the parsed arguments of :func:`add_parser` (plus ``layers``/``quiet`` when
            the CLI added its shared options).
        layers: the layer map; default: read ``args.layers``, else the default map.
    """
    from layoutgen import preview

    layer_map = layers if layers is not None else _layer_map(args)
    quiet = bool(getattr(args, "quiet", False))
    file = Path(args.file)
    out = Path(args.output) if args.output else default_output(file)
    if out.suffix.lower() not in SUFFIXES:
        raise SpecError(f"-o/--output: must end in .png or .svg, got {str(out)!r}")
    if out.resolve() == file.resolve():
        raise SpecError(f"-o/--output: would overwrite the input {str(file)!r}; name a "
                        ".png or .svg file")
    window = None
    if args.window:
        text = ",".join(args.window)
        try:
            window = preview.parse_window(text)
        except preview.PreviewError:
            raise SpecError(f"--window: must be x0,y0,x1,y1 in µm with x0 < x1 and y0 < y1 "
                            f"(such as --window=-500,-500,500,500), got {text!r}") from None
    report: Any = None
    if args.report:
        try:
            preview.violation_points(args.report)
        except preview.PreviewError as exc:
            raise _with_option("--report", exc) from None
        report = args.report

    if file.suffix.lower() == ".json":
        for opt, val in (("--cell", args.cell), ("--show", args.show),
                         ("--window", args.window)):
            if val:
                raise SpecError(f"{opt}: applies to a layout (.gds/.oas), not to the wafer "
                                f"map {str(file)!r}")
        done = preview.wafer_map(file, out, report=report, title=args.title)
        if not quiet:
            verdict = (f", {done.passing} pass, {done.failing} fail" if report is not None
                       else "")
            print(f"wrote {out} (wafer map, {done.dies} dies{verdict})")
        sys.stdout.flush()
        return 0

    with time_limit(getattr(args, "timeout", 0.0), str(file), "drawing"):
        return _render(args, preview, file, out, window, report, layer_map, quiet)


def _render(args: argparse.Namespace, preview: Any, file: Path, out: Path,
            window: tuple[float, float, float, float] | None, report: Any,
            layer_map: LayerMap, quiet: bool) -> int:
    """Read and draw a layout (the part of :func:`run` under ``--timeout``)."""
    data = preview.load_layout(file)
    try:
        preview.resolve_cell(data, args.cell)
    except preview.PreviewError as exc:
        raise _with_option("--cell", exc) from None
    try:
        preview.resolve_layers(layer_map, args.show)
    except preview.PreviewError as exc:
        raise _with_option("--show", exc) from None
    try:
        done = preview.render(data, out, cell=args.cell, layers=args.show, window=window,
                              title=args.title, layer_map=layer_map, violations=report,
                              show_progress=not quiet)
    except preview.PreviewError as exc:
        if args.show and "chosen layers" in str(exc):
            raise _with_option("--show", exc) from None
        raise
    if not quiet:
        extra = "".join(f", {n} instances of {c} as outlines"
                        for c, n in sorted(done.outlined.items()))
        print(f"wrote {out} (cell {done.cell}, layers {', '.join(done.layers) or 'none'}"
              f"{extra})")
    sys.stdout.flush()
    return 0
