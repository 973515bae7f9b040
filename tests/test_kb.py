"""The knowledge base: articles people can browse on a Git host, private things kept out."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, Desk, make_desk
from markdown_it import MarkdownIt

from gitdesk.knowledge.kb import anchor


@pytest.fixture
def desk_with_answers(desk: Desk) -> dict[str, str]:
    made = {}
    made["outlook"] = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "-c", "email",
                               "-a", "laptop-0042", "-r", "carol",
                               "-m", "Since Monday. Mail me at carol.private@example.com\n# My big heading")
    desk.run("note", made["outlook"], "-m", "SECRET-NOTE: the admin password is hunter2")
    desk.run("resolve", made["outlook"], "--note",
             "Removed stale credentials in Credential Manager.\nAsk bob@example.com if it comes back.\n"
             "See [the wiki](../../../.git/config) and [docs](https://example.com/docs).")
    made["dup"] = desk.new("Password prompt in Outlook", "-q", "it-helpdesk", "-c", "email")
    desk.run("link", made["dup"], "--duplicate-of", made["outlook"])
    desk.run("resolve", made["dup"], "--note", "Same as the other one.")
    made["printer"] = desk.new("Printer jams", "-q", "it-helpdesk", "-c", "hardware", "-a", "laptop-0042")
    desk.run("link", made["printer"], "--related", made["outlook"])
    desk.run("resolve", made["printer"], "--note", "Replaced the roller.")
    desk.run("close", made["printer"])
    made["optout"] = desk.new("Salary question", "-q", "it-helpdesk", "-c", "hardware")
    desk.run("set", made["optout"], "kb", "false")
    desk.run("resolve", made["optout"], "--note", "Confidential answer")
    made["renamed"] = desk.new("asdf help!!", "-q", "facilities", "-c", "facilities")
    desk.run("set", made["renamed"], "kb_title", "Heating in meeting room B does not come on")
    desk.run("resolve", made["renamed"], "--note", "Reset the thermostat.", "--as", "fred")
    made["open"] = desk.new("Still open", "-q", "it-helpdesk")
    return made


def kb_files(desk: Desk) -> dict[str, str]:
    return {p.relative_to(desk.path).as_posix(): p.read_text() for p in sorted((desk.path / "kb").rglob("*.md"))}


def test_articles_hold_symptoms_resolution_and_sources(desk: Desk, desk_with_answers: dict[str, str]) -> None:
    out = desk.run("kb", "build").stdout
    assert "Knowledge base: 3 articles" in out
    assert desk.last_message().startswith("kb: rebuild the knowledge base (3 articles)")
    files = kb_files(desk)
    (outlook_path,) = [p for p in files if desk_with_answers["outlook"].lower() in p]
    assert outlook_path.startswith("kb/email/outlook-asks-for-my-password-")
    article = files[outlook_path]
    assert "# Outlook asks for my password" in article
    assert "## Symptoms\n\nSince Monday." in article and "### My big heading" in article
    assert "Removed stale credentials in Credential Manager." in article
    assert f"[{desk_with_answers['dup']}](../../tickets/{desk_with_answers['dup']}.md)" in article, "duplicate folded"
    assert "**Reported:** 2 times" in article
    assert "Printer jams" in article, "related article linked"
    assert not [p for p in files if desk_with_answers["dup"].lower() in p], "no article of its own"
    assert ", last reported 20" in files["kb/README.md"], "beside 'solved', a bare 'last' read as another solving"
    renamed = [text for p, text in files.items() if "heating-in-meeting-room-b" in p]
    assert renamed and "# Heating in meeting room B does not come on" in renamed[0]


def test_an_address_spelt_around_emphasis_tags_or_percent_signs_stays_out(desk: Desk, tmp_path: Path) -> None:
    made = desk.new("Printer jam", "-q", "it-helpdesk", "-c", "hardware",
                    "-m", "Contact me: bob@**example.com** or <span>dave</span>@example.com. Log: " + "A" * 20000 + "@x")
    desk.run("resolve", made, "--note", "Wrote to [the vendor](mailto:support%40vendor.example).")
    desk.run("kb", "build")
    desk.run("site", "build", str(tmp_path / "site"))
    pages = [*kb_files(desk).values(), *(page.read_text() for page in (tmp_path / "site").rglob("*.html"))]
    for page in pages:
        assert "example.com" not in page and "vendor.example" not in page, page[:200]


def test_private_things_stay_out(desk: Desk, desk_with_answers: dict[str, str]) -> None:
    desk.configure(TEST_CONFIG + "private_fields: [asset]\n", "asset is private")
    desk.run("kb", "build")
    everything = "\n".join(kb_files(desk).values())
    assert "SECRET-NOTE" not in everything and "hunter2" not in everything, "internal notes"
    assert "carol.private@example.com" not in everything and "bob@example.com" not in everything
    assert "carol@example.com" not in everything, "requesters"
    assert "laptop-0042" not in everything, "a private field"
    assert "Confidential answer" not in everything and "Salary" not in everything, "kb: false"
    assert "Still open" not in everything
    assert "asdf help" not in everything, "a kb_title is the published title: the real one is not listed"
    assert ".git/config" not in everything, "relative links from ticket text are dropped"
    assert "[docs](https://example.com/docs)" in everything
    desk.run("site", "build", str(desk.path.parent / "site"))
    assert "laptop-0042" not in (desk.path.parent / "site" / "reports.html").read_text(), "no chart of assets"
    site = "\n".join(page.read_text() for page in (desk.path.parent / "site").rglob("*.html"))
    assert "asdf help" not in site and "Heating in meeting room B does not come on" in site


@pytest.mark.parametrize("own_readme", [False, True])
def test_every_relative_link_and_anchor_resolves(desk: Desk, desk_with_answers: dict[str, str],
                                                 own_readme: bool) -> None:
    if own_readme:  # a team's own README: the index goes beside it, and the links follow
        (desk.path / "kb").mkdir(exist_ok=True)
        (desk.path / "kb" / "README.md").write_text("# Our knowledge base\n\nAsk Dana first.\n")
        desk.git("add", "-A")
        desk.git("commit", "-qm", "kb: our README")
    built = desk.run("kb", "build")
    if own_readme:
        assert "Start at kb/INDEX.md" in built.stdout
        assert (desk.path / "kb" / "README.md").read_text().startswith("# Our knowledge base")
    md = MarkdownIt("commonmark").enable("table")
    anchors: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    for path, text in kb_files(desk).items():
        tokens = md.parse(text)
        anchors[path] = {anchor(tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"}

        def walk(tokens, source):  # type: ignore[no-untyped-def]
            for token in tokens:
                if token.type == "link_open":
                    links.append((source, str(token.attrs["href"])))
                if token.children:
                    walk(token.children, source)

        walk(tokens, path)
    assert len(links) > 10
    for source, href in links:
        if re.match(r"^[a-z]+:", href):
            continue
        target, _, fragment = href.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), target)) if target else source
        assert (desk.path / resolved).is_file(), (source, href)
        if fragment:
            assert fragment in anchors[resolved], (source, href, anchors[resolved])


def test_output_is_deterministic(desk: Desk, desk_with_answers: dict[str, str]) -> None:
    never = desk.run("kb", "build", "--check", ok=False)
    assert never.exit_code == 1 and never.stderr.startswith("gitdesk: error: the knowledge base has not been built "
                                                            "yet (") and never.stderr.count("\n") == 1, never.stderr
    desk.run("kb", "build")
    first = kb_files(desk)
    head = desk.head()
    assert "up to date" in desk.run("kb", "build").stdout
    assert desk.head() == head
    desk.run("kb", "build", "--check")
    for path in (desk.path / "kb").rglob("*.md"):
        path.unlink()
    desk.run("kb", "build", "--no-commit")
    assert kb_files(desk) == first
    assert desk.status() == ""


def test_a_look_before_committing_does_not_keep_an_article_out_of_the_next_commit(
        desk: Desk, desk_with_answers: dict[str, str]) -> None:
    """kb build --no-commit writes the files for a look; the next build still commits them
    (the README the Git host shows must not link to an article only this clone has)."""
    desk.run("kb", "build", "--no-commit")
    result = desk.run("kb", "build", "--check", ok=False)
    assert result.exit_code == 1 and "what is committed counts" in result.stderr, "judged by what is committed"
    assert "up to date" not in desk.run("kb", "build").stdout
    assert desk.status() == "" and desk.run("kb", "build", "--check").exit_code == 0
    committed = set(desk.git("ls-files", "kb").split())
    assert committed == {path.relative_to(desk.path).as_posix() for path in (desk.path / "kb").rglob("*.md")}
    article = next((desk.path / "kb").rglob("*-gd-*.md"))
    article.unlink()  # deleted by hand, or edited: what is committed is still right
    head = desk.head()
    assert desk.run("kb", "build", "--check").exit_code == 0
    desk.run("kb", "build")
    assert desk.head() == head and desk.status() == "", "no empty commit; the file is back"
    later = desk.new("Scanner offline", "-q", "it-helpdesk", "-c", "hardware")
    desk.run("resolve", later, "--note", "Power-cycled it.")
    desk.run("kb", "build", "--no-commit")  # a look at its article…
    desk.run("reopen", later, "-m", "Offline again")  # …that a reopening takes back
    head = desk.head()
    assert desk.run("kb", "build", "--check").exit_code == 0, "what is committed is right"
    desk.run("kb", "build")
    assert desk.head() == head and desk.status() == "", "no empty commit, no stale README left"


def test_check_says_when_kb_is_out_of_date_and_removed_articles_go(desk: Desk,
                                                                   desk_with_answers: dict[str, str]) -> None:
    desk.run("kb", "build")
    desk.run("reopen", desk_with_answers["renamed"], "-m", "cold again", "--as", "fred")
    result = desk.run("kb", "build", "--check", ok=False)
    assert result.exit_code == 1 and "out of date" in result.stderr
    out = desk.run("kb", "build").stdout
    assert "1 removed" in out
    assert not [p for p in kb_files(desk) if "heating" in p]


def test_a_persons_own_files_in_kb_are_left_alone(desk: Desk, desk_with_answers: dict[str, str]) -> None:
    (desk.path / "kb").mkdir(exist_ok=True)
    (desk.path / "kb" / "how-we-work.md").write_text("# How we work\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "our own page")
    desk.run("kb", "build")
    assert (desk.path / "kb" / "how-we-work.md").read_text() == "# How we work\n"


def test_kb_search_finds_articles_not_internal_notes(desk: Desk, desk_with_answers: dict[str, str]) -> None:
    found = json.loads(desk.run("kb", "search", "credential", "--format", "json").stdout)["articles"]
    assert [hit["title"] for hit in found] == ["Outlook asks for my password"]
    assert found[0]["path"].startswith("kb/email/")
    assert json.loads(desk.run("kb", "search", "hunter2", "--format", "json").stdout)["articles"] == []
    assert json.loads(desk.run("kb", "search", "confidential", "--format", "json").stdout)["articles"] == []
    assert desk.run("kb", "search", "hunter2").stderr == (
        "0 articles\nSolved tickets like it, in other words: gitdesk similar --text hunter2\n"), \
        "nothing found is said, as search says it, with where the same problem in other words is found"


def test_kb_search_finds_what_gitdesk_search_finds_with_or_without_accents(desk: Desk) -> None:
    made = desk.new("Café machine shows error E42", "-q", "it-helpdesk", "-c", "facilities")
    desk.run("resolve", made, "--note", "Descaled the café machine.")
    for words in ("cafe", "café", "CAFE"):
        assert [hit["tickets"] for hit in json.loads(desk.run("kb", "search", words, "--format", "json").stdout)
                ["articles"]] == [[made]], words
        assert made in desk.run("search", words).stdout, words


def test_two_branches_that_resolve_tickets_merge_without_kb_conflicts(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    desk = make_desk(tmp_path / "desk", monkeypatch)
    desk.run("hooks", "install")
    one = desk.new("Monitor flickers", "-q", "it-helpdesk", "-c", "hardware")
    two = desk.new("Mailbox full", "-q", "it-helpdesk", "-c", "email")
    desk.run("kb", "build", ok=False)
    base = desk.head()
    desk.git("checkout", "-q", "-b", "side")
    desk.run("resolve", two, "--note", "Archived old mail.")
    desk.run("kb", "build")
    desk.git("checkout", "-q", "main")
    desk.run("resolve", one, "--note", "New cable.")
    desk.run("kb", "build")
    result = subprocess.run(["git", "merge", "--no-edit", "side"], cwd=desk.path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rebuilt the knowledge base after the merge" in result.stderr
    readme = (desk.path / "kb" / "README.md").read_text()
    assert "Monitor flickers" in readme and "Mailbox full" in readme
    desk.run("kb", "build", "--check")
    assert desk.status() == ""
    assert desk.run("check", "--range", f"{base}..HEAD").stdout == ""


# --- readable anywhere, private beyond addresses, every duplicate counted ----------------


def _article_paths(desk: Desk) -> list[str]:
    return [p for p in kb_files(desk) if p != "kb/README.md"]


def test_slugs_keep_non_ascii_titles_readable(desk: Desk) -> None:
    for title in ("Störung im Drucker", "关税系统无法登录"):
        made = desk.new(title, "-q", "it-helpdesk", "-c", "hardware")
        desk.run("resolve", made, "--note", "Fixed.")
    desk.run("kb", "build")
    names = [p.rsplit("/", 1)[-1] for p in _article_paths(desk)]
    assert any(name.startswith("storung-im-drucker-") for name in names), names
    assert not any(name.startswith("article-") for name in names), "a Chinese title keeps its words"
    assert not any("st-rung" in name for name in names)


def test_phone_numbers_and_opted_out_categories_stay_out(desk: Desk) -> None:
    desk.configure(TEST_CONFIG.replace("  facilities: The office\n",
                                       "  facilities: The office\n  hr: {name: HR questions, kb: false}\n"),
                   "HR answers stay out of the knowledge base")
    made = desk.new("VPN drops, call +49 30 7654321", "-q", "it-helpdesk", "-c", "network", "-a", "+49 30 5554444",
                    "-m", "Call me on +49 30 1234567 or (030) 123-4567 after 2026-11-30, Windows 10.0.19045.")
    desk.run("resolve", made, "--note", "Updated the client to 5.2.1; reach Dana on 0171/1234567.")
    hr = desk.new("Parental leave form", "-q", "it-helpdesk", "-c", "hr")
    desk.run("resolve", hr, "--note", "Sent the form privately.")
    desk.run("kb", "build")
    everything = "\n".join(kb_files(desk).values())
    for number in ("1234567", "123-4567", "0171", "7654321", "5554444"):  # the asset is a desk phone's number
        assert number not in everything, "the title in the source list too"
    assert "7654321" not in desk.run("kb", "search", "drops").output, "search shows what the articles show"
    desk.run("site", "build", str(desk.path.parent / "site"))
    assert not [page for page in (desk.path.parent / "site").rglob("*.html")
                if "7654321" in page.read_text() or "5554444" in page.read_text()]
    assert "[phone removed]" in everything
    assert "2026-11-30" in everything and "10.0.19045" in everything and "5.2.1" in everything, "not phones"
    assert made in everything
    assert "Parental leave" not in everything and "form privately" not in everything, "category opted out"


@pytest.mark.parametrize("hidden", [
    "bob<!-- x -->@example.com", "carol@exam**ple**.com", "dave@exa<b></b>mple.com", "erin\u200b@example.com",
    "+4915112345678", "tel:+49301234567", "+33 1 23 45 67 89", "+1 (555) 867-5309", "01.23.45.67.89",
    "555.123.4567", "0171.123.4567", "+49\u00a030\u00a01234567", "2025-03-12 030 1234567", "T.+49 30 1234567",
    "Tel. 030 - 123 45 67", "Tel: 912 345 678", "call me on 22 123 45 67",
    "电话：138 1234 5678", "手机 138-1234-5678", "+49 (0) 30 / 123 456-0", "1-800-555-0199",
    # labels of a word or three, as people write them
    "Telephone: 912 345 678", "Phone number: 912 345 678", "my phone number is 912 345 679", "Telefon: 512 345 678",
    "Mobile number: 7700 900123", "numer telefonu: 512 345 678", "Téléphone : 612 345 678", "Rufnummer 512 345 678",
    "请致电：138 1234 5678", "手机号：138 1234 5678", "電話番号: 090 1234 5678",
    "我的手机号是 138 1234 5678", "电话号码是 138 1234 5678", "请致电给我 138 1234 5678", "Móvil: 612 345 678",
    "Mi móvil es 612 345 678", "Celular: 11 2345 6789", "WhatsApp: 612 345 678", "Telefoonnummer: 612 345 678",
    "Телефон: 8 916 123-45-67", "Tel: 8-916-123-45-67", "Моб.: 8 916 123 45 67",  # a trunk digit is the number's
    "мой телефон 8(916)1234567", "(030)1234567",
    # written straight after the word, as Chinese and Japanese do; a bare run only after a label
    "我的手机号是13812345678", "手机：13912345678", "我的电话是010-62345678", "電話番号は03-1234-5678",
    "Il mio cellulare è 333 1234567", "Komórka: 512 345 678", "Contact no: 98765 43210",
    # character references render as the characters they name
    "victim@ex&#97;mple.com", "&#118;&#105;&#99;@example.com", "victim@&#x65;xample.com", "+1&#x20;555&#x20;123&#x20;4567",
    "Tel&nbsp;030&nbsp;1234567"])
def test_an_address_or_number_spelt_to_render_as_one_is_removed(hidden: str) -> None:
    from gitdesk.privacy import without_private

    shown = without_private(f"Reach me at {hidden} today.")
    kept = shown.replace("2025-03-12", "")  # a log's date before the number is not the number
    assert "removed]" in shown and not any(char.isdigit() for char in kept) and "example" not in kept
    assert "victim" not in kept and "&#" not in kept


def test_a_run_of_html_comments_next_to_an_at_sign_is_read_once_not_in_every_way() -> None:
    import subprocess
    import sys

    # Each comment could be read in two ways: 2^30 readings took minutes for 241 characters. A
    # guard of a correctness kind (it ends), not a timing: linear, it takes milliseconds.
    hostile = "Slow. " + "<!--x-->" * 30 + "@ and x@" + "<!--a-->" * 30
    code = f"from gitdesk.privacy import without_private; without_private({hostile!r})"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_addresses_of_machines_and_versions_are_kept_they_are_the_problem() -> None:
    from gitdesk.privacy import without_private

    kept = ("Pinged 192.168.10.254 after build 19045.3803 on 2026-11-20 at 10:30; serial 015112345678; "
            "opened ports 8080 8443 9000 3389; ERROR 404 500 503; SN 1234 5678 9012; express code 163 594 958 23; "
            "log 2026-12-01 10:00:00 and 01.12.2026 10:00; order 2026-00123\n10\n20\n30\n40; "
            "office hours 08.00-17.00; the cell count 1234 5678 9012; 电话会议号 123 456 789; "
            "手机订单 1234 5678 9012; 携帯アプリ ビルド 2026 1103 45; Handymodell 1234 5678 90; "
            "Mobility plan ID 1234 5678 90; Rufus ISO 1234 5678 90; smartphone app v 2026 1103 45; "
            "版本2026 1103 45; 工单号2024 1234 567; order 123456789012; IMEI 356938035643809; "
            "Steps: 3 1234 5678 90; Revenue (2025) 1234567 EUR; PID (4711) 123456789")
    assert without_private(kept) == kept
    assert without_private("Notes: 4 0171 1234567") == "Notes: 4 [phone removed]", "a digit before a number"
    html = ("a &lt;b&gt; &#60;script&#62; &#39;x&#39; &#x22;y&#x22; &amp;\nPut `&nbsp;` between; a slash is `&#47;`."
            "\n<td>Alice&nbsp;Martin&#32;(IT)</td>")
    assert without_private(html) == html, "references are read as written only where they hide an address or number"


def test_words_written_by_hand_between_the_conversations_entries_stay_out_of_the_article(desk: Desk) -> None:
    made = desk.new("VPN drops at home", "-q", "it-helpdesk", "-c", "network", "-m", "It drops every hour.")
    desk.run("reply", made, "-m", "Which client version?")
    path = desk.file(made)
    text = desk.text(made)
    assert "## Conversation\n" in text
    path.write_text(text.replace("## Conversation\n", "## Conversation\n\nStaff only: account 998877 is flagged.\n", 1))
    desk.git("commit", "-qam", "A word for colleagues")
    desk.run("resolve", made, "--note", "Updated the client.")
    desk.run("kb", "build")
    assert "998877" not in "\n".join(kb_files(desk).values()), "the conversation stays out, without exception"
    assert made in desk.run("search", "998877").stdout, "still found by search, as the conversation is"


def test_a_typo_in_a_ticket_behind_no_article_holds_up_no_other_article(desk: Desk) -> None:
    solve(desk, "VPN drops at home", "Updated the client.")
    desk.run("kb", "build")
    other = desk.new("Fan loud", "-q", "it-helpdesk", "-m", ("ログの行です。" * 20 + "\n") * 200)  # open, 84 KB
    desk.file(other).write_text(desk.text(other).replace("priority: normal", "priority: [oops"))
    desk.git("commit", "-qam", "A typo in an open ticket")
    solved = solve(desk, "Mouse stutters", "New receiver.")
    built = desk.run("kb", "build")
    assert "that ticket has no article, so the build went on without it" in built.stderr and other in built.stderr
    assert any(solved.lower() in path for path in kb_files(desk)), "the other articles did not wait for it"
    again = desk.new("Mouse stutters again", "-q", "it-helpdesk")
    desk.run("duplicate", again, "--of", solved, "--no-send")
    desk.run("kb", "build")
    before = kb_files(desk)
    desk.file(again).write_text(desk.text(again).replace("priority: normal", "priority: [oops"))
    desk.git("commit", "-qam", "A typo in a duplicate")
    assert "cannot be read, so its article would be removed" in desk.fails("kb", "build")
    assert kb_files(desk) == before, "the article that counts it stands"


def test_kb_build_publishes_only_what_is_committed_and_loses_no_article_to_a_typo(desk: Desk) -> None:
    made = desk.new("VPN drops at home", "-q", "it-helpdesk", "-c", "network")
    desk.run("resolve", made, "--note", "Updated the client.")
    desk.run("kb", "build")
    before, head = kb_files(desk), desk.head()
    path = desk.file(made)
    committed = desk.text(made)
    path.write_text(committed.replace("Updated the client.", "DRAFT: we think it is the router?"))
    refused = desk.fails("kb", "build")
    assert "has uncommitted changes" in refused and desk.head() == head, "a draft is not published"
    path.write_text(committed.replace("priority: normal", "priority: [oops"))
    desk.git("commit", "-qam", "A typo, committed by hand")
    head = desk.head()
    refused = desk.fails("kb", "build")
    assert "cannot be read, so its article would be removed" in refused and "fix the file" in refused
    assert desk.head() == head and kb_files(desk) == before, "the article stands"
    path.write_text(committed)
    desk.git("commit", "-qam", "Typo fixed")
    desk.run("kb", "build")
    assert kb_files(desk) == before
    desk.git("mv", f"tickets/{made}.md", f"tickets/{made}.md.bak")  # staged, not committed: no article lost
    assert "has uncommitted changes" in desk.fails("kb", "build") and kb_files(desk) == before


def test_raw_html_in_a_ticket_cannot_hide_fold_or_fetch_in_an_article_on_a_git_host(desk: Desk) -> None:
    from markdown_it import MarkdownIt

    made = desk.new("Laptop will not wake", "-q", "it-helpdesk", "-c", "hardware",
                    "-m", "It stays black. <details><summary>log</summary>\n\nBig Heading\n===========\n\n"
                          "<img src=\"https://track.example/p.gif\"> see [this][1]\n\n[1]: ../../tickets/GD-X.md")
    desk.run("resolve", made, "--note", "Updated the BIOS with `<b>` kept in code. <!-- unclosed\n\n"
                                        "```\n<config>as written</config>\n```\n\n"
                                        "[x](javascript:alert(1)) [docs](https://example.com/a(b))")
    desk.run("kb", "build")
    (article,) = [text for path, text in kb_files(desk).items() if made.lower() in path]
    body = article.split("\n", 1)[1].rsplit("<!-- gitdesk kb build: ", 1)[0]  # the generator's marker, its fingerprint
    rendered = MarkdownIt("commonmark").render(body)
    for hidden in ("<details", "<img", "<!--", "<h1>Big", "javascript:", "GD-X.md", "x)"):
        assert hidden not in rendered, hidden
    assert "Source tickets" in rendered and "&lt;details&gt;" in rendered, "shown as text, and nothing after hidden"
    assert "<code>&lt;b&gt;</code>" in rendered and "&lt;config&gt;as written" in rendered, "code as written"
    assert '<a href="https://example.com/a(b)">docs</a>' in rendered


def test_an_article_fetches_no_image_and_links_nowhere_but_the_web_on_any_git_host(desk: Desk) -> None:
    from markdown_it import MarkdownIt

    made = desk.new("Screen flickers", "-q", "it-helpdesk", "-c", "hardware",
                    "-m", "![pix](https://evil.example/p.png) see [c] and ![e], <javascript:alert(3)>, [m]\n\n"
                          "[c]: JavaScript:alert(1)\n[e]: https://evil.example/track.png\n[m]: mailto:x")
    desk.run("resolve", made, "--note", "New cable; see <https://vendor.example/cables>. It works![1] "
                                        "Ctrl+Alt+Del![see note], <HTTPS://intranet.example/reset>.")
    desk.run("kb", "build")
    (article,) = [text for path, text in kb_files(desk).items() if made.lower() in path]
    host = MarkdownIt("commonmark")
    host.validateLink = lambda url: True  # a host that trusts every link: what stops them is the article
    rendered = host.render(article.split("\n", 1)[1])
    for hidden in ("<img", 'href="javascript', 'href="JavaScript', 'href="mailto'):
        assert hidden not in rendered.replace("&lt;", ""), hidden
    assert '<a href="https://evil.example/p.png">pix</a>' in rendered, "an image is a link to it"
    assert '<a href="https://vendor.example/cables">' in rendered, "a link to the web stays one"
    assert "It works![1] Ctrl+Alt+Del![see note]" in article, "an exclamation mark that makes no image stays"
    assert '<a href="HTTPS://intranet.example/reset">' in rendered


@pytest.mark.parametrize("text", [
    "[nested parens](javascript:alert((document.cookie)))", "[escaped \\] bracket](javascript:alert(2))",
    "[nested [brackets] text](../../.git/config)", "[multi\nline](../../tickets/secret.md)",
    "see [the fix][x].\n\n[x]:\n  javascript:alert(document.domain)", "[a [b] c](data:text/html,hi)",
    "[titled](../../.git/config \"a title\")", "<javascript:alert(7)>",
])
def test_no_link_but_to_the_web_survives_in_an_article_however_its_brackets_nest(text: str) -> None:
    from markdown_it import MarkdownIt

    from gitdesk.knowledge.kb import redact

    host = MarkdownIt("commonmark")
    host.validateLink = lambda url: True  # a renderer that trusts every link (a static-site generator)
    rendered = host.render(redact(f"Fixed: {text}\n\nSee [docs](https://example.com/d)."))
    assert rendered.count("<a href=") == 1 and '<a href="https://example.com/d">docs</a>' in rendered


@pytest.mark.parametrize("text", [
    "Screenshot: ![the add-ins [COM] dialog](https://t.example/p.png?who=carol)", "![a [b]][r]\n\n[r]: https://t.example/x",
    "![a\nb](https://t.example/y)", "![x]\n\n> [x]: https://t.example/q", "![a\\]b]\n\n[a\\]b]: https://t.example/z",
    "![x\ny]\n\n[x y]: https://t.example/w", "see [l](https://ok.example) and ![i](https://t.example/i)",
    "!![x](https://t.example/b)", "a\\\\![x](https://t.example/c)", "`a\n![x](https://t.example/d)` b",
    # an HTML block or a heading shown as text makes the indented line below it part of a paragraph
    "A warning.\n\n<!-- pasted -->\n    <img src=\"https://t.example/p.png\">", "<pre>x</pre>\n    <img src=https://t.example/a>",
    "<script>x</script>\n    ![a](https://t.example/b)", "<?x?>\n    <img src=https://t.example/d>",
    "Title\n===\n    ![a](https://t.example/f.png)", "x\n-----\n    at Foo <img src=https://t.example/g>\n=====",
])
def test_no_image_of_a_ticket_renders_as_one_on_a_git_host(text: str) -> None:
    from markdown_it import MarkdownIt

    from gitdesk.knowledge.kb import redact

    host = MarkdownIt("commonmark")
    host.validateLink = lambda url: True  # type: ignore[method-assign]
    assert "<img" not in host.render(redact(text)), redact(text)


def test_an_image_made_of_the_symptoms_and_the_resolution_together_is_a_link(desk: Desk) -> None:
    from markdown_it import MarkdownIt

    made = desk.new("VPN dialog error", "-q", "it-helpdesk", "-c", "network",
                    "-m", "The VPN client shows ![the error][1] on connect.")
    desk.run("resolve", made, "--note", "Reinstalled the client, see [1].\n\n[1]: https://vendor.example/e.png")
    desk.run("kb", "build")
    (article,) = [text for path, text in kb_files(desk).items() if made.lower() in path]
    host = MarkdownIt("commonmark")
    host.validateLink = lambda url: True  # type: ignore[method-assign]
    assert "<img" not in host.render(article) and "[the error][1]" in article
    # and code keeps its "![": an article about the markup shows it as written
    other = desk.new("Logo broken", "-q", "it-helpdesk", "-c", "network", "-m", "The logo is broken ![logo][1]")
    desk.run("resolve", other, "--note", "The markup:\n\n    ![logo](https://intranet.example/logo.png)\n\n"
                                         "and `![x][1]` inline.\n\n[1]: https://evil.example/x.png")
    desk.run("kb", "build")
    (article,) = [text for path, text in kb_files(desk).items() if other.lower() in path]
    assert "<img" not in host.render(article) and "    ![logo](https://intranet.example/logo.png)" in article
    assert "`![x][1]`" in article and "broken [logo][1]" in article


def test_an_autolink_stays_one_only_to_the_web() -> None:
    from gitdesk.knowledge.kb import redact

    assert redact("<HTTPS://a.example/x> <ftp://f.example/y> <ms-msdt:/id> <search-ms:q> <JavaScript:alert(1)>") == \
        "<HTTPS://a.example/x> <ftp://f.example/y> &lt;ms-msdt:/id> &lt;search-ms:q> &lt;JavaScript:alert(1)>"


@pytest.mark.parametrize("text", [
    "- step\n    - nested <img src=https://t.example/p.png>",  # in a list: no code block
    "Open the settings\n    <img src=https://t.example/p.png>",  # a paragraph's next line: no code block
    "1. Open\n\n    <img src=https://t.example/p.png>",
    "```a`\n<img src=https://t.example/p.png>",  # a backtick in the info string: no fence
    "Run \\`<img src=https://t.example/p.png>\\` now",  # escaped backticks: no code span
    "a `b\nc` <img src=x onerror=alert(1)> `d`",  # a code span over a line break
    "[a](`) <img src=x onerror=alert(1)> `",  # a backtick inside a link that goes
    "x\r\r\r\n```\n1\n2\n3\n```\n<img src=x onerror=alert(1)>\n",  # lone CRs are line breaks to Markdown
    "![p](//evil.example/px.gif) and \u202e reversed",
])
def test_raw_html_is_text_wherever_markdown_reads_it_as_html(text: str) -> None:
    from markdown_it import MarkdownIt

    from gitdesk.knowledge.kb import redact

    shown = MarkdownIt("commonmark").render(redact(text))
    assert "<img" not in shown and "\u202e" not in shown


def test_log_lines_that_look_like_link_definitions_are_kept() -> None:
    from gitdesk.knowledge.kb import redact

    log = "[WARN]: quota at 90%\n[2026-12-01 02:00:13]: job started\n[Step 2]: verify the share\n\n[^1]: a note"
    assert redact(log) == log, "Markdown reads them as text: so does the article"
    assert redact("see [it][1]\n\n[1]: ../../tickets/GD-X.md") == "see [it][1]\n", "a definition leading nowhere"


def test_symptoms_leave_out_the_mails_greeting_and_signature(desk: Desk) -> None:
    made = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "-c", "email",
                    "-m", "Hi Anna,\n\nOutlook asks for my password every hour since Monday.\n\n"
                          "Thanks,\nKim Schmidt\nAccounts payable, ext. 2291")
    desk.run("resolve", made, "--note", "Removed stale credentials.")
    desk.run("kb", "build")
    (article,) = [text for path, text in kb_files(desk).items() if made.lower() in path]
    symptoms = article.split("## Symptoms", 1)[1].split("## Resolution", 1)[0].strip()
    assert symptoms == "Outlook asks for my password every hour since Monday.", "people's names are not the problem"


@pytest.mark.parametrize(("description", "symptoms"), [
    ("お疲れ様です。\n\nホテルからVPNに接続すると5分で切れます。\n\nよろしくお願いします。\n佐藤\n",
     "ホテルからVPNに接続すると5分で切れます。"),
    ("您好，\n\n打印机无法连接到网络。\n\n谢谢\n李伟\n", "打印机无法连接到网络。"),
    ("Dzień dobry,\n\nskaner nie zapisuje do folderu.\n\nZ poważaniem\nEwa Nowak\n", "skaner nie zapisuje do folderu."),
    ("Sehr geehrte Damen und Herren,\n\nder Drucker druckt nicht.\n\nMit besten Grüßen\nJan Maier\n",
     "der Drucker druckt nicht."),
    ("Buongiorno,\n\nla stampante non stampa.\n\nCordiali saluti\nLuca\n", "la stampante non stampa."),
    ("Hej,\n\nskrivaren skriver inte.\n\nMed vänliga hälsningar\nAnna\n", "skrivaren skriver inte."),
    ("Здравствуйте,\n\nпринтер не печатает.\n\nС уважением,\nИван\n", "принтер не печатает."),
    ("¡Hola Juan!\n\nel portátil no arranca.", "el portátil no arranca."),
    ("王老师，您好！\n\n打印机无法连接到网络。", "打印机无法连接到网络。"),
    ("Добрый день, Иван!\n\nпринтер не печатает.", "принтер не печатает."),
    ("Hi team and Anna,\n\nthe scanner is offline.", "the scanner is offline."),
    ("张先生，您好！\n\n打印机无法连接到网络。", "打印机无法连接到网络。"),
])
def test_symptoms_leave_out_greetings_and_sign_offs_in_other_languages(description: str, symptoms: str) -> None:
    from gitdesk.knowledge.kb import without_salutations

    assert without_salutations(description) == symptoms


@pytest.mark.parametrize(("description", "symptoms"), [
    ("The printer jams on every page.\nLena", "The printer jams on every page."),
    ("Hi,\n\nThe VPN drops every hour.\n\n- Lena Vogt\n", "The VPN drops every hour."),
    ("After the update the app shows this when I save:\n\nAccess Denied",
     "After the update the app shows this when I save:\n\nAccess Denied"),
    ("It crashes in one program.\nExcel", "It crashes in one program.\nExcel"),
])
def test_the_requester_s_name_alone_on_the_last_line_is_not_a_symptom(description: str, symptoms: str) -> None:
    from gitdesk.knowledge.kb import without_salutations

    assert without_salutations(description, ("lena vogt", "lena", "vogt")) == symptoms, \
        "only their name goes: 'Access Denied' alone on a line is the symptom itself"


@pytest.mark.parametrize("description", [
    "Hi, the printer jams on tray 2\nSince Monday, every print.",
    "hi-res display flickers at 144Hz\nDriver 31.0.15",
    "Hello world app crashes\nat start",
    "The backup log:\nok\nThanks\nFATAL: disk full\nexit code 28",
    "Error after the update:\nWindows Update",
    "The screen stays black after login\nDell",
    "Hey the printer jams again!\nSince Monday.",
    "Hi my Outlook keeps crashing!\nEvery hour.",
    "Hola el portátil no arranca!\nDesde ayer.",
    "您好 VPN连接后马上断开，错误代码 809。\n从昨天开始。",
    "你好 打印机卡纸了！\n从昨天开始。",
    "Hey VPN down again,\nsince the update this morning.",
    "Hi, VPN down!\nSince Monday.",
    "Hey, URGENT!\nThe server room is flooding.", "Hi, Outlook Error!\n0x800CCC0E since Monday.",
    "Hallo, Server Ausfall!\nSeit 8 Uhr.", "打印机坏了，您好！\n从昨天开始。",
    # German nouns have capitals: after "Hallo," a capital is no name ("Hello, Dan!" is missed)
    "Hallo, Notfall!\nDer Drucker brennt.", "Hi Problem:\nThe VPN drops.",
])
def test_symptoms_keep_what_only_looks_like_a_greeting_or_a_signature(description: str) -> None:
    from gitdesk.knowledge.kb import without_salutations

    assert without_salutations(description) == description


def test_a_duplicate_counts_however_it_was_finished(desk: Desk) -> None:
    first = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "-c", "email")
    desk.run("resolve", first, "--note", "Removed stale credentials.")
    rejected = desk.new("Outlook password again", "-q", "it-helpdesk", "-c", "email")
    desk.run("link", rejected, "--duplicate-of", first)
    desk.run("reject", rejected, "-m", "Same as the other one")
    desk.run("kb", "build")
    (article,) = [text for p, text in kb_files(desk).items() if first.lower() in p]
    assert "**Reported:** 2 times" in article and rejected in article

    again = desk.new("Outlook prompts once more", "-q", "it-helpdesk", "-c", "email")
    desk.run("duplicate", again, "--of", first, "-m", "Hi Bob, this is the same as the earlier ticket; see there.")
    desk.run("reopen", first, "-m", "The fix did not hold")
    desk.run("kb", "build")
    assert not [text for text in kb_files(desk).values() if "Hi Bob" in text], \
        "a duplicate's note to its requester never becomes an article, even while its original is reopened"


def test_recently_solved_is_ordered_and_dated_by_resolution(desk: Desk) -> None:
    desk.at("2026-10-01T09:00:00Z")
    old = desk.new("Old problem solved late", "-q", "it-helpdesk", "-c", "hardware")
    desk.at("2026-10-05T09:00:00Z")
    new = desk.new("New problem solved at once", "-q", "it-helpdesk", "-c", "hardware")
    desk.run("resolve", new, "--note", "Quick fix.")
    desk.at("2026-11-20T09:00:00Z")
    desk.run("resolve", old, "--note", "Slow fix.")
    desk.run("kb", "build")
    readme = kb_files(desk)["kb/README.md"]
    recent = readme.split("## Recently solved", 1)[1]
    assert recent.index("Old problem solved late") < recent.index("New problem solved at once")
    assert "hardware, solved 2026-11-20" in recent and "hardware, solved 2026-10-05" in recent
    (article,) = [text for p, text in kb_files(desk).items() if old.lower() in p]
    assert "**Solved:** 2026-11-20" in article



def test_one_more_article_on_a_busy_asset_rewrites_a_few_siblings_not_all(desk: Desk) -> None:
    """Related articles on the same asset are those seen nearest in time: the newest does not
    enter every sibling's list (a resolve rewrote hundreds of files on a busy asset)."""
    for hour in range(10, 22):
        desk.at(f"2026-12-01T{hour}:00:00Z")
        made = desk.new(f"VPN issue {hour}", "-q", "it-helpdesk", "-c", "network", "-a", "vpn")
        desk.run("resolve", made, "--note", f"Fix {hour}.")
    desk.run("kb", "build")
    desk.at("2026-12-02T09:00:00Z")
    made = desk.new("VPN issue 22", "-q", "it-helpdesk", "-c", "network", "-a", "vpn")
    desk.run("resolve", made, "--note", "Fix 22.")
    desk.run("kb", "build")
    changed = desk.git("show", "--name-only", "--format=", "HEAD").split()
    assert len(changed) <= 2 + 5, changed  # the new article, the README and at most its five neighbours
    article = kb_files(desk)[next(path for path in changed if made.lower() in path)]
    assert article.count("](vpn-issue-") == 5, "it links to the five seen nearest before it"


