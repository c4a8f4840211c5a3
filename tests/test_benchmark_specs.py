"""The benchmark workloads (benchmarks/specs, issue 6) stay valid specs that build and pass.

The benchmark itself (benchmarks/run.py) is not a test and never runs here; this only
keeps its two spec files loadable, and builds the W-CSP die (chip pads beside the
balls) on the smallest wafer allowed and checks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cells.products import KINDS
from layoutgen.check import check
from layoutgen.layers import DEFAULT_LAYERS
from layoutgen.spec import load_spec

SPECS = Path(__file__).resolve().parent.parent / "benchmarks" / "specs"


@pytest.mark.parametrize(("name", "kind"), [("w_csp", "csp_wafer"), ("w_cap", "capped_wafer")])
def test_benchmark_spec_loads(name: str, kind: str) -> None:
    spec = load_spec(SPECS / f"{name}.toml", KINDS)
    assert spec.kind == kind and spec.name == name
    assert spec["wafer.edge_exclusion"] == 3.0


def test_w_csp_die_builds_and_passes() -> None:
    spec = load_spec(SPECS / "w_csp.toml", KINDS)
    assert spec["chip_pads.placement"] == "beside" and spec["balls.rows"] == 9
    small = KINDS["csp_wafer"].make_spec("w_csp_small", {**spec.values,
                                                         "wafer.diameter": 25.0})
    result = KINDS["csp_wafer"].build(small, DEFAULT_LAYERS)
    assert result.info["balls"] == 81 and result.info["chip_pads"] == 81
    assert abs(result.info["ring"]["ratio"] - 1.0) < 1e-3
    report = check(result.top, rules="amkor-400", layers=DEFAULT_LAYERS)
    assert report.passed, report.table()
    assert report.results["emboss.ratio"].judged == 81 * result.info["die_count"]
    assert report.results["rdl.connected"].judged == 81 * result.info["die_count"]
