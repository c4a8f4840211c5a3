"""The ``layoutgen`` command line: subcommands, the three build phases, the error contract."""

from __future__ import annotations

import hashlib
import io as _stdio
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import gdstk
import pytest
from conftest import layout_layers, read_layout, run_layoutgen

import cells.products
from layoutgen import cli
from layoutgen import io as lio
from layoutgen.errors import ParameterError
from layoutgen.geometry import circle, circle_vertex_count, rect
from layoutgen.layers import DEFAULT_LAYERS, load_layer_map
from layoutgen.naming import cell
from layoutgen.spec import Artifact, BuildResult, Param, ProductKind

TESTS = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- a toy kind
@cell("toy_ring")
def toy_ring(size: float, width: float, layer: tuple[int, int]) -> gdstk.Cell:
    """A closed square ring, outer edge ``size`` µm, ``width`` µm wide, centred on 0."""
    c = gdstk.Cell("toy_ring")
    h = size / 2
    outer, inner = rect(-h, -h, h, h), rect(-h + width, -h + width, h - width, h - width)
    c.add(*gdstk.boolean(outer, inner, "not", layer=layer[0], datatype=layer[1]))
    return c


@cell("toy_die")
def toy_die(size: float, width: float, radius: float, die: tuple[int, int],
            ring: tuple[int, int], pad: tuple[int, int]) -> gdstk.Cell:
    """A ``size`` µm square die with a ring 10 µm inside its edge and a round pad."""
    c = gdstk.Cell("toy_die")
    h = size / 2
    c.add(rect(-h, -h, h, h, *die))
    c.add(circle(radius, layer=pad[0], datatype=pad[1]))
    c.add(gdstk.Reference(toy_ring(size - 20, width, ring)))
    return c


def toy_build(spec, layers) -> BuildResult:
    """Build a toy die; ``ring.width`` must leave room for the pad (a build-time check)."""
    size, width, radius = spec["size"], spec["ring.width"], spec["pad.radius"]
    room = (size - 20) / 2 - radius
    if width >= room:
        raise ParameterError("ring.width", f"must be < {room:g} µm for size {size:g} µm and "
                                           f"pad.radius {radius:g} µm, got {width:g}", width)
    top = toy_die(size, width, radius, layers.spec("DIE"), layers.spec("SEAL_LAND"),
                  layers.spec("PAD"))
    return BuildResult(spec, top, [
        Artifact(f"{spec.name}.gds", lambda p: lio.write(top, p)),
        Artifact(f"{spec.name}.oas", lambda p: lio.write(top, p), "layout (OASIS)"),
    ])


TOY = ProductKind("toy", (
    Param("size", 500.0, "die edge", low=100, high=10000),
    Param("ring.width", 20.0, "ring width", low=0, low_open=True),
    Param("pad.radius", 150.0, "pad radius", low=0, low_open=True),
), toy_build, "a test die")

_TOY_MAIN = """
import sys
sys.path.insert(0, {tests!r})
import cells.products
import test_cli
from layoutgen.cli import main
cells.products.KINDS = {{"toy": test_cli.TOY}}
sys.exit(main(sys.argv[1:]))
"""