def test_a_build_from_kept_work_writes_what_a_build_from_nothing_writes(desk: Desk,
                                                                         desk_with_answers: dict[str, str]) -> None:
    """A build keeps its cleaned texts and articles in the cache: whatever an article shows
    changes (a title, a duplicate, an asset, a related ticket, a note), it is written again,
    and the files are those a build with no cache writes."""
    desk.run("kb", "build")
    outlook, printer = desk_with_answers["outlook"], desk_with_answers["printer"]
    desk.run("set", outlook, "kb_title", "Outlook keeps asking for the password")
    desk.run("set", printer, "asset", "printer-7")
    desk.run("reopen", printer)
    desk.run("resolve", printer, "--note", "Replaced the roller and the pad.")
    again = desk.new("Outlook prompts again", "-q", "it-helpdesk", "-c", "email")
    desk.run("link", again, "--duplicate-of", outlook)
    desk.run("resolve", again, "--note", "Same again.")
    desk.run("kb", "build")
    built = kb_files(desk)
    article = next(text for path, text in built.items() if outlook.lower() in path)
    assert "# Outlook keeps asking for the password" in article and "**Reported:** 3 times" in article
    assert "Replaced the roller and the pad." in next(text for path, text in built.items() if printer.lower() in path)
    for leftover in (desk.path / ".git" / "gitdesk").glob("cache.sqlite*"):
        leftover.unlink()
    assert "up to date" in desk.run("kb", "build").stdout
    assert kb_files(desk) == built


