"""The checker's outputs: the JSON report (DESIGN.md shape), the KLayout marker database
(read back with ``klayout.rdb``), the table, ``assert_passes``, the CLI's exit status,
and one-line LayoutReadErrors for unusable inputs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import klayout.db  # noqa: F401  (binds the db types that klayout.rdb values return)
import klayout.rdb as rdb
import pytest
from conftest import run_layoutgen
from klayouts import DBU, Lay, capped_array, capped_file, csp_file

from layoutgen.check import CHECKS, assert_passes, check
from layoutgen.errors import LayoutReadError


@pytest.fixture
def bad_array(tmp_path: Path) -> tuple[Path, list[tuple[float, float]]]:
    """A 3 × 3 array with one die whose ring has a 1 dbu gap and a spacer on its ring."""
    return capped_array(tmp_path / "bad.gds", 3, 3, bad=dict(gap=DBU, spacer="on_ring"),
                        bad_at=(2, 0))


# ---------------------------------------------------------------- JSON
def test_json_shape_of_a_failing_layout(tmp_path: Path, bad_array) -> None:
    p, centres = bad_array
    r = check(p)
    out = r.write_json(tmp_path / "r.json")
    d = json.loads(Path(out).read_text(encoding="utf-8"))
    assert d["passed"] is False
    assert d["checks"] == r.checks == sorted(d["checks"])
    assert set(d["checks"]) <= set(CHECKS)
    assert {"seal.closed", "spacer.off_seal", "spacer.in_cut"} <= set(d["checks"])
    vs = d["violations"]
    assert len(vs) == len(r.violations) == 3
    for v, rv in zip(vs, r.violations, strict=True):
        assert {"check", "message", "x", "y"} <= set(v)
        assert isinstance(v["x"], (int, float)) and isinstance(v["y"], (int, float))
        assert v["check"] == rv.check and v["message"] == rv.message
        assert v["x"] == pytest.approx(rv.x, abs=1e-3) and v["y"] == pytest.approx(rv.y, abs=1e-3)
        assert v["check"] in d["checks"]
    (closed,) = [v for v in vs if v["check"] == "seal.closed"]
    assert math.dist((closed["x"], closed["y"]), centres[2]) < 1e-3  # the bad die, in µm
    assert {v["check"] for v in vs} == {"seal.closed", "spacer.off_seal", "spacer.in_cut"}


def test_json_of_a_passing_layout(tmp_path: Path) -> None:
    p = csp_file(tmp_path / "ok.gds")
    r = check(p, rules="amkor-400")
    d = json.loads(Path(r.write_json(tmp_path / "r.json")).read_text(encoding="utf-8"))
    assert d["passed"] is True and d["violations"] == []
    assert d["checks"] == r.checks and any(c.startswith("drc.") for c in d["checks"])
    assert d == json.loads(json.dumps(r.to_dict()))


# ---------------------------------------------------------------- lyrdb
def _load(path: Path) -> rdb.ReportDatabase:
    db = rdb.ReportDatabase("")
    db.load(str(path))
    return db


def test_lyrdb_one_item_per_violation(tmp_path: Path, bad_array) -> None:
    p, _ = bad_array
    r = check(p)
    db = _load(Path(r.write_lyrdb(tmp_path / "r.lyrdb")))
    assert db.num_items() == len(r.violations) == 3
    assert {c.name() for c in db.each_category()} == set(r.checks)
    per_cat: dict[str, list] = {}
    for item in db.each_item():
        per_cat.setdefault(db.category_by_id(item.category_id()).name(), []).append(item)
        assert db.cell_by_id(item.cell_id()).name() == "TOP"
    assert {k: len(v) for k, v in per_cat.items()} == \
        {k: len(r.by_check(k)) for k in {v.check for v in r.violations}}
    for cid, items in per_cat.items():
        want = sorted((v.x, v.y) for v in r.by_check(cid))
        got = []
        for item in items:
            boxes = [val.box() for val in item.each_value() if val.is_box()]
            texts = [val.string() for val in item.each_value() if val.is_string()]
            assert len(boxes) == 1 and len(texts) == 1
            assert any(texts[0].endswith(v.message) or texts[0] == v.message
                       for v in r.by_check(cid))
            got.append(boxes[0])
        for x, y in want:  # each violation's position lies in one item's marker box
            assert any(b.left - 1e-3 <= x <= b.right + 1e-3 and b.bottom - 1e-3 <= y <= b.top
                       + 1e-3 for b in got)


def test_lyrdb_of_a_passing_layout_and_awkward_names(tmp_path: Path) -> None:
    p = capped_file(tmp_path / "a&b <c>.gds")
    r = check(p)
    assert r.passed
    db = _load(Path(r.write_lyrdb(tmp_path / "r.lyrdb")))
    assert db.num_items() == 0
    assert {c.name() for c in db.each_category()} == set(r.checks)


def test_table_and_assert_passes(tmp_path: Path, bad_array) -> None:
    p, _ = bad_array
    r = check(p)
    t = r.table()
    for cid in r.checks:
        assert cid in t
    assert "FAIL" in t and "FAILED: 3 violations" in t
    with pytest.raises(AssertionError) as e:
        assert_passes(p)
    assert all(v.message in str(e.value) for v in r.violations)
    good = capped_file(tmp_path / "good.gds")
    assert assert_passes(good).passed


def test_assert_passes_refuses_an_unchecked_layout(tmp_path: Path) -> None:
    lay = Lay()
    lay.top.shapes(lay.ly.layer(123, 0)).insert(klayout.db.Box(0, 0, 1000, 1000))
    p = lay.write(tmp_path / "other.gds")
    assert check(p).checks == []
    with pytest.raises(AssertionError):
        assert_passes(p)
    assert assert_passes(p, allow_empty=True).passed


# ---------------------------------------------------------------- unusable inputs
def _gds_bytes(tmp_path: Path) -> bytes:
    p, _ = capped_array(tmp_path / "src.gds", 2, 2)
    return p.read_bytes()


@pytest.mark.parametrize("kind", ["missing", "empty", "random", "text", "directory",
                                  "truncated-header", "truncated-half", "truncated-end",
                                  "oasis-truncated-header"])
def test_unusable_input_is_one_line_error(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "in.gds"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "random":
        p.write_bytes(os.urandom(4096))
    elif kind == "text":
        p.write_text("HEADER 600\nBGNLIB\n")
    elif kind == "directory":
        p.mkdir()
    elif kind.startswith("truncated"):
        data = _gds_bytes(tmp_path)
        n = {"truncated-header": 10, "truncated-half": len(data) // 2,
             "truncated-end": len(data) - 4}[kind]
        p.write_bytes(data[:n])
    elif kind == "oasis-truncated-header":  # (cuts further in crash gdstk's parser, which
        p = tmp_path / "in.oas"               # the checker's probe survives, noisily)
        p.write_bytes(capped_file(tmp_path / "src.oas").read_bytes()[:20])
    with pytest.raises(LayoutReadError) as e:
        check(p)
    msg = str(e.value)
    assert msg and "\n" not in msg.strip()
    assert p.name in msg


@pytest.mark.parametrize("cut", [3, 100, 200])
def test_oasis_with_short_end_record(tmp_path: Path, cut: int) -> None:
    data = capped_file(tmp_path / "src.oas").read_bytes()
    p = tmp_path / "short.oas"
    p.write_bytes(data[:-cut])
    with pytest.raises(Exception):  # noqa: B017 - KLayout's own verdict on the file
        klayout.db.Layout().read(str(p))
    with pytest.raises(LayoutReadError):
        check(p)


# ---------------------------------------------------------------- CLI
def test_cli_exit_status_and_outputs(tmp_path: Path, bad_array) -> None:
    good = capped_file(tmp_path / "good.gds")
    proc = run_layoutgen("check", str(good), "-q")
    assert proc.returncode == 0, proc.stderr
    bad, _ = bad_array
    js, ly = tmp_path / "out.json", tmp_path / "out.lyrdb"
    proc = run_layoutgen("check", str(bad), "--json", str(js), "--lyrdb", str(ly), "-q")
    assert proc.returncode == 1, proc.stderr
    d = json.loads(js.read_text(encoding="utf-8"))
    r = check(bad)
    assert d["passed"] is False and d["checks"] == r.checks
    assert sorted((v["check"], round(v["x"], 3), round(v["y"], 3)) for v in d["violations"]) \
        == sorted((v.check, round(v.x, 3), round(v.y, 3)) for v in r.violations)
    assert _load(ly).num_items() == 3
    proc = run_layoutgen("check", str(tmp_path / "nope.gds"))
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "nope.gds" in lines[0] and "Traceback" not in proc.stderr