def toy_subprocess(*args: str, hashseed: str) -> subprocess.CompletedProcess[str]:
    """``layoutgen ARGS`` in a fresh process that knows the toy kind."""
    return subprocess.run(
        [sys.executable, "-c", _TOY_MAIN.format(tests=str(TESTS)), *args],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONHASHSEED=hashseed))


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """The toy kind registered in-process; returns toy spec files by name."""
    monkeypatch.setattr(cells.products, "KINDS", {"toy": TOY})
    specs = {
        "small": 'kind = "toy"\nname = "small"\nsize = 400\n[pad]\nradius = 60\n',
        "large": 'kind = "toy"\nname = "large"\nsize = 1200\n[ring]\nwidth = 40\n',
        "bad_value": 'kind = "toy"\nname = "bad"\n[ring]\nwidth = -5\n',
        "bad_build": 'kind = "toy"\nname = "tight"\nsize = 400\n[ring]\nwidth = 150\n',
    }
    folder = tmp_path / "specs"
    folder.mkdir()
    paths = {}
    for name, text in specs.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _files(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {stderr!r}"
    assert lines[0].startswith("layoutgen: error: ")
    assert "Traceback" not in stderr
    return lines[0]


# ----------------------------------------------------------------------------- basics
def test_version() -> None:
    proc = run_layoutgen("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"layoutgen {version('layoutgen')}"


def test_help_lists_subcommands() -> None:
    proc = run_layoutgen("--help")
    assert proc.returncode == 0
    assert "build" in proc.stdout and "layers" in proc.stdout
    assert run_layoutgen().returncode == 2  # a subcommand is required


def _subcommands() -> list[str]:
    sub = next(a for a in cli.make_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def test_subcommands_include_build_and_layers() -> None:
    assert {"build", "layers"} <= set(_subcommands())


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_accepts_layers_option(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert "--layers FILE" in capsys.readouterr().out


def test_layers_prints_the_table() -> None:
    proc = run_layoutgen("layers")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.strip() == DEFAULT_LAYERS.text_table()


def test_layers_writes_the_lyp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "map.lyp"
    proc = run_layoutgen("layers", "--lyp", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_text(encoding="utf-8") == DEFAULT_LAYERS.to_lyp()
    assert str(target) in proc.stdout


def test_layers_with_a_user_map(tmp_path: Path) -> None:
    user = tmp_path / "pdk.toml"
    user.write_text("[layers.PI2]\nlayer = 121\n")
    proc = run_layoutgen("layers", "--layers", str(user))
    assert proc.returncode == 0, proc.stderr
    pi2 = [line for line in proc.stdout.splitlines() if line.startswith("PI2 ")]
    assert pi2 and pi2[0].split()[1] == "121/0"
    proc = run_layoutgen("layers", "--layers", str(user), "--lyp", str(tmp_path / "u.lyp"))
    assert proc.returncode == 0
    assert (tmp_path / "u.lyp").read_text() == load_layer_map(user).to_lyp()


# ----------------------------------------------------------------------------- errors
def test_unknown_product_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o"
    proc = run_layoutgen("build", "no_such_product", "-o", str(out))
    assert proc.returncode == 2
    assert "'no_such_product'" in _one_error_line(proc.stderr)
    assert proc.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda d: d / "missing.toml", "cannot read spec"),
    (lambda d: d, "cannot read spec"),  # a folder
    (lambda d: (d / "b.toml").write_bytes(b"\xff\xfe\x00") and d / "b.toml", "not a UTF-8"),
    (lambda d: (d / "t.toml").write_text("kind = [") and d / "t.toml", "not valid TOML"),
])
def test_unreadable_spec_writes_nothing(tmp_path: Path, make, pattern: str) -> None:
    spec = make(tmp_path)
    out = tmp_path / "o"
    proc = run_layoutgen("build", str(spec), "-o", str(out))
    assert proc.returncode == 2
    assert pattern in _one_error_line(proc.stderr)
    assert not out.exists()


def test_spec_with_unknown_kind(tmp_path: Path) -> None:
    spec = tmp_path / "mine.toml"
    spec.write_text('kind = "flux_capacitor"\n[seal]\nwidth = 5\n')
    proc = run_layoutgen("build", str(spec), "-o", str(tmp_path / "o"))
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert f"{spec}: kind: must be one of" in line and "'flux_capacitor'" in line
    assert not (tmp_path / "o").exists()


def test_bad_layer_map_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[layers.PI2]\nlayer = 20\n")  # collides with PI1
    for args in (["build"], ["layers"]):
        proc = run_layoutgen(*args, "--layers", str(bad), cwd=tmp_path)
        assert proc.returncode == 2
        assert "already used by PI1" in _one_error_line(proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_output_error_is_one_line(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["layers", "--lyp", str(blocker / "x.lyp")]) == 2
    assert "cannot write output" in _one_error_line(capsys.readouterr().err)
    assert cli.main(["build", "-o", str(blocker)]) == 2  # the output folder is a file
    assert "cannot write output" in _one_error_line(capsys.readouterr().err)
    assert blocker.read_text() == "x"


# ----------------------------------------------------------------------------- build
def test_build_without_builtin_products_writes_only_the_lyp(tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    monkeypatch.setattr(cells.products, "builtin_specs", lambda: {})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build"]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["layoutgen.lyp"]
    assert (tmp_path / "out" / "layoutgen.lyp").read_text() == DEFAULT_LAYERS.to_lyp()
    captured = capsys.readouterr()
    assert "no built-in products" in captured.out
    assert captured.err == ""  # stderr is not a terminal: no progress


def test_build_toy_specs(toy: dict[str, Path], out_dir: Path, capsys) -> None:
    rc = cli.main(["build", str(toy["small"]), str(toy["large"]), "-o", str(out_dir),
                   "--no-report"])
    assert rc == 0, capsys.readouterr().err
    assert sorted(_files(out_dir)) == ["large.gds", "large.oas", "layoutgen.lyp", "small.gds",
                                       "small.oas"]
    assert "large.gds" in capsys.readouterr().out
    for name, size in (("small", 400), ("large", 1200)):
        for ext in (".gds", ".oas"):
            layout = read_layout(out_dir / f"{name}{ext}")
            names = sorted(c.name for c in layout.each_cell())
            assert [n.rsplit("_", 1)[0] for n in names] == ["toy_die", "toy_ring"]
            assert layout.top_cell().name.startswith("toy_die_")
            assert layout_layers(layout) == {(1, 0), (10, 0), (50, 0)}
            box = layout.top_cell().dbbox()
            assert (box.width(), box.height()) == (size, size)
            pads = list(layout.top_cell().shapes(layout.layer(10, 0)).each())
            assert len(pads) == 1  # the pad circle is one polygon, not fractured
            radius = 60 if name == "small" else 150
            assert pads[0].polygon.num_points() == circle_vertex_count(radius)


def test_build_is_byte_identical_across_processes(toy: dict[str, Path], tmp_path: Path) -> None:
    outs = []
    for seed in ("1", "987"):
        out = tmp_path / f"out{seed}"
        proc = toy_subprocess("build", str(toy["small"]), str(toy["large"]), "-o", str(out),
                              hashseed=seed)
        assert proc.returncode == 0, proc.stderr
        outs.append(_files(out))
    assert outs[0] == outs[1]
    assert sorted(outs[0]) == sorted(
        [f"{n}{ext}" for n in ("small", "large")
         for ext in (".gds", ".oas", "_check.json", "_preview.png")]
        + ["layoutgen.lyp", "report.html"])


def test_build_twice_in_process_is_byte_identical(toy: dict[str, Path], tmp_path: Path) -> None:
    for run in ("a", "b"):
        assert cli.main(["build", str(toy["small"]), "-q", "-o", str(tmp_path / run)]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


@pytest.mark.parametrize("bad", ["bad_value", "bad_build", "missing"])
@pytest.mark.parametrize("bad_first", [False, True])
def test_one_bad_spec_writes_nothing(toy: dict[str, Path], out_dir: Path, capsys, bad: str,
                                     bad_first: bool) -> None:
    """A spec that fails validation, or a product that fails to build, writes nothing."""
    bad_path = toy.get(bad, toy["small"].parent / "missing.toml")
    args = [str(toy["large"]), str(bad_path)]
    if bad_first:
        args.reverse()
    out_dir.mkdir()
    (out_dir / "old.gds").write_bytes(b"old")  # an earlier run's file is left alone
    assert cli.main(["build", *args, "-o", str(out_dir)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    expected = {"bad_value": "ring.width: must be > 0 µm, got -5",
                "bad_build": "ring.width: must be < 40 µm", "missing": "cannot read spec"}[bad]
    assert expected in line
    assert _files(out_dir) == {"old.gds": hashlib.sha256(b"old").hexdigest()}


def test_user_layer_map_reaches_products_and_lyp(toy: dict[str, Path], tmp_path: Path) -> None:
    user = tmp_path / "pdk.toml"
    user.write_text("[layers.PAD]\nlayer = 110\ndatatype = 2\n")
    out = tmp_path / "o"
    assert cli.main(["build", str(toy["small"]), "--layers", str(user), "-q", "-o",
                     str(out)]) == 0
    assert layout_layers(read_layout(out / "small.gds")) == {(1, 0), (110, 2), (50, 0)}
    assert (out / "layoutgen.lyp").read_text() == load_layer_map(user).to_lyp()


def test_builtin_names_and_default_build(toy: dict[str, Path], tmp_path: Path, monkeypatch,
                                         capsys) -> None:
    builtins = {"large": toy["large"], "small": toy["small"]}
    monkeypatch.setattr(cells.products, "builtin_specs", lambda: builtins)
    assert cli.main(["build", "small", "-o", str(tmp_path / "one"), "--no-report"]) == 0
    assert sorted(_files(tmp_path / "one")) == ["layoutgen.lyp", "small.gds", "small.oas"]
    assert cli.main(["build", "-o", str(tmp_path / "all"), "--no-report"]) == 0
    assert len(_files(tmp_path / "all")) == 5
    assert cli.main(["build", "smal", "-o", str(tmp_path / "typo")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "'smal'" in line and "large, small" in line
    assert not (tmp_path / "typo").exists()


def test_two_specs_with_one_product_name_are_refused(toy: dict[str, Path], tmp_path: Path,
                                                     capsys) -> None:
    twin = tmp_path / "twin.toml"
    twin.write_text(toy["small"].read_text())  # same name = "small"
    out = tmp_path / "o"
    assert cli.main(["build", str(toy["small"]), str(twin), "-o", str(out)]) == 2
    assert "'small' is also used by" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()
    # the same file twice is simply built once
    assert cli.main(["build", str(toy["small"]), str(toy["small"]), "-q", "-o", str(out),
                     "--no-report"]) == 0
    assert len(_files(out)) == 3


class _Tty(_stdio.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_only_on_a_terminal_and_not_quiet(toy: dict[str, Path], tmp_path: Path,
                                                   monkeypatch, capsys, quiet: bool) -> None:
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    args = ["build", str(toy["small"]), "-o", str(tmp_path / "o")] + (["-q"] if quiet else [])
    assert cli.main(args) == 0
    progress = fake.getvalue()
    out = capsys.readouterr().out
    if quiet:
        assert progress == "" and out == ""
    else:
        assert "building small (kind toy)" in progress
        assert "small.gds" in progress and "layoutgen.lyp" in progress
        assert "built 1 product(s)" in out


# ----------------------------------------------------------------------------- built-ins
def test_builtin_products_build_identically_and_read_back(builtin_build: Path,
                                                          tmp_path: Path) -> None:
    """``layoutgen build`` of the shipped products: twice, byte-identical; KLayout reads
    every layout, and every layer in it is in the map."""
    again = tmp_path / "again"
    proc = run_layoutgen("build", "-o", str(again), hashseed="31337")
    assert proc.returncode == 0, proc.stderr
    first = _files(builtin_build)
    assert first == _files(again)
    assert "layoutgen.lyp" in first
    names = cells.products.builtin_specs()
    layouts = [p for p in builtin_build.rglob("*") if p.suffix in (".gds", ".oas")]
    if names:
        assert layouts, "built-in products were built but no layout was written"
        stems = {p.stem for p in layouts}
        assert set(names) <= stems, f"no layout named after {set(names) - stems}"
    else:
        assert set(first) == {"layoutgen.lyp"}
    known = {lay.spec for lay in DEFAULT_LAYERS}
    for path in layouts:
        layout = read_layout(path)
        assert layout.top_cells(), f"{path.name} has no top cell"
        used = layout_layers(layout)
        assert used and used <= known, f"{path.name} uses layers outside the map: {used - known}"


def test_build_exits_1_when_a_product_fails_its_check(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """A product judged against rules it was not drawn to (a 200 µm bead asked of an
    80 µm one): the files are written, the verdict is in its JSON, and build exits 1."""
    strict = tmp_path / "strict.toml"
    strict.write_text('[rules]\n"seal.min_width" = 200\n', encoding="utf-8")
    monkeypatch.setattr(cli, "_product_rules", lambda result: str(strict))
    out = tmp_path / "out"
    rc = cli.main(["build", "capped_die", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "failed its check" in err
    assert (out / "capped_die.gds").stat().st_size > 0
    doc = json.loads((out / "capped_die_check.json").read_text(encoding="utf-8"))
    assert doc["passed"] is False