def test_kept_results_serve_while_asked_for_and_gitdesk_s_code_is_the_same() -> None:
    import sqlite3

    from gitdesk.cache import db, memo

    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.executescript(db.SCHEMA)
    made: list[str] = []

    def shout(text: str) -> str:
        made.append(text)
        return text.upper()

    assert memo.every(connection, "shout", shout, ["a", "b", "a"]) == ["A", "B", "A"] and made == ["a", "b"]
    made.clear()
    assert memo.every(connection, "shout", shout, ["b", "c"]) == ["B", "C"] and made == ["c"]
    assert connection.execute("SELECT count(*) FROM memo").fetchone()[0] == 2, "what was not asked for is dropped"
    made.clear()
    db.set_meta(connection, "memo_code", "an older gitdesk")
    assert memo.every(connection, "shout", shout, ["b"]) == ["B"] and made == ["b"], "other code: made again"
    assert memo.key_of(["ab", "c"]) != memo.key_of(["a", "bc"])


@pytest.mark.parametrize(("target", "start"), [
    ("kb/README.md", "kb/email"), ("tickets/GD-1.md", "kb/email"), ("kb/email/x.md", "kb/email"),
    ("kb/hw/y.md", "kb/email"), ("kb/README.md", "kb"), ("tickets/a.md", "kb"), ("kb/kb/x.md", "kb/kbx"),
])
def test_article_links_are_what_posixpath_would_make(target: str, start: str) -> None:
    from gitdesk.knowledge.kb import _link

    assert _link(target, start) == posixpath.relpath(target, start)


