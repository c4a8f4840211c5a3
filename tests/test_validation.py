"""Every parameter validated (issue 7): spec keys, CLI options, cell arguments.

Each declared parameter of every product kind is given hostile values in a spec file
(NaN, ±inf, a value below or above its range, a string, a bool, a list; for lists a
string, a number and a list holding NaN). ``layoutgen build`` must answer each with
exit 2 and exactly one line that names the key path, shows the value and (for values
refused by the declared range) the allowed range, and must write nothing: not the
output folder, not a temporary file.

The same for ``layoutgen check`` and ``layoutgen preview`` options given bad numbers,
and for ``ProductKind.make_spec`` from Python (ParameterError with ``key``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from cells.products import KINDS
from layoutgen import cli
from layoutgen.errors import ParameterError
from layoutgen.spec import Param


def toml_value(v: Any) -> str:
    """``v`` as a TOML value (NaN and infinities included)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def spec_text(kind: str, key: str, value: Any) -> str:
    """A spec of ``kind`` setting only ``key`` (a dotted path) to ``value``."""
    head, _, leaf = key.rpartition(".")
    lines = [f'kind = "{kind}"']
    if not head:
        lines.append(f"{leaf} = {toml_value(value)}")
    else:
        lines += [f"[{head}]", f"{leaf} = {toml_value(value)}"]
    return "\n".join(lines) + "\n"


def bad_values(p: Param) -> list[tuple[Any, bool]]:
    """Hostile values for ``p``: (value, refused by the declared type/range itself)."""
    t = p.type_name
    if t in ("float", "int"):
        out: list[tuple[Any, bool]] = [(math.nan, True), (math.inf, True), (-math.inf, True),
                                       ("abc", True), (True, True), ([1.0], True)]
        if p.low is not None:
            out.append((p.low - 1, True))
        if p.high is not None:
            out.append((p.high * 10 + 1, True))
        if t == "int":
            out.append((1.5, True))
        return out
    if t == "bool":
        return [("yes", True), (1, True)]
    if t == "str":
        return [(5, True), (["a"], True)] + ([("no-such-choice", True)] if p.choices else [])
    return [("abc", True), (5, True), ([math.nan], False), ([[math.nan, 0.0]], False)]


CASES = [pytest.param(kind.name, p, value, declared, id=f"{kind.name}-{p.key}-{value!r}")
         for kind in KINDS.values() for p in kind.params for value, declared in bad_values(p)]


@pytest.mark.parametrize("kind,param,value,declared", CASES)
def test_bad_spec_value_one_line_exit_2_nothing_written(kind: str, param: Param, value: Any,
                                                        declared: bool, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """``layoutgen build SPEC`` with one hostile value: exit 2, one line naming the key
    path (and, for values the declaration refuses, the value and the allowed range),
    no output folder."""
    spec = tmp_path / "bad.toml"
    spec.write_text(spec_text(kind, param.key, value), encoding="utf-8")
    out = tmp_path / "out"
    rc = cli.main(["build", str(spec), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"layoutgen: error: {param.key}: "), line
    assert f"(in {spec})" in line
    if declared:
        assert f"got {value!r}" in line, line
        if param.type_name in ("float", "int") or param.choices:
            assert param.allowed() in line, line
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_python_make_spec_names_the_key(kind: str) -> None:
    """From Python, ``ProductKind.make_spec`` raises ParameterError with ``key``,
    ``value`` and ``allowed`` set, for every declared number given NaN."""
    k = KINDS[kind]
    for p in k.params:
        if p.type_name not in ("float", "int"):
            continue
        with pytest.raises(ParameterError) as e:
            k.make_spec("x", {p.key: math.nan})
        assert e.value.key == p.key
        assert math.isnan(e.value.value)
        assert e.value.allowed == p.allowed()


# ----------------------------------------------------------------------------- options
@pytest.fixture(scope="module")
def a_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid layout to point options at."""
    import gdstk

    from layoutgen import io

    c = gdstk.Cell("T")
    c.add(gdstk.rectangle((0, 0), (10, 10), layer=2))
    return io.write(c, tmp_path_factory.mktemp("opt") / "t.gds")


OPTION_CASES = [
    (["check", "{f}", "--timeout", "nan"], "--timeout"),
    (["check", "{f}", "--timeout", "-1"], "--timeout"),
    (["check", "{f}", "--timeout", "abc"], "--timeout"),
    (["check", "{f}", "--max-messages", "-3"], "--max-messages"),
    (["check", "{f}", "--max-messages", "x"], "--max-messages"),
    (["check", "{f}", "--rule", "seal.min_width=nan"], "seal.min_width"),
    (["check", "{f}", "--rule", "seal.min_width=-5"], "seal.min_width"),
    (["check", "{f}", "--rule", "seal.min_width=inf"], "seal.min_width"),
    (["check", "{f}", "--rule", "seal.min_width"], "--rule"),
    (["check", "{f}", "--rules", "no-such-set"], "no-such-set"),
    (["preview", "{f}", "--window", "nan,0,10,10", "-o", "{o}"], "--window"),
    (["preview", "{f}", "--window", "0,0,inf,10", "-o", "{o}"], "--window"),
    (["preview", "{f}", "--window", "10,10,0,0", "-o", "{o}"], "--window"),
    (["preview", "{f}", "--window", "a,b,c,d", "-o", "{o}"], "--window"),
    (["preview", "{f}", "--show", "NOPE", "-o", "{o}"], "NOPE"),
    (["preview", "{f}", "-o", "{d}/x.jpg"], "x.jpg"),
    (["build", "no-such-product", "-o", "{d}/out"], "no-such-product"),
]


@pytest.mark.parametrize("argv,names", OPTION_CASES, ids=[" ".join(a[2:]) or a[0]
                                                          for a, _ in OPTION_CASES])
def test_bad_option_one_line_exit_2(argv: list[str], names: str, a_layout: Path,
                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad option value: exit 2, one ``layoutgen: error:`` line naming the option (or
    the rule key), nothing written."""
    out = tmp_path / "pic.png"
    args = [a.format(f=a_layout, o=out, d=tmp_path) for a in argv]
    try:
        rc = cli.main(args)
    except SystemExit as exc:  # argparse's own refusals
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("layoutgen: error: "), err
    assert names in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []
