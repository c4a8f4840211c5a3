"""The build report: one self-contained ``report.html`` whose pictures decode and render.

The built-in products are built in memory, written, and given to
:func:`layoutgen.htmlreport.product_entry` / :func:`write_report` exactly as
``layoutgen build`` does. The page must need nothing but itself (no http(s) source, no
script), every embedded picture must decode, each product must show its declared
parameters, pictures, check results with claims, and masks with tones; headless
Chromium must paint the embedded pictures (skipped where Chromium is absent).
"""

from __future__ import annotations

import base64
import io as _io
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mimg
import numpy as np
import pytest

from layoutgen.htmlreport import param_rows, product_entry, render_html, write_report
from layoutgen.layers import DEFAULT_LAYERS
from layoutgen.preview import FAIL_COLOR, PASS_COLOR, wafer_map
from layoutgen.spec import Param, ProductKind


class _Links(HTMLParser):
    """Every tag and every attribute that can load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, val in attrs:
            if key in ("src", "href", "srcset", "data", "poster", "action", "background"):
                self.urls.append((tag, key, val or ""))


def _parse(text: str) -> _Links:
    p = _Links()
    p.feed(text)
    return p


def _images(text: str) -> list[tuple[str, bytes]]:
    """(mime type, bytes) of every embedded picture."""
    out = []
    for tag, key, url in _parse(text).urls:
        if tag == "img" and key == "src":
            m = re.fullmatch(r"data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)", url)
            assert m, f"img src is not a base64 data URI: {url[:60]}"
            out.append((m.group(1), base64.b64decode(m.group(2), validate=True)))
    return out


def assert_self_contained(text: str) -> None:
    """Nothing on the page is fetched from anywhere, and no script is needed."""
    links = _parse(text)
    assert "script" not in links.tags and "iframe" not in links.tags
    assert "link" not in links.tags, "external style sheet"
    for tag, key, url in links.urls:
        ok = url.startswith("data:") or (tag == "a" and key == "href" and url.startswith("#"))
        assert ok, f"<{tag} {key}={url[:80]!r}> loads something"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), "CSS url() to the network"
    assert not re.search(r"\bsrc\s*=\s*['\"]?(https?:)?//", text)
    assert "@import" not in text


def assert_images_decode(text: str, at_least: int) -> None:
    imgs = _images(text)
    assert len(imgs) >= at_least, f"{len(imgs)} pictures, expected >= {at_least}"
    for mime, data in imgs:
        if mime == "image/png":
            arr = mimg.imread(_io.BytesIO(data), format="png")
            assert arr.ndim == 3 and arr.shape[0] > 100 and arr.shape[1] > 100
            assert arr[..., :3].std() > 0.01, "a blank picture"
        else:
            assert mime == "image/svg+xml", mime
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")


# ----------------------------------------------------------------------------- the build
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Built-in products built, written and reported as ``layoutgen build`` does."""
    import cells.products as products
    from layoutgen.cli import build_products, resolve_specs, write_outputs

    kinds = dict(products.KINDS)
    specs = resolve_specs([], kinds, products.builtin_specs())
    if not specs:
        pytest.skip("no built-in products yet (cells/products/*.toml)")
    out = tmp_path_factory.mktemp("report") / "out"
    results = build_products(specs, kinds, DEFAULT_LAYERS)
    write_outputs(results, DEFAULT_LAYERS, out)
    entries = []
    for r in results:
        has_map = any(a.name.endswith("_wafermap.json") for a in r.artifacts)
        # check the single dies (fast); wafers are shown unchecked
        entries.append(product_entry(r, kinds[r.spec.kind], out, layers=DEFAULT_LAYERS,
                                     check=None if has_map else True))
    page = write_report(out / "report.html", entries)
    return out, page, results, kinds, entries


def test_report_is_one_self_contained_file(built) -> None:
    out, page, results, _kinds, _entries = built
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(text)
    n_maps = sum(any(a.name.endswith("_wafermap.json") for a in r.artifacts) for r in results)
    assert_images_decode(text, len(results) + n_maps)
    # the pictures are also left beside the layouts
    for r in results:
        assert (out / f"{r.spec.name}_preview.png").is_file()