def test_a_person_s_own_readme_in_kb_is_never_overwritten(desk: Desk, desk_with_answers: dict[str, str]) -> None:
    """kb/ may hold people's own pages; the build writes only files it generated."""
    own = desk.path / "kb" / "README.md"
    own.parent.mkdir(parents=True)
    own.write_text("# Our knowledge base\n\nStart with the VPN pages.\n")
    desk.git("add", "kb/README.md")
    desk.git("commit", "-qm", "our own front page")
    result = desk.run("kb", "build")
    assert own.read_text() == "# Our knowledge base\n\nStart with the VPN pages.\n"
    assert "kept kb/README.md as it is: a person's file" in result.stderr
    assert "the index is kb/INDEX.md" in result.stderr and "kb/INDEX.md" in kb_files(desk)
    assert [path for path in kb_files(desk) if "outlook" in path], "the articles are written"
    assert desk.status() == "" and desk.run("kb", "build", "--check").exit_code == 0


def solve(desk: Desk, title: str, note: str) -> str:
    ticket = desk.new(title, "-q", "it-helpdesk", "-c", "hardware")
    desk.run("resolve", ticket, "--note", note)
    return ticket


def solved_and_looked_at(desk: Desk, title: str, note: str) -> str:
    """Solved, then a --no-commit look at the knowledge base committed by hand."""
    ticket = solve(desk, title, note)
    desk.run("kb", "build", "--no-commit")
    desk.git("add", "kb")
    desk.git("commit", "-qm", "kb by hand")
    return ticket


