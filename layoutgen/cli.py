"""The ``layoutgen`` command line.

One function per subcommand (``cmd_<name>``) and one parser builder per subcommand
(``_add_<name>_parser(sub)``), registered in :data:`PARSERS`. Every subcommand accepts
``--layers FILE`` (a user layer map, see :func:`layoutgen.layers.load_layer_map`) and
``--quiet``.

Error contract: every :class:`~layoutgen.errors.LayoutgenError` (and any ``OSError``,
typically while writing output) becomes exactly one line ``layoutgen: error: <message>`` on
stderr and exit status 2, without a traceback. Anything else is a bug and shows its
traceback. Progress lines go to stderr only when stderr is a terminal and
``--quiet`` is not given; the short summary of written files goes to stdout.

``build`` works in three phases so that a bad input never leaves half an output:

1. load and validate every spec (and the layer map),
2. build every product in memory (``kind.build(spec, layers) -> BuildResult``),
3. write every artifact (each one atomically), then ``layoutgen.lyp`` once per run.

An error in phase 1 or 2 writes nothing at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from layoutgen.errors import LayoutgenError, ParameterError, SpecError
from layoutgen.layers import DEFAULT_LAYERS, LayerMap, load_layer_map

if TYPE_CHECKING:
    from layoutgen.spec import BuildResult, Spec

# (layoutgen.io, layoutgen.spec, the product kinds and the version are imported where
# they are used: a command does not pay for what only another one needs)

PROG = "layoutgen"
#: the KLayout layer-properties file written once per ``build`` run.
LYP_NAME = "layoutgen.lyp"
#: default output folder of ``build``, relative to the working directory.
DEFAULT_OUT = "out"


# ----------------------------------------------------------------------------- helpers
class _Reporter:
    """Progress on stderr (a terminal only, not --quiet) and a summary on stdout.

    Args:
        quiet: suppress progress and summary.
        err: stream for progress (stderr).
        out: stream for the summary (stdout).
    """

    def __init__(self, quiet: bool, err: TextIO | None = None, out: TextIO | None = None):
        self.err = err or sys.stderr
        self.out = out or sys.stdout
        self.quiet = quiet
        isatty = getattr(self.err, "isatty", None)
        self.progress_on = not quiet and bool(isatty and isatty())

    def progress(self, message: str) -> None:
        """One progress line on stderr (terminal only)."""
        if self.progress_on:
            print(f"{PROG}: {message}", file=self.err, flush=True)

    def summary(self, message: str) -> None:
        """One summary line on stdout (unless --quiet)."""
        if not self.quiet:
            print(message, file=self.out)


def _layer_map(args: argparse.Namespace) -> LayerMap:
    """The layer map chosen by ``--layers FILE``, or the default map."""
    path = getattr(args, "layers", None)
    return load_layer_map(path) if path else DEFAULT_LAYERS


def _one_line(message: str) -> str:
    """``message`` folded onto one line (error output is exactly one line)."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _os_message(exc: OSError) -> str:
    """A one-line message for an OSError (``out/x.gds: Permission denied``)."""
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {what}"
    return what


