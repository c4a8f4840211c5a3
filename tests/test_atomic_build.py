"""Builds killed mid-write lose nothing; builds are deterministic (issue 7).

* ``layoutgen build`` is killed with SIGKILL the moment a temporary file appears in its
  output folder (a file is being written): every target is then either the file that
  was there before the build or the new complete file, never a partial one; the only
  debris is the killed writer's temporary ``.<name>.<pid>.<random>.tmp``, which the
  next build removes. A big flat layout is killed inside ``layoutgen.io.write`` itself
  (its GDSII and OASIS writes take long enough to be caught half-written): the target
  is the old file, or absent when there was none.
* Two builds in different processes, with different ``PYTHONHASHSEED`` values and the
  products named in reverse order, write byte-identical files (every product file; the
  report lists the products in the order given, so only it may differ).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import layoutgen_command

CSP = """kind = "csp_die"
rules = "amkor-400"
[die]
width = 1200.0
height = 1200.0
[balls]
rows = 2
cols = 2
depopulate = []
[chip_pads]
per_side = 1
[ball_pad]
ring_gaps = {gaps}
[xsection]
enabled = false
"""
CAP = """kind = "capped_die"
[seal]
width = {width}
corner = "{corner}"
"""


def _specs(folder: Path, old: bool = False) -> list[Path]:
    """Two small products (a CSP die and a capped die); ``old``: other parameter values
    (so every file differs from the new build's)."""
    folder.mkdir(parents=True, exist_ok=True)
    csp = folder / "small_csp.toml"
    cap = folder / "small_cap.toml"
    csp.write_text(CSP.format(gaps=0 if old else 4))
    cap.write_text(CAP.format(width=70.0 if old else 90.0, corner="round" if old else "chamfer"))
    return [csp, cap]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _build(specs: list[Path], out: Path, hashseed: str = "0", *extra: str
           ) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    return subprocess.Popen([*layoutgen_command(), "build", *map(str, specs), "-q", "-o",
                             str(out), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes]) -> None:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()


def _kill_when_writing(proc: subprocess.Popen[bytes], folder: Path, timeout: float = 120.0
                       ) -> list[str]:
    """SIGKILL ``proc`` as soon as a temporary file shows in ``folder``; return the
    temporary files seen then ([] when the process ended first)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            tmp = [e.name for e in os.scandir(folder) if e.name.endswith(".tmp")]
        except FileNotFoundError:
            tmp = []
        if tmp:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            return tmp
        time.sleep(0.0002)
    proc.communicate(timeout=60)
    return []


def test_killed_build_leaves_old_or_complete_files(tmp_path: Path) -> None:
    """Killed while writing: each file is the old one or the new complete one; the
    next build removes the killed writer's temporaries and writes everything."""
    old_dir, new_dir, out = tmp_path / "old", tmp_path / "new", tmp_path / "out"
    _finish(_build(_specs(tmp_path / "specs_old", old=True), old_dir))
    specs = _specs(tmp_path / "specs")
    _finish(_build(specs, new_dir))
    old, new = _files(old_dir), _files(new_dir)
    assert set(old) == set(new)
    assert all(old[n] != new[n] for n in new if n.endswith((".gds", ".png"))), \
        "the old build's layouts and pictures differ from the new ones"
    caught = []
    for _attempt in range(8):
        if out.exists():
            for p in out.iterdir():
                p.unlink()
        out.mkdir(exist_ok=True)
        for name, data in old.items():
            (out / name).write_bytes(data)
        proc = _build(specs, out)
        seen = _kill_when_writing(proc, out)
        if not seen:
            continue  # the build ended before a write could be caught: try again
        assert proc.returncode == -signal.SIGKILL
        caught.append(seen)
        now = _files(out)
        debris = sorted(n for n in now if n.endswith(".tmp"))
        assert debris, "the killed writer's temporary file is left"
        for name in debris:  # .<target>.<pid>.<random>.tmp
            target, pid = name[1:].rsplit(".tmp", 1)[0].rsplit(".", 2)[:2]
            assert target in new and int(pid) == proc.pid, name
        for name, data in now.items():
            if name.endswith(".tmp"):
                continue
            assert name in new, f"unexpected file {name}"
            assert data in (old[name], new[name]), f"{name} is neither old nor new: half-written"
        break
    assert caught, "no build was caught writing in 8 attempts"
    _finish(_build(specs, out))
    assert _files(out) == new, "the rerun removes the debris and writes every file"


_WRITE_BIG = """
import sys
import gdstk
from layoutgen import io
c = gdstk.Cell("BIG")
for i in range(int(sys.argv[2])):
    c.add(gdstk.regular_polygon((i % 1000 * 3.0, i // 1000 * 3.0), 1.0, 7, layer=2))
print("built", flush=True)
io.write(c, sys.argv[1])
"""


@pytest.mark.parametrize("ext", [".gds", ".oas"])
@pytest.mark.parametrize("existing", [True, False])
def test_big_write_killed_midway(tmp_path: Path, ext: str, existing: bool) -> None:
    """``io.write`` of a big flat layout killed once its temporary file holds data: the
    target is the old complete file (or absent), never a partial one."""
    target = tmp_path / f"big{ext}"
    old = b"old complete file\n"
    if existing:
        target.write_bytes(old)
    proc = subprocess.Popen([sys.executable, "-c", _WRITE_BIG, str(target), "400000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"built", proc.stderr.read() if proc.stderr else ""
    deadline = time.monotonic() + 120
    caught = False
    while proc.poll() is None and time.monotonic() < deadline:
        tmp = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if tmp and tmp[0].stat().st_size > 0:
            proc.send_signal(signal.SIGKILL)
            caught = True
            break
        time.sleep(0.0005)
    proc.communicate(timeout=60)
    if not caught:
        pytest.skip("the write ended before it could be caught (machine too fast)")
    if existing:
        assert target.read_bytes() == old
    else:
        assert not target.exists()
    assert [p.name.startswith(f".{target.name}.{proc.pid}.") for p in tmp_path.iterdir()
            if p != target] == [True]


def test_build_bytes_do_not_depend_on_hash_seed_or_order(tmp_path: Path) -> None:
    """Two processes, PYTHONHASHSEED 1 and 2**31, products in opposite orders: every
    product file is byte-identical (the report lists products in the given order)."""
    specs = _specs(tmp_path / "specs")
    a, b = tmp_path / "a", tmp_path / "b"
    pa = _build(specs, a, "1")
    pb = _build(list(reversed(specs)), b, str(2**31))
    _finish(pa)
    _finish(pb)
    fa, fb = _files(a), _files(b)
    assert set(fa) == set(fb)
    assert {n for n in fa if n.endswith(".gds")} == {"small_csp.gds", "small_cap.gds"}
    differ = sorted(n for n in fa if fa[n] != fb[n])
    assert differ in ([], ["report.html"]), differ