def test_an_article_edited_by_hand_is_named_when_a_build_writes_it_again(desk: Desk) -> None:
    """Articles are made from the tickets; one improved by hand is rewritten by the next build,
    but never without a word: --check and the build name the file, the commit and the way back."""
    ticket = desk.new("Token lost", "-q", "it-helpdesk", "-c", "email")
    desk.run("resolve", ticket, "--note", "Re-enrolled MFA.")
    desk.run("kb", "build")
    (article,) = [path for path in (desk.path / "kb").rglob("*.md") if ticket.lower() in path.name]
    article.write_text(article.read_text() + "\n## Tip\n\nKeep a spare token.\n")
    desk.git("commit", "-qam", "kb: add a tip")  # a kb-like subject, but no build's trailer
    edit = desk.head()[:7]
    relative = article.relative_to(desk.path).as_posix()
    checked = desk.run("kb", "build", "--check", ok=False)
    assert f"{relative}: out of date; edited by hand in {edit}" in checked.stdout + checked.stderr
    other = desk.new("Printer jams", "-q", "it-helpdesk", "-c", "hardware")
    desk.run("resolve", other, "--note", "Replaced the roller.")
    built = desk.run("kb", "build")
    assert f"{relative} had been edited by hand ({edit} by Alice Agent" in built.stderr
    assert f"git show {edit}:{relative}" in built.stderr and "spare token" not in article.read_text()
    assert "edited by hand" not in desk.run("kb", "build").stderr, "said once: the build's own version now"
    # A look written by --no-commit and committed by hand is the build's own words, not an edit.
    solved_and_looked_at(desk, "Scanner offline", "Restarted the scanner.")
    solve(desk, "Mouse broken", "New mouse.")
    assert "edited by hand" not in desk.run("kb", "build").stderr
    # ... on every clone: the file itself says it is as a build wrote it.
    solved_and_looked_at(desk, "Keyboard sticky", "Cleaned it.")
    subprocess.run(["git", "clone", "-q", str(desk.path), str(desk.path.parent / "other")], check=True)
    other = desk.path.parent / "other"
    sixth = solve(desk, "Monitor dark", "New cable.")
    desk.git("push", "-q", str(other), "HEAD:refs/heads/incoming")
    subprocess.run(["git", "merge", "-q", "--ff-only", "incoming"], cwd=other, check=True)
    built = subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(other), "kb", "build"],
                           capture_output=True, text=True)
    assert built.returncode == 0 and "edited by hand" not in built.stderr, built.stderr
    # Written before fingerprints (an older gitdesk) and committed by hand: the first build after
    # the upgrade adds the fingerprint without calling the words an edit.
    desk.run("kb", "build")
    for article in (desk.path / "kb").rglob("*.md"):
        article.write_text(article.read_text().rsplit("<!-- gitdesk kb build: ", 1)[0])
    desk.git("commit", "-qam", "the knowledge base, as an older gitdesk wrote it")
    assert "edited by hand" not in desk.run("kb", "build").stderr
    # A --no-commit look built from a resolution edited but never committed: those words are in
    # no commit, so they carry no fingerprint, and a later build names them as an edit.
    path = desk.file(sixth)
    path.write_text(desk.text(sixth).replace("New cable.", "New cable. Also check the dock."))
    desk.run("kb", "build", "--no-commit")
    desk.git("add", "kb")
    desk.git("commit", "-qm", "kb: clearer monitor article")
    desk.git("checkout", "tickets")
    assert "edited by hand" in desk.run("kb", "build").stderr