def test_each_product_shows_parameters_checks_and_masks(built) -> None:
    out, page, results, kinds, entries = built
    text = page.read_text(encoding="utf-8")
    for r, entry in zip(results, entries, strict=True):
        name = r.spec.name
        section = text.split(f'<section id="p-{name}">', 1)[1].split("</section>", 1)[0]
        kind = kinds[r.spec.kind]
        for p in kind.params:
            assert f"<code>{p.key}</code>" in section, f"{name}: parameter {p.key} missing"
        for row in param_rows(kind, r.spec):
            assert f"<td>{escape(row['allowed'])}</td>" in section, row["key"]
            assert f"<td>{escape(row['unit'])}</td>" in section, row["key"]
        assert f"{name}: layout preview" in section
        if f"{name}_wafermap.json" in [a.name for a in r.artifacts]:
            assert f"{name}: wafer map" in section
            assert (out / f"{name}_wafermap.png").is_file()
        if entry.get("check") is not None:
            report = entry["check"]
            assert "Check results" in section and "claims verified" in section
            for cid, res in report.results.items():
                assert f"<code>{cid}</code>" in section
                for claim in res.info.claims:
                    seed, _, num = claim.partition(":")
                    assert f"{seed} claim {num}" in section
            assert ("PASSED" in section) == report.passed
        else:
            assert "Not checked in this run" in section
        if (out / f"{name}_masks.json").is_file():
            import json

            manifest = json.loads((out / f"{name}_masks.json").read_text())
            assert "<h3>Masks</h3>" in section
            for plate in manifest["plates"]:
                assert plate["file"] in section and plate["tone"] in section
        for lay in entry.get("layers", []):
            assert DEFAULT_LAYERS[lay].color in section


def test_failing_check_missing_picture_and_escaping(tmp_path: Path) -> None:
    kind = ProductKind("demo", (Param("seal.width", 80.0, "bead <width>", unit="µm", low=0,
                                      low_open=True),
                                Param("spacer.sites", [[1, 2]], "spacer centres")),
                       lambda spec, layers: None, "a demo")
    spec = kind.make_spec("demo", {"seal.width": 50, "spacer.sites": [[1, 2]]})
    check = {"passed": False, "checks": ["seal.width"], "rules": "default",
             "violations": [{"check": "seal.width", "message": "bead 40 < 50 µm at <here>",
                             "x": 1.5, "y": -2.0}],
             "results": {"seal.width": {"claims": ["cap:1", "cap:22"], "passed": False,
                                        "description": "bead wide enough", "judged": 1,
                                        "violations": 1}}}
    entry = {"name": "demo", "kind": kind, "spec": spec, "check": check,
             "preview": tmp_path / "absent.png", "info": {"die_count": 3}}
    text = render_html([entry])
    assert_self_contained(text)
    assert "FAILED: 1 violation" in text and '<span class="fail">FAIL</span>' in text
    assert "cap claim 1, " in text or "cap claim 1</span>, " in text
    assert "&lt;here&gt;" in text and "<here>" not in text
    assert "bead &lt;width&gt;" in text
    assert "<b>50</b>" in text  # changed from the default
    assert "<td>[[1, 2]]</td>" in text  # a list equal to its default is not marked
    assert "&gt; 0 µm" in text
    assert "picture missing" in text
    assert render_html([entry]) == text  # same input, same bytes
    with pytest.raises(ValueError, match="name"):
        render_html([{"kind": kind}])


# ----------------------------------------------------------------------------- chromium
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def _near(img: np.ndarray, color: str, tol: float = 0.06) -> float:
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return float((np.abs(img[..., :3] - rgb).max(-1) < tol).mean())


def test_headless_chromium_renders_the_pictures(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium': "
                    "apt-get install -y chromium); CI installs it")
    from test_preview import _small_wafer

    doc = _small_wafer()
    bad = doc["dies"][3]
    report = {"passed": False, "checks": ["seal.closed"],
              "violations": [{"check": "seal.closed", "message": "open", "x": bad["x"],
                              "y": bad["y"]}],
              "results": {"seal.closed": {"claims": ["cap:1"], "passed": False, "judged": 9,
                                          "violations": 1, "description": "closed ring"}}}
    png = wafer_map(doc, tmp_path / "tiny_wafermap.png", report=report).path
    page = write_report(tmp_path / "report.html",
                        [{"name": "tiny", "wafer_map": png, "check": report}])
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
           f"--screenshot={shot}", "--window-size=1200,2000", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"no screenshot: {proc.stderr[-1500:]}"
    img = mimg.imread(str(shot))
    assert img.shape[:2] == (2000, 1200)
    # the wafer map's pass-green dies and the one fail-red die are painted on the page
    assert _near(img, PASS_COLOR) > 0.01, "the embedded wafer map was not painted"
    assert _near(img, FAIL_COLOR) > 0.0001, "the failing die is not on the page"
