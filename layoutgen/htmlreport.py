"""One self-contained ``report.html`` for a build: parameters, pictures, checks, masks.

The page opens from disk with no server, no network and no JavaScript: pictures are
embedded as base64 ``data:`` URIs and the style sheet is inline. The bytes depend only
on the inputs (no date is written).

Use from ``layoutgen build`` (after the artifacts are written)::

    from layoutgen.htmlreport import product_entry, write_report

    entries = [product_entry(result, kinds[result.spec.kind], out_dir, layers=layers)
               for result in results]
    write_report(out_dir / "report.html", entries)

:func:`product_entry` renders ``<name>_preview.png`` (and ``<name>_wafermap.png`` for a
wafer product) into the output folder and collects what the report shows. Any dict with
the keys below can be given to :func:`write_report` directly.

A product entry (every key but ``name`` optional):

======================  ======================================================
``name``                product name (heading and anchor)
``kind``                a :class:`~layoutgen.spec.ProductKind` (its ``params`` make the
                        parameter table, its ``doc`` the summary) or a kind name
``spec``                the :class:`~layoutgen.spec.Spec` (values, description)
``params``              parameter rows instead of kind+spec: dicts with ``key``,
                        ``value``, ``unit``, ``allowed`` and ``doc``
``info``                facts from the build (``BuildResult.info``): scalars are listed
``preview``             picture of the layout: a path (.png/.svg) or PNG bytes
``wafer_map``           picture of the wafer map
``xsection``            cross-section picture
``images``              more pictures: a list of (caption, picture)
``check``               the check report: :class:`~layoutgen.check.Report`, its JSON
                        dict, or the path of ``layoutgen check --json`` output
``masks``               mask manifest (``<name>_masks.json``): path or dict
``layers``              names of the layers drawn, for the layer table (tone, wafer)
``files``               names of the files written for the product
======================  ======================================================
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from layoutgen.layers import DEFAULT_LAYERS, LayerMap

__all__ = ["CLAIM_SOURCES", "REPORT_NAME", "param_rows", "product_entry", "render_html",
           "write_report"]

#: file name of the report in the output folder
REPORT_NAME = "report.html"
#: the patent claim prefixes used by check ids, and what they refer to
CLAIM_SOURCES = {
    "cap": "seed 000: hermetic cap (solder seal bead, spacers, cap cut)",
    "csp": "seed 004: embossed ball pad (PI1/PI2/PI3, RDL, solder balls)",
}
#: violation messages listed per product
MAX_MESSAGES = 25

_CSS = """
body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;margin:24px;color:#222;
max-width:1400px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #ccc;
padding-bottom:4px;margin-top:36px}h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37;font-weight:bold}.fail{color:#c62828;font-weight:bold}
.muted{color:#666}.figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0;flex:0 1 660px;max-width:660px;min-width:0}figure img{width:100%;
height:auto;border:1px solid #ddd;display:block;box-sizing:border-box}
figcaption{font-size:12px;color:#555;margin-top:4px}
code{background:#f4f4f4;padding:0 3px}.swatch{display:inline-block;width:12px;
height:12px;border:1px solid #444;vertical-align:middle;margin-right:4px}
nav ul{margin:4px 0}
"""


# ----------------------------------------------------------------------------- pieces
def _image_uri(image: Any) -> tuple[str | None, str]:
    """(data URI or None, note) of a picture given as a path or PNG bytes."""
    if image is None:
        return None, ""
    if isinstance(image, (bytes, bytearray)):
        data, mime = bytes(image), "image/png"
        if data.lstrip()[:5] in (b"<?xml", b"<svg "):
            mime = "image/svg+xml"
    else:
        path = Path(image)
        mime = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower(), "")
        if not mime:
            return None, f"{path.name}: not a .png or .svg picture"
        try:
            data = path.read_bytes()
        except OSError as exc:
            return None, f"{path.name}: {exc.strerror or exc}"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", ""


def _figure(image: Any, caption: str, width: int | None = None) -> str:
    uri, note = _image_uri(image)
    if uri is None:
        return f'<p class="muted">{escape(caption)}: picture missing ({escape(note)})</p>' \
            if note else ""
    w = f' width="{width}"' if width else ""
    return (f'<figure><img src="{uri}" alt="{escape(caption)}"{w}>'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], num: Sequence[int] = ()) -> str:
    """An HTML table; ``rows`` hold HTML (already escaped) cells."""
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>"
                        for i, c in enumerate(row))
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def param_rows(kind: Any, spec: Any = None) -> list[dict[str, str]]:
    """Parameter rows (key, value, unit, allowed, doc) from a ProductKind's declarations.

    Args:
        kind: a :class:`~layoutgen.spec.ProductKind` (anything with ``params``).
        spec: the :class:`~layoutgen.spec.Spec` giving the values; defaults otherwise.
    """
    rows = []
    for p in getattr(kind, "params", ()):
        value = spec.values.get(p.key, p.default) if spec is not None else p.default
        rows.append({"key": p.key, "value": _fmt(value), "unit": p.unit,
                     "allowed": p.allowed(), "doc": p.doc,
                     "changed": spec is not None and _frozen(value) != _frozen(p.default)})
    return rows


def _frozen(value: Any) -> Any:
    """Lists as tuples, so a spec's value compares equal to its declared default."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _check_doc(check: Any) -> dict[str, Any] | None:
    """The check report as its JSON dict (from a Report, a dict or a JSON file)."""
    if check is None:
        return None
    if hasattr(check, "to_dict"):
        return check.to_dict()
    if isinstance(check, (str, os.PathLike)):
        try:
            return json.loads(Path(check).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return {"error": f"{Path(check).name}: cannot read the check report ({exc})"}
    return dict(check)


def _claims_html(claims: Iterable[str]) -> str:
    out = []
    for c in claims:
        seed, _, num = str(c).partition(":")
        title = CLAIM_SOURCES.get(seed, "")
        label = f"{seed} claim {num}" if num else seed
        out.append(f'<span title="{escape(title)}">{escape(label)}</span>')
    return ", ".join(out)


def _check_section(doc: dict[str, Any]) -> str:
    if "error" in doc:
        return f'<p class="fail">{escape(str(doc["error"]))}</p>'
    results = doc.get("results") or {}
    passed = bool(doc.get("passed", not doc.get("violations")))
    n = sum(int(r.get("violations", 0)) for r in results.values()) if results \
        else len(doc.get("violations", []))
    verdict = ('<span class="pass">PASSED</span>' if passed
               else f'<span class="fail">FAILED: {n} violation{"s" if n != 1 else ""}</span>')
    rules = escape(str(doc.get("rules", "")))
    parts = [f"<p>{verdict} — {len(results) or len(doc.get('checks', []))} checks"
             + (f", rules <code>{rules}</code>" if rules else "")
             + (f", {escape(str(doc.get('mode')))}" if doc.get("mode") else "") + "</p>"]
    rows = []
    for cid in sorted(results):
        r = results[cid]
        ok = bool(r.get("passed", not r.get("violations")))
        rows.append([f"<code>{escape(cid)}</code>", _claims_html(r.get("claims", ())),
                     escape(str(r.get("description", ""))),
                     '<span class="pass">pass</span>' if ok else '<span class="fail">FAIL</span>',
                     escape(str(r.get("judged", ""))), escape(str(r.get("violations", 0)))])
    if rows:
        parts.append(_table(["check", "claims verified", "what it checks", "result", "judged",
                             "violations"], rows, num=(4, 5)))
    elif doc.get("checks"):
        parts.append("<p>" + ", ".join(f"<code>{escape(c)}</code>" for c in doc["checks"])
                     + "</p>")
    viol = doc.get("violations") or []
    if viol:
        vrows = [[f"<code>{escape(str(v.get('check', '')))}</code>",
                  escape(f"{float(v.get('x', 0)):.3f}"), escape(f"{float(v.get('y', 0)):.3f}"),
                  escape(str(v.get("message", "")))] for v in viol[:MAX_MESSAGES]]
        parts.append("<h3>Violations</h3>")
        parts.append(_table(["check", "x (µm)", "y (µm)", "message"], vrows, num=(1, 2)))
        if len(viol) > MAX_MESSAGES:
            parts.append(f'<p class="muted">… and {len(viol) - MAX_MESSAGES} more listed in '
                         "the JSON report.</p>")
    seeds = sorted({str(c).partition(":")[0] for r in results.values()
                    for c in r.get("claims", ())})
    if seeds:
        parts.append('<p class="muted">Claims: ' + "; ".join(
            f"<b>{escape(s)}</b> = {escape(CLAIM_SOURCES.get(s, 'unknown seed'))}"
            for s in seeds) + ".</p>")
    return "\n".join(parts)


def _masks_doc(masks: Any) -> dict[str, Any] | None:
    if masks is None:
        return None
    if isinstance(masks, (str, os.PathLike)):
        try:
            return json.loads(Path(masks).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return {"error": f"{Path(masks).name}: cannot read the mask manifest ({exc})"}
    return dict(masks)


def _masks_section(doc: dict[str, Any]) -> str:
    if "error" in doc:
        return f'<p class="fail">{escape(str(doc["error"]))}</p>'
    plates = doc.get("plates") or []
    rows = []
    for p in plates:
        ld = (f"{p.get('gds_layer')}/{p.get('gds_datatype')}"
              if p.get("gds_layer") is not None else "")
        rows.append([escape(str(p.get("plate", ""))), f"<code>{escape(str(p.get('file', '')))}"
                     "</code>", escape(str(p.get("layer", ""))), escape(ld),
                     "yes" if p.get("mirrored") else "no", escape(str(p.get("tone", ""))),
                     escape(str(p.get("process", "")))])
    parts = [_table(["plate", "file", "layer", "GDS", "mirrored", "tone", "how it is made"],
                    rows)]
    mirror = doc.get("mirror")
    if isinstance(mirror, Mapping):
        parts.append(f'<p class="muted">Mirror: {escape(str(mirror.get("transform", "")))} '
                     f'about the {escape(str(mirror.get("axis", "")))}: '
                     f'{escape(str(mirror.get("why", "")))}.</p>')
    if doc.get("tone_convention"):
        parts.append(f'<p class="muted">Tone: {escape(str(doc["tone_convention"]))}.</p>')
    return "\n".join(parts)


def _layers_section(names: Iterable[str], layer_map: LayerMap) -> str:
    rows = []
    for name in names:
        if name not in layer_map:
            rows.append([escape(name), escape(name), "", "", ""])
            continue
        lay = layer_map[name]
        rows.append([f'<span class="swatch" style="background:{lay.color}"></span>'
                     f"{escape(lay.name)}", f"{lay.layer}/{lay.datatype}", escape(lay.wafer),
                     escape(lay.tone), escape(lay.description)])
    return _table(["layer", "GDS", "wafer", "drawn as", "what it is"], rows)


def _slug(name: str) -> str:
    return "p-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def _verdict(entry: Mapping[str, Any]) -> str:
    doc = _check_doc(entry.get("check"))
    if doc is None:
        return '<span class="muted">not checked</span>'
    if "error" in doc:
        return '<span class="fail">unreadable</span>'
    if doc.get("passed", not doc.get("violations")):
        return '<span class="pass">pass</span>'
    return '<span class="fail">FAIL</span>'


def _product_html(entry: Mapping[str, Any], layer_map: LayerMap) -> str:
    name = str(entry["name"])
    kind = entry.get("kind")
    kind_name = getattr(kind, "name", kind)
    spec = entry.get("spec")
    parts = [f'<section id="{_slug(name)}"><h2>{escape(name)}'
             + (f' <span class="muted">({escape(str(kind_name))})</span>' if kind_name else "")
             + "</h2>"]
    doc_line = getattr(kind, "doc", "")
    description = entry.get("description") or getattr(spec, "description", "")
    if doc_line:
        parts.append(f"<p>{escape(doc_line)}</p>")
    if description:
        parts.append(f"<p>{escape(description)}</p>")

    figs = [_figure(entry.get("preview"), f"{name}: layout preview"),
            _figure(entry.get("wafer_map"), f"{name}: wafer map"),
            _figure(entry.get("xsection"), f"{name}: cross-section")]
    figs += [_figure(img, str(cap)) for cap, img in entry.get("images") or ()]
    figs = [f for f in figs if f]
    if figs:
        parts.append('<div class="figs">' + "\n".join(figs) + "</div>")

    check = _check_doc(entry.get("check"))
    parts.append("<h3>Check results</h3>")
    parts.append(_check_section(check) if check is not None
                 else '<p class="muted">Not checked in this run (run <code>layoutgen check'
                      "</code> on the layout).</p>")

    rows = entry.get("params")
    if rows is None and kind is not None and hasattr(kind, "params"):
        rows = param_rows(kind, spec)
    if rows:
        parts.append("<h3>Parameters</h3>")
        body = []
        for r in rows:
            key = f"<code>{escape(str(r.get('key', '')))}</code>"
            value = escape(str(r.get("value", "")))
            if r.get("changed"):
                value = f"<b>{value}</b>"
            body.append([key, value, escape(str(r.get("unit", ""))),
                         escape(str(r.get("allowed", ""))), escape(str(r.get("doc", "")))])
        parts.append(_table(["key", "value", "unit", "allowed", "meaning"], body))
        if any(r.get("changed") for r in rows):
            parts.append('<p class="muted">Bold values differ from the default.</p>')

    info = entry.get("info") or {}
    facts = [(k, v) for k, v in sorted(info.items())
             if isinstance(v, (str, int, float, bool))
             or (isinstance(v, (list, tuple)) and len(v) <= 4
                 and all(isinstance(x, (int, float, str)) for x in v))]
    if facts:
        parts.append("<h3>Build facts</h3>")
        parts.append(_table(["fact", "value"], [[escape(k), escape(_fmt(v))] for k, v in facts]))

    masks = _masks_doc(entry.get("masks"))
    if masks is not None:
        parts.append("<h3>Masks</h3>")
        parts.append(_masks_section(masks))
    if entry.get("layers"):
        parts.append("<h3>Layers drawn</h3>")
        parts.append(_layers_section(entry["layers"], layer_map))
    if entry.get("files"):
        parts.append("<h3>Files</h3><ul>" + "".join(
            f"<li><code>{escape(str(f))}</code></li>" for f in entry["files"]) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(products: Sequence[Mapping[str, Any]], title: str = "layoutgen build report",
                layer_map: LayerMap | None = None) -> str:
    """The report page as text (see :func:`write_report`)."""
    from layoutgen import __version__

    layer_map = layer_map or DEFAULT_LAYERS
    for i, entry in enumerate(products):
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise ValueError(f"product entry {i} needs a 'name'")
    head = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>", f"<style>{_CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="muted">layoutgen {escape(__version__)} · {len(products)} '
            f'product{"s" if len(products) != 1 else ""} · units µm unless stated</p>']
    if products:
        rows = []
        for e in products:
            kind = e.get("kind")
            info = e.get("info") or {}
            rows.append([f'<a href="#{_slug(str(e["name"]))}">{escape(str(e["name"]))}</a>',
                         escape(str(getattr(kind, "name", kind) or "")),
                         escape(str(info.get("die_count", ""))), _verdict(e)])
        head.append("<nav>" + _table(["product", "kind", "dies", "check"], rows) + "</nav>")
    else:
        head.append("<p>No products were built.</p>")
    body = [_product_html(e, layer_map) for e in products]
    return "\n".join(head + body + ["</body></html>", ""])


def write_report(path: str | os.PathLike, products: Sequence[Mapping[str, Any]],
                 title: str = "layoutgen build report",
                 layer_map: LayerMap | None = None) -> Path:
    """Write one self-contained HTML report for the products of a run (atomically).

    Args:
        path: the file to write (``out/report.html``).
        products: one entry per product (dicts with the keys in this module's
            docstring; :func:`product_entry` makes them from build results).
        title: page title.
        layer_map: the layer map for the layer tables (default: DESIGN.md's).

    Returns:
        The path written.
    """
    from layoutgen.io import write_text

    return write_text(Path(path), render_html(products, title, layer_map))


def product_entry(result: Any, kind: Any, out_dir: str | os.PathLike,
                  layers: LayerMap | None = None, check: Any = None,
                  pictures: bool = True, quiet: bool = True) -> dict[str, Any]:
    """Render a built product's pictures into ``out_dir`` and return its report entry.

    Call after the product's artifacts are written. Writes ``<name>_preview.png`` (the
    main layout drawn whole) and, when the product wrote ``<name>_wafermap.json``,
    ``<name>_wafermap.png`` (dies coloured pass/fail when a check report is given).
    Picks up ``<name>_masks.json`` and a cross-section ``<name>_xsection.png``/``.svg``
    when they exist.

    Args:
        result: the product's :class:`~layoutgen.spec.BuildResult`.
        kind: its :class:`~layoutgen.spec.ProductKind` (for the parameter table).
        out_dir: the folder the artifacts were written to.
        layers: the layer map of the build.
        check: a check report of the main layout (Report, JSON dict or path), or True
            to run the checker on it now, or None for no check.
        pictures: False skips rendering (only existing pictures are embedded).
        quiet: no progress bar while drawing.

    Returns:
        The entry for :func:`write_report`.
    """
    out_dir = Path(out_dir)
    spec = result.spec
    name = spec.name
    layer_map = layers or DEFAULT_LAYERS
    arts = list(result.artifacts)
    files = [a.name for a in arts]
    main = next((a.name for a in arts if a.role == "layout"), files[0] if files else None)
    layout_path = out_dir / main if main else None
    if check is True and layout_path is not None:
        from layoutgen.check import check as run_check

        check = run_check(layout_path, layers=layer_map)
    entry: dict[str, Any] = {"name": name, "kind": kind, "spec": spec,
                             "info": dict(result.info), "files": files, "check": check}
    from layoutgen import preview

    if layout_path is not None and layout_path.suffix in (".gds", ".oas"):
        png = out_dir / f"{name}_preview.png"
        if pictures:
            drawn = preview.render(layout_path, png, layer_map=layer_map,
                                   show_progress=not quiet)
            entry["layers"] = drawn.layers
            files.append(png.name)
        if png.exists():
            entry["preview"] = png
    wmap = out_dir / f"{name}_wafermap.json"
    if f"{name}_wafermap.json" in files and wmap.exists():
        png = out_dir / f"{name}_wafermap.png"
        if pictures:
            preview.wafer_map(wmap, png, report=check)
            files.append(png.name)
        if png.exists():
            entry["wafer_map"] = png
    for suffix in (".png", ".svg"):
        xs = out_dir / f"{name}_xsection{suffix}"
        if xs.exists():
            entry["xsection"] = xs
            break
    masks = out_dir / f"{name}_masks.json"
    if masks.name in files and masks.exists():
        entry["masks"] = masks
    return entry