def test_a_title_s_strike_entity_and_math_marks_show_as_written_on_a_git_host(desk: Desk) -> None:
    ticket = desk.new("~~old~~ printer shows &lt;b&gt; and $x$", "-q", "it-helpdesk", "-c", "hardware")
    desk.run("resolve", ticket, "--note", "Fixed.")
    desk.run("kb", "build")
    (article,) = [path for path in (desk.path / "kb").rglob("*.md") if ticket.lower() in path.name]
    heading = next(line for line in article.read_text().splitlines() if line.startswith("# "))
    shown = MarkdownIt("commonmark").enable("strikethrough").render(heading)
    assert "<s>" not in shown and "&amp;lt;b&amp;gt;" in shown and "\\$" not in shown


def test_kb_search_finds_only_what_an_article_shows(desk: Desk) -> None:
    """A hit must be findable in the article it points to: not in a duplicate's own words, nor
    in a greeting and signature the article leaves out."""
    root = desk.new("Teams has no sound", "-q", "it-helpdesk", "-c", "email",
                    "-m", "Hi Anna,\nTeams calls are silent.\nThanks,\nKim Schmidt\nAccounts")
    desk.run("resolve", root, "--note", "Set the headset as output.")
    again = desk.new("Teams silent again", "-q", "it-helpdesk", "-c", "email",
                     "-m", "No sound. Our salary review call is tomorrow.")
    desk.run("duplicate", again, "--of", root, "--no-send")
    desk.run("kb", "build")
    assert json.loads(desk.run("kb", "search", "salary review", "--format", "json").stdout)["articles"] == []
    assert json.loads(desk.run("kb", "search", "Schmidt", "--format", "json").stdout)["articles"] == []
    (hit,) = json.loads(desk.run("kb", "search", "headset", "--format", "json").stdout)["articles"]
    assert hit["title"] == "Teams has no sound"


