"""Product specs: declared parameters, validation messages, TOML loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from layoutgen.errors import LayoutgenError, ParameterError, SpecError
from layoutgen.spec import (
    BuildResult,
    Param,
    ProductKind,
    flatten_table,
    load_spec,
    params_markdown,
    parse_spec,
)


def _no_build(spec, layers) -> BuildResult:  # pragma: no cover - never built here
    raise AssertionError("not built in these tests")


SEALED = ProductKind(
    name="sealed",
    doc="a test product: a sealed die",
    build=_no_build,
    params=(
        Param("die.size", 2000.0, "die edge", low=100, high=20000),
        Param("die.pads", 4, "pads per edge", unit="", low=1, high=64),
        Param("seal.width", 80.0, "solder bead width", low=0, low_open=True),
        Param("seal.corner", "chamfer", "corner style", unit="", choices=("square", "chamfer")),
        Param("seal.gap", 0.0, "gap in the ring, 0 = closed", low=0, high=50, high_open=True),
        Param("mirror", False, "mirror the cap mask", unit=""),
        Param("offsets", [0.0, 0.0], "die offset (x, y)"),
    ),
)
KINDS = {"sealed": SEALED}


def _parse(text: str, source: Path | None = None):
    return parse_spec(text, KINDS, source=source)


def test_defaults_fill_every_declared_parameter() -> None:
    spec = _parse('kind = "sealed"\n')
    assert spec.kind == "sealed" and spec.name == "sealed"
    assert dict(spec.values) == {
        "die.size": 2000.0, "die.pads": 4, "seal.width": 80.0, "seal.corner": "chamfer",
        "seal.gap": 0.0, "mirror": False, "offsets": (0.0, 0.0),
    }


def test_values_are_converted_to_the_declared_type() -> None:
    spec = _parse('kind = "sealed"\nname = "s1"\ndescription = "d"\noffsets = [1, [2, 3]]\n'
                  '[die]\nsize = 5000\npads = 8.0\n[seal]\nwidth = 70\ncorner = "square"\n')
    assert spec.name == "s1" and spec.description == "d"
    assert spec["die.size"] == 5000.0 and isinstance(spec["die.size"], float)
    assert spec["die.pads"] == 8 and isinstance(spec["die.pads"], int)
    assert spec["offsets"] == (1, (2, 3))  # lists are frozen
    assert spec.section("seal") == {"width": 70.0, "corner": "square", "gap": 0.0}


@pytest.mark.parametrize(("body", "message"), [
    ("[seal]\nwidth = -5", "seal.width: must be > 0 µm, got -5"),
    ("[seal]\nwidth = 0", "seal.width: must be > 0 µm, got 0"),
    ("[seal]\nwidth = -0.5", "seal.width: must be > 0 µm, got -0.5"),
    ("[seal]\nwidth = nan", "seal.width: must be > 0 µm, got nan"),
    ("[seal]\nwidth = inf", "seal.width: must be > 0 µm, got inf"),
    ("[die]\nsize = 99.5", "die.size: must be >= 100 µm and <= 20000 µm, got 99.5"),
    ("[die]\nsize = 20001", "die.size: must be >= 100 µm and <= 20000 µm, got 20001"),
    ("[seal]\ngap = 50", "seal.gap: must be >= 0 µm and < 50 µm, got 50"),
    ("[die]\npads = 0", "die.pads: must be >= 1 and <= 64, got 0"),
    ("[die]\npads = 2.5", "die.pads: must be an integer (>= 1 and <= 64), got 2.5"),
    ('[die]\npads = "4"', "die.pads: must be an integer (>= 1 and <= 64), got '4'"),
    ("[seal]\nwidth = true", "seal.width: must be a number (> 0 µm), got True"),
    ('[seal]\ncorner = "round"', "seal.corner: must be one of square, chamfer, got 'round'"),
    ("[seal]\ncorner = 3", "seal.corner: must be one of square, chamfer, got 3"),
    ("mirror = 1", "mirror: must be true or false, got 1"),
    ("offsets = 3", "offsets: must be a list, got 3"),
])
def test_messages_name_key_path_and_allowed_range(body: str, message: str) -> None:
    with pytest.raises(ParameterError) as info:
        _parse(f'kind = "sealed"\n{body}\n')
    assert str(info.value) == message
    assert info.value.key == message.split(":")[0]
    assert isinstance(info.value, LayoutgenError)


def test_message_from_a_file_names_the_file_once(tmp_path: Path) -> None:
    f = tmp_path / "cap.toml"
    f.write_text('kind = "sealed"\n[seal]\nwidth = -5\n')
    with pytest.raises(ParameterError) as info:
        load_spec(f, KINDS)
    assert str(info.value) == f"seal.width: must be > 0 µm, got -5 (in {f})"
    assert info.value.key == "seal.width" and info.value.allowed == "> 0 µm"
    assert info.value.value == -5


@pytest.mark.parametrize(("body", "key"), [
    ("[seal]\nwidht = 5", "seal.widht"),
    ("colour = 5", "colour"),
    ("[die.extra]\nx = 1", "die.extra.x"),
    ("[die]\nsize = { x = 1 }", "die.size.x"),
])
def test_unknown_keys_are_errors(body: str, key: str) -> None:
    with pytest.raises(ParameterError, match="unknown parameter for kind 'sealed'") as info:
        _parse(f'kind = "sealed"\n{body}\n')
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
    assert "seal.width" in str(info.value)  # the known keys are listed


@pytest.mark.parametrize(("text", "pattern"), [
    ("kind = \n", r"spec\.toml: not valid TOML"),
    ('kind = "sealed"\n[seal]\nwidth = 1\nwidth = 2\n', r"spec\.toml: not valid TOML"),
    ("[seal]\nwidth = 1\n", r"spec\.toml: kind: missing; must be one of sealed"),
    ('kind = "capped"\n', r"spec\.toml: kind: must be one of sealed, got 'capped'"),
    ("kind = 3\n", r"spec\.toml: kind: must be one of sealed, got 3"),
    ('kind = "sealed"\nname = 3\n', r"spec\.toml: name: must be a string, got 3"),
    ('kind = "sealed"\ndescription = []\n', r"spec\.toml: description: must be a string"),
])
def test_bad_files_are_spec_errors_naming_file_and_key(tmp_path: Path, text: str,
                                                       pattern: str) -> None:
    f = tmp_path / "spec.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=pattern):
        load_spec(f, KINDS)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "x" * 65, "sp ace"])
def test_product_names_are_safe_file_stems(name: str) -> None:
    with pytest.raises(ParameterError, match="name: must be 1-64 letters"):
        _parse(f'kind = "sealed"\nname = "{name}"\n')


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    f = tmp_path / "my_cap-2.toml"
    f.write_text('kind = "sealed"\n')
    spec = load_spec(f, KINDS)
    assert spec.name == "my_cap-2" and spec.source == f


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.toml: cannot read spec"):
        load_spec(tmp_path / "missing.toml", KINDS)
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path, KINDS)  # a folder
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"kind = \"\xff\xfe\"\n")
    with pytest.raises(SpecError, match=r"bin\.toml: not a UTF-8 text file"):
        load_spec(binary, KINDS)


def test_python_calls_are_validated_like_files() -> None:
    spec = SEALED.make_spec("p", {"seal.width": 60})
    assert spec["seal.width"] == 60.0
    with pytest.raises(ParameterError, match=r"^seal\.width: must be > 0 µm, got -1$"):
        SEALED.make_spec("p", {"seal.width": -1})


def test_declaration_drives_docs() -> None:
    table = params_markdown(SEALED.params)
    assert "| `seal.width` | 80.0 | µm | > 0 µm | solder bead width |" in table
    assert "| `seal.corner` | 'chamfer' |  | one of square, chamfer | corner style |" in table
    assert SEALED.param("die.pads").allowed() == ">= 1 and <= 64"
    assert flatten_table({"a": {"b": {"c": 1}}, "d": 2}) == {"a.b.c": 1, "d": 2}