def add_common_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options every subcommand shares to the subcommand parser ``p``.

    Shared options: ``--layers FILE`` (a user layer map in TOML; read it with
    :func:`_layer_map`) and ``-q/--quiet``.
    """
    p.add_argument("--layers", metavar="FILE",
                   help="layer map (TOML) replacing the default layer numbers")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr and no summary on stdout")
    return p


def _add_parser(sub: Any, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    """Add subcommand ``name`` with the options every subcommand shares."""
    return add_common_options(sub.add_parser(name, help=help_text, description=description))


# ----------------------------------------------------------------------------- build
def _products_module() -> Any:
    """The built-in product registry (``cells.products``), imported when needed.

    Looked up at call time, so tests can replace ``cells.products.KINDS``.
    """
    import cells.products as products

    return products


def _is_spec_path(arg: str, builtins: dict[str, Path]) -> bool:
    """True when ``arg`` names a spec file rather than a built-in product.

    ``*.toml`` and anything with a path separator is a file; otherwise a built-in
    product name wins over a file of the same name in the working directory.
    """
    if arg.endswith(".toml") or "/" in arg or "\\" in arg:
        return True
    return arg not in builtins and Path(arg).is_file()


def resolve_specs(targets: Sequence[str], kinds: Mapping[str, Any],
                  builtins: dict[str, Path]) -> list[Spec]:
    """Load and validate the spec of every build target (phase 1: nothing is written).

    Args:
        targets: built-in product names or paths of SPEC.toml files; empty means every
            built-in product.
        kinds: product kind name -> :class:`layoutgen.spec.ProductKind`.
        builtins: built-in product name -> its spec file.

    Raises:
        SpecError: unknown product, unreadable or invalid spec, or two specs that name
            the same product (they would write the same files).
        ParameterError: a parameter out of its allowed range.
    """
    from layoutgen.spec import load_spec

    paths: list[Path] = []
    if not targets:
        paths = list(builtins.values())
    for arg in targets:
        if _is_spec_path(arg, builtins):
            paths.append(Path(arg))
        elif arg in builtins:
            paths.append(builtins[arg])
        else:
            known = ", ".join(builtins) if builtins else "none yet"
            raise SpecError(f"unknown product {arg!r}; built-in products: {known} "
                            "(or give the path of a SPEC.toml file)")
    specs: list[Spec] = []
    seen: dict[str, Path] = {}
    for path in paths:
        spec = load_spec(path, kinds)
        first = seen.get(spec.name)
        if first is not None:
            if first.resolve() == path.resolve():
                continue  # the same file named twice
            raise SpecError(f"{path}: product name {spec.name!r} is also used by {first}; "
                            "two products would write the same files")
        seen[spec.name] = path
        specs.append(spec)
    return specs


def _check_artifact_name(spec: Spec, name: str) -> None:
    """Refuse artifact names that would leave the output folder."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or ".." in pure.parts or name == LYP_NAME:
        raise SpecError(f"product {spec.name!r}: kind {spec.kind!r} made an output named "
                        f"{name!r}; it must be a relative path inside the output folder "
                        f"and not {LYP_NAME}")


def build_products(specs: Sequence[Spec], kinds: Mapping[str, Any], layers: LayerMap,
                   report: _Reporter | None = None) -> list[BuildResult]:
    """Build every product in memory (phase 2: nothing is written).

    Raises:
        ParameterError: a parameter combination that cannot be built.
        SpecError: a kind returned no BuildResult, or two outputs with one name.
    """
    from layoutgen.spec import BuildResult

    results: list[BuildResult] = []
    owner: dict[str, str] = {}
    for spec in specs:
        if report:
            report.progress(f"building {spec.name} (kind {spec.kind})")
        try:
            result = kinds[spec.kind].build(spec, layers)
        except ParameterError as exc:  # name the spec file, as spec validation does
            if spec.source is None or f"(in {spec.source})" in exc.message:
                raise
            raise ParameterError(exc.key, f"{exc.message} (in {spec.source})", exc.value,
                                 exc.allowed) from None
        if not isinstance(result, BuildResult):
            raise SpecError(f"product {spec.name!r}: kind {spec.kind!r} returned "
                            f"{type(result).__name__}, not a BuildResult")
        for art in result.artifacts:
            _check_artifact_name(spec, art.name)
            if art.name in owner:
                raise SpecError(f"products {owner[art.name]!r} and {spec.name!r} both write "
                                f"{art.name}")
            owner[art.name] = spec.name
        results.append(result)
    return results


def write_outputs(results: Sequence[BuildResult], layers: LayerMap, out_dir: Path,
                  report: _Reporter | None = None) -> list[Path]:
    """Write every artifact, then ``layoutgen.lyp`` (phase 3).

    Each file is written atomically (``layoutgen.io``), so a failure leaves every file
    either complete or as it was.

    Returns:
        The paths written, in order.
    """
    from layoutgen.io import write_text

    written: list[Path] = []
    for result in results:
        for art in result.artifacts:
            path = out_dir / art.name
            art.write(path)
            written.append(path)
            if report:
                report.progress(f"wrote {path} ({art.role})")
    lyp = write_text(out_dir / LYP_NAME, layers.to_lyp())
    written.append(lyp)
    if report:
        report.progress(f"wrote {lyp} (KLayout layer properties)")
    return written


def cmd_build(args: argparse.Namespace) -> int:
    """``layoutgen build``: validate all specs, build all products, then write all files."""
    report = _Reporter(args.quiet)
    layers = _layer_map(args)
    products = _products_module()
    kinds = products.KINDS  # (a kind's module is imported when the kind is looked up)
    specs = resolve_specs(args.products, kinds, products.builtin_specs())
    results = build_products(specs, kinds, layers, report)
    out_dir = Path(args.output)
    try:
        written = write_outputs(results, layers, out_dir, report)
    except OSError as exc:
        raise LayoutgenError(f"cannot write output: {_os_message(exc)}") from exc
    if not specs:
        report.summary(f"no built-in products yet: wrote only {written[-1]}")
        return 0
    names = ", ".join(p.relative_to(out_dir).as_posix() for p in written)
    report.summary(f"built {len(specs)} product(s) into {out_dir}/: {names}")
    if not args.no_report:
        if not _write_pictures_and_report(results, kinds, layers, out_dir, args, report):
            return 1  # the files are written (and valid layouts); a check failed
    return 0


def _write_pictures_and_report(results: list[BuildResult], kinds: Mapping[str, Any],
                               layers: LayerMap, out_dir: Path, args: argparse.Namespace,
                               report: _Reporter) -> bool:
    """Check each product's main layout, draw its pictures and write ``report.html``.

    Returns False when a product failed its check."""
    from layoutgen.check import check
    from layoutgen.htmlreport import REPORT_NAME, product_entry, write_report
    from layoutgen.progress import progress

    entries = []
    verdicts = []
    all_passed = True
    for r in progress(results, total=len(results), label="check and draw",
                      enabled=report.progress_on):
        main = next((a.name for a in r.artifacts if a.role == "layout"), None)
        rep = None
        if main is not None and not args.no_check:
            rep = check(out_dir / main, rules=_product_rules(r), layers=layers)
            rep.source = main  # relative: the same inputs give the same bytes anywhere
            rep.stats.pop("seconds", None)
            rep.write_json(out_dir / f"{r.spec.name}_check.json")
            n = sum(x.violations for x in rep.results.values())
            all_passed = all_passed and rep.passed
            verdicts.append(f"{r.spec.name} {'passed' if rep.passed else f'FAILED ({n})'}")
        entries.append(product_entry(r, kinds[r.spec.kind], out_dir, layers=layers, check=rep,
                                     quiet=not report.progress_on))
    path = write_report(out_dir / REPORT_NAME, entries, layer_map=layers)
    if verdicts:
        report.summary("checks: " + ", ".join(verdicts))
    report.summary(f"wrote {path} and the pictures")
    if not all_passed:
        print("layoutgen: a product failed its check (exit 1): see its <name>_check.json "
              "and report.html", file=sys.stderr)
    return all_passed


def _product_rules(result: BuildResult) -> str:
    """The rule set a product was designed to (its ``rules`` parameter), else default."""
    rules = result.spec.values.get("rules")
    return rules if isinstance(rules, str) and rules else "default"


