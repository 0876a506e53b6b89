"""The report in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Four reports are built by running the whole pipeline: generated customers (with PCA, so
that every figure appears), the real Mall Customers data, a hostile table whose column
name, category values, ids and file name are HTML, script and spreadsheet formulas, and a
generated transaction log (order lines, with RFM segments beside the clusters). Each
is opened from ``file://`` at desktop (1280 px) and phone (390 px) width and checked for
console errors, unrendered figures, dead table-of-contents links, requests leaving the
page and dialogs. Screenshots go to ``artifacts/`` in the repository root.

Playwright only drives the system browser (``executable_path``); it never downloads one.
Without Chromium the module is skipped, except under CI (``CI=true``), where that fails.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from custseg import generate_customers, segment
from custseg.sampledata import generate_transactions

XSS_COLUMN = "<img src=x onerror=alert(1)>"
XSS_VALUE = "<script>alert(1)</script>"
FORMULA_VALUE = '=HYPERLINK("http://x")'
XSS_FILE = "<img src=y onerror=alert(2)>.csv"
SECTIONS = ("summary", "data-quality", "exploration", "features", "model-selection", "segments",
            "segment-details", "reproducibility")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
#: The same file as conftest's (function-scoped) ``mall`` fixture; the reports here are built once.
MALL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mall_customers.csv"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
UNDER_CI = os.environ.get("CI", "").strip().lower() == "true"


def _chromium() -> str | None:
    for candidate in (os.environ.get("CUSTSEG_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
if CHROMIUM is None and not UNDER_CI:
    pytest.skip("chromium is not installed (apt-get install chromium); required under CI",
                allow_module_level=True)
if UNDER_CI:
    assert CHROMIUM is not None, "CI=true but chromium is not installed: .ci/run installs it"
    from playwright.sync_api import sync_playwright
else:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


# --------------------------------------------------------------------------- reports


def _hostile_table() -> pd.DataFrame:
    """Customers whose column name, category values and ids are HTML, script or formulas."""
    frame, _truth = generate_customers(240, 3, random_state=7)
    frame = frame[["customer_id", "age", "annual_income", "spending_score"]].copy()
    frame = frame.rename(columns={"customer_id": "id", "spending_score": XSS_COLUMN})
    frame["id"] = frame["id"].astype(str)
    frame.loc[0, "id"] = FORMULA_VALUE
    frame.loc[1, "id"] = "-12"
    frame.loc[2, "id"] = "@SUM(A1:A2)"
    levels = [XSS_VALUE, FORMULA_VALUE, "store"]
    frame["channel"] = [levels[i % 3] for i in range(len(frame))]
    return frame


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """{name: output folder} for the four runs, each written with ``Result.write``."""
    if not MALL.is_file():
        pytest.skip(f"real data not found at {MALL}")
    root = tmp_path_factory.mktemp("browser")
    customers, _truth = generate_customers(800, 4, random_state=0)
    hostile_file = root / XSS_FILE
    _hostile_table().to_csv(hostile_file, index=False)
    lines, _truth = generate_transactions(300, 4, random_state=0)
    lines_file = root / "orders.csv"
    lines.to_csv(lines_file, index=False)
    runs = {
        "generated": segment(customers, pca=3, k_max=8),
        "mall": segment(MALL),
        "hostile": segment(hostile_file, id_col="id", k_max=6),
        "transactions": segment(lines_file, algorithms=("kmeans",), k_max=5),
    }
    folders = {}
    for name, result in runs.items():
        folders[name] = root / name
        result.write(folders[name])
    return folders


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


class _Visit:
    """One page with listeners on everything that must not happen."""

    def __init__(self, browser, path: Path, width: int, height: int):
        self.url = path.resolve().as_uri()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           java_script_enabled=True)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check_quiet(self) -> None:
        assert self.dialogs == [], "a dialog was opened"
        assert self.console_errors == [], "console errors"
        assert self.page_errors == [], "page errors"
        left = [u for u in self.requests if u != self.url and not u.startswith("data:")]
        assert left == [], f"requests left the page: {left}"

    def close(self) -> None:
        self.context.close()


def _check_figures(page) -> int:
    broken = page.evaluate(
        """() => [...document.querySelectorAll('img')].filter(
               img => !img.complete || img.naturalWidth === 0 || img.naturalHeight === 0
                      || img.getBoundingClientRect().width === 0).map(img => img.alt)"""
    )
    assert broken == [], f"figures that did not render: {broken}"
    svgs = page.evaluate(
        """() => [...document.querySelectorAll('svg')].filter(svg => {
               const r = svg.getBoundingClientRect(); return r.width === 0 || r.height === 0; }).length"""
    )
    assert svgs == 0
    images = page.evaluate("() => document.querySelectorAll('img').length")
    figures = page.evaluate("() => document.querySelectorAll('figure[data-test=figure]').length")
    assert images == figures > 0
    return images


def _check_links(page) -> None:
    missing = page.evaluate(
        """() => [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'))
                 .filter(href => !document.getElementById(decodeURIComponent(href.slice(1))))"""
    )
    assert missing == [], f"links without a target: {missing}"
    toc = page.evaluate("() => [...document.querySelectorAll('nav.toc a')].map(a => a.getAttribute('href'))")
    assert {f"#{s}" for s in SECTIONS} <= set(toc)


def _no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", ["generated", "mall", "hostile", "transactions"])
def test_report_renders_cleanly_at_desktop_and_phone_width(browser, reports, name):
    visit = _Visit(browser, reports[name] / "report.html", 1280, 900)
    try:
        page = visit.page
        for section in SECTIONS:
            assert page.locator(f"section#{section}").count() == 1, section
        # Only a transaction log has RFM segments, in the TOC right after Segments.
        assert page.locator("section#rfm").count() == (1 if name == "transactions" else 0)
        n_figures = _check_figures(page)
        _check_links(page)
        _no_sideways_scroll(page, 1280)
        # The TOC works: following a link brings its section to the top of the window.
        page.click('nav.toc a[href="#segment-details"]')
        page.wait_for_function("() => location.hash === '#segment-details'")
        page.wait_for_function(
            "() => Math.abs(document.getElementById('segment-details').getBoundingClientRect().top) < 40")
        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=ARTIFACTS / f"report-{name}-desktop.png", full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.evaluate("() => window.scrollTo(0, 0)")
        _check_figures(page)
        _no_sideways_scroll(page, 390)
        assert page.evaluate("() => getComputedStyle(document.querySelector('nav.toc')).position") == "static"
        page.screenshot(path=ARTIFACTS / f"report-{name}-phone.png", full_page=True)

        page.emulate_media(media="print")
        assert page.evaluate("() => getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        visit.check_quiet()
        if name == "generated":
            assert n_figures == 16  # every figure, PCA included
            for key in ("pairs", "scree", "loadings", "profile_lines", "categories"):
                assert page.locator(f'img[data-test="figure-{key}"]').count() == 1, key
    finally:
        visit.close()


def test_transaction_report_shows_lines_rfm_and_the_crosswalk(browser, reports):
    visit = _Visit(browser, reports["transactions"] / "report.html", 1280, 900)
    try:
        page = visit.page
        toc = page.evaluate("() => [...document.querySelectorAll('nav.toc > ol > li > a')].map(a => a.getAttribute('href'))")
        assert toc.index("#segments") + 1 == toc.index("#rfm") < toc.index("#segment-details")
        summary = page.locator('[data-test="lines-to-customers"]').inner_text()
        assert re.match(r"[\d,]+ order lines → [\d,]+ customers\.", summary), summary
        for hook in ("line-ledger", "line-checks", "customer-ledger", "column-mapping", "rfm-table", "rfm-crosswalk"):
            assert page.locator(f'table[data-test="{hook}"]').count() == 1, hook
        assert "a line can appear in several rows" in page.locator("section#data-quality").inner_text()
        for key in ("rfm_sizes", "rfm_crosswalk"):
            figure = page.locator(f'section#rfm img[data-test="figure-{key}"]')
            assert figure.count() == 1 and figure.evaluate("img => img.naturalWidth > 0"), key
        assert "holds" in page.locator('[data-test="crosswalk-reading"]').inner_text()
        # The crosswalk's columns are the clusters, under their card colours, linking to their cards.
        links = page.evaluate("""() => [...document.querySelectorAll('table[data-test="rfm-crosswalk"] thead a')]
                                        .map(a => a.getAttribute('href'))""")
        cards = page.evaluate("() => [...document.querySelectorAll('article.card')].map(c => '#' + c.id)")
        assert sorted(links) == sorted(cards)
        page.click('nav.toc a[href="#rfm"]')
        page.wait_for_function("() => Math.abs(document.getElementById('rfm').getBoundingClientRect().top) < 40")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("section#rfm").screenshot(path=ARTIFACTS / "report-transactions-rfm.png")
        visit.check_quiet()
    finally:
        visit.close()


def test_mall_report_prints_to_pdf(browser, reports):
    visit = _Visit(browser, reports["mall"] / "report.html", 1280, 900)
    try:
        visit.page.emulate_media(media="print")
        pdf = visit.page.pdf(format="A4", print_background=True)
        assert pdf[:5] == b"%PDF-"
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 5 <= pages <= 40, pages
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "report-mall.pdf").write_bytes(pdf)
        visit.check_quiet()
    finally:
        visit.close()


def test_hostile_input_shows_as_text_and_runs_nothing(browser, reports):
    visit = _Visit(browser, reports["hostile"] / "report.html", 1280, 900)
    try:
        page = visit.page
        page.wait_for_timeout(200)  # time for an injected handler to fire, if there were one
        text = page.evaluate("() => document.body.innerText")
        assert XSS_COLUMN in text
        assert XSS_VALUE in text
        assert FORMULA_VALUE in text
        assert XSS_FILE in text
        assert page.evaluate("() => document.querySelectorAll('script').length") == 0
        assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"], img[src=\"y\"]').length") == 0
        assert page.evaluate("() => [...document.querySelectorAll('*')].filter(e => e.hasAttribute('onerror')).length") == 0
        assert XSS_FILE in page.title()
        visit.check_quiet()
    finally:
        visit.close()


def test_hostile_values_are_neutralised_in_segments_csv(reports):
    raw = (reports["hostile"] / "segments.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(raw)))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "segment", "segment_name"]
    ids = [row[0] for row in body]
    assert "'" + FORMULA_VALUE in ids and FORMULA_VALUE not in ids
    assert "'@SUM(A1:A2)" in ids
    assert '"\'=HYPERLINK(""http://x"")"' in raw
    # A number stays a number: not quoted, not prefixed.
    assert re.search(r"^-12,\d+,", raw, re.M)
    assert all(re.fullmatch(r"-?\d+", row[1]) for row in body)
    assert re.search(r"^[^\n]*,\d+,", raw.splitlines()[1])
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", cell), cell
