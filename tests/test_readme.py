"""The README stays true: generated tables, pictures, numbers and runnable examples."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import readme_tables as T  # noqa: E402

README = REPO / "README.md"
#: largest picture the README may link
MAX_IMAGE_BYTES = 300_000
#: pictures the README must show (the brief of the README's "Pictures")
REQUIRED_IMAGES = {"capped_die.png", "capped_wafer_map.png", "csp_die.png",
                   "csp_xsection.png"}


def _text() -> str:
    return README.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(T.blocks()))
def test_generated_block_is_current(name: str) -> None:
    have = T.readme_blocks(_text())[name]
    assert have is not None, f"README.md lacks <!-- {name}:begin --> ... <!-- {name}:end -->"
    assert have == T.blocks()[name], (
        f"README block {name!r} is stale: run python scripts/readme_tables.py --write")


def test_check_table_names_every_check_and_every_rule_key_read() -> None:
    from layoutgen.check.checks import CHECKS

    block = T.readme_blocks(_text())["checks"] or ""
    ids = re.findall(r"^\| `([a-z0-9_.]+)` \|", block, flags=re.M)
    assert ids == list(CHECKS)
    # every rule key the checker reads is listed for some check: a check reading a rule
    # its description does not name would leave the table silent about it
    listed = {k for keys in T.check_rule_keys().values() for k in keys}
    read = T.rule_keys_in_checks()
    assert "seal.min_width" in read and "emboss.segments" in read
    assert read <= listed, sorted(read - listed)


def test_param_tables_list_every_declared_parameter() -> None:
    from cells.products import KINDS

    text = _text()
    keys = set(re.findall(r"^\| `([a-z0-9_.]+)` \| `", text, flags=re.M))
    for kind in KINDS.values():
        missing = {p.key for p in kind.params} - keys
        assert not missing, f"{kind.name}: {sorted(missing)} not in the README"


def _linked_images(text: str) -> list[str]:
    md = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
    html = re.findall(r"<img\s[^>]*src=\"([^\"]+)\"", text)
    return md + html


def test_every_linked_image_exists_is_small_and_shows_something() -> None:
    from PIL import Image

    links = _linked_images(_text())
    assert REQUIRED_IMAGES <= {Path(p).name for p in links}
    for link in links:
        assert not re.match(r"[a-z]+://", link), f"{link}: the README links local pictures only"
        path = REPO / link
        assert path.is_file(), f"README links {link}, which does not exist"
        size = path.stat().st_size
        assert 0 < size <= MAX_IMAGE_BYTES, f"{link}: {size} bytes"
        with Image.open(path) as im:
            assert im.format == "PNG"
            assert im.width >= 600 and im.height >= 300, f"{link}: {im.size}"
            px = np.asarray(im.convert("L"))
        drawn = float((px < 235).mean())
        assert drawn > 0.05, f"{link}: only {drawn:.1%} of the picture is not white"


def test_every_committed_picture_is_linked() -> None:
    linked = {Path(p).name for p in _linked_images(_text())}
    pictures = {p.name for p in (REPO / "docs" / "images").glob("*.png")}
    assert pictures == linked


def test_wafer_numbers_in_the_readme_are_the_builds() -> None:
    from cells.products import KINDS, builtin_specs
    from layoutgen.layers import DEFAULT_LAYERS
    from layoutgen.spec import load_spec

    text = _text()
    for name in ("capped_wafer", "csp_wafer"):
        spec = load_spec(builtin_specs()[name], KINDS)
        info = KINDS[spec.kind].build(spec, DEFAULT_LAYERS).info
        assert f" of {info['die_count']} " in text, (name, info["die_count"])
        assert f"({info['array_references']} arrays" in text, (name, info["array_references"])


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_examples_run(tmp_path: Path) -> None:
    """Every ```python block runs as written: a block starting ``# test_*.py`` under
    pytest, the others as scripts, each in a fresh interpreter in an empty folder."""
    blocks = _python_blocks(_text())
    assert len(blocks) >= 4
    for i, code in enumerate(blocks):
        first = code.splitlines()[0]
        m = re.fullmatch(r"# (test_\w+\.py)", first)
        work = tmp_path / f"block{i}"
        work.mkdir()
        if m:
            (work / m.group(1)).write_text(code, encoding="utf-8")
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "--rootdir", str(work), m.group(1)]
        else:
            (work / "example.py").write_text(code, encoding="utf-8")
            cmd = [sys.executable, "example.py"]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"README python block {i}:\n{proc.stdout}\n{proc.stderr}"
        if m:
            assert re.search(r"\b\d+ passed\b", proc.stdout) and "failed" not in proc.stdout
