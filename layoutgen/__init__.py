"""layoutgen: photomask layouts for wafer-level chip-scale packages, checked geometrically.

The engine: layer map, deterministic cell naming and caching, GDS/OASIS output,
wafer assembly, the checker, previews and the ``layoutgen`` command line. The cell
library lives in the sibling package ``cells``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version
from typing import Any

from layoutgen.errors import LayoutgenError, LayoutReadError, ParameterError, SpecError
from layoutgen.layers import DEFAULT_LAYERS, Layer, LayerMap, load_layer_map
from layoutgen.naming import cell

try:
    __version__ = _version("layoutgen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_LAYERS",
    "Layer",
    "LayerMap",
    "LayoutReadError",
    "LayoutgenError",
    "ParameterError",
    "SpecError",
    "assert_passes",
    "cell",
    "check",
    "load_layer_map",
]


def check(layout: Any, rules: Any = "default", **kwargs: Any) -> Any:
    """Check a layout file or gdstk cell; see :func:`layoutgen.check.check`."""
    from layoutgen.check import check as _check

    return _check(layout, rules=rules, **kwargs)


def assert_passes(layout: Any, rules: Any = "default", **kwargs: Any) -> Any:
    """Check a layout and raise AssertionError listing the violations if any."""
    from layoutgen.check import assert_passes as _assert_passes

    return _assert_passes(layout, rules=rules, **kwargs)
