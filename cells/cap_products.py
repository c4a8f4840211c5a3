"""Product kinds of the cap process (being built)."""

from __future__ import annotations

from layoutgen.spec import ProductKind

PRODUCT_KINDS: dict[str, ProductKind] = {}
