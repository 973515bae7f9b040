"""The static site: articles and boards as HTML, search in the browser, nothing
from a ticket can run. The last test drives a real headless Chromium."""

from __future__ import annotations

import functools
import html.parser
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Desk, expect, headless_chromium

HOSTILE_TITLE = '<script>alert("title")</script> Printer <img src=x onerror=alert(1)>'
HOSTILE_BODY = """Click [here](javascript:alert('link')) or [there](data:text/html,<script>alert(2)</script>).
<script>alert("body")</script>
<iframe src="https://evil.example"></iframe>
[ok](https://example.com/help)
"""
HOSTILE_ASSET = "<script>alert(3)</script>"


@pytest.fixture
def site_desk(desk: Desk) -> Desk:
    hostile = desk.new(HOSTILE_TITLE, "-q", "it-helpdesk", "-c", "hardware", "-a", HOSTILE_ASSET,
                       "-m", HOSTILE_BODY)
    desk.run("resolve", hostile, "--note", 'Fixed. <script>alert("resolution")</script> '
                                           "[again](vbscript:msgbox) [file](file:///etc/passwd)")
    good = desk.new("Printer on 2F jams", "-q", "it-helpdesk", "-c", "hardware", "-a", "printer-2f",
                    "-m", "Paper jams in tray two.")
    desk.run("resolve", good, "--note", "Replaced the pickup roller of tray 2.")
    desk.new("Heating is off", "-q", "facilities", "-a", "ÜBERWACHUNGSKAMERA-0042")
    long = desk.new("Störung: VPN token rejected", "-q", "it-helpdesk", "-c", "network",
                    "-a", "vpn-concentrator-frankfurt-datacenter-rack-4-unit-12-primary-node",
                    "-m", "Log says HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\NetworkConnections"
                          "\\ProhibitNetworkBridgingOnDomainNetworkAndEverythingElseTooLongToFit\n\n"
                          + "".join(f"2026-12-10 10:{n:02d} WARN vpnagent.exe token refused\n" for n in range(40)))
    desk.run("resolve", long, "--note",
             "Re-enrolled from https://vpn.example.com/enroll/" + "a1b2c3d4e5f6" * 12 + " then:\n\n"
             "| Setting | Value |\n| --- | --- |\n| " + "x" * 90 + " | " + "y" * 90 + " |\n")
    return desk