def test_html_a_mail_pasted_shows_in_the_article_as_written(desk: Desk) -> None:
    ticket = desk.new("IIS login", "-q", "it-helpdesk", "-c", "hardware",
                      "-m", "After editing web.config:\n<!-- added by vendor\n<details>\nthe rest")
    desk.run("resolve", ticket, "--note", "Removed:\n<!-- <add key=x/>\nRestart IIS.")
    desk.run("kb", "build")
    (article,) = [path for path in (desk.path / "kb").rglob("*.md") if ticket.lower() in path.name]
    shown = MarkdownIt("commonmark", {"html": True}).render(article.read_text())
    assert "&lt;!-- added by vendor" in shown and "&amp;lt;" not in shown and "the rest" in shown
    assert "Restart IIS." in shown


def test_a_look_while_an_unrelated_ticket_is_being_edited_is_still_the_build_s_own(desk: Desk) -> None:
    solve(desk, "VPN drops every hour", "Raised the DPD timeout on the firewall.")
    draft = desk.new("Outlook search empty", "-q", "it-helpdesk")
    desk.file(draft).write_text(desk.text(draft) + "draft line\n")  # an open ticket, being edited
    desk.run("kb", "build", "--no-commit")
    desk.git("checkout", "tickets")
    desk.git("add", "kb")
    desk.git("commit", "-qm", "kb: first look")
    assert desk.run("kb", "build", "--check").exit_code == 0
    desk.run("resolve", draft, "--note", "Rebuilt the search index.")
    assert "edited by hand" not in desk.run("kb", "build").stderr


