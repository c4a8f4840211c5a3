"""Shared fixtures: output folders, the installed ``layoutgen`` command, KLayout reading.

KLayout (``klayout.db``) is the independent reader of everything we write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import klayout.db as kdb
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A not-yet-existing output folder inside the test's temporary folder."""
    return tmp_path / "out"


def layoutgen_command() -> list[str]:
    """The installed ``layoutgen`` console script (beside this Python, else on PATH)."""
    exe = Path(sys.executable).with_name("layoutgen")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("layoutgen")
    if found is None:  # pragma: no cover - broken installation
        pytest.fail("the layoutgen console script is not installed: pip install -e '.[test]'")
    return [found]


def run_layoutgen(*args: str, cwd: Path | None = None, hashseed: str = "0",
                  pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``layoutgen ARGS`` in a subprocess and capture its output.

    Args:
        args: command line arguments.
        cwd: working directory.
        hashseed: PYTHONHASHSEED of the child (names and bytes must not depend on it).
        pythonpath: prepended to PYTHONPATH of the child.
    """
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath),
                                                          env.get("PYTHONPATH")]))
    return subprocess.run([*layoutgen_command(), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def layoutgen() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``layoutgen(*args, cwd=None, hashseed="0")`` runs the CLI in a subprocess."""
    return run_layoutgen


def read_layout(path: str | Path) -> kdb.Layout:
    """Read a GDS or OASIS file with KLayout."""
    layout = kdb.Layout()
    layout.read(str(path))
    return layout


def layout_layers(layout: kdb.Layout) -> set[tuple[int, int]]:
    """(layer, datatype) of every layer that holds at least one shape."""
    used = set()
    for li in layout.layer_indexes():
        info = layout.get_info(li)
        if any(not c.shapes(li).is_empty() for c in layout.each_cell()):
            used.add((info.layer, info.datatype))
    return used


@pytest.fixture(scope="session")
def builtin_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one ``layoutgen build`` of every built-in product."""
    out = tmp_path_factory.mktemp("builtin") / "out"
    proc = run_layoutgen("build", "-o", str(out), hashseed="1")
    assert proc.returncode == 0, proc.stderr
    return out