def _add_build_parser(sub: Any) -> None:
    p = _add_parser(
        sub, "build", "build products into GDS/OASIS files",
        "Build products (built-in names or SPEC.toml files; none = every built-in "
        "product). All specs are validated and all products built before any file is "
        f"written; {LYP_NAME} is written once per run.")
    p.add_argument("products", nargs="*", metavar="PRODUCT|SPEC.toml",
                   help="built-in product name or spec file (default: all built-in products)")
    p.add_argument("-o", "--output", default=DEFAULT_OUT, metavar="DIR",
                   help=f"output folder (default: ./{DEFAULT_OUT}/)")
    p.add_argument("--no-report", action="store_true",
                   help="write only the layouts and their data files: no check, no "
                        "pictures, no report.html")
    p.add_argument("--no-check", action="store_true",
                   help="draw the pictures and report.html without checking the layouts")
    p.set_defaults(func=cmd_build)


# ----------------------------------------------------------------------------- layers
def cmd_layers(args: argparse.Namespace) -> int:
    """``layoutgen layers``: print the layer map, or write it as a KLayout ``.lyp``."""
    layers = _layer_map(args)
    if args.lyp:
        from layoutgen.io import write_text

        try:
            path = write_text(Path(args.lyp), layers.to_lyp())
        except OSError as exc:
            raise LayoutgenError(f"cannot write output: {_os_message(exc)}") from exc
        _Reporter(args.quiet).summary(f"wrote {path}")
    else:
        print(layers.text_table())
    return 0


def _add_layers_parser(sub: Any) -> None:
    p = _add_parser(sub, "layers", "print the layer map or write a KLayout .lyp",
                    "Print the layer map as a table, or write it as KLayout layer "
                    "properties (.lyp) with --lyp.")
    p.add_argument("--lyp", metavar="FILE", help="write the KLayout layer properties here")
    p.set_defaults(func=cmd_layers)


# ----------------------------------------------------------------------------- registry
# ----------------------------------------------------------------------------- check
def cmd_check(args: argparse.Namespace) -> int:
    """``layoutgen check``: 0 no violation, 1 violations (unusable input raises -> 2)."""
    from layoutgen.check.command import run

    return run(args, _layer_map(args))


def _add_check_parser(sub: Any) -> None:
    from layoutgen.check.command import add_parser

    add_common_options(add_parser(sub)).set_defaults(func=cmd_check)


# ----------------------------------------------------------------------------- preview
def cmd_preview(args: argparse.Namespace) -> int:
    """``layoutgen preview``: draw a layout (or a wafer map JSON) to PNG or SVG."""
    from layoutgen.preview_command import run

    return run(args)


def _add_preview_parser(sub: Any) -> None:
    from layoutgen.preview_command import add_parser

    add_common_options(add_parser(sub)).set_defaults(func=cmd_preview)


# >>> More subcommands are registered here: write `_add_<name>_parser(sub)` that
# >>> creates the subparser (passed through `add_common_options` so --layers/--quiet
# >>> are shared) and sets `func=cmd_<name>`; then append it to PARSERS.
# >>> tests/test_cli.py checks that every registered subcommand accepts --layers.
PARSERS: list[Callable[[Any], None]] = [
    _add_build_parser,
    _add_layers_parser,
    _add_check_parser,
    _add_preview_parser,
]


class _VersionAction(argparse._VersionAction):
    """``--version``: argparse's version action, with the version looked up (from the
    installed package's metadata) only when the option is given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from layoutgen import __version__

        self.version = f"{PROG} {__version__}"
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, as every other error is:
    ``layoutgen: error: argument --timeout: must be ..., got 'nan'`` (exit 2; ``-h``
    shows the usage). Subcommand parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {_one_line(message)}\n")


def make_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Photomask layouts (GDSII/OASIS) for wafer-level chip-scale packages, "
                    "generated from Python and checked geometrically.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in PARSERS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 unusable input).

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when None.
    """
    # numpy's OpenBLAS starts a spinning thread per core at import; nothing here does
    # linear algebra big enough to use them (about 0.07 s of CPU per command)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = make_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except LayoutgenError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{PROG}: error: {_one_line(_os_message(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
