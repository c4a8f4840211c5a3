"""Deterministic cell naming and caching.

``@cell`` turns a function that builds a :class:`gdstk.Cell` into a cached one whose
cell name is a readable prefix plus a short stable hash of its canonical parameters::

    @cell("seal_ring")
    def seal_ring(width: float = 80, ...) -> gdstk.Cell: ...

    seal_ring(width=80) is seal_ring(width=80.0)    # same name, same object
    seal_ring(width=80).name                        # 'seal_ring_3f2a9c01b7d4'

Canonical parameters: every argument bound (defaults included), numbers normalised
(``1``, ``1.0`` and ``1.0000000000001`` agree: floats are rounded to 1e-9, then an
integral float becomes an int), tuples and lists alike, dict keys sorted. The hash is
BLAKE2b over the canonical JSON, so names are stable across processes, machines and
``PYTHONHASHSEED``. Names never contain parameter text, so none is cut mid-parameter.

Cells are shared (a die references the same pad cell many times), so a cached cell
must not be modified. That is enforced in practice: every cached cell carries a
fingerprint of its content and of every cell it references; a cache hit whose cell
(or any cell below it) was changed is rebuilt, and
:func:`layoutgen.io.write` refuses two different cells with one name, naming the
cell that was changed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import gdstk
import numpy as np

HASH_CHARS = 12
_NAMES: dict[str, str] = {}  # cell name -> canonical key, to prove names never collide

F = TypeVar("F", bound=Callable[..., gdstk.Cell])


def canonical(value: Any, path: str = "") -> Any:
    """A JSON-able canonical form of a parameter value.

    Args:
        value: the parameter value.
        path: its name, used in the error for values that have no canonical form.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, bool):
            return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return {"__float__": repr(value)}  # never equal to the string 'nan'
        r = round(value, 9)
        if r == int(r) and abs(r) < 2**53:
            return int(r)
        return float(repr(r))
    if isinstance(value, np.ndarray):
        return [canonical(v, path) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [canonical(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [canonical(v, path) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return {str(k): canonical(v, f"{path}.{k}" if path else str(k)) for k, v in items}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__, **canonical(dataclasses.asdict(value), path)}
    canon = getattr(value, "__canonical__", None)
    if callable(canon):
        return {"__type__": type(value).__name__, "value": canonical(canon(), path)}
    raise TypeError(
        f"parameter {path or '?'}: a {type(value).__name__} has no canonical form for a cell name"
    )


def cell_name(prefix: str, params: dict[str, Any]) -> str:
    """The deterministic name of the cell ``prefix`` with ``params``.

    Args:
        prefix: readable prefix (letters, digits, ``_``).
        params: the bound parameters, defaults included.
    """
    key = json.dumps(canonical(params), sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(f"{prefix}\0{key}".encode(), digest_size=16).hexdigest()
    name = f"{prefix}_{digest[:HASH_CHARS]}"
    known = _NAMES.setdefault(name, key)
    if known != key:  # pragma: no cover - 48-bit collision; a hard error rather than a silent share
        raise RuntimeError(f"cell name collision for {name}: {known} vs {key}")
    return name


def fingerprint(c: gdstk.Cell) -> str:
    """A content hash of one cell (its own shapes, labels and references).

    Referenced cells are named, not descended into: they carry their own fingerprint.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(c.name.encode())
    for p in c.polygons:
        h.update(b"P%d/%d" % (p.layer, p.datatype))
        h.update(np.ascontiguousarray(p.points, dtype=np.float64).tobytes())
        if p.repetition.size:
            h.update(np.ascontiguousarray(p.repetition.get_offsets()).tobytes())
    for path in c.paths:
        for poly in path.to_polygons():
            h.update(b"Q%d/%d" % (poly.layer, poly.datatype))
            h.update(np.ascontiguousarray(poly.points, dtype=np.float64).tobytes())
    for lab in c.labels:
        h.update(f"L{lab.text}|{lab.layer}/{lab.texttype}|{tuple(lab.origin)}".encode())
    for r in c.references:
        name = r.cell.name if isinstance(r.cell, gdstk.Cell) else str(r.cell)
        h.update(
            f"R{name}|{tuple(r.origin)}|{r.rotation}|{r.magnification}|{r.x_reflection}".encode()
        )
        if r.repetition.size:
            h.update(np.ascontiguousarray(r.repetition.get_offsets()).tobytes())
    return h.hexdigest()


def tree_fingerprint(c: gdstk.Cell) -> str:
    """A content hash of ``c`` and of every cell it references, at any depth."""
    parts = sorted(fingerprint(d) for d in c.dependencies(True) if isinstance(d, gdstk.Cell))
    h = hashlib.blake2b(fingerprint(c).encode(), digest_size=16)
    for part in parts:
        h.update(part.encode())
    return h.hexdigest()


def cell(prefix: str | None = None) -> Callable[[F], F]:
    """Decorator: make a cell function cached and deterministically named.

    Args:
        prefix: readable name prefix; the function's name when omitted.

    The decorated function must return a :class:`gdstk.Cell`; its name is replaced by
    the deterministic one. Equal parameters return the same cell object.
    """

    def deco(fn: F) -> F:
        sig = inspect.signature(fn)
        pre = prefix or fn.__name__
        cache: dict[str, tuple[gdstk.Cell, str]] = {}

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> gdstk.Cell:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            params = dict(bound.arguments)
            name = cell_name(pre, params)
            hit = cache.get(name)
            if hit is not None and tree_fingerprint(hit[0]) == hit[1]:
                return hit[0]
            built = fn(**params)
            if not isinstance(built, gdstk.Cell):
                raise TypeError(
                    f"{fn.__name__} must return a gdstk.Cell, got {type(built).__name__}"
                )
            built.name = name
            cache[name] = (built, tree_fingerprint(built))
            return built

        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
        wrapper.cell_prefix = pre  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco
