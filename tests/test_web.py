"""gitdesk serve: an agent works a ticket in a real browser, every click one commit as the
CLI makes it; the token, CSRF and Host checks hold; a hostile ticket runs nothing.

One server per module (a real `gitdesk serve` process on port 0) and one headless
Chromium, so the module stays fast.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import TEST_CONFIG, Desk, expect, headless_chromium, isolate, make_desk

pytest.importorskip("flask", reason="gitdesk serve needs the web extra: pip install -e '.[web]'")

HOSTILE_TITLE = '<script>alert("title")</script> Scanner <img src=x onerror=alert(1)>'
HOSTILE_BODY = """Click [here](javascript:alert('link')) or [there](data:text/html,<script>alert(2)</script>).
<script>alert("body")</script>
<img src=x onerror="alert(3)">
<iframe src="https://evil.example"></iframe>
<a href="javascript:alert(4)" onclick="alert(5)">raw link</a>
[ok](https://example.com/help)
"""


@dataclass
class Served:
    desk: Desk
    url: str  # with the token, as printed
    host: str
    port: int
    token: str
    hostile: str
    solved: str

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


def signed_in(desk: Desk, ticket: str) -> tuple[Any, str, str]:
    """A browser signed in to the desk as alice (Flask's test client), on ``ticket``'s page:
    the client, the page and the form token it carries."""
    from gitdesk.web.app import create_app
    from gitdesk.web.security import Guard

    client = create_app(desk.path, "alice", Guard.for_address("secret", "127.0.0.1", 8765)).test_client()
    client.get("/?token=secret", base_url="http://127.0.0.1:8765")
    page = client.get(f"/t/{ticket}", base_url="http://127.0.0.1:8765").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token is not None
    return client, page, token.group(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(tmp_path_factory, monkeypatch)
        desk = make_desk(tmp_path_factory.mktemp("web") / "desk", monkeypatch)
        hostile = desk.new(HOSTILE_TITLE, "-q", "it-helpdesk", "-c", "hardware", "-a", "<b>scanner</b>",
                           "-m", HOSTILE_BODY)
        desk.run("note", hostile, "-m", "<script>alert('note')</script> [x](javascript:alert(6))")
        solved = desk.new("Printer on 2F jams", "-q", "it-helpdesk", "-c", "hardware", "-m", "Paper jams in tray 2")
        desk.run("resolve", solved, "--note", "Replaced the pickup roller of tray 2.")
        errors = desk.path.parent / "serve.err"  # a file, not a pipe nobody reads while it runs
        process = subprocess.Popen([sys.executable, "-m", "gitdesk", "--desk", str(desk.path), "serve", "--as", "alice",
                                    "--format", "json"], stdout=subprocess.PIPE, stderr=errors.open("w"), text=True,
                                   env=dict(os.environ))
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"gitdesk serve did not start: {errors.read_text()}")
            printed = json.loads(line)
            assert printed["schema"] == 1, "a document like every other"
            token = urllib.parse.parse_qs(urllib.parse.urlsplit(printed["url"]).query)["token"][0]
            yield Served(desk, printed["url"], printed["host"], printed["port"], token, hostile, solved)
        finally:
            process.terminate()
            process.wait(timeout=10)


def request(served: Served, method: str, path: str, *, host: str | None = None, cookie: bool = True,
            form: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
    sent = {"Host": host or f"{served.host}:{served.port}", **(headers or {})}
    if cookie:
        sent["Cookie"] = f"gitdesk-{served.port}={served.token}"
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    response.read()
    return response


def csrf(served: Served) -> str:
    connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
    connection.request("GET", "/", headers={"Cookie": f"gitdesk-{served.port}={served.token}"})
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', connection.getresponse().read().decode())
    if found is None:  # the home page has no form; a ticket page has several
        connection.request("GET", "/t/" + served.solved, headers={"Cookie": f"gitdesk-{served.port}={served.token}"})
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', connection.getresponse().read().decode())
    assert found is not None
    return found.group(1)


# --- the security model, over plain HTTP ------------------------------------------------


def test_without_the_token_nothing_is_shown(served: Served) -> None:
    assert request(served, "GET", "/", cookie=False).status == 403
    assert request(served, "GET", "/t/" + served.hostile, cookie=False).status == 403
    assert request(served, "GET", "/?token=wrong", cookie=False).status == 403
    connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
    connection.request("GET", "/board/it-helpdesk?token=wrong", headers={"Cookie": f"gitdesk-{served.port}=guess"})
    assert connection.getresponse().status == 403


def test_the_printed_address_trades_its_token_for_a_cookie_and_drops_it(served: Served) -> None:
    response = request(served, "GET", f"/board/it-helpdesk?token={served.token}&status=open", cookie=False)
    assert response.status == 303
    assert response.getheader("Location") == "/board/it-helpdesk?status=open"
    cookie = response.getheader("Set-Cookie") or ""
    assert cookie.startswith(f"gitdesk-{served.port}={served.token}")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_page_under_another_host_name_is_refused(served: Served) -> None:
    # DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name.
    assert request(served, "GET", "/", host=f"evil.example:{served.port}").status == 403
    assert request(served, "GET", f"/?token={served.token}", host="evil.example", cookie=False).status == 403
    assert request(served, "GET", "/", host=f"localhost:{served.port}").status == 200


def test_on_port_80_the_host_a_browser_sends_without_a_port_is_accepted() -> None:
    from gitdesk.web.security import Guard

    guard = Guard.for_address("t", "127.0.0.1", 80)
    assert guard.host_ok("127.0.0.1") and guard.host_ok("localhost:80") and guard.address == "http://127.0.0.1/"
    assert not guard.host_ok("evil.example") and not Guard.for_address("t", "127.0.0.1", 8765).host_ok("127.0.0.1")


def test_a_form_without_its_csrf_token_or_from_another_origin_writes_nothing(served: Served) -> None:
    before = served.desk.head()
    assert request(served, "POST", f"/t/{served.hostile}/note", form={"text": "forged"}).status == 403
    assert request(served, "POST", f"/t/{served.hostile}/note", form={"text": "forged", "csrf": "0" * 64}).status == 403
    assert request(served, "POST", f"/t/{served.hostile}/note", form={"text": "forged", "csrf": csrf(served)},
                   headers={"Origin": "http://evil.example"}).status == 403
    assert request(served, "GET", f"/t/{served.hostile}/note").status == 303, "a GET never writes: the ticket again"
    assert served.desk.head() == before and "forged" not in served.desk.text(served.hostile)


def test_every_page_forbids_script_and_framing(served: Served) -> None:
    for path in ("/", "/board/it-helpdesk", f"/t/{served.hostile}", "/search?q=scanner", "/list?mine=1"):
        response = request(served, "GET", path)
        assert response.status == 200, path
        policy = response.getheader("Content-Security-Policy") or ""
        assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
        assert response.getheader("X-Frame-Options") == "DENY"
        assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_serve_refuses_to_listen_everywhere_or_as_a_stranger(desk: Desk) -> None:
    for spelling in ("0.0.0.0", "0", "", "0x0", "000.000.000.000", "::"):
        assert f"will not listen on every address ({spelling!r})" in desk.fails("serve", "--host", spelling)
    assert "zoe@example.com is not one of the desk's people" in desk.fails("serve", "--as", "zoe@example.com")


# --- in a real browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as launched:
        yield launched


@pytest.fixture
def phone(browser: Any, served: Served) -> Iterator[tuple[Any, list[str]]]:
    """A phone-sized page signed in with the printed address; what went wrong in it is collected."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(served.url)
    assert page.url == served.base + "/", "the token leaves the address bar"
    yield page, problems
    context.close()


def fits_a_phone(page: Any) -> None:
    # A click returns once the navigation commits; the new document may not be parsed yet.
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"sideways scrolling on {page.url}"


def test_an_agent_takes_asks_replies_and_resolves_in_the_browser(served: Served, phone: tuple[Any, list[str]]) -> None:
    page, problems = phone
    desk = served.desk
    ticket = desk.new("Outlook asks for my password every hour", "-q", "it-helpdesk", "-c", "email",
                      "-r", "carol@example.com", "-m", "Since Monday.")
    start = desk.head()
    page.goto(f"{served.base}/t/{ticket}/similar")
    assert page.locator("h1").inner_text() == f"Solved tickets like {ticket}"
    page.goto(served.base + "/board/it-helpdesk")  # made after the server started: no restart needed
    fits_a_phone(page)
    page.get_by_role("link", name="Outlook asks for my password every hour").click()
    page.wait_for_url(f"{served.base}/t/{ticket}")
    fits_a_phone(page)
    small = page.evaluate("""[...document.querySelectorAll('header nav a, nav.boards a, button, select, summary')]
        .map(e => [e.textContent.trim(), e.getBoundingClientRect().height]).filter(([, h]) => h > 0 && h < 40)""")
    assert small == [], f"too small for a thumb on a phone: {small}"

    page.get_by_role("button", name="Take").click()
    assert page.locator(".done").inner_text().startswith(f"{ticket}: take [")
    page.fill("#ask-text", "Does this happen on the VPN, in the office, or both?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("dl.facts")).to_contain_text("pending")
    desk.run("reply", ticket, "--as", "carol@example.com", "-m", "Both, since the update.")  # from mail, say
    page.reload()
    assert "Both, since the update." in page.locator("article").inner_text(), "a change by the CLI shows at once"
    page.fill("#reply-text", "Please remove the old entries in Credential Manager.")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_role("button", name="Resolve").click()  # without a note: refused as the CLI refuses it
    refused = page.locator(".error").inner_text()
    said = desk.fails("resolve", ticket)  # "… (say what fixed it: gitdesk resolve ID --note TEXT, …)"
    assert refused == said.split(" (", 1)[0] == "gitdesk: error: a resolution note is required", \
        "the CLI's message; its fix is a flag, and here the form is the fix"
    page.fill("#resolve-text", "Stale credentials in Credential Manager; removed them.")
    page.get_by_role("button", name="Resolve").click()
    assert page.locator(".done").inner_text().startswith(f"{ticket}: resolve [")
    expect(page.locator("dl.facts")).to_contain_text("resolved")
    fits_a_phone(page)

    actions = desk.git("log", "--format=%(trailers:key=Gitdesk-Action,valueonly)", f"{start}..HEAD").split()
    assert actions == ["resolve", "reply", "reply", "ask", "take"]
    for commit in desk.git("rev-list", f"{start}..HEAD").split():
        files = desk.committed_files(commit)
        assert f"tickets/{ticket}.md" in files and all(f == f"tickets/{ticket}.md" or f.startswith("outbox/")
                                                       for f in files), files
    assert "Gitdesk-Ticket: " + ticket in desk.last_message()
    assert "Stale credentials in Credential Manager" in desk.text(ticket)
    assert desk.status() == ""
    assert problems == []


def test_a_hand_edit_in_progress_is_refused_as_the_cli_refuses_it(served: Served, phone: tuple[Any, list[str]]) -> None:
    page, problems = phone
    desk = served.desk
    ticket = desk.new("Monitor flickers", "-q", "it-helpdesk")
    page.goto(f"{served.base}/t/{ticket}")
    desk.file(ticket).write_text(desk.text(ticket) + "\nhalf-written thought\n")
    try:
        page.fill("#note-text", "checking the cable")
        page.get_by_role("button", name="Add note").click()
        expected = desk.fails("note", ticket, "-m", "checking the cable")
        assert page.locator(".error").inner_text() == expected
        assert page.locator("#note-text").input_value() == "checking the cable", "the typed text is kept"
    finally:
        desk.git("checkout", "--", f"tickets/{ticket}.md")
    assert problems == []


def test_a_hostile_ticket_runs_no_script_anywhere(served: Served, phone: tuple[Any, list[str]]) -> None:
    page, problems = phone
    for path in (f"/t/{served.hostile}", f"/t/{served.hostile}/similar", "/board/it-helpdesk", "/search?q=scanner",
                 "/search?q=note", "/list?status=open", "/"):
        page.goto(served.base + path)
        fits_a_phone(page)
        assert page.locator("script, iframe, object, embed").count() == 0, path
        handlers = page.evaluate("""() => [...document.querySelectorAll('*')].flatMap(
            element => [...element.attributes].filter(a => a.name.startsWith('on')).map(a => a.name))""")
        assert handlers == [], path
        links = page.eval_on_selector_all("a[href]", "links => links.map(link => link.getAttribute('href'))")
        assert not [link for link in links if re.match(r"\s*(javascript|data|vbscript):", link, re.I)], path
    page.goto(f"{served.base}/t/{served.hostile}")
    assert page.locator("h1").inner_text().endswith(HOSTILE_TITLE), "shown as text, not markup"
    assert page.locator("a", has_text="ok").get_attribute("href") == "https://example.com/help"
    note = page.locator(".entry.internal")
    assert "INTERNAL NOTE" in note.inner_text() and "not visible to the requester" in note.inner_text()
    assert problems == []


def _contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two CSS colours as the browser computes them ("rgb(r, g, b)")."""
    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_large_text_and_dark_mode_stay_readable_on_a_phone(served: Served, browser: Any) -> None:
    """A phone's "large text" enlarged the headings and widths but not the text, and pushed the
    ticket page and the boards sideways; in dark mode the buttons were white on light blue (2.2:1)."""
    desk = served.desk
    ticket = desk.new("Label printer in the warehouse", "-q", "it-helpdesk", "-c", "hardware",
                      "-a", "label-printer-warehouse-dock-3", "-r", "carol@example.com", "-m", "It prints blank.")
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    fonts = context.new_cdp_session(page)
    page.goto(served.url)
    for size in (24, 32):  # 150 % and 200 %
        fonts.send("Page.setFontSizes", {"fontSizes": {"standard": size, "fixed": size - 3}})
        for address in (f"/t/{ticket}", f"/t/{ticket}/similar", "/board/it-helpdesk", "/"):
            page.goto(served.base + address)
            fits_a_phone(page)
            assert page.evaluate("getComputedStyle(document.body).fontSize") == f"{size}px", address
    page.goto(f"{served.base}/t/{ticket}")
    take = page.get_by_role("button", name="Take")
    colour, background = take.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert _contrast(colour, background) >= 4.5, (colour, background)
    headings = page.evaluate("[...document.querySelectorAll('h1, h2, h3')].map(h => h.tagName)")
    assert "H3" not in headings or headings.index("H2") < headings.index("H3"), f"no level skipped: {headings}"
    context.close()


def test_reports_and_the_knowledge_base_are_a_click_away(served: Served, phone: tuple[Any, list[str]]) -> None:
    page, problems = phone
    page.get_by_role("link", name="Reports").click()
    expect(page.locator("svg.chart")).to_have_count(3)  # the static site's charts, drawn as plain SVG
    assert page.locator("ul.definitions li").count() > 3, "what each figure means"
    fits_a_phone(page)
    page.get_by_role("link", name="Knowledge base").click()
    page.fill("#q", "roller")
    page.press("#q", "Enter")
    page.get_by_role("link", name="Printer on 2F jams").click()
    expect(page.locator("article")).to_contain_text("Replaced the pickup roller of tray 2.")
    fits_a_phone(page)
    page.get_by_role("link", name="Printer on 2F jams").click()  # the source ticket
    page.wait_for_url(f"{served.base}/t/{served.solved}")
    assert request(served, "GET", "/kb/../../.gitdesk/config.yml").status == 404
    assert problems == []


def test_a_reply_can_start_from_a_canned_reply_whose_fields_apply_too(served: Served,
                                                                      phone: tuple[Any, list[str]]) -> None:
    page, problems = phone
    desk = served.desk
    ticket = desk.new("Laptop will not boot", "-q", "it-helpdesk", "-r", "carol@example.com")
    page.goto(f"{served.base}/t/{ticket}")
    page.select_option("select[name=use]", "more-details")
    page.get_by_role("button", name="Start from it").click()
    expect(page.locator("#reply-text")).to_have_value(re.compile("^Hi Carol Requester,"))  # as reply --use --edit
    page.fill("#reply-text", page.locator("#reply-text").input_value() + "\nAlice")
    page.get_by_role("button", name="Send reply").click()
    assert page.locator(".done").inner_text().startswith(f"{ticket}: reply [")
    assert "needs-details" in desk.text(ticket) and "since when it happens?\nAlice" in desk.text(ticket)
    assert "status: pending" in desk.text(ticket), "the starter reply asks: the ticket waits on the requester"
    assert problems == []


def test_an_open_ticket_shows_what_solved_the_same_problem_before_and_its_article(
        served: Served, phone: tuple[Any, list[str]]) -> None:
    page, problems = phone
    desk = served.desk
    desk.run("kb", "build")
    again = desk.new("Printer on 2F jams again", "-q", "it-helpdesk", "-c", "hardware", "-m", "Tray 2 jams")
    page.goto(f"{served.base}/t/{again}")
    beside = page.locator("aside.beside")
    assert "Printer on 2F jams" in beside.inner_text() and "Replaced the pickup roller" in beside.inner_text()
    beside.get_by_role("link", name="Knowledge-base article").click()
    expect(page.locator("article")).to_contain_text("Replaced the pickup roller of tray 2.")
    fits_a_phone(page)
    assert problems == []


def test_a_board_follows_a_change_of_targets_at_once(desk: Desk) -> None:
    from gitdesk.desk import Desk as Library
    from gitdesk.web import pages

    targets = "priorities:\n  normal: {first_response: 1d, resolution: %s, default: true}\n"
    desk.configure(TEST_CONFIG + targets % "5d", "Targets")
    ticket = desk.new("VPN drops", "-q", "it-helpdesk")
    desk.run("reply", ticket, "-m", "Looking into it.")

    def due() -> object:
        library = Library.open(desk.path, explicit=True)  # the server reads the config on each request
        from gitdesk import clock

        _, derived = pages._urgent_first(library, [library.load(ticket).ticket], clock.now())
        return derived[ticket].next_due.due if derived[ticket].next_due else None  # type: ignore[union-attr]

    before = due()
    desk.configure(TEST_CONFIG + targets % "1h", "A tighter target")
    assert due() != before, "the server's remembered timings were worked out under the old targets"


def test_text_that_reorders_itself_reads_as_stored_and_a_remote_image_is_a_link(desk: Desk) -> None:
    from gitdesk.web.app import create_app
    from gitdesk.web.security import Guard

    ticket = desk.new("Payroll export", "-q", "it-helpdesk",
                      "-m", "Open invoice\u202egpj.exe please. ![pixel](https://evil.example/t.png)")
    desk.file(ticket).write_text(desk.text(ticket).replace("title: Payroll export",  # by hand: gitdesk cleans it
                                                           'title: "Payroll export \\u202efdp.exe\\u202c ready"'))
    desk.git("commit", "-qam", "A title from another clone")
    guard = Guard.for_address("secret", "127.0.0.1", 8765)
    client = create_app(desk.path, "alice", guard).test_client()
    page = client.get(f"/t/{ticket}?token=secret", base_url="http://127.0.0.1:8765", follow_redirects=True)
    shown = page.get_data(as_text=True)
    assert page.status_code == 200 and "\u202e" not in shown
    assert "Payroll export &lt;U+202E&gt;fdp.exe&lt;U+202C&gt; ready" in shown and "invoice&lt;U+202E&gt;gpj.exe" in shown
    assert '<a href="https://evil.example/t.png">pixel</a>' in shown and "<img" not in shown, "no tracking pixel"
    from gitdesk import markup

    assert "<img" not in markup.to_html(markup.renderer(), "![p](//evil.example/px.gif)"), "no scheme, still remote"
    assert markup.escape("\u05e9\u05dc\u05d5\u05dd\u200f (2)") == "\u05e9\u05dc\u05d5\u05dd\u200f (2)", \
        "a direction mark in Hebrew text moves nothing else: kept"


def test_an_address_written_short_is_served_under_the_name_a_browser_gives_it(desk: Desk) -> None:
    from gitdesk.web.server import bind

    running = bind(desk.path, "alice", host="127.1", port=0)
    try:
        assert running.guard.address.startswith("http://127.0.0.1:"), "Chromium opens 127.1 as 127.0.0.1"
        assert running.guard.host_ok(f"127.0.0.1:{running.guard.port}")
    finally:
        running.server.server_close()


def test_the_escalate_form_names_the_queues_target_or_asks_where(desk: Desk) -> None:
    from gitdesk.web.app import create_app
    from gitdesk.web.security import Guard

    helpdesk = desk.new("Printer jams", "-q", "it-helpdesk")  # escalates to it-infra
    office = desk.new("Heating is off", "-q", "facilities")  # no target
    client = create_app(desk.path, "alice", Guard.for_address("secret", "127.0.0.1", 8765)).test_client()

    def form(ticket: str) -> str:
        page = client.get(f"/t/{ticket}?token=secret", base_url="http://127.0.0.1:8765", follow_redirects=True)
        return page.get_data(as_text=True).split('id="escalate"', 1)[1].split("</select>", 1)[0]

    assert "it-infra (the queue's escalation target)" in form(helpdesk)
    assert "choose where (this queue has no escalation target)" in form(office) and "disabled" in form(office)


def test_spam_is_rejected_without_a_word_to_the_sender_and_the_forms_say_what_is_mailed(desk: Desk) -> None:
    """The CLI's reject --no-send, on the web: a reply to spam tells the sender the address is read."""
    from gitdesk.web.app import create_app
    from gitdesk.web.security import Guard

    desk.configure(desk.config + "mail:\n  address: help@example.com\n", "the desk answers mail")
    spam = desk.new("Cheap pills", "-q", "it-helpdesk", "-r", "spammer@customer.example")
    scope = desk.new("Fix my home router", "-q", "it-helpdesk", "-r", "carol@customer.example")
    client = create_app(desk.path, "alice", Guard.for_address("secret", "127.0.0.1", 8765)).test_client()
    client.get("/?token=secret", base_url="http://127.0.0.1:8765")
    page = client.get(f"/t/{spam}", base_url="http://127.0.0.1:8765").get_data(as_text=True)
    assert "Why (mailed to the requester by the desk's policy)" in page
    assert "Reject as spam, mailing nobody" in page and "and shown in the knowledge base" in page
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token is not None

    def reject(ticket: str, **extra: str) -> None:
        answer = client.post(f"/t/{ticket}/reject", base_url="http://127.0.0.1:8765",
                             data={"csrf": token.group(1), "text": "Spam, ignore this sender", **extra},
                             headers={"Origin": "http://127.0.0.1:8765"})
        assert answer.status_code == 303, answer.get_data(as_text=True)

    reject(spam, mail="no")
    reject(scope)
    queued = desk.git("ls-files", "outbox").split()
    assert not [path for path in queued if spam in path], "nothing to the spammer"
    assert [path for path in queued if scope in path], "out of scope: the requester is told, by the policy"
    missing = client.get("/t/GD-NOPE", base_url="http://127.0.0.1:8765").get_data(as_text=True)
    assert "no ticket" in missing and "gitdesk list" not in missing, "no command line on a web page"


def test_a_ticket_is_closed_as_a_duplicate_from_its_page_as_the_cli_does_it(desk: Desk) -> None:
    """An agent's daily "this is the same as that one" had to go to the command line."""
    from gitdesk.web.app import create_app
    from gitdesk.web.security import Guard

    desk.configure(desk.config + "mail:\n  address: help@example.com\n", "the desk answers mail")
    original = desk.new("VPN drops every hour", "-q", "it-helpdesk", "-r", "carol@customer.example")
    desk.run("--as", "alice", "resolve", original, "--note", "New VPN profile pushed.")
    again = desk.new("VPN keeps disconnecting", "-q", "it-helpdesk", "-r", "dave@customer.example")
    client = create_app(desk.path, "alice", Guard.for_address("secret", "127.0.0.1", 8765)).test_client()
    client.get("/?token=secret", base_url="http://127.0.0.1:8765")
    page = client.get(f"/t/{again}", base_url="http://127.0.0.1:8765").get_data(as_text=True)
    assert "Close as duplicate" in page
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token is not None

    def duplicate(of: str) -> Any:
        return client.post(f"/t/{again}/duplicate", base_url="http://127.0.0.1:8765",
                           data={"csrf": token.group(1), "of": of, "text": "We know this one."},
                           headers={"Origin": "http://127.0.0.1:8765"})

    wrong = duplicate("GD-NOPE")
    assert wrong.status_code == 200 and "no ticket" in wrong.get_data(as_text=True)
    assert 'value="GD-NOPE"' in wrong.get_data(as_text=True), "the form keeps what was typed"
    assert duplicate(original).status_code == 303
    shown = json.loads(desk.run("show", again, "--format", "json").stdout)["ticket"]
    assert (shown["status"], shown["duplicate_of"]) == ("resolved", original)
    assert [path for path in desk.git("ls-files", "outbox").split() if again in path], "the requester is told"


def test_the_ticket_page_lists_the_fields_show_lists(desk: Desk) -> None:
    """The name mail knows the requester by goes with their address, as in show; the
    bookkeeping fields (requester_name, message_ids) are not listed as fields of their own."""
    from gitdesk.web.app import create_app
    from gitdesk.web.security import Guard

    ticket = desk.new("Scanner on 3F is offline", "-q", "it-helpdesk", "-r", "bob.meyer@customer.example")
    desk.run("set", ticket, "requester_name", "Bob Meyer")
    client = create_app(desk.path, "alice", Guard.for_address("secret", "127.0.0.1", 8765)).test_client()
    client.get("/?token=secret", base_url="http://127.0.0.1:8765")
    page = client.get(f"/t/{ticket}", base_url="http://127.0.0.1:8765").get_data(as_text=True)
    assert "Bob Meyer &lt;bob.meyer@customer.example&gt;" in page and "requester_name" not in page
    assert "Bob Meyer <bob.meyer@customer.example>" in desk.run("show", ticket).stdout


def test_the_done_banner_says_what_the_commit_did_and_a_forged_link_shows_none(desk: Desk) -> None:
    ticket = desk.new("Scanner on 3F is offline", "-q", "it-helpdesk", "-r", "carol@example.com")
    other = desk.new("Heating is off", "-q", "facilities")
    client, _, token = signed_in(desk, ticket)
    sent = client.post(f"/t/{ticket}/reply", base_url="http://127.0.0.1:8765",
                       data={"csrf": token, "text": "Restarting it now."},
                       headers={"Origin": "http://127.0.0.1:8765"})
    assert sent.status_code == 303
    banner = client.get(sent.headers["Location"], base_url="http://127.0.0.1:8765").get_data(as_text=True)
    banner = banner.split('class="done"', 1)[1].split("</div>", 1)[0]
    assert f"{ticket}: reply [" in banner and "<li>reply by alice</li>" in banner, "what the CLI prints after it"
    commit = desk.head()[:7]

    def shown(path: str) -> str:
        return client.get(path, base_url="http://127.0.0.1:8765").get_data(as_text=True)

    assert 'class="done"' not in shown(f"/t/{other}?done=reply&commit={commit}"), "not this ticket's commit"
    assert 'class="done"' not in shown(f"/t/{ticket}?done=resolve&commit={commit}"), "not what it did"
    assert 'class="done"' not in shown(f"/t/{ticket}?done=reply&commit=0000000"), "no such commit"


def test_an_error_page_drops_a_flag_the_form_replaces_but_keeps_a_fix_made_elsewhere() -> None:
    from gitdesk.errors import GitdeskError
    from gitdesk.web.app import _on_a_form

    assert _on_a_form(GitdeskError("no text", hint="give the reply with -m TEXT")) == "no text"
    assert _on_a_form(GitdeskError("cannot reach them", hint="add an email under people:; or --no-send")) == \
        "cannot reach them (add an email under people:)", "the fix a person at a form can make stays"
    merge = "finish the merge first with git commit (or git merge --continue), or stop it with git merge --abort"
    assert _on_a_form(GitdeskError("a merge is in progress", hint=merge)) == f"a merge is in progress ({merge})"
    assert _on_a_form(GitdeskError("locked", hint="wait for the other gitdesk command to finish")).endswith("finish)")


def test_search_says_when_more_match_than_it_shows(desk: Desk) -> None:
    from gitdesk.web.app import create_app
    from gitdesk.web.pages import PAGE
    from gitdesk.web.security import Guard

    for n in range(PAGE + 1):
        name = f"GD-01M850FXY9SQB1A{n:03d}"
        desk.file(name).write_text(f"---\nid: {name}\ntitle: Widget broken {n}\nstatus: open\nqueue: it-helpdesk\n"
                                   "requester: bob@example.com\ncreated: 2026-11-20T09:14:00Z\n---\nThe widget is broken.\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "many widgets")
    client = create_app(desk.path, "alice", Guard.for_address("secret", "127.0.0.1", 8765)).test_client()

    def heading(query: str) -> str:
        page = client.get(f"/search?q={query}&token=secret", base_url="http://127.0.0.1:8765", follow_redirects=True)
        return page.get_data(as_text=True).split("<h2>", 1)[1].split("</h2>", 1)[0]

    assert heading("widget") == f"The best {PAGE} matches; more match: add words or a filter"
    assert heading("widget+broken+7") == "1 match"


def test_text_typed_for_a_ticket_that_can_no_longer_be_shown_is_given_back(desk: Desk) -> None:
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    client, _, token = signed_in(desk, ticket)
    # Meanwhile a pull leaves the ticket's file in conflict: the form cannot be shown again.
    desk.file(ticket).write_text(desk.text(ticket).replace("status: open", "<<<<<<< ours\nstatus: open\n=======\n"
                                                                           "status: pending\n>>>>>>> theirs"))
    answer = client.post(f"/t/{ticket}/note", base_url="http://127.0.0.1:8765",
                         data={"csrf": token, "text": "Called the vendor: a new roller on Monday."},
                         headers={"Origin": "http://127.0.0.1:8765"})
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "unresolved merge conflict markers" in shown
    assert "Called the vendor: a new roller on Monday." in shown, "what was typed is not lost"


def test_a_form_sent_twice_posts_once(desk: Desk) -> None:
    ticket = desk.new("Scanner on 3F is offline", "-q", "it-helpdesk", "-r", "carol@example.com")
    client, _, token = signed_in(desk, ticket)

    def reply() -> Any:
        return client.post(f"/t/{ticket}/reply", base_url="http://127.0.0.1:8765",
                           data={"csrf": token, "text": "Restarting it now."}, headers={"Origin": "http://127.0.0.1:8765"})

    assert reply().status_code == 303
    head = desk.head()
    again = reply()  # a reload, or back and submit: the browser sends the same form
    assert again.status_code == 200 and "the form was sent twice" in again.get_data(as_text=True)
    assert desk.head() == head and desk.text(ticket).count("Restarting it now.") == 1
    # A note posted after it, then back twice and submit: still the same form sent again.
    client.post(f"/t/{ticket}/note", base_url="http://127.0.0.1:8765",
                data={"csrf": token, "text": "PO 4711"}, headers={"Origin": "http://127.0.0.1:8765"})
    head = desk.head()
    again = reply()
    assert again.status_code == 200 and "the form was sent twice" in again.get_data(as_text=True)
    assert desk.head() == head and desk.text(ticket).count("Restarting it now.") == 1


def test_a_page_loaded_before_someone_finished_the_ticket_sends_nothing_and_keeps_the_text(desk: Desk) -> None:
    ticket = desk.new("Cheap watches!!!", "-q", "it-helpdesk", "-r", "spammer@example.net")
    client, _, token = signed_in(desk, ticket)
    desk.run("--as", "bob", "reject", ticket, "-m", "spam", "--no-send")  # meanwhile, at the command line
    head = desk.head()
    answer = client.post(f"/t/{ticket}/reply", base_url="http://127.0.0.1:8765",
                         data={"csrf": token, "text": "Dear customer, about your watches"},
                         headers={"Origin": "http://127.0.0.1:8765"})
    shown = answer.get_data(as_text=True)
    assert "is rejected now" in shown and "the reply was not sent" in shown
    assert "Dear customer, about your watches" in shown, "what was typed is there to copy"
    assert desk.head() == head and not list(desk.path.joinpath("outbox").glob("*.eml"))
    # Its resolution typed on a ticket resolved meanwhile is kept the same way.
    other = desk.new("VPN drops", "-q", "it-helpdesk")
    client, _, token = signed_in(desk, other)
    desk.run("--as", "bob", "resolve", other, "--note", "Bob fixed it")
    shown = client.post(f"/t/{other}/resolve", base_url="http://127.0.0.1:8765",
                        data={"csrf": token, "text": "New VPN profile pushed"},
                        headers={"Origin": "http://127.0.0.1:8765"}).get_data(as_text=True)
    assert "is resolved now (finished since this page was loaded): nothing was changed" in shown
    assert "New VPN profile pushed" in shown
    assert 'id="note"' in shown, "a finished ticket still takes an internal note, as gitdesk note does"
    shown = client.post(f"/t/{other}/ask", base_url="http://127.0.0.1:8765",
                        data={"csrf": token, "text": "Which VPN client?"},
                        headers={"Origin": "http://127.0.0.1:8765"}).get_data(as_text=True)
    assert "is resolved now (finished since this page was loaded): the question was not sent" in shown, \
        "said as a stale page, not as the workflow's 'cannot move from resolved to pending'"


def test_every_form_from_a_page_of_another_status_says_the_page_is_stale(desk: Desk) -> None:
    """Fields (set status), Close and Reopen from an out-of-date page met the workflow's
    "cannot move from open to closed"; a reopen's reason was not kept on the page."""
    ticket = desk.new("Dock 3 scanner", "-q", "it-helpdesk")
    desk.run("resolve", ticket, "--note", "New cable.")
    client, page, token = signed_in(desk, ticket)
    assert 'name="seen" value="resolved"' in page
    desk.run("reopen", ticket, "-m", "It fails again")  # meanwhile, at the command line
    head = desk.head()

    def post(verb: str, **data: str) -> str:
        return client.post(f"/t/{ticket}/{verb}", base_url="http://127.0.0.1:8765",
                           data={"csrf": token, "seen": "resolved", **data},
                           headers={"Origin": "http://127.0.0.1:8765"}).get_data(as_text=True)

    for verb, data in (("close", {}), ("set", {"field": "status", "value": "closed"}),
                       ("set", {"field": "Status", "value": "closed"}),  # as a phone's keyboard writes it
                       ("reopen", {"text": "Customer called back"})):
        shown = post(verb, **data)
        assert "is open now (it was resolved when this page was loaded): nothing was changed" in shown, verb
    assert "Customer called back" in shown, "the reason typed is there to copy"
    post("note", text="Vendor ticket 4711")
    assert "Vendor ticket 4711" in desk.text(ticket), \
        "a note is right whatever happened meanwhile"
    post("set", field="priority", value="high")
    assert "priority: high" in desk.text(ticket), "so is a field other than the status"
    assert desk.git("rev-list", "--count", f"{head}..HEAD").strip() == "2"
    desk.run("resolve", ticket, "--note", "New cable again.")
    desk.run("close", ticket)
    post("reopen", text="Still broken")  # resolved when loaded, closed since: still a reopen
    assert "status: open" in desk.text(ticket)


def test_an_action_address_reloaded_later_is_the_ticket_again(desk: Desk) -> None:
    ticket = desk.new("Scanner on 3F is offline", "-q", "it-helpdesk")
    client, _, _ = signed_in(desk, ticket)
    answer = client.get(f"/t/{ticket}/reply", base_url="http://127.0.0.1:8765")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/t/{ticket}")


def test_attachments_open_from_the_ticket_page_and_nothing_else_does(desk: Desk) -> None:
    log = desk.path.parent / "error.log"
    log.write_text("<script>alert(1)</script>\n")
    shot = desk.path.parent / "screen.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    ticket = desk.new("Printer error", "-q", "it-helpdesk", "-m", "See the files", "--attach", str(log),
                      "--attach", str(shot))
    client, page, _ = signed_in(desk, ticket)
    links = re.findall(r'(?:href|src)="([^"]*attachments[^"]*)"', page)
    assert links, page
    for link in links:
        target = urllib.parse.urljoin(f"/t/{ticket}", link)
        answer = client.get(target, base_url="http://127.0.0.1:8765")
        assert answer.status_code == 200, target
        if target.endswith(".png"):
            assert answer.mimetype == "image/png" and answer.headers["Content-Disposition"].startswith("inline")
        else:  # never a page of this desk: a stranger's HTML or script is a download
            assert answer.mimetype == "application/octet-stream"
            assert answer.headers["Content-Disposition"].startswith("attachment")
            assert answer.data == b"<script>alert(1)</script>\n"
    (desk.path / "attachments" / ticket / "linked.txt").symlink_to("/etc/passwd")
    for bad in ("linked.txt", "..%2F..%2F.gitdesk%2Fconfig.yml", "missing.png", ".."):
        assert client.get(f"/attachments/{ticket}/{bad}", base_url="http://127.0.0.1:8765").status_code == 404, bad
    assert client.get("/attachments/GD-NOSUCHTICKET/error.log", base_url="http://127.0.0.1:8765").status_code == 404


def test_a_writer_killed_while_the_desk_is_served_is_undone_before_the_next_page(desk: Desk) -> None:
    """gitdesk serve runs for weeks: a command killed meanwhile left files no commit holds, and
    the next page must not show them (the CLI's next command would undo them too)."""
    from test_commits import _kill_at

    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    client, page, _ = signed_in(desk, ticket)
    _kill_at(desk, ticket, "move_head", after=False)
    assert "half done" in desk.text(ticket)
    page = client.get(f"/t/{ticket}", base_url="http://127.0.0.1:8765").get_data(as_text=True)
    assert "half done" not in page and "half done" not in desk.text(ticket)
