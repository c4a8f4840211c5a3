"""layoutgen: photomask layouts for wafer-level chip-scale packages, checked geometrically.

The engine: layer map, deterministic cell naming and caching, GDS/OASIS output,
wafer assembly, the checker, previews and the ``layoutgen`` command line. The cell
library lives in the sibling package ``cells``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from layoutgen.errors import LayoutgenError, LayoutReadError, ParameterError, SpecError
from layoutgen.layers import DEFAULT_LAYERS, Layer, LayerMap, load_layer_map

if TYPE_CHECKING:
    from layoutgen.naming import cell

    __version__: str

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


def __getattr__(name: str) -> Any:
    """``__version__`` and ``cell``, computed or imported on first use: importing
    ``importlib.metadata`` (for the version) and gdstk with numpy (for ``cell``) is most
    of the start-up time of a command that needs neither (``layoutgen --version``)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("layoutgen")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0.0.0"
    elif name == "cell":
        from layoutgen.naming import cell as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def check(layout: Any, rules: Any = "default", **kwargs: Any) -> Any:
    """Check a layout file or gdstk cell; see :func:`layoutgen.check.check`."""
    from layoutgen.check import check as _check

    return _check(layout, rules=rules, **kwargs)


def assert_passes(layout: Any, rules: Any = "default", **kwargs: Any) -> Any:
    """Check a layout and raise AssertionError listing the violations if any."""
    from layoutgen.check import assert_passes as _assert_passes

    return _assert_passes(layout, rules=rules, **kwargs)
