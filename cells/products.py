"""The built-in product kinds and product specs.

``KINDS`` maps a kind name (``kind = "..."`` in a spec file) to its
:class:`layoutgen.spec.ProductKind`. The built-in products are the spec files in
``cells/products/`` (one TOML each), built by ``layoutgen build`` with no argument.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cells.cap_products import PRODUCT_KINDS as _CAP_KINDS
from cells.csp_products import PRODUCT_KINDS as _CSP_KINDS
from layoutgen.spec import ProductKind

KINDS: dict[str, ProductKind] = {**_CAP_KINDS, **_CSP_KINDS}


def builtin_specs() -> dict[str, Path]:
    """Built-in product name -> its spec file, sorted by name."""
    folder = resources.files("cells") / "products"
    out: dict[str, Path] = {}
    if not folder.is_dir():  # git keeps no empty folder: a clean clone may lack it
        return out
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = Path(str(entry))
    return dict(sorted(out.items()))
