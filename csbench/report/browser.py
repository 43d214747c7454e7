"""Check a Snakemake HTML report in headless Chromium: every figure must render.

Why a browser: the report is one self-contained HTML file whose figures are data URIs
shown by a JavaScript app, so "the file exists" says nothing about whether a reader sees
the plots. This opens the report as a reader would, asks the report's own app to display
each image result (exactly what clicking its eye button does), and records whether the
browser decoded it (natural size > 0); it also takes screenshots for a human to look at.
PDF results cannot be shown by headless Chromium; their bytes are checked instead.

Chromium is optional: ``find_chromium`` returns None when it is not installed (tests skip).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Headless, offline and stateless: no sandbox (containers run as root), no GPU, no network
#: side traffic, a fresh profile per run (added by ``run_chromium``).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

# Collects script errors from the first line of the page on, including the report's own.
_ERROR_HOOK = """<script>
window.__csbenchErrors = [];
window.addEventListener("error", function (event) { window.__csbenchErrors.push(String(event.message)); });
</script>"""

# Drives the report's app (global `app`, `results`): "#check" shows every image result in
# turn and writes what the browser made of it into <pre id="csbench-check">; "#show=PATH"
# shows one result with its caption, for a screenshot. No hash: the page is untouched.
_DRIVER = """<script>
(function () {
  var hash = decodeURIComponent(location.hash.slice(1));
  if (!hash) { return; }
  function later(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  async function until(probe, tries) {
    for (var i = 0; i < tries; i++) { var found = probe(); if (found) { return found; } await later(50); }
    return null;
  }
  function shown(entry) {
    return Array.prototype.find.call(document.images, function (img) {
      return img.getAttribute("src") === entry.data_uri;
    });
  }
  async function show(path) {
    var entry = results[path];
    // One setView, as the eye button plus the result's info panel: two calls in a row
    // would see the same stale state and the second would undo the first.
    app.setView({ content: "img", contentPath: entry.data_uri, resultPath: path, navbarMode: "resultinfo" });
    var img = await until(function () { return shown(entry); }, 100);
    if (img && !img.complete) {
      await new Promise(function (resolve) { img.onload = resolve; img.onerror = resolve; });
    }
    return img;
  }
  async function check() {
    var report = {
      app_rendered: document.querySelector("#app").childElementCount > 0,
      categories: Object.keys(categories),
      figures: {},
    };
    for (var path of Object.keys(results)) {
      if (!results[path].mime_type.startsWith("image/")) { continue; }
      var img = await show(path);
      report.figures[path] = img
        ? { ok: img.complete && img.naturalWidth > 0, width: img.naturalWidth, height: img.naturalHeight,
            displayed_width: Math.round(img.getBoundingClientRect().width) }
        : { ok: false, width: 0, height: 0, displayed_width: 0 };
    }
    report.errors = window.__csbenchErrors;
    var pre = document.createElement("pre");
    pre.id = "csbench-check";
    pre.textContent = JSON.stringify(report);
    document.body.appendChild(pre);
  }
  async function main() {
    await until(function () { return typeof app !== "undefined" && app; }, 200);
    if (hash === "check") { await check(); }
    else if (hash.startsWith("show=")) { await show(hash.slice(5)); }
  }
  window.addEventListener("load", main);
})();
</script>"""


@dataclass
class FigureCheck:
    """What the browser (images) or a byte check (PDFs) made of one report result."""

    path: str
    mime_type: str
    ok: bool
    detail: str
    screenshot: Path | None = None


@dataclass
class ReportCheck:
    """Outcome of ``check_report``: app rendered, every figure shown, screenshots taken."""

    report: Path
    screenshot: Path
    app_rendered: bool
    figures: list[FigureCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.app_rendered and not self.errors and all(figure.ok for figure in self.figures)

    def lines(self) -> list[str]:
        """One human-readable line per check, for logs and test failure messages."""
        lines = [f"report {self.report}: app rendered={self.app_rendered}, screenshot {self.screenshot}"]
        lines += [f"  {'ok  ' if f.ok else 'FAIL'} {f.path} ({f.mime_type}): {f.detail}" for f in self.figures]
        lines += [f"  script error: {error}" for error in self.errors]
        return lines


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def report_results(report_html: str) -> dict[str, dict]:
    """The ``results`` object a Snakemake HTML report embeds: path → name, mime, data URI, ..."""
    match = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', report_html, re.DOTALL)
    if match is None:
        raise ValueError("not a Snakemake HTML report: no embedded `results` script")
    return json.loads(match.group(1))


def run_chromium(chromium: str, url: str, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """One headless Chromium run on ``url`` with a throw-away profile."""
    with tempfile.TemporaryDirectory(prefix="csbench-chromium-") as profile:
        return subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _decode_data_uri(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    return base64.b64decode(payload) if header.endswith(";base64") else payload.encode()


def _check_pdf(path: str, entry: dict) -> FigureCheck:
    """A PDF result must decode to a complete PDF file (header and end-of-file marker)."""
    data = _decode_data_uri(entry.get("data_uri", ""))
    ok = data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
    return FigureCheck(path, entry["mime_type"], ok, f"{len(data)} bytes of {'valid' if ok else 'INVALID'} PDF")


def _is_blank(png: Path) -> bool:
    """Whether a screenshot is one flat colour (nothing was drawn)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    return bool(pixels.std() < 1e-3)


def _screenshot(chromium: str, url: str, target: Path, window: tuple[int, int], budget_ms: int) -> Path:
    result = run_chromium(chromium, url, f"--screenshot={target}", f"--window-size={window[0]},{window[1]}",
                          f"--virtual-time-budget={budget_ms}")
    if not target.exists():
        raise RuntimeError(f"chromium wrote no screenshot of {url}: {result.stderr[-2000:]}")
    return target


def check_report(
    report: str | Path,
    out_dir: str | Path,
    chromium: str | None = None,
    window: tuple[int, int] = (1400, 2000),
    budget_ms: int = 8000,
    figure_screenshots: bool = True,
) -> ReportCheck:
    """Render ``report`` in headless Chromium: landing-page screenshot, then every figure.

    Writes ``report.png`` (the page as a reader first sees it) and, per image result,
    ``figure_<n>.png`` (the report showing that figure with its caption) into ``out_dir``.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium executable on PATH (apt-get install chromium)")
    report = Path(report).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    page = report.read_text(encoding="utf-8")
    results = report_results(page)

    landing = _screenshot(chromium, report.as_uri(), out_dir / "report.png", window, budget_ms)
    # A driven copy of the page: the error hook first, the driver last; the report is unchanged.
    driven = out_dir / "report_driven.html"
    head = page.find("<head>") + len("<head>")
    body_end = page.rfind("</body>")
    driven.write_text(page[:head] + _ERROR_HOOK + page[head:body_end] + _DRIVER + page[body_end:],
                      encoding="utf-8")
    dump = run_chromium(chromium, driven.as_uri() + "#check", "--dump-dom",
                        f"--window-size={window[0]},{window[1]}", f"--virtual-time-budget={budget_ms * 4}")
    match = re.search(r'<pre id="csbench-check">(.*?)</pre>', dump.stdout, re.DOTALL)
    if match is None:
        raise RuntimeError(f"the report's app never finished the figure check: {dump.stderr[-2000:]}")
    outcome = json.loads(html.unescape(match.group(1)))

    check = ReportCheck(report, landing, bool(outcome["app_rendered"]), errors=list(outcome["errors"]))
    for index, (path, entry) in enumerate(sorted(results.items())):
        mime = entry["mime_type"]
        if mime == "application/pdf":
            check.figures.append(_check_pdf(path, entry))
        elif mime.startswith("image/"):
            shown = outcome["figures"].get(path, {"ok": False, "width": 0, "height": 0, "displayed_width": 0})
            figure = FigureCheck(
                path, mime, bool(shown["ok"]) and shown["displayed_width"] > 0,
                f"decoded {shown['width']}x{shown['height']} px, displayed {shown['displayed_width']} px wide",
            )
            if figure_screenshots:
                target = out_dir / f"figure_{index:02d}_{Path(path).stem}.png"
                figure.screenshot = _screenshot(chromium, driven.as_uri() + "#" + quote("show=" + path, safe=""),
                                                target, window, budget_ms)
                if _is_blank(figure.screenshot):
                    figure.ok, figure.detail = False, figure.detail + "; screenshot is blank"
            check.figures.append(figure)
    if _is_blank(landing):
        check.errors.append("landing-page screenshot is blank")
    return check
