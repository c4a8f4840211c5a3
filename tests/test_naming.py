"""Cell naming and caching: no collisions, stable names, a cache nobody can corrupt."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gdstk
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layoutgen import io
from layoutgen.errors import LayoutgenError
from layoutgen.naming import HASH_CHARS, canonical, cell, cell_name, fingerprint


@cell("probe")
def probe(a: float = 0, b: float = 0.0, items: tuple = (), opts: dict | None = None) -> gdstk.Cell:
    """A 1 µm square at (a, b) on layer 1/0; ``items`` and ``opts`` only change the name."""
    c = gdstk.Cell("probe")
    c.add(gdstk.rectangle((a, b), (a + 1, b + 1), layer=1))
    return c


@cell("leaf")
def leaf(w: float) -> gdstk.Cell:
    """A ``w`` × ``w`` µm square on layer 2/0."""
    c = gdstk.Cell("leaf")
    c.add(gdstk.rectangle((0, 0), (w, w), layer=2))
    return c


@cell("branch")
def branch(w: float, n: int = 3) -> gdstk.Cell:
    """``n`` copies of ``leaf(w)`` in a row, pitch 2·w µm."""
    c = gdstk.Cell("branch")
    for i in range(n):
        c.add(gdstk.Reference(leaf(w), (2 * w * i, 0)))
    return c


scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=6,
)


# ----------------------------------------------------------------------------- names
@settings(max_examples=300, deadline=None)
@given(values, values)
def test_distinct_canonical_params_get_distinct_names(x, y) -> None:
    # compared as JSON: in Python False == 0 and 1 == 1.0, in a canonical form they differ
    same = json.dumps(canonical(x), sort_keys=True) == json.dumps(canonical(y), sort_keys=True)
    assert (cell_name("probe", {"x": x}) == cell_name("probe", {"x": y})) == same


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**9, 10**9), st.integers(-10**9, 10**9))
def test_coordinates_one_grid_step_apart_get_distinct_names(i: int, j: int) -> None:
    """Values on the 1 nm grid (in µm) never merge, however close or large."""
    a, b = i / 1000, j / 1000
    assert (probe(a=a).name == probe(a=b).name) == (i == j)


def test_values_of_different_types_get_distinct_names() -> None:
    vals = [1, "1", True, 1.5, None, "None", [1], {"1": 1}, float("nan"), "nan",
            float("inf"), "inf", [], {}, ""]
    names = [cell_name("probe", {"x": v}) for v in vals]
    assert len(set(names)) == len(vals)


def test_prefix_distinguishes_cells() -> None:
    assert cell_name("seal", {"w": 1}) != cell_name("spacer", {"w": 1})


@settings(max_examples=100, deadline=None)
@given(st.integers(-10**6, 10**6), st.lists(st.integers(-100, 100), max_size=4))
def test_equal_params_give_same_name_and_same_object(n: int, items: list[int]) -> None:
    c = probe(a=n, b=2, items=items)
    assert probe(a=float(n), b=2.0, items=tuple(items)) is c  # 1 vs 1.0, list vs tuple
    assert probe(items=list(items), b=2, a=n) is c  # keyword order
    assert probe(n, 2, items) is c  # positional
    assert probe(a=np.int64(n), b=np.float64(2), items=np.array(items, dtype=int)) is c
    assert probe(a=n + 1e-12, b=2, items=items) is c  # below the 1e-9 µm rounding


def test_defaults_count_and_dict_order_does_not() -> None:
    assert probe() is probe(a=0, b=0, items=[], opts=None)
    assert probe(opts={"x": 1, "y": [1, 2]}) is probe(opts={"y": (1.0, 2), "x": 1.0})
    assert probe(opts={"x": 1}) is not probe(opts={"x": 2})


def test_names_are_prefix_plus_hash_never_parameter_text() -> None:
    long_text = "x" * 500
    for c in (probe(), probe(items=(long_text,)), probe(a=123456.789)):
        assert re.fullmatch(rf"probe_[0-9a-f]{{{HASH_CHARS}}}", c.name)


def test_name_scheme_is_pinned() -> None:
    """Names are a public, reproducible artefact: changing the scheme renames every cell."""
    assert cell_name("probe", {"a": 1, "b": [1.5, "x"]}) == "probe_5c73ed22aa2e"
    assert cell_name("probe", {"b": (1.5, "x"), "a": 1.0}) == "probe_5c73ed22aa2e"


def test_parameter_without_canonical_form_is_named_in_the_error() -> None:
    with pytest.raises(TypeError, match=r"parameter opts\.f: a object has no canonical form"):
        probe(opts={"f": object()})


def test_cell_function_must_return_a_cell() -> None:
    @cell("bad")
    def bad(x: int = 1):
        return "not a cell"

    with pytest.raises(TypeError, match="must return a gdstk.Cell"):
        bad()


_STABILITY_SCRIPT = """
import json, sys
import gdstk
from layoutgen.naming import cell

