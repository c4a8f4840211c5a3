"""The built-in product kinds and product specs.

``KINDS`` maps a kind name (``kind = "..."`` in a spec file) to its
:class:`layoutgen.spec.ProductKind`. The built-in products are the spec files in
``cells/products/`` (one TOML each), built by ``layoutgen build`` with no argument.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layoutgen.spec import ProductKind

#: kind name -> the module whose ``PRODUCT_KINDS`` defines it, in the order of ``KINDS``
#: (tests/test_fast_paths.py keeps it equal to the modules' own ``PRODUCT_KINDS``)
KIND_MODULES: dict[str, str] = {
    "capped_die": "cells.cap_products",
    "capped_wafer": "cells.cap_products",
    "csp_die": "cells.csp_products",
    "csp_wafer": "cells.csp_products",
}


class _Kinds(Mapping[str, "ProductKind"]):
    """The built-in kinds, each module imported when one of its kinds is looked up: a
    build of a capped wafer does not import the CSP cells (with shapely's routing), nor
    a CSP build the cap cells."""

    def __getitem__(self, name: str) -> ProductKind:
        module = KIND_MODULES[name]  # KeyError for an unknown kind, as a dict's
        return importlib.import_module(module).PRODUCT_KINDS[name]

    def __contains__(self, name: object) -> bool:
        return name in KIND_MODULES  # (without importing the kind's module)

    def __iter__(self) -> Iterator[str]:
        return iter(KIND_MODULES)

    def __len__(self) -> int:
        return len(KIND_MODULES)

    def __repr__(self) -> str:
        return repr(dict(self))


KINDS: Mapping[str, ProductKind] = _Kinds()


def builtin_specs() -> dict[str, Path]:
    """Built-in product name -> its spec file, sorted by name."""
    # (the package's folder, as importlib.resources.files("cells") gives it for a package
    # on disk, without importing importlib.resources and zipfile)
    folder = Path(__file__).parent / "products"
    out: dict[str, Path] = {}
    if not folder.is_dir():  # git keeps no empty folder: a clean clone may lack it
        return out
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = Path(str(entry))
    return dict(sorted(out.items()))
