"""The geometry checker: judges GDS/OASIS geometry read back from a file.

Use from Python::

    import layoutgen
    report = layoutgen.check("die.gds", rules="amkor-400")
    assert report.passed, report.table()
    layoutgen.assert_passes("die.gds")        # AssertionError listing the violations

The checker never imports ``cells``: it judges geometry, never the parameters that
made it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layoutgen.check.checks import CHECKS
    from layoutgen.check.engine import check
    from layoutgen.check.report import CheckInfo, CheckResult, Report, Violation

__all__ = ["CHECKS", "CheckInfo", "CheckResult", "Report", "Violation", "assert_passes", "check"]

#: names this package offers, imported on first use (so that ``layoutgen build`` or the
#: command line's parser, which imports ``layoutgen.check.command``, does not load the
#: engine, shapely and every check)
_LAZY = {"CHECKS": "layoutgen.check.checks", "check": "layoutgen.check.engine",
         "CheckInfo": "layoutgen.check.report", "CheckResult": "layoutgen.check.report",
         "Report": "layoutgen.check.report", "Violation": "layoutgen.check.report"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def assert_passes(layout: Any, rules: Any = "default", allow_empty: bool = False,
                  **kwargs: Any) -> Report:
    """Check ``layout``; raise AssertionError listing the violations if any.

    Args:
        layout: a path, gdstk cell or library (see :func:`check`).
        rules: rule set name, TOML file or RuleSet.
        allow_empty: accept a layout on which no check applies (none of the checked
            layers is drawn). Off by default: a wrong layer map must not pass silently.
        kwargs: passed to :func:`check` (``layers``, ``flat``).

    Returns:
        The report, when it passed.
    """
    from layoutgen.check.engine import check

    report = check(layout, rules=rules, **kwargs)
    if not report.checks and not allow_empty:
        raise AssertionError(f"{report.source}: no check applied: none of the checked layers "
                             "is drawn (wrong layer map?)")
    if not report.passed:
        raise AssertionError(report.table(max_messages=50))
    return report


class _CallableModule(types.ModuleType):
    """``import layoutgen.check`` replaces the function ``layoutgen.check`` with this
    package; making the package callable keeps ``layoutgen.check(path)`` working."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        from layoutgen.check.engine import check

        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