@cell("stab")
def stab(w=1.0, tags=frozenset(), opts=None):
    c = gdstk.Cell("x")
    c.add(gdstk.rectangle((0, 0), (w, w)))
    return c

names = [
    stab().name,
    stab(w=2.5, tags=frozenset({"alpha", "beta", "gamma", "delta"})).name,
    stab(opts={"zeta": 1, "alpha": [1, 2.0], "mid": {"q": "r", "a": None}}).name,
    stab(w=0.001, tags={"x" * 40, "y", "z"}).name,
]
json.dump(names, sys.stdout)
"""


def test_names_are_stable_across_processes_and_hash_seeds() -> None:
    runs = []
    for seed in ("1", "2", "12345"):
        proc = subprocess.run([sys.executable, "-c", _STABILITY_SCRIPT], capture_output=True,
                              text=True, env=dict(os.environ, PYTHONHASHSEED=seed), timeout=120)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    assert runs[0] == runs[1] == runs[2]
    namespace: dict = {}
    exec(compile(_STABILITY_SCRIPT.replace("json.dump(names, sys.stdout)", ""), "<s>", "exec"),
         namespace)
    assert namespace["names"] == runs[0]  # and equal to this process's names
    assert len(set(runs[0])) == 4


# ----------------------------------------------------------------------------- cache
def _polygons(c: gdstk.Cell) -> list[tuple[int, int, list]]:
    return sorted((p.layer, p.datatype, np.round(p.points, 6).tolist()) for p in c.polygons)


def test_adding_to_a_returned_cell_does_not_reach_the_next_caller() -> None:
    c = probe(a=7)
    pristine = _polygons(c)
    c.add(gdstk.rectangle((50, 50), (60, 60), layer=9))
    again = probe(a=7)
    assert _polygons(again) == pristine
    assert again.name == c.name and again is not c


def test_moving_a_shape_in_place_does_not_reach_the_next_caller() -> None:
    c = probe(a=8)
    pristine = _polygons(c)
    c.polygons[0].translate(3, 3)
    c.polygons[0].layer = 5
    assert _polygons(probe(a=8)) == pristine


def test_changing_a_referenced_cell_does_not_reach_the_next_caller() -> None:
    top = branch(1.5)
    pristine_leaf = _polygons(top.references[0].cell)
    top.references[0].cell.add(gdstk.rectangle((9, 9), (10, 10), layer=2))
    again = branch(1.5)
    assert again is not top
    assert {id(r.cell) for r in again.references} == {id(leaf(1.5))}
    assert _polygons(again.references[0].cell) == pristine_leaf
    assert _polygons(leaf(1.5)) == pristine_leaf


def test_untouched_cells_stay_shared() -> None:
    top = branch(2.5, n=4)
    assert branch(2.5, 4) is top
    assert all(r.cell is leaf(2.5) for r in top.references)


def test_write_refuses_two_different_cells_with_one_name(tmp_path: Path) -> None:
    changed = probe(a=11)
    changed.add(gdstk.rectangle((20, 20), (21, 21), layer=1))
    fresh = probe(a=11)
    assert fresh.name == changed.name and fingerprint(fresh) != fingerprint(changed)
    target = tmp_path / "two.gds"
    with pytest.raises(LayoutgenError, match=rf"two different cells are named {fresh.name}"):
        io.write([changed, fresh], target)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_write_refuses_a_changed_cell_reached_through_a_reference(tmp_path: Path) -> None:
    old = branch(3.5)
    old.references[0].cell.add(gdstk.rectangle((30, 30), (31, 31), layer=2))
    with pytest.raises(LayoutgenError, match=r"two different cells are named leaf_"):
        io.write([old, leaf(3.5)], tmp_path / "t.gds")