def test_a_build_never_writes_over_an_article_edited_and_not_committed(desk: Desk) -> None:
    ticket = solve(desk, "VPN drops", "Raised the DPD timeout.")
    desk.run("kb", "build")
    (article,) = [path for path in (desk.path / "kb").rglob("*.md") if ticket.lower() in path.name]
    article.write_text(article.read_text().replace("Raised the DPD", "Raised (my careful words) the DPD"))
    desk.run("reopen", ticket, "-m", "again")
    desk.run("resolve", ticket, "--note", "Raised the DPD timeout to 60 s.")
    refused = desk.run("kb", "build", ok=False)
    assert refused.exit_code == 1 and "has changes no build made, not committed" in refused.stderr
    assert "careful words" in article.read_text()
    looked = desk.run("kb", "build", "--no-commit", ok=False)  # nor does a look
    assert looked.exit_code == 1 and "careful words" in article.read_text()
    desk.git("commit", "-qm", "kb: my careful words", "--", "kb")
    built = desk.run("kb", "build")
    assert "edited by hand" in built.stderr and "my careful words" in built.stderr


def test_looks_at_two_drafts_in_turn_are_both_the_clone_s_own(desk: Desk) -> None:
    first = solve(desk, "Printer broken", "Replaced the roller.")
    second = solve(desk, "Scanner broken", "Cleaned the glass.")
    desk.run("kb", "build")
    desk.file(first).write_text(desk.text(first).replace("the roller.", "the pickup roller."))
    desk.run("kb", "build", "--no-commit")
    desk.file(second).write_text(desk.text(second).replace("the glass.", "the glass and the lid."))
    assert desk.run("kb", "build", "--no-commit").exit_code == 0
    desk.git("checkout", "tickets")  # both drafts dropped
    assert desk.run("kb", "build").exit_code == 0, "both looks were this clone's own"


def test_a_build_writes_over_its_own_look_at_a_draft_whether_the_draft_was_kept_or_dropped(desk: Desk) -> None:
    ticket = solve(desk, "Printer broken", "Replaced the roller.")
    desk.run("kb", "build")
    desk.file(ticket).write_text(desk.text(ticket).replace("the roller.", "the pickup roller."))
    desk.run("kb", "build", "--no-commit")  # a look at the draft
    desk.git("commit", "-qam", "wording")
    assert desk.run("kb", "build").exit_code == 0, "the look is what this build writes"
    desk.file(ticket).write_text(desk.text(ticket).replace("pickup roller.", "pickup roller and the belt."))
    desk.run("kb", "build", "--no-commit")
    desk.git("checkout", "tickets")  # the draft dropped
    assert desk.run("kb", "build").exit_code == 0, "the look was this clone's own"