def build(desk: Desk, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    desk.run("site", "build", str(out))
    return out


class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector.tags


def test_no_ticket_text_can_inject_script(site_desk: Desk, tmp_path: Path) -> None:
    out = build(site_desk, tmp_path)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        for tag, attrs in parse(page):
            assert tag not in ("iframe", "object", "embed", "img"), (page, tag)
            if tag == "script":
                assert attrs.get("src") in ("assets/search-index.js", "assets/search.js"), (page, attrs)
            for name, value in attrs.items():
                assert not name.startswith("on"), (page, tag, name)
                if name in ("href", "src") and value:
                    assert not re.match(r"^\s*(javascript|vbscript|data|file):", value, re.I), (page, value)
        text = page.read_text()
        assert 'content="default-src' in text and "script-src &#x27;self&#x27;" in text
    article = next(p for p in (out / "articles").glob("*.html") if "script" in p.name)
    text = article.read_text()
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in text
    assert '<a href="https://example.com/help">ok</a>' in text
    index = (out / "assets" / "search-index.js").read_text()
    assert "<" not in index, "the search index cannot close a script element"


def test_boards_show_unfinished_tickets_without_requesters(site_desk: Desk, tmp_path: Path) -> None:
    out = build(site_desk, tmp_path)
    board = (out / "boards" / "facilities.html").read_text()
    assert "Heating is off" in board and "alice@example.com" not in board
    assert "Printer on 2F jams" not in (out / "boards" / "it-helpdesk.html").read_text(), "resolved: not on a board"


def test_a_ticket_naming_a_queue_the_config_lacks_is_left_off_the_boards_and_said(site_desk: Desk,
                                                                                   tmp_path: Path) -> None:
    odd = site_desk.new("Fan loud", "-q", "facilities")
    site_desk.file(odd).write_text(site_desk.text(odd).replace("queue: facilities", "queue: ../nosuch"))
    site_desk.git("commit", "-qam", "hand edit", "--no-verify")
    result = site_desk.run("site", "build", str(tmp_path / "site"))
    assert f"tickets/{odd}.md: unknown queue '../nosuch'" in result.stderr and "left off the boards" in result.stderr
    assert "Heating is off" in (tmp_path / "site" / "boards" / "facilities.html").read_text()
    assert not list((tmp_path / "site").rglob("*nosuch*")) and "Fan loud" not in "".join(
        path.read_text() for path in (tmp_path / "site" / "boards").glob("*.html"))
    site_desk.file(odd).write_text(site_desk.text(odd).replace("queue: ../nosuch", "queue: facilities")
                                   .replace("title: Fan loud", "title: [Fan, loud]"))
    site_desk.git("commit", "-qam", "a title that is no text", "--no-verify")
    result = site_desk.run("site", "build", str(tmp_path / "site"))
    assert f"tickets/{odd}.md:4: title must be text, not a list" in result.stderr, "a file not read is said too"
    assert "1 ticket file could not be read and is on no board" in (
        tmp_path / "site" / "boards" / "index.html").read_text()


def test_a_board_counts_a_ticket_kept_out_of_the_knowledge_base_but_keeps_its_title_private(
        site_desk: Desk, tmp_path: Path) -> None:
    site_desk.configure(site_desk.path.joinpath(".gitdesk", "config.yml").read_text().replace(
        "categories:\n", "categories:\n  hr: {name: HR questions, kb: false}\n", 1), "HR stays private")
    complaint = site_desk.new("Complaint against manager Tom Baker", "-q", "facilities", "-c", "hr")
    opted = site_desk.new("Salary slip for Kim is wrong", "-q", "facilities")
    site_desk.run("set", opted, "kb", "false")
    site_desk.new("VPN drops, call me on +49 30 7654321", "-q", "facilities")
    board = (build(site_desk, tmp_path) / "boards" / "facilities.html").read_text()
    assert complaint in board and opted in board and "4 unfinished tickets" in board, "counted all the same"
    assert "Tom Baker" not in board and "Salary slip" not in board and board.count("(kept private)") == 2
    assert "7654321" not in board and "VPN drops" in board


def test_building_again_replaces_the_site_but_never_a_foreign_directory(site_desk: Desk, tmp_path: Path) -> None:
    out = build(site_desk, tmp_path)
    build(site_desk, tmp_path)
    assert (out / "index.html").exists()
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("do not delete")
    assert "is not empty and holds no gitdesk site" in site_desk.fails("site", "build", str(foreign))
    assert (foreign / "thesis.tex").read_text() == "do not delete"


def test_reports_page_draws_charts_as_plain_svg(site_desk: Desk, tmp_path: Path) -> None:
    out = build(site_desk, tmp_path)
    text = (out / "reports.html").read_text()
    assert text.count('<svg class="chart"') == 3
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in text and HOSTILE_ASSET not in text
    assert '<a href="reports.html">Reports</a>' in (out / "index.html").read_text()
    assert '<a href="../reports.html">Reports</a>' in (out / "boards" / "index.html").read_text()


SITE_FILE_URL: list[str] = [""]


@pytest.fixture
def served(site_desk: Desk, tmp_path: Path) -> Iterator[str]:
    out = build(site_desk, tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))

    class Quiet(handler.func):  # type: ignore[name-defined,misc]
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    SITE_FILE_URL[:] = [(out / "index.html").as_uri()]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_real_browser_searches_and_follows_a_result(served: str) -> None:
    problems: list[str] = []
    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(served + "/index.html")
        page.fill("#q", "roller")
        page.wait_for_selector("#results li a")
        assert page.locator("#results li a").first.inner_text() == "Printer on 2F jams"
        page.locator("#results li a").first.click()
        page.wait_for_url(served + "/articles/**")
        assert page.locator("h1").inner_text() == "Printer on 2F jams"
        assert "Replaced the pickup roller" in page.content()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "readable on a phone: no sideways scrolling"
        page.goto(served + "/index.html")
        for typed in ("storung", "re-enrolled"):  # no accent, as kb search; an answer after a long log
            page.fill("#q", typed)
            page.wait_for_selector("#results li a")
            assert "Störung: VPN token rejected" in page.locator("#results").inner_text(), typed
        page.goto(served + "/index.html#q=%E0")  # a malformed link: no error, its text searched
        page.goto(served + "/index.html#q=roller")  # a new search from the link, on the same page
        page.wait_for_selector("#results li a")
        assert "Printer on 2F jams" in page.locator("#results").inner_text()
        page.goto(served + "/index.html")
        assert "solved" in page.locator("h2 + ul").first.inner_text(), "Recently solved shows when"
        hrefs = page.eval_on_selector_all("a", "links => links.map(link => link.getAttribute('href'))")
        boards = ["boards/index.html", "boards/it-helpdesk.html", "boards/facilities.html"]
        for href in [*sorted({h for h in hrefs if h and h.startswith("articles/")}), *boards]:
            page.goto(f"{served}/{href}")  # the hostile article among them: no dialog may open
            # Long tokens and a wide table in a resolution note never push the page sideways.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, href
            # …and a table's words are not cut to fit ("Rig|hts"): the table scrolls in its own box.
            cut = page.evaluate("Array.from(document.querySelectorAll('main table:not(.board) td')).filter(td => {"
                                " const r = document.createRange(); r.selectNodeContents(td);"
                                " return !/\\s/.test(td.textContent.trim()) && r.getClientRects().length > 1;"
                                "}).map(td => td.textContent)")
            assert cut == [], (href, cut)
        page.goto(served + "/boards/facilities.html")
        card = page.locator("table.board td.title").first.bounding_box()
        assert card is not None and card["width"] > 250, "a board row is a card across the phone"
        page.locator("nav a", has_text="Reports").click()
        expect(page.locator("svg.chart")).to_have_count(3)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        label = page.locator("svg.chart text").first.bounding_box()
        assert label is not None and label["height"] >= 10, "chart labels legible on a phone"
        clipped = page.evaluate("Array.from(document.querySelectorAll('svg.chart text'))"
                                ".filter(t => t.getBBox().x < 0).map(t => t.textContent)")
        assert clipped == [], "no label runs off the chart's left edge"
        page.goto(SITE_FILE_URL[0])  # the same site opened from disk
        page.fill("#q", "roller")
        page.wait_for_selector("#results li a")
        page.locator("#results li a").first.click()
        page.wait_for_url("file://**/articles/**")
        assert page.locator("h1").inner_text() == "Printer on 2F jams"
    assert problems == []

