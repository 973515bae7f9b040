"""Mail in: real message files (Gmail, Outlook, forwards, attachments, auto-replies,
bounces, broken encodings) fed through real mbox, maildir and .eml sources."""

from __future__ import annotations

import base64
import email
import hashlib
import json
import mailbox
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, Desk, gitdesk_process, make_desk

MAIL = Path(__file__).parent / "mail"
MAIL_CONFIG = TEST_CONFIG.replace("alice@example.com", "alice@fernhill.example") + """\
mail:
  address: help@fernhill.example
  aliases: [it@fernhill.example]
  max_attachment_bytes: 1KB
  routes:
    - {to: [facilities@fernhill.example], queue: facilities}
    - {keywords: [printer, scanner], queue: it-helpdesk, category: hardware}
"""


@pytest.fixture
def mail_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = make_desk(tmp_path / "desk", monkeypatch, MAIL_CONFIG)
    desk.at("2026-11-23T12:00:00Z")
    return desk


def message(name: str, **fill: str) -> bytes:
    """A message file from tests/mail, with @@PLACEHOLDERS@@ filled in."""
    raw = (MAIL / name).read_bytes()
    for key, value in fill.items():
        raw = raw.replace(f"@@{key.upper()}@@".encode(), value.encode())
    return raw


def eml(tmp_path: Path, raw: bytes, name: str = "message.eml") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def mbox(tmp_path: Path, *messages: bytes, name: str = "inbox.mbox") -> Path:
    path = tmp_path / name
    box = mailbox.mbox(str(path))
    for raw in messages:
        box.add(raw)
    box.close()
    return path


def intake(desk: Desk, kind: str, path: Path, ok: bool = True) -> dict:  # type: ignore[type-arg]
    result = desk.run("intake", kind, str(path), "--format", "json", ok=ok)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def ticket(desk: Desk, ticket_id: str) -> dict:  # type: ignore[type-arg]
    return json.loads(desk.run("show", ticket_id, "--format", "json").stdout)["ticket"]  # type: ignore[no-any-return]


def test_a_gmail_thread_becomes_a_ticket_and_the_reply_joins_it(mail_desk: Desk, tmp_path: Path) -> None:
    before = mail_desk.commits()
    result = intake(mail_desk, "eml", eml(tmp_path, message("gmail-new.eml")))
    assert result["counts"] == {"new": 1, "reply": 0, "feedback": 0, "bounce": 0, "skipped": 0, "failed": 0}
    ticket_id = result["messages"][0]["ticket"]
    text = mail_desk.text(ticket_id)
    assert "title: Outlook fragt ständig nach dem Passwort – every hour" in text
    assert "requester: bob.meyer@gmail.com" in text
    assert "status: new" in text, "no route matched: the ticket waits in intake"
    assert "Übrigens\nalso on the VPN." in text and "<div" not in text
    assert "<CAH7x9+Zq3vR1kYp0=u8dQm5TgW@mail.gmail.com>" in text
    assert mail_desk.commits() == before + 1
    assert "Gitdesk-Action: intake" in mail_desk.last_message()
    assert f"Gitdesk-Ticket: {ticket_id}" in mail_desk.last_message()

    mail_desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
    mail_desk.run("--as", "alice", "ask", ticket_id, "-m", "Does this happen on the VPN, in the office, or both?")
    assert ticket(mail_desk, ticket_id)["status"] == "pending"
    mail_desk.at("2026-11-23T12:40:00Z")
    reply = message("gmail-reply.eml", in_reply_to="<unknown-outgoing@fernhill.example>", ticket="GD-NOPE")
    result = intake(mail_desk, "eml", eml(tmp_path, reply, "reply.eml"))
    assert result["counts"]["reply"] == 1 and result["messages"][0]["ticket"] == ticket_id
    shown = ticket(mail_desk, ticket_id)
    assert shown["status"] == "open", "the requester answered: back in the queue"
    last = shown["conversation"][-1]
    assert (last["author"], last["kind"], last["text"]) == ("bob.meyer@gmail.com", "reply",
                                                           "Both, in the office and on the VPN.")
    by_bob = json.loads(mail_desk.run("log", "--author", "bob.meyer@gmail.com", "--format", "json").stdout)
    assert [entry["action"] for entry in by_bob["entries"]][-1:] == ["intake"], \
        "what he wrote is found by his address, though whoever ran intake committed it"


def test_html_only_outlook_mail_is_routed_and_a_reply_is_found_by_its_subject_tag(mail_desk: Desk,
                                                                                 tmp_path: Path) -> None:
    result = intake(mail_desk, "eml", eml(tmp_path, message("outlook-html-only.eml")))
    ticket_id = result["messages"][0]["ticket"]
    record = ticket(mail_desk, ticket_id)
    assert (record["queue"], record["category"], record["status"]) == ("it-helpdesk", "hardware", "open")
    assert record["requester"] == "carol.jones@fernhill.example"
    text = mail_desk.text(ticket_id)
    assert "The label printer in the packing room prints blank labels – the roll is full." in text
    assert "MsoNormal" not in text and "<p" not in text

    reply = message("outlook-reply.eml", ticket=ticket_id[:10])  # people shorten IDs too
    result = intake(mail_desk, "eml", eml(tmp_path, reply, "reply.eml"))
    assert (result["messages"][0]["outcome"], result["messages"][0]["ticket"]) == ("reply", ticket_id)
    entry = ticket(mail_desk, ticket_id)["conversation"][-1]
    assert entry["text"] == "Yes – it is the Zebra one by the door.\n\nCarol", "Outlook's quoted block is cut"


def test_a_route_s_address_is_the_desk_s_and_never_kept_in_the_cc(mail_desk: Desk, tmp_path: Path) -> None:
    """Greta writes to facilities@ (a route of the desk) and copies help@: answers go to her
    alone, not to the facilities mailbox as a Cc on every reply."""
    raw = (b"From: Greta <greta@example.net>\nTo: facilities@fernhill.example\nCc: help@fernhill.example, "
           b"boss@example.net\nSubject: Radiator cold\nMessage-ID: <g1@example.net>\n\nRoom 4 is cold.\n")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "greta.eml"))["messages"]
    made = ticket(mail_desk, taken["ticket"])
    assert made["queue"] == "facilities" and made["cc"] == ["boss@example.net"], made


def test_the_log_names_who_wrote_the_mail_not_who_ran_intake(mail_desk: Desk, tmp_path: Path) -> None:
    """Lena's clone runs intake: the audit log must not say Lena opened Greta's ticket, nor
    that Lena answered the question Carol (a person in config) answered."""
    raw = (b"From: Greta <greta@example.net>\nTo: help@fernhill.example\nSubject: Radiator cold\n"
           b"Message-ID: <g2@example.net>\n\nRoom 4 is cold.\n")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "greta.eml"))["messages"]
    asked = mail_desk.new("Printer", "-q", "it-helpdesk", "-r", "carol")
    mail_desk.run("--as", "alice", "ask", asked, "-m", "Which floor?")
    answer = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer [{asked}]\n"
              "Message-ID: <c9@example.com>\n\nSecond floor.\n").encode()
    intake(mail_desk, "eml", eml(tmp_path, answer, "carol.eml"))
    entries = json.loads(mail_desk.run("log", "--format", "json").stdout)["entries"]
    who = {(entry["ticket"], entry["action"]): entry["who"] for entry in entries}
    assert who[(taken["ticket"], "intake")] == "greta@example.net" and who[(asked, "intake")] == "carol", entries
    mail_desk.run("--as", "alice", "set", taken["ticket"], "requester", "bob@example.net")
    entries = json.loads(mail_desk.run("log", taken["ticket"], "--format", "json").stdout)["entries"]
    assert entries[0]["who"] == "greta@example.net", "who opened it then, not the requester of today"
    ran = json.loads(mail_desk.run("log", "--author", mail_desk.git("config", "user.name").strip(),
                                   "--format", "json").stdout)["entries"]
    assert all(entry["action"] != "intake" for entry in ran), "running intake is not writing the mail"


def test_a_word_in_the_subject_outranks_a_word_in_passing_and_the_route_is_named(
        mail_desk: Desk, tmp_path: Path) -> None:
    mail_desk.configure(MAIL_CONFIG.replace(
        "    - {keywords: [printer, scanner], queue: it-helpdesk, category: hardware}\n",
        "    - {keywords: [heating], queue: facilities}\n"
        "    - {keywords: [printer, scanner], queue: it-helpdesk, category: hardware}\n"), "heating to facilities")
    raw = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Printer on 2F jams\n"
           b"Message-ID: <p1@example.com>\n\nIt jams on every page. The heating works again, though.\n")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "p1.eml"))["messages"]
    assert ticket(mail_desk, taken["ticket"])["queue"] == "it-helpdesk", "the subject says what it is about"
    assert taken["detail"] == "Printer on 2F jams (to it-helpdesk: 'printer' in the subject)"
    cold = raw.replace(b"Printer on 2F jams", b"Cold in room 2").replace(b"<p1@", b"<p2@")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, cold, "p2.eml"))["messages"]
    assert taken["detail"] == "Cold in room 2 (to facilities: 'heating' in the text)", \
        "the body decides when the subject does not"
    mail_desk.configure(mail_desk.config.replace("  routes:\n", "  routes:\n    - {keywords: [vpn], queue: it-helpdesk}\n")
                        .replace("    - {keywords: [printer, scanner], queue: it-helpdesk, category: hardware}\n",
                                 "    - {keywords: [printer, scanner], queue: it-helpdesk, category: hardware}\n"
                                 "    - {queue: it-helpdesk}\n"), "a catch-all route last")
    late = raw.replace(b"Printer on 2F jams", b"Help please").replace(b"<p1@", b"<p3@")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, late, "p3.eml"))["messages"]
    assert taken["detail"] == "Help please (to facilities: 'heating' in the text)", \
        "a catch-all keeps its place: it does not outrank a keyword found in the body"


@pytest.mark.parametrize(("keyword", "subject"), [
    ("प्रिंटर", "प्रिंटर खराब है"), ("เครื่องพิมพ์", "เครื่องพิมพ์เสีย"), ("打印机", "打印机坏了"),
    ("c++", "c++ build fails"), ("İstanbul", "İstanbul ofisinde yazıcı"),
])
def test_a_route_keyword_matches_in_every_script(mail_desk: Desk, tmp_path: Path, keyword: str, subject: str) -> None:
    mail_desk.configure(mail_desk.config.replace("  routes:\n", f"  routes:\n    - {{keywords: ['{keyword}'], "
                                                               "queue: facilities}\n"), "a route in another script")
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: {subject}\nMessage-ID: <k1@example.com>\n"
           "Content-Type: text/plain; charset=utf-8\n\n.\n").encode()
    made = intake(mail_desk, "eml", eml(tmp_path, raw, "k1.eml"))["messages"][0]["ticket"]
    assert ticket(mail_desk, made)["queue"] == "facilities"


def test_the_same_mailbox_twice_takes_nothing_in_twice(mail_desk: Desk, tmp_path: Path) -> None:
    box = mbox(tmp_path, message("gmail-new.eml"), message("outlook-html-only.eml"), message("minimal.eml"))
    first = intake(mail_desk, "mbox", box)
    assert first["counts"]["new"] == 3 and len(first["commits"]) == 1
    head = mail_desk.head()
    again = intake(mail_desk, "mbox", box)
    assert again["counts"] == {"new": 0, "reply": 0, "feedback": 0, "bounce": 0, "skipped": 3, "failed": 0}
    assert {m["detail"] for m in again["messages"]} == {"already taken in"}
    assert mail_desk.head() == head, "nothing new: no commit"
    shown = mail_desk.run("intake", "mbox", str(box))
    assert shown.stdout == "" and "3 taken in before" in shown.stderr, "a kept mailbox is not relisted every run"
    # minimal.eml has no Message-ID: it is known by its bytes instead
    assert len(list((mail_desk.path / "tickets").glob("*.md"))) == 3


def test_a_maildir_is_read_in_order_and_only_once(mail_desk: Desk, tmp_path: Path) -> None:
    folder = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    for name in ("gmail-new.eml", "outlook-html-only.eml"):
        folder.add(message(name))
    folder.close()
    assert intake(mail_desk, "maildir", tmp_path / "Maildir")["counts"]["new"] == 2
    assert intake(mail_desk, "maildir", tmp_path / "Maildir")["counts"]["new"] == 0


def test_auto_replies_bounces_and_our_own_mail_are_not_tickets(mail_desk: Desk, tmp_path: Path) -> None:
    own = (b"From: Fernhill Help <help@fernhill.example>\nTo: bob@example.com\nSubject: Re: x [GD-01]\n"
           b"Message-ID: <ours@fernhill.example>\n\nOur own reply, bounced back to us.\n")
    looped = (b"From: someone@elsewhere.example\nTo: help@fernhill.example\nSubject: Re: x\n"
              b"X-Gitdesk-Desk: Test desk\nMessage-ID: <loop@elsewhere.example>\n\nA copy of our mail.\n")
    head = mail_desk.head()
    result = intake(mail_desk, "mbox", mbox(tmp_path, message("auto-reply.eml"), message("bounce.eml"), own, looped))
    reasons = [m["detail"] for m in result["messages"]]
    assert [m["outcome"] for m in result["messages"]] == ["skipped"] * 4
    assert reasons[0].startswith("automatic mail") and "auto-replied" in reasons[0]
    assert reasons[1].startswith("automatic mail")
    assert reasons[2] == reasons[3] == "sent by this desk (a mail loop)"
    assert mail_desk.head() == head


def test_mail_from_another_gitdesk_desk_is_a_request_not_a_loop(mail_desk: Desk, tmp_path: Path) -> None:
    """A partner's desk runs gitdesk too: its agent's mail carries its own loop header, which
    names that desk. Only a header naming this desk (by address, or by name as older mail
    did) is our own mail coming back."""
    theirs = (b"From: Olga Other <olga@other.example>\nTo: help@fernhill.example\nSubject: Contract 4711\n"
              b"X-Gitdesk-Desk: Other Support <support@other.example>\nMessage-ID: <GD-9.reply.1@other.example>\n\n"
              b"Please renew contract 4711.\n")
    ours = (b"From: someone@elsewhere.example\nTo: help@fernhill.example\nSubject: Fwd: x\n"
            b"X-Gitdesk-Desk: Fernhill IT <HELP@fernhill.example>\nMessage-ID: <fwd@elsewhere.example>\n\nOurs.\n")
    result = intake(mail_desk, "mbox", mbox(tmp_path, theirs, ours))
    assert [m["outcome"] for m in result["messages"]] == ["new", "skipped"], result["messages"]
    assert result["messages"][1]["detail"] == "sent by this desk (a mail loop)"


@pytest.mark.parametrize("subject", ["Automatische Antwort: Re: Printer", "Absence du bureau : Re: Printer",
                                     "Respuesta automática: Printer", "Automatisch antwoord: Printer", "Out of office",
                                     "Odpowiedź automatyczna: Printer", "Automatiskt svar: Printer",
                                     "Automatisk svar: Printer", "Out of Office AutoReply: Printer",
                                     "Absent : Re: Printer", "[Auto-Reply] Re: Printer", "Out of Office Re: Printer",
                                     "[Out of Office] Solved: Printer"])
def test_an_out_of_office_in_another_language_neither_opens_nor_reopens(mail_desk: Desk, tmp_path: Path,
                                                                        subject: str) -> None:
    solved = mail_desk.new("Printer", "-q", "it-helpdesk", "--requester", "carol@example.com")
    mail_desk.run("--as", "alice", "resolve", solved, "--note", "New toner.")
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: {subject} [{solved}]\n"
           "X-Auto-Response-Suppress: All\nMessage-ID: <oof@example.com>\n\nIch bin bis Montag nicht im Büro.\n")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw.encode()))["messages"]
    assert item["outcome"] == "skipped" and ticket(mail_desk, solved)["status"] == "resolved"


def test_each_encoded_word_and_a_raw_utf8_file_name_are_read_on_their_own(mail_desk: Desk, tmp_path: Path) -> None:
    raw = ("From: Jose <jose@cust.example>\nTo: help@fernhill.example\n"
           "Subject: =?utf-8?q?Caf=E9?= machine =?iso-8859-1?q?kaputt_Gr=FC=DFe?=\nMessage-ID: <m01@cust.example>\n"
           "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nBroken.\n--b\n"
           "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"Rechnung März.pdf\"\n\n"
           "pdf\n--b--\n").encode()
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    made = ticket(mail_desk, item["ticket"])
    assert made["title"] == "Café machine kaputt Grüße", "a word in the wrong charset leaves the rest readable"
    assert (mail_desk.path / "attachments" / item["ticket"] / "Rechnung März.pdf").exists()


def test_mail_is_read_in_the_charset_its_mailer_meant_not_the_one_it_named(mail_desk: Desk, tmp_path: Path) -> None:
    def labelled(n: int, charset: str, subject: str, body: str, encoding: str) -> bytes:
        return (f"From: r{n}@cust.example\nTo: help@fernhill.example\nMessage-ID: <cs{n}@cust.example>\n"
                f"Subject: =?{charset}?b?{base64.b64encode(subject.encode(encoding)).decode()}?=\n"
                f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n").encode() \
            + body.encode(encoding) + b"\n"

    windows = labelled(1, "iso-8859-1", "Shift key", "The \u201cShift\u201d key sticks \u2013 it cost 30\u20ac.",
                       "cp1252")
    chinese = labelled(2, "gb2312", "王喆的打印机坏了", "打印机坏了，喆", "gbk")
    japanese = labelled(3, "shift_jis", "①プリンター", "㈱の件です", "cp932")
    result = intake(mail_desk, "mbox", mbox(tmp_path, windows, chinese, japanese))
    made = [ticket(mail_desk, m["ticket"]) for m in result["messages"]]
    assert made[0]["description"] == "The \u201cShift\u201d key sticks \u2013 it cost 30\u20ac.", "not dropped"
    assert (made[1]["title"], made[1]["description"]) == ("王喆的打印机坏了", "打印机坏了，喆")
    assert (made[2]["title"], made[2]["description"]) == ("①プリンター", "㈱の件です")


def test_mail_that_names_no_charset_is_read_as_its_mailer_wrote_it(mail_desk: Desk, tmp_path: Path) -> None:
    """An old mailer's Shift_JIS with no label (or under us-ascii), an HTML part whose charset
    is only in its <meta>, a raw file name: read as UTF-8 with U+FFFD, not a word survived."""
    def unlabelled(n: int, content_type: str, body: bytes, name: bytes = b"") -> bytes:
        head = (f"From: r{n}@cust.example\nTo: help@fernhill.example\nMessage-ID: <u{n}@cust.example>\n"
                f"Subject: Mail {n}\nContent-Transfer-Encoding: 8bit\n").encode()
        if not name:
            return head + f"Content-Type: {content_type}\n\n".encode() + body + b"\n"
        return head + (b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: " + content_type.encode()
                       + b"\n\n" + body + b"\n--b\nContent-Type: application/octet-stream\n"
                       b"Content-Disposition: attachment; filename=\"" + name + b"\"\n\nxlsx\n--b--\n")

    jam = "複合機の紙詰まりが直りません。"
    mails = [unlabelled(1, "text/plain", jam.encode("cp932")),
             unlabelled(2, "text/plain; charset=us-ascii", jam.encode("cp932")),
             unlabelled(3, "text/html", f'<html><head><meta http-equiv="Content-Type" content="text/html; '
                                        f'charset=shift_jis"></head><body><p>{jam}</p></body></html>'.encode("cp932")),
             unlabelled(4, "text/html; charset=us-ascii", b'<meta charset="euc-jp"><p>'
                        + "プリンター修理のお願い".encode("euc_jp")),
             unlabelled(5, "text/plain", "Grüße aus Köln, der Drucker ist kaputt.".encode("latin-1")),
             unlabelled(7, "text/plain; charset=utf-8", "Dzień dobry, drukarka w księgowości \u2013 Łukasz".encode()
                        .replace("\u2013".encode(), b"\x96")),  # UTF-8 with one stray Windows byte
             unlabelled(8, "text/plain", "Dzień dobry, drukarka w księgowości \u2013 Łukasz".encode()
                        .replace("\u2013".encode(), b"\x96")),
             unlabelled(9, "text/plain; charset=iso-2022-jp", jam.encode("cp932")),  # mislabelled
             unlabelled(10, "text/plain; charset=utf-8", jam.encode("cp932")),
             unlabelled(6, "text/plain", jam.encode("cp932"), name="見積書.xlsx".encode("cp932"))]
    made = [m["ticket"] for m in intake(mail_desk, "mbox", mbox(tmp_path, *mails))["messages"]]
    assert [ticket(mail_desk, found)["description"].split("\n\nAttachments:")[0] for found in made] == [
        jam, jam, jam, "プリンター修理のお願い", "Grüße aus Köln, der Drucker ist kaputt.",
        "Dzień dobry, drukarka w księgowości \ufffd Łukasz", "Dzień dobry, drukarka w księgowości \ufffd Łukasz", jam,
        jam, jam]
    assert (mail_desk.path / "attachments" / made[-1] / "見積書.xlsx").exists()


def test_html_mail_keeps_its_lists_apart_from_what_follows(mail_desk: Desk, tmp_path: Path) -> None:
    raw = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Steps\nMessage-ID: <h@example.com>\n"
           b"Content-Type: text/html; charset=utf-8\n\n<p>I tried:</p><ul><li>restart</li><li>new cable</li></ul>"
           b"Still broken, see <a href='https://x.example/'>the log</a>.")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    assert "- new cable\nStill broken, see the log (https://x.example/)." in mail_desk.text(item["ticket"])


def test_a_subject_longer_than_a_title_is_cut_at_a_word_and_kept_whole_in_the_description(
        mail_desk: Desk, tmp_path: Path) -> None:
    subject = "Outlook crashes " + " ".join(f"whenever I open attachment number {n} of the weekly report"
                                            for n in range(10))
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: {subject}\n"
           "Message-ID: <long@example.com>\n\nSee subject.\n").encode()
    made = ticket(mail_desk, intake(mail_desk, "eml", eml(tmp_path, raw))["messages"][0]["ticket"])
    shown = made["title"].removesuffix("…")
    assert len(made["title"]) <= 200 and made["title"].endswith("…")
    assert subject.startswith(shown) and subject[len(shown)] == " ", "cut between words"
    assert made["description"] == f"Subject: {subject}\n\nSee subject."


def test_a_mailing_list_s_mail_is_taken_in_but_not_answered_unless_the_list_is_the_desk(mail_desk: Desk,
                                                                                        tmp_path: Path) -> None:
    def listed(n: int, list_id: str) -> bytes:
        return (f"From: news@vendor.example\nTo: help@fernhill.example\nSubject: News {n}\n"
                f"Message-ID: <list{n}@vendor.example>\nList-Id: {list_id}\nPrecedence: list\n\n"
                "Our new products!\n").encode()

    result = intake(mail_desk, "mbox", mbox(tmp_path, listed(1, "<news.vendor.example>"),
                                            listed(2, "Help <help.fernhill.example>"),
                                            listed(4, "Audit <audit.help.fernhill.example>"),
                                            listed(5, "x").replace(b"List-Id: x", b"List-Unsubscribe: "
                                                                   b"<https://vendor.example/u?e=help@fernhill.example>")))
    skipped, through_our_group, other_group, newsletter_naming_us = result["messages"]
    assert skipped["outcome"] == "skipped" and skipped["detail"] == "mailing-list mail (Precedence: list)"
    assert other_group["outcome"] == newsletter_naming_us["outcome"] == "skipped", "the whole List-Id, not a part"
    newsletter = intake(mail_desk, "eml", eml(tmp_path, listed(3, "<news.vendor.example>").replace(
        b"Precedence: list\n", b"")))["messages"][0]["ticket"]
    through_our_group = through_our_group["ticket"]
    assert through_our_group, "Google Groups marks every mail Precedence: list: the desk's own group is taken in"
    acknowledged = [ticket_id for ticket_id in (newsletter, through_our_group)
                    for path in mail_desk.git("ls-files", "outbox").split() if ticket_id in path]
    assert newsletter not in acknowledged and "came from a mailing list" in mail_desk.text(newsletter)
    assert through_our_group in acknowledged, "the desk's own group is how requesters reach it"


def test_a_request_the_desk_s_google_group_passed_on_under_its_own_address_is_its_author_s(
        mail_desk: Desk, tmp_path: Path) -> None:
    """Google Groups rewrites From: for senders whose domain forbids relaying (Yahoo, AOL)."""
    def via_group(sender: str, n: int, extra: str = "") -> bytes:
        return (f"From: \"'Yara Stone' via Fernhill Help\" <help@fernhill.example>\n"
                f"Reply-To: Yara Stone <{sender}>\nX-Original-From: Yara Stone <{sender}>\n"
                f"To: help@fernhill.example\nSubject: Cannot log in {n}\nMessage-ID: <y{n}@mail.yahoo.com>\n"
                f"Precedence: list\nList-ID: <help.fernhill.example>\n{extra}\nThe portal says no.\n").encode()

    yara, agent, ours = intake(mail_desk, "mbox", mbox(
        tmp_path, via_group("yara.stone@yahoo.com", 1),
        via_group("alice@fernhill.example", 2, "Content-Type: text/plain\n"),
        via_group("help@fernhill.example", 3, "X-Gitdesk-Desk: fernhill\n")))["messages"]
    assert yara["outcome"] == "new" and ticket(mail_desk, yara["ticket"])["requester"] == "yara.stone@yahoo.com"
    assert any(yara["ticket"] in path for path in mail_desk.git("ls-files", "outbox").split()), "acknowledged"
    assert ours["outcome"] == "skipped" and "mail loop" in ours["detail"]
    assert agent["outcome"] == "new", "an agent's address named by the list is a request, with no agent's rights"
    aside = (f"From: \"'Alice' via Fernhill Help\" <help@fernhill.example>\nX-Original-From: <alice@fernhill.example>\n"
             f"To: help@fernhill.example\nSubject: Re: New ticket [{yara['ticket']}]\nMessage-ID: <n1@fernhill.example>\n"
             f"In-Reply-To: <{yara['ticket']}.notification.abc@fernhill.example>\nList-ID: <help.fernhill.example>\n\n"
             "Internal: this customer owes us money.\n").encode()
    (noted,) = intake(mail_desk, "eml", eml(tmp_path, aside, "aside.eml"))["messages"]
    assert noted["outcome"] == "reply"
    (entry,) = [e for e in ticket(mail_desk, yara["ticket"])["conversation"] if "owes us money" in e["text"]]
    assert entry["kind"] == "note", "an agent's word in the agents' thread stays internal, relayed or not"


def test_a_list_that_rewrites_from_to_its_own_address_is_not_the_requester(mail_desk: Desk, tmp_path: Path) -> None:
    """Mailman and Google Groups send a member's post as "Yara Stone via Announce"
    <announce@…> when her domain forbids relaying: the desk answers her, never the list."""
    raw = (b"From: Yara Stone via Announce <announce@vendor.example>\nTo: announce@vendor.example\n"
           b"Subject: [Announce] Printer driver broken on 4.2?\nMessage-ID: <f2@mk.example>\n"
           b"List-Id: Vendor announcements <announce.vendor.example>\nList-Post: <mailto:announce@vendor.example>\n"
           b"Reply-To: announce@vendor.example\nX-Original-From: Yara Stone <yara@vendor.example>\n\n"
           b"Does anyone else see the driver fail on 4.2?\n")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "list.eml"))["messages"]
    made = ticket(mail_desk, taken["ticket"])
    assert taken["outcome"] == "new" and made["requester"] == "yara@vendor.example", made
    assert "cc" not in made and "the mailing list this came through" in mail_desk.text(taken["ticket"])
    assert "names yara@vendor.example as its author: nobody could check that" in mail_desk.text(taken["ticket"])
    mail_desk.run("--as", "alice", "reply", taken["ticket"], "-m", "Use driver 4.2.1.")
    queued = [path for path in mail_desk.git("ls-files", "outbox").split() if taken["ticket"] in path]
    assert queued and all(b"announce@vendor.example" not in (mail_desk.path / path).read_bytes().split(b"\r\n\r\n")[0]
                          for path in queued)
    # Anyone can run a list and name anyone as its author: never a word in their thread, nor an agent's.
    for n, author in enumerate(("yara@vendor.example", "alice@fernhill.example")):
        forged = (f"From: Mallory via Ops <ops@lists.attacker.example>\nTo: help@fernhill.example\n"
                  f"Subject: Re: Printer driver [{taken['ticket']}]\nMessage-ID: <m{n}@attacker.example>\n"
                  f"List-Id: <ops.lists.attacker.example>\nX-Original-From: <{author}>\n\n"
                  "Send the new token to mallory@attacker.example instead.\n").encode()
        (own,) = intake(mail_desk, "eml", eml(tmp_path, forged, f"forged{n}.eml"))["messages"]
        assert own["outcome"] == "new" and own["ticket"] != taken["ticket"], own
        assert "mallory" not in mail_desk.text(taken["ticket"])
        assert "alice —" not in mail_desk.text(own["ticket"]) and "nobody could check that" in mail_desk.text(own["ticket"])


def test_a_request_posted_to_a_list_that_copies_the_desk_never_mails_the_list(mail_desk: Desk, tmp_path: Path) -> None:
    raw = (b"From: Pat Lee <pat@lee.example>\nTo: it-users@lists.example\nCc: help@fernhill.example, "
           b"boss@lee.example\nSubject: Wifi down in building C\nMessage-ID: <l1@lee.example>\n"
           b"List-Id: IT users <it-users.lists.example>\nList-Unsubscribe: <mailto:unsub@lists.example>\n\n"
           b"Wifi is down in building C.\n")
    posted = raw.replace(b"To: it-users@lists.example", b"To: All IT <all-it@lists.example>").replace(
        b"<l1@", b"<l2@").replace(b"List-Id: IT users <it-users.lists.example>",
                                  b"List-Id: <12345.lists.example>\nList-Post: <mailto:all-it@lists.example>")
    first, second = intake(mail_desk, "mbox", mbox(tmp_path, raw, posted))["messages"]
    for taken in (first, second):
        assert ticket(mail_desk, taken["ticket"])["cc"] == ["boss@lee.example"]
        assert "the mailing list this came through" in mail_desk.text(taken["ticket"])
    mail_desk.run("--as", "alice", "resolve", first["ticket"], "--note", "Access point replaced.")
    (sent,) = [path for path in mail_desk.git("show", "--name-only", "--format=", "HEAD").split()
               if path.startswith("outbox/")]
    headers = (mail_desk.path / sent).read_text().split("\n\n")[0]
    assert "boss@lee.example" in headers and "lists.example" not in headers


def test_a_mail_without_message_id_delivered_twice_is_taken_in_once(mail_desk: Desk, tmp_path: Path) -> None:
    body = (b"From: Monitor <alerts@monitor.example>\nTo: help@fernhill.example\nSubject: Disk almost full on srv01\n"
            b"Date: Sat, 5 Dec 2026 09:59:58 +0000\n\nDisk /var is 95% full.\n")
    first = b"Received: from mx1 by mx2;\n\tSat, 5 Dec 2026 10:00:00 +0000\nDelivered-To: help@fernhill.example\n" + body
    second = b"Received: from mx3 by mx4;\n\tSat, 5 Dec 2026 10:00:09 +0000\nDelivered-To: it@fernhill.example\n" + body
    read = b"Status: RO\nX-Mozilla-Status: 0001\n" + first  # marked read in a mail program, then taken in again
    later = body.replace(b"95%", b"99%")  # the next alert: another mail
    taken = intake(mail_desk, "mbox", mbox(tmp_path, first, second, read, later))["messages"]
    assert [item["outcome"] for item in taken] == ["new", "skipped", "skipped", "new"]
    assert taken[1]["detail"] == "already taken in"
    undated = b"Received: from nas by mx; Tue, 1 Dec 2026 03:00:00 +0000\nFrom: nas@office.example\n" \
              b"To: help@fernhill.example\nSubject: UPS on battery\n\nUPS switched to battery power.\n"
    again = undated.replace(b"Tue, 1 Dec 2026 03:00", b"Fri, 18 Dec 2026 14:22")  # the same words, weeks later
    marked = b"Status: RO\n" + undated.replace(b"\n", b"\r\n")  # read in mutt, saved with other line ends
    taken = intake(mail_desk, "mbox", mbox(tmp_path, undated, again, marked, name="ups.mbox"))["messages"]
    assert [item["outcome"] for item in taken] == ["new", "new", "skipped"], \
        "with no Date, only delivery tells two alerts apart; a mail program's mark does not"
    path = mail_desk.file(taken[0]["ticket"])  # as gitdesk 0.1 kept it: a hash of every byte
    stand_in = ticket(mail_desk, taken[0]["ticket"])["message_ids"][0]
    path.write_text(path.read_text().replace(stand_in, f"<{hashlib.sha256(first).hexdigest()[:40]}@gitdesk.invalid>"))
    mail_desk.git("commit", "-qam", "as an older gitdesk took it in")
    again = intake(mail_desk, "eml", eml(tmp_path, first))["messages"]
    assert [item["outcome"] for item in again] == ["skipped"], "known after an upgrade"


def test_an_mbox_given_as_eml_or_a_message_given_as_mbox_is_refused_with_the_right_command(
        mail_desk: Desk, tmp_path: Path) -> None:
    """Three people's mails read as one message would put them all in the first one's ticket."""
    raws = [(f"From: P{n} <p{n}@q.example>\nTo: help@fernhill.example\nSubject: Request {n}\n"
             f"Message-ID: <q{n}@q.example>\n\nbody {n}\n").encode() for n in range(3)]
    box = mbox(tmp_path, *raws, name="export.eml")
    assert mail_desk.fails("intake", "eml", str(box)) == (
        f"gitdesk: error: {box} holds several messages in mbox format (take it in with gitdesk intake mbox {box})")
    single = eml(tmp_path, raws[0], "one.mbox")
    assert mail_desk.fails("intake", "mbox", str(single)) == (
        f"gitdesk: error: {single} is not an mbox file (no 'From ' line before its message) (a single message is "
        f"taken in with gitdesk intake eml {single})")
    assert not list((mail_desk.path / "tickets").glob("*.md")), "nothing written"
    forwarding = eml(tmp_path, b"From: erin@example.org\nTo: help@fernhill.example\nSubject: Call forwarding\n"
                     b"Message-ID: <e1@x.example>\n\nPlease forward my line:\n\n"
                     b"From Monday 14 December forward it to extension 4711\n"
                     b"From Friday 18 December forward it to +49 170 555 1234\n", "forwarding.eml")
    assert intake(mail_desk, "eml", forwarding)["messages"][0]["outcome"] == "new", "body lines are no separators"
    big = mbox(tmp_path, raws[0].replace(b"body 0", b"x" * (1 << 21)), *raws[1:], name="big.eml")
    assert "holds several messages in mbox format" in mail_desk.fails("intake", "eml", str(big)), \
        "a first message over a megabyte (attachments) hides nothing"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.eml").write_bytes(raws[0].replace(b"q0@", b"q7@"))
    (folder / "b.eml").write_bytes(box.read_bytes())
    mixed = intake(mail_desk, "eml", folder, ok=False)
    assert sorted((m["outcome"], m["position"]) for m in mixed["messages"]) == [("failed", "b.eml"), ("new", "a.eml")], \
        "one mbox in a folder fails alone; the others are taken in"
    again = mail_desk.run("intake", "eml", str(folder), ok=False)
    assert f"take it in with gitdesk intake mbox {folder / 'b.eml'}" in again.stdout
    assert again.stderr.strip().splitlines()[-1] == (
        "gitdesk: error: 1 message was not taken in (see the list above: each line says how to take it in)"), \
        "running the same intake again cannot take an mbox in"
    padded = eml(tmp_path, b"\n\n" + raws[1].replace(b"q1@", b"q9@"), "padded.eml")
    assert intake(mail_desk, "eml", padded)["messages"][0]["outcome"] == "new", "blank lines before the headers"


def test_body_lines_an_mbox_escaped_read_as_written(mail_desk: Desk, tmp_path: Path) -> None:
    """Mail programs put ">" before a body line starting "From " so that it is no separator
    (mboxo, as Python writes; mboxrd adds one to ">From " too). Left in, a requester's line
    reads as quoted text, and a reply of nothing else would look empty."""
    written = mbox(tmp_path, b"From: olga@example.org\nTo: help@fernhill.example\nSubject: Scanner\n"
                   b"Message-ID: <o1@x.example>\n\nThe scanner stopped.\nFrom Monday on it scans blank pages.\n")
    assert b"\n>From Monday" in written.read_bytes(), "Python's mailbox escaped it"
    olga = intake(mail_desk, "mbox", written)["messages"][0]["ticket"]
    assert "\nFrom Monday on it scans blank pages." in mail_desk.text(olga)
    rd = tmp_path / "rd.mbox"
    rd.write_bytes(b"From erin@example.org Sat Dec  5 10:00:00 2026\nFrom: erin@example.org\n"
                   b"To: help@fernhill.example\nSubject: Forwarding\nMessage-ID: <e1@x.example>\n\n"
                   b"Please forward my line.\n>>From the old ticket: it was set up in May.\n")
    erin = intake(mail_desk, "mbox", rd)["messages"][0]["ticket"]
    assert "\n>From the old ticket" in mail_desk.text(erin) and ">>From" not in mail_desk.text(erin)


def test_html_tables_keep_their_cells_apart_and_numbered_lists_their_numbers() -> None:
    from gitdesk.mail.html import to_text

    form = ("<table><tr><th>PC</th><td>LT-0042</td></tr><tr><th>User</th><td>olga</td></tr></table>"
            "<ol><li>restart</li><li>new cable</li></ol>")
    assert to_text(form) == "PC | LT-0042\nUser | olga\n\n1. restart\n2. new cable"
    outlook = ("<table class=MsoTableGrid><tr><td width=200><p class=MsoNormal>Asset<o:p></o:p></p></td>"
               "<td><p class=MsoNormal>LT-0042<o:p></o:p></p></td></tr><tr><td><p class=MsoNormal>Windows</p></td>"
               "<td><p class=MsoNormal>11 23H2</p></td></tr></table>")
    gmail = "<table><tr><td><div>Asset</div></td><td><div dir=ltr>LT-0042</div></td></tr></table>"
    assert (to_text(outlook), to_text(gmail)) == ("Asset | LT-0042\nWindows | 11 23H2", "Asset | LT-0042")
    layout = ("<table><tr><td><p>" + "Dear team, the printer on the second floor jams. " * 3 + "</p>"
              "<p>Regards, Olga</p></td></tr></table>")
    assert "jams.\n\nRegards, Olga" in to_text(layout), "a layout's column keeps its paragraphs"
    nested = ("<table><tr><td><table><tr><td>Asset</td><td>LT-0042</td></tr><tr><td>User</td><td>bob</td></tr>"
              "</table></td><td>Notes</td></tr></table><table><tr><td><pre>error 1\nerror 2</pre></td><td>log</td>"
              "</tr></table><table><tr><td>Steps</td><td><ol><li>Open app</li><li>Crash</li></ol></td></tr></table>")
    kept = to_text(nested)
    assert all(line in kept.split("\n") for line in ("Asset | LT-0042", "User | bob", "error 1", "error 2",
                                                      "1. Open app", "2. Crash")), "rows, logs and lists keep lines"
    outlook_lines = ("<table><tr><td><p class=MsoNormal>Ship to</p></td><td><p class=MsoNormal>Fernhill Ltd<br>"
                     "12 Mill Lane</p></td></tr><tr><td><p class=MsoNormal>Steps</p></td><td>"
                     "<p class=MsoListParagraph>1. Open the app</p><p class=MsoListParagraph>2. It crashes</p>"
                     "</td></tr></table>")
    lines = to_text(outlook_lines).split("\n")
    assert "12 Mill Lane" in lines and "2. It crashes" in lines, "an address's and a list's lines stay lines"


def test_a_pasted_stack_trace_in_html_mail_keeps_its_lines_and_indentation() -> None:
    from gitdesk.mail.html import to_text

    mail = ("<div><p>It crashes:</p><pre>Traceback (most recent call last):\n  File \"app.py\", line 3\n"
            "    main()\nKeyError: x</pre><p>Thanks</p></div>")
    assert to_text(mail) == ("It crashes:\n\nTraceback (most recent call last):\n  File \"app.py\", line 3\n"
                             "    main()\nKeyError: x\n\nThanks")


@pytest.mark.parametrize(("body", "kept"), [
    ("Still broken.\nOn the display the printer wrote:\nPAPER JAM 13.B, then it rebooted.", "PAPER JAM 13.B"),
    ("The mail said\nFrom: IT department\nDate: yesterday\nreset your password here", "reset your password"),
    ("Thanks\n\nAm 23.11.2026 um 09:00 schrieb Bob Meyer <bob@x.example>:\n> It jams", None),
    ("Thanks\n\nOn Mon, Nov 23, 2026 at 9:00 AM Bob <bob@x.example> wrote:\n> It jams", None),
    ("Thanks\n\nFrom: Meyer, Bob\nSent: Monday, 23 November 2026 09:00\nTo: Help\nSubject: x\n\nIt jams", None),
    ("Danke.\n\nAm 3. Januar schrieb mir Herr Schmidt aus der IT folgendes:\nBitte neu starten.", "neu starten"),
    ("Thanks\n\nOp ma 1 jan 2024 om 10:00 schreef Naam <a@b.example>:\n\nIt jams", None),
    ("Thanks\n\nDen 1 jan 2024 skrev Namn <a@b.example>:\nIt jams", None),
    ("Thanks\n\nDe: Bob\nEnviado el: lunes\nPara: Help\nAsunto: x\n\nIt jams", None),
    ("Thanks\n\n-----Mensaje original-----\nIt jams", None),
    ("Thanks\n\nAm Mo., 7. Dez. 2026 um 10:30 Uhr schrieb Alice Martin (Acme desk) <\nhelp@x.example>:\n> It jams",
     None),  # Gmail wraps a German attribution
    ("Thanks\n\n发件人: Alice <help@x.example>\n发送时间: 2026年12月8日 10:00\n收件人: li@x.cn\n主题: 打印机\n\nIt jams", None),
    ("Thanks\n\n差出人：Alice\n送信日時：2026年12月8日 10:00\n宛先：ken@x.jp\n件名：プリンター\n\nIt jams", None),
    ("Thanks\n\nAlice <help@x.example> 于2026年12月8日周二 10:00写道：\n> It jams", None),
    ("Thanks\n\n2026年12月1日(火) 19:00 Alice Martin <help@x.example>:\n\n> It jams", None),  # Japanese Gmail
    ("ありがとう\n2026年12月1日に印刷できなくなりました <田中>:\n明日また試します。", "明日また試します"),
    ("Danke.\nAm Montag schrieb ich deshalb an support@hersteller.de\nund bekam diese Antwort:\n\nDer Treiber ist alt.",
     "Der Treiber ist alt"),  # the requester's own sentence, over two lines: no quotation follows it
    ("Thanks\n\nDa: Alice Martin <help@x.example>\nInviato: martedì 1 dicembre 2026 10:00\nA: Tim Roe\n"
     "Oggetto: Solved\n\nIt jams", None),
    ("Thanks\n\nOd: Alice <help@x.example>\nWysłano: wtorek, 1 grudnia 2026 10:00\nDo: Jan\nTemat: x\n\nIt jams",
     None),
    ("Thanks\n\nFrån: Alice <help@x.example>\nSkickat: den 1 december 2026 10:00\nTill: Sven\nÄmne: x\n\nIt jams",
     None),
    ("Thanks\n\nDe: Alice <help@x.example>\nEnviado: terça-feira, 1 de dezembro\nPara: Ana\nAssunto: x\n\nIt jams",
     None),
    ("Thanks\n\nIl giorno mar 1 dic 2026 alle ore 10:00 Alice <help@x.example> ha scritto:\n> It jams", None),
    ("Thanks\n\nEm ter., 1 de dez. de 2026 às 10:00, Alice <help@x.example> escreveu:\n> It jams", None),
    ("Thanks\n\nwt., 1 gru 2026 o 10:00 Alice <help@x.example> napisał(a):\n> It jams", None),
    ("Grazie.\nDa: domani il server è spento.\nA: tutti gli utenti.", "server è spento"),  # no Outlook block
    ("Ecco i dettagli del viaggio:\nDa: Milano Linate\nA: Roma Fiumicino\nData: 3 dicembre, volo delle 9\n"
     "Serve anche l'hotel per due notti.", "l'hotel per due notti"),  # a travel plan in a block's words
    ("Wniosek urlopowy:\nOd: 2026-12-03\nDo: 2026-12-10\nData: dziś\nProszę o akceptację.", "Proszę o akceptację"),
    ("Thanks\n\nDa: Alice <help@x.example>\nA: Tim\nData: 1 dicembre 2026\nOggetto: x\n\nIt jams", None),
    ("Sorry, the return leg too:\n\nFrom: New York JFK\nTo: London Heathrow\nDate: 9 December 2026, 18:45\n\n"
     "Window seat is fine, and use project 5522.", "project 5522"),  # no Subject: a travel plan
    ("Thanks\n\nFrom: Alice <help@x.example>\nSent: Monday, 23 November 2026 09:00\nTo: Bob\nCc: Carol\n"
     "Subject: x\n\nIt jams", None),  # a Cc line before the subject
    ("Thanks\n\nFrom: Help <help@x.example>\n\nSent: Tuesday, December 1, 2026 10:00 AM\n\nTo: Paul <p@c.example>;"
     " Ops <o@c.example>\nCc: Anna <a@c.example>; Carl <c@c.example>;\nErik <e@c.example>; Greta <g@c.example>;\n"
     "Ivan <i@c.example>\n\nSubject: Re: Printer\n\nIt jams", None),  # wrapped Cc, blank lines between
    ("Thanks\n\n发件人：Alice\n发送时间：2026年12月8日 10:00\n收件人：李\n主题：打印机\n\nIt jams", None),
    ("Here is our asset form:\n\nFrom: Jane Doe\nEmail: jane@customer.example\nDate: 2026-12-02\n"
     "Phone: +44 20 7946 0000\nModel: LaserJet 4250\nSubject: Printer jams on every duplex job\n"
     "Message: it started after the toner change.", "LaserJet 4250"),  # a form, not a block
    ("Thanks\n\nFrom: Acme support desk\nSent: Tuesday, December 1, 2026 9:00 AM\nTo: Doe, Jane; Smith, Alice;"
     " Green,\nErin; Black, Frank\nSubject: Printer broken\n\nIt jams", None),  # names without addresses, wrapped
    ("Thanks\n\nOd: Alice <help@x.example>\nWysłano: wtorek, 1 grudnia 2026 10:00\nDo: Jan <j@c.example>\n"
     "DW: Anna <anna@corp.example>\nTemat: RE: Drukarka\n\nIt jams", None),  # Polish Cc
    ("Thanks\n\n寄件者: Alice <help@x.example>\n寄件日期: 2026年12月1日 10:00\n收件者: Li\n副本: Wang\n"
     "主旨: 印表機\n\nIt jams", None),  # Traditional Chinese
    ("Thanks\n\nFrom: Help <help@x.example>\nSent: Tuesday, December 1, 2026 10:00 AM\nTo: Paul <p@c.example>\n"
     "Cc:\nSubject: RE: Printer\n\nIt jams", None),  # an empty Cc
    ("Thanks\n\nFrom: Dr. Johanna Mueller-Luedenscheidt (IT Service Desk, Region North)\n"
     "<johanna.mueller@example-corporation.com>\nSent: Tuesday, December 1, 2026 10:00 AM\nTo: Paul <p@c.example>;\n"
     "IT: Servicedesk EMEA <emea@corp.example>\nSubject: RE: Printer\n\nIt jams", None),  # wrapped From and To
    ("My mail bounced. I sent it like this:\nFrom: hans@corp.example\nTo: client@partner.example\n"
     "and my boss in copy\nDate: 1 Dec 2026 10:00\nSubject: Offer 2026-17\nThe client says they never got it.",
     "never got it"),  # prose after a To line is no recipients' list
    ("Move request:\nFrom: Desk 12\nSubject: move\nDate: Friday\nWe also need a new monitor there.", "new monitor"),
    ("Thanks\n\nFrom: Help Desk <help@x.example>\nSent: Monday, December 1, 2026 10:00 AM\nTo: Hans Meyer; Anna "
     "Schulz; Peter Braun; Maria Rossi; Lena Vogel; Tom\nBecker\nSubject: RE: Printer\n\nIt jams", None),  # "Becker"
    ("Please book the trip.\nFrom: Berlin\nwe leave early, around 6, with the team\nTo: Lisbon\nDate: 12 December\n"
     "Subject: customer visit\nThanks", "we leave early"),  # prose with commas after From
    ("Thanks\n\nFrom: Help Desk <help@x.example>\nSent: Monday, December 1, 2026 10:00 AM\nSubject: RE: Printer\n\n"
     "It jams", None),  # Bcc: no To line, an address in From
    ("Book it:\nFrom: Berlin\nwe leave at 6\nTo: Lisbon\nDate: 12 December\nSubject: visit\nThanks", "we leave at 6"),
    ("Thanks\n\nFrom: Help Desk <help@x.example>\nSubject: Re: The printer on the third floor does not print\n"
     "double-sided anymore\nDate: 1 December 2026 at 10:00:00 CET\nTo: Hans <h@c.example>\n\nIt jams", None),
    ("Thanks\n\nFrom: Help Desk on behalf of Dr. Johanna Mueller (IT Service\nDesk)\nSent: Monday, December 1, 2026\n"
     "To: Hans Meyer\nSubject: RE: Printer\n\nIt jams", None),  # a name wrapped without an address
    ("Please move the printer.\nFrom: room 214\nTo: room 310\nit is the big HP one, next to the window\n"
     "Date: Friday, 18:00\nSubject: ok with facilities\nThanks", "next to the window"),  # prose, not names
    ("Thanks\n\nFrom: Help Desk <help@x.example>\nSent: Monday, December 1, 2026 10:00 AM\nImportance: High\n"
     "To: Hans <h@c.example>\nSubject: RE: Printer\n\nIt jams", None),
    ("Thanks\n\nFrom: Acme <help@x.example>\nSubject: Printer broken\n"
     "Date: 1 December 2026 at 10:00:00 CET\nTo: Jane <j@c.example>\n\nIt jams", None),  # Apple Mail's order
    ("Thanks\n\nSent from my iPhone\n\nOn Mon, Nov 23, 2026 at 9:00 AM Bob <bob@x.example> wrote:\n> It jams", None),
    ("Thanks\n\nVon meinem Galaxy gesendet\n\nAm 23.11.2026 um 09:00 schrieb Bob <bob@x.example>:\n> It jams", None),
    ("Thanks\n\nGet Outlook for Android\n________________________________\nFrom: Bob\nIt jams", None),
    ("I sent from my laptop the log you asked for.", "sent from my laptop"),  # the requester's own words
    ("Still broken.\nSent from my laptop, still not working.", "Sent from my laptop, still not working."),
    ("Still broken.\nSent from my Gmail account too: same bounce.", "Sent from my Gmail account too"),
    ("Sigue roto.\nEnviado desde mi portátil, sigue sin funcionar.", "Enviado desde mi portátil"),
    ("Still broken.\nSent from my phone still broken", "Sent from my phone still broken"),
    ("Thanks\n\nSent from my Samsung Galaxy smartphone.\n\nOn Mon, Nov 23, 2026 at 9:00 AM Bob <bob@x.example> wrote:"
     "\n> It jams", None),
    ("Thanks\n\nSent from my Xiaomi Redmi Note 8 Pro\n\nOn Mon, Nov 23, 2026 at 9:00 AM Bob <bob@x.example> wrote:"
     "\n> It jams", None),
    ("Thanks\n\nSent from my Android device\n\nOn Mon, Nov 23, 2026 at 9:00 AM Bob <bob@x.example> wrote:"
     "\n> It jams", None),
])
def test_quoted_mail_is_cut_and_the_requester_s_own_words_are_not(body: str, kept: str | None) -> None:
    from gitdesk.mail.message import strip_quoted

    said = strip_quoted(body)
    assert (kept in said) if kept else (said == "Thanks" and "It jams" not in said)


def test_an_answer_written_below_the_quotation_is_kept_with_the_question_it_answers() -> None:
    from gitdesk.mail.message import strip_quoted

    bottom = "Hi Alice,\n\nOn 07.12.26 10:30, Alice Martin wrote:\n> Which floor and room?\n\n2nd floor, room 214.\nHans\n"
    assert strip_quoted(bottom) == "Hi Alice,\n\n> Which floor and room?\n\n2nd floor, room 214.\nHans"
    inline = ("On Mon, 7 Dec 2026 at 10:30, Alice <help@x.example> wrote:\n> Hello Hans,\n>\n> Thanks for writing.\n"
              "> We are sorry.\n> Which printer is it?\nThe HP 4050.\n> And since when?\nMonday.\n>\n> Alice\n")
    assert strip_quoted(inline) == ("> Thanks for writing.\n> We are sorry.\n> Which printer is it?\n\nThe HP 4050.\n\n"
                                    "> And since when?\n\nMonday."), "three quoted lines of context, no more"
    assert strip_quoted("Works now!\n\nOn Mon, 7 Dec 2026, Alice <help@x.example> wrote:\n> Restart it.\n") == \
        "Works now!", "a top-poster's quotation is still cut whole"
    disclaimer = ("Thanks, it works now!\n\nOn Mon, 7 Dec 2026 at 08:30, Desk <help@x.example> wrote:\n"
                  "> Your new password is Xy7-secret-42.\n> Alice\n\nCONFIDENTIALITY NOTICE: This e-mail is "
                  "confidential.\n")
    assert strip_quoted(disclaimer) == "Thanks, it works now!", "what a server adds below is not an answer"
    wrapped = ("Still broken.\n\nOn Mon, 7 Dec 2026, Desk <help@x.example> wrote:\n> Use the temporary one we\n"
               "gave you on the phone; change it at first login\n> Alice\n")
    assert strip_quoted(wrapped) == "Still broken.", "a quotation a client wrapped without > is not theirs"


def test_chinese_and_japanese_reply_prefixes_and_auto_replies_are_read_as_such() -> None:
    from gitdesk.mail.message import _AUTO_SUBJECT, without_reply_prefix

    assert without_reply_prefix("回复：Re: 打印机坏了") == without_reply_prefix("転送: 打印机坏了") == "打印机坏了"
    assert without_reply_prefix("SV: Odp: Antw: R: RES: ENC: 回复: Keyboard broken") == "Keyboard broken", "Portuguese too"
    assert _AUTO_SUBJECT.match("自动回复: Re: Printer") and _AUTO_SUBJECT.match("自動応答：プリンター")


@pytest.mark.parametrize("subject", ["Fuera de la oficina no puedo conectarme a la VPN",
                                     "Abwesende Kollegen im Kalender nicht sichtbar",
                                     "Automatische Antwort einrichten funktioniert nicht",
                                     "Out of office printer does not print", "Absent from the meeting: notes",
                                     "[Out of office] not showing to colleagues", "[Undeliverable] mails bounce",
                                     "[Automatic reply] template missing in Outlook", "Absent : badge refusé",
                                     "Out of officer: a new colleague", "Out of office: how do I set it up?",
                                     "Automatic reply: stuck on, cannot disable",
                                     "Undeliverable: all mails to acme.com bounce"])
def test_a_request_about_out_of_office_things_is_a_request(mail_desk: Desk, tmp_path: Path, subject: str) -> None:
    raw = f"From: carol@example.com\nTo: help@fernhill.example\nSubject: {subject}\nMessage-ID: <r@example.com>\n\nHelp.\n"
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw.encode()))["messages"]
    assert item["outcome"] == "new"


@pytest.mark.parametrize("sender", ["bob@example.com <bob@example.com>", "'bob@example.com' <bob@example.com>",
                                    "BOB@EXAMPLE.COM <bob@example.com>"])
def test_a_from_showing_its_own_address_as_the_name_is_one_person(mail_desk: Desk, tmp_path: Path,
                                                                  sender: str) -> None:
    raw = (f"From: {sender}\nTo: help@fernhill.example\nSubject: Printer\nMessage-ID: <b@example.com>\n\n"
           "It jams.\n").encode()
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    assert ticket(mail_desk, item["ticket"])["requester"] == "bob@example.com"
    assert "not trusted" not in item["detail"] and [p for p in mail_desk.committed_files() if p.startswith("outbox/")]


def test_a_character_split_between_two_encoded_words_is_read_whole(mail_desk: Desk, tmp_path: Path) -> None:
    import base64

    data = "Drucker im Büro druckt kein € Zeichen".encode()
    first, second = (base64.b64encode(part).decode() for part in (data[:-9], data[-9:]))
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: =?utf-8?B?{first}?=\n =?utf-8?B?{second}?=\n"
           "Message-ID: <s@example.com>\n\nHelp.\n").encode()
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "Drucker im Büro druckt kein € Zeichen"


def test_mail_that_asks_for_no_automatic_answers_is_taken_in_without_one(mail_desk: Desk, tmp_path: Path) -> None:
    raw = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Printer\n"
           b"X-Auto-Response-Suppress: DR, OOF, AutoReply\nMessage-ID: <quiet@example.com>\n\nJams.\n")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    assert item["outcome"] == "new"
    assert not [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert "the mail asks for no automatic answers" in mail_desk.text(item["ticket"]), "the agent is told"
    oof = raw.replace(b"DR, OOF, AutoReply", b"OOF").replace(b"<quiet@", b"<oof@")  # no out-of-office notices only
    intake(mail_desk, "eml", eml(tmp_path, oof, "oof.eml"))
    assert [path for path in mail_desk.committed_files() if path.startswith("outbox/")], "acknowledged"


def test_a_malformed_message_is_named_by_position_and_the_rest_still_go_in(mail_desk: Desk, tmp_path: Path) -> None:
    box = mbox(tmp_path, message("gmail-new.eml"), message("no-sender.eml"), message("minimal.eml"))
    result = intake(mail_desk, "mbox", box)
    assert [(m["position"], m["outcome"]) for m in result["messages"]] == [
        ("message 1", "new"), ("message 2", "skipped"), ("message 3", "new")]
    assert result["messages"][1]["detail"] == "malformed: no sender address (From:)"
    minimal = mail_desk.text(result["messages"][2]["ticket"])
    assert "title: VPN drops every 10 minutes." in minimal, "no subject: the mail's first words title it"
    long_line = ("From: hal@fernhill.example\nTo: help@fernhill.example\nMessage-ID: <ns@f.example>\n\n\n"
                 "Since the update this morning none of the printers on the third floor accept jobs from laptops\n")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, long_line.encode(), "long.eml"))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "Since the update this morning none of the printers on the…"
    empty = b"From: ivy@fernhill.example\nTo: help@fernhill.example\nMessage-ID: <ns2@f.example>\n\n\n"
    (item,) = intake(mail_desk, "eml", eml(tmp_path, empty, "empty.eml"))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "(no subject)", "nothing to title it"


def test_broken_encodings_and_missing_headers_still_give_a_readable_ticket(mail_desk: Desk, tmp_path: Path) -> None:
    result = intake(mail_desk, "eml", eml(tmp_path, message("broken-encodings.eml")))
    text = mail_desk.text(result["messages"][0]["ticket"])
    assert "The heating in room 2.14 is off. Café too cold." in text
    assert "requester: frank@fernhill.example" in text


def test_attachments_land_inside_the_tickets_folder_under_safe_names(mail_desk: Desk, tmp_path: Path) -> None:
    big = (b"From: erin@fernhill.example\nTo: help@fernhill.example\nSubject: Photo of the jam\n"
           b"Message-ID: <big@fernhill.example>\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nPhoto attached.\n"
           b"--b\nContent-Type: image/jpeg\nContent-Disposition: attachment; filename=jam.jpg\n\n" + b"x" * 5000
           + b"\n--b--\n")
    result = intake(mail_desk, "mbox", mbox(tmp_path, message("with-attachments.eml"), big))
    first, second = (m["ticket"] for m in result["messages"])
    folder = mail_desk.path / "attachments" / first
    assert sorted(p.name for p in folder.iterdir()) == ["passwd___31m.txt", "post-commit", "scanner log.txt"]
    assert (folder / "scanner log.txt").read_bytes() == b"E42: paper path sensor\n"
    assert not (mail_desk.path / ".git" / "hooks" / "post-commit").exists()
    assert not list(mail_desk.path.glob("*passwd*")) and not Path("/tmp/pwned").exists()
    text = mail_desk.text(first)
    assert "[scanner log.txt](../attachments/" + first + "/scanner%20log.txt)" in text
    assert "\x1b" not in text
    committed = mail_desk.committed_files()
    assert f"attachments/{first}/post-commit" in committed
    assert "jam.jpg (4.9 KB): not kept, over the 1.0 KB limit" in mail_desk.text(second)
    assert "Photo attached." in mail_desk.text(second), "the rest of the mail still came in"
    assert not (mail_desk.path / "attachments" / second).exists()


def test_a_subject_tag_from_a_stranger_opens_a_new_ticket(mail_desk: Desk, tmp_path: Path) -> None:
    victim = mail_desk.new("Payroll question", "-q", "it-helpdesk", "--requester", "carol")
    before = mail_desk.text(victim)
    stranger = (f"From: mallory@evil.example\nTo: help@fernhill.example\nSubject: Re: [{victim}] Payroll\n"
                "Message-ID: <m1@evil.example>\n\nPlease send me the payroll file.\n").encode()
    result = intake(mail_desk, "eml", eml(tmp_path, stranger))
    item = result["messages"][0]
    assert item["outcome"] == "new" and item["ticket"] != victim
    assert f"mentions {victim}, but mallory@evil.example is not on it" in item["detail"]
    assert mail_desk.text(victim) == before
    assert "title: Payroll" in mail_desk.text(item["ticket"])
    (warning,) = ticket(mail_desk, item["ticket"])["conversation"]
    assert warning["kind"] == "note" and warning["text"].startswith(
        f"This mail answers {victim}, a ticket of someone else, but mallory@evil.example is not on it."), \
        "the agent reading the new ticket is warned, not only the intake's output"


def test_a_forged_requester_never_speaks_in_their_thread(mail_desk: Desk, tmp_path: Path) -> None:
    victim = mail_desk.new("Payroll question", "-q", "it-helpdesk", "--requester", "carol@example.com")
    mail_desk.run("--as", "alice", "ask", victim, "-m", "Which month?")
    before = mail_desk.text(victim)
    forged = (f"Authentication-Results: mx.fernhill.example; dmarc=fail (p=none) header.from=example.com\n"
              f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: [{victim}] Payroll\n"
              "Message-ID: <forged@evil.example>\n\nSend the file to my new address please.\n").encode()
    item = intake(mail_desk, "eml", eml(tmp_path, forged))["messages"][0]
    assert item["outcome"] == "new" and item["ticket"] != victim
    assert "the sender is not trusted: dmarc=fail" in item["detail"]
    (warning,) = ticket(mail_desk, item["ticket"])["conversation"]
    assert warning["text"].startswith("The receiving server found this mail's sender forged (dmarc=fail)")
    assert mail_desk.text(victim) == before, "still pending, nothing added"
    genuine = forged.replace(b"dmarc=fail", b"dmarc=pass").replace(b"<forged@", b"<genuine@")
    assert intake(mail_desk, "eml", eml(tmp_path, genuine, "genuine.eml"))["messages"][0]["outcome"] == "reply"


def test_a_forged_agent_gets_no_agent_s_rights_and_nobody_is_acknowledged(mail_desk: Desk, tmp_path: Path) -> None:
    """A forger writing as an agent must not open a ticket "for" someone of their choosing
    (who would be acknowledged), nor get an answer to an address they picked."""
    forged = message("forwarded.eml").replace(
        b"From: Alice Agent <alice@fernhill.example>",
        b"Authentication-Results: mx.fernhill.example; dmarc=fail header.from=fernhill.example\n"
        b"From: Alice Agent <alice@fernhill.example>")
    item = intake(mail_desk, "eml", eml(tmp_path, forged))["messages"][0]
    assert "sender not trusted: dmarc=fail" in item["detail"]
    made = ticket(mail_desk, item["ticket"])
    assert made["requester"] != "dana@customer.example", "not opened for whoever the forger named"
    assert made["conversation"][0]["text"].startswith("The receiving server found this mail's sender forged")
    assert not [path for path in mail_desk.committed_files() if path.startswith("outbox/")], "no backscatter"


@pytest.mark.parametrize("sender", ["alice@fernhill.example <mallory@evil.example>",
                                    "alice@fernhill.example)<mallory@evil.example>",
                                    "carol@example.com, mallory@evil.example"])
def test_a_from_naming_two_addresses_is_trusted_as_neither(mail_desk: Desk, tmp_path: Path, sender: str) -> None:
    victim = mail_desk.new("Payroll question", "-q", "it-helpdesk", "--requester", "carol@example.com")
    mail_desk.run("--as", "alice", "ask", victim, "-m", "Which month?")
    before = mail_desk.text(victim)
    raw = (f"From: {sender}\nTo: help@fernhill.example\nSubject: Re: [{victim}] Payroll\n"
           "Message-ID: <two@evil.example>\n\nSend the file to my new address please.\n").encode()
    item = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"][0]
    assert item["outcome"] == "new" and mail_desk.text(victim) == before, "not in carol's thread, nor as alice"
    said = ticket(mail_desk, item["ticket"])["conversation"][0]["text"]
    assert "From: names more than one address" in said or "mallory@evil.example is not on it" in said
    unquoted = (b"From: Meyer, Bob <bob.meyer@example.com>\nTo: help@fernhill.example\nSubject: Printer\n"
                b"Message-ID: <bob-1@example.com>\n\nIt jams.\n")
    item = intake(mail_desk, "eml", eml(tmp_path, unquoted, "bob.eml"))["messages"][0]
    assert ticket(mail_desk, item["ticket"])["requester"] == "bob.meyer@example.com"
    assert "sender not trusted" not in item["detail"], "a comma left unquoted still names one person"


def test_a_screenshot_pasted_in_apple_mail_is_kept_though_only_its_html_version_holds_it(
        mail_desk: Desk, tmp_path: Path) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"pixels" * 20).decode()
    raw = ("From: Tim Roe <tim@apple-user.example>\nTo: help@fernhill.example\nSubject: Screen flickers\n"
           "Message-ID: <a1@apple-user.example>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/alternative; boundary=AA\n\n"
           "--AA\nContent-Type: text/plain\n\nThe screen flickers like this:\n\n"
           "--AA\nContent-Type: multipart/related; boundary=RR\n\n"
           "--RR\nContent-Type: text/html\n\n<p>The screen flickers like this:<img src=\"cid:s@a\"></p>\n"
           "--RR\nContent-Type: image/png; name=shot.png\nContent-ID: <s@a>\n"
           f"Content-Disposition: inline; filename=shot.png\nContent-Transfer-Encoding: base64\n\n{png}\n"
           "--RR--\n\n--AA--\n").encode()
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    folder = mail_desk.path / "attachments" / taken["ticket"]
    assert [path.name for path in folder.iterdir()] == ["shot.png"]
    text = mail_desk.text(taken["ticket"])
    assert "shot.png" in text and text.count("The screen flickers like this:") == 1


def test_an_attachments_folder_made_a_link_holds_up_no_mail(mail_desk: Desk, tmp_path: Path) -> None:
    """A commit made attachments/<ID> a link: nothing is written through it, and the mail is
    kept without its files instead of failing its whole run, every run."""
    first = intake(mail_desk, "eml", eml(tmp_path, message("with-attachments.eml")))["messages"][0]["ticket"]
    folder = mail_desk.path / "attachments" / first
    outside = tmp_path / "outside"
    outside.mkdir()
    mail_desk.git("rm", "-rq", str(folder))
    folder.parent.mkdir(exist_ok=True)
    folder.symlink_to(outside, target_is_directory=True)
    mail_desk.git("add", str(folder))
    mail_desk.git("commit", "-qm", "a link", "--no-verify")
    again = message("with-attachments.eml").replace(b"<attach-1@", b"<attach-2@").replace(
        b"Subject: Scanner error log attached", f"Subject: Re: Scanner [{first}]".encode())
    other = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Printer\n"
             b"Message-ID: <other@example.com>\n\nJams.\n")
    taken = intake(mail_desk, "mbox", mbox(tmp_path, again, other))["messages"]
    assert [item["outcome"] for item in taken] == ["reply", "new"]
    said = ticket(mail_desk, first)["conversation"][-1]["text"]
    assert f"not kept: attachments/{first} is a symbolic link" in said
    checked = mail_desk.run("check", "--all", ok=False)
    assert checked.exit_code == 1 and f"attachments/{first}: is a symbolic link" in checked.output, "as the note says"
    assert list(outside.iterdir()) == [], "nothing written through the link"
    mail_desk.git("rm", "-q", str(folder))
    folder.parent.mkdir(exist_ok=True)
    folder.write_text("a file where the folder was\n")
    mail_desk.git("add", str(folder))
    mail_desk.git("commit", "-qm", "a file", "--no-verify")
    third = again.replace(b"<attach-2@", b"<attach-3@")
    taken = intake(mail_desk, "mbox", mbox(tmp_path, third, other.replace(b"<other@", b"<other-2@")))["messages"]
    assert [item["outcome"] for item in taken][-2:] == ["reply", "new"]
    assert f"not kept: attachments/{first} is a file, not a folder" in ticket(mail_desk, first)["conversation"][-1]["text"]


def test_forwarded_mail_from_an_agent_opens_a_ticket_for_the_customer(mail_desk: Desk, tmp_path: Path) -> None:
    result = intake(mail_desk, "eml", eml(tmp_path, message("forwarded.eml")))
    text = mail_desk.text(result["messages"][0]["ticket"])
    assert "requester: dana@customer.example" in text and "title: Invoice 2291 is wrong" in text
    made = ticket(mail_desk, result["messages"][0]["ticket"])
    assert made["description"] == "We were charged twice for the tea subscription on invoice 2291.", \
        "the customer's words are the request (and the knowledge base's symptoms)"
    (note,) = made["conversation"]
    assert (note["author"], note["kind"], note["text"]) == ("alice", "note", "Customer mail below, can billing "
                                                                               "look at it?"), "the agent's aside"
    (ack,) = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    headers = (mail_desk.path / ack).read_text().split("\r\n\r\n", 1)[0]
    assert "Subject: Invoice 2291 is wrong [" in headers and "In-Reply-To" not in headers, \
        "dana never saw alice's forward: the acknowledgement starts her thread"


def test_an_agent_forwarding_four_customers_mails_gets_each_of_them_acknowledged(mail_desk: Desk,
                                                                                tmp_path: Path) -> None:
    raws = [message("forwarded.eml").replace(b"dana@customer.example", f"c{n}@customer.example".encode())
            .replace(b"fwd-2291", f"fwd-{n}".encode()).replace(b"orig-2291", f"orig-{n}".encode()) for n in range(4)]
    result = intake(mail_desk, "mbox", mbox(tmp_path, *raws))
    assert [m["outcome"] for m in result["messages"]] == ["new"] * 4
    acknowledged = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert len(acknowledged) == 4, "counted by who is acknowledged, not by the agent who forwarded"


@pytest.mark.parametrize("marker", ["________________________________", "Begin forwarded message:\n"])
def test_outlook_and_apple_forwards_from_an_agent_open_the_ticket_for_the_customer(
        mail_desk: Desk, tmp_path: Path, marker: str) -> None:
    raw = (f"From: Alice Agent <alice@fernhill.example>\nTo: help@fernhill.example\nSubject: FW: VPN drops\n"
           f"Message-ID: <fw-{len(marker)}@fernhill.example>\n\nFor the queue.\n\n{marker}\n"
           "From: Ivan Petrov <ivan@customer.example>\nSent: Monday\nSubject: VPN drops\n\n"
           "The VPN drops every hour.\n").encode()
    made = intake(mail_desk, "eml", eml(tmp_path, raw, "fw.eml"))["messages"][0]["ticket"]
    assert ticket(mail_desk, made)["requester"] == "ivan@customer.example"
    assert ticket(mail_desk, made)["requester_name"] == "Ivan Petrov", "greeted by the name the forward gave"


@pytest.mark.parametrize(("subject", "sent"), [("FW: Drucker defekt", "Sent"), ("WG: Drucker defekt", "Gesendet")])
def test_outlook_desktop_forwards_marked_by_a_border_alone_open_the_ticket_for_the_customer(
        mail_desk: Desk, tmp_path: Path, subject: str, sent: str) -> None:
    von = "From" if sent == "Sent" else "Von"
    html = ("<div>FYI, customer below.</div><div style='border:none;border-top:solid #E1E1E1 1.0pt;"
            f"padding:3.0pt 0cm 0cm 0cm'><p><b>{von}:</b> Rita Kunde &lt;rita@customer.example&gt;<br>"
            f"<b>{sent}:</b> Monday, December 7, 2026 09:12<br><b>To:</b> Alice &lt;alice@fernhill.example&gt;<br>"
            "<b>Subject:</b> Drucker defekt</p></div><p>Our printer prints blank pages.</p>")
    raw = (f"From: Alice Agent <alice@fernhill.example>\nTo: help@fernhill.example\nSubject: {subject}\n"
           f"Message-ID: <od-{sent}@fernhill.example>\nContent-Type: text/html; charset=utf-8\n\n{html}\n").encode()
    made = ticket(mail_desk, intake(mail_desk, "eml", eml(tmp_path, raw, "od.eml"))["messages"][0]["ticket"])
    assert (made["requester"], made["requester_name"]) == ("rita@customer.example", "Rita Kunde")
    assert made["description"] == "Our printer prints blank pages."


@pytest.mark.parametrize(("subject", "block"), [
    ("FW: Printer", "From: Dr. Johanna Mueller-Luedenscheidt (Procurement, Example Corporation)\n"
                    "<rita@customer.example>\nSent: Monday, December 1, 2026 10:00 AM\nTo: Alice <alice@fernhill.example>;\n"
                    "Bob <bob@fernhill.example>\nSubject: Printer"),
    ("PD: Drukarka", "Od: Rita Kunde <rita@customer.example>\nWysłano: poniedziałek, 1 grudnia 2026 10:00\n"
                     "Do: Alice <alice@fernhill.example>\nDW: Bob <bob@fernhill.example>\nTemat: Drukarka"),
    ("FW: Printer", "From: Rita Kunde <rita@customer.example>\nSent: Monday, December 1, 2026 10:00 AM\n"
                    "To: Alice Martin; Dan Okafor; Bob Stone; Hans Meyer; Anna Schulz;\nLena Vogel; Tom Becker\n"
                    "Subject: Printer"),
    ("Fwd: Printer", "Begin forwarded message:\n\nFrom: Dr. Rita Kunde-Longname (Procurement, Example Ltd)\n"
                     "<rita@customer.example>\nSubject: Printer\nDate: 1 December 2026 at 10:00:00 CET\n"
                     "To: Alice <alice@fernhill.example>"),
    # Thunderbird: its Subject and Date before From, a tab after each colon
    ("Fwd: Printer", "-------- Forwarded Message --------\nSubject: \tPrinter\nDate: \tMon, 1 Dec 2026 "
                     "10:00:00 +0100\nFrom: \tRita Kunde <rita@customer.example>\nTo: \thelp@fernhill.example"),
    ("WG: Printer", "-------- Weitergeleitete Nachricht --------\nBetreff: \tPrinter\nDatum: \tMon, 1 Dec 2026 "
                    "10:00:00 +0100\nVon: \tRita Kunde <rita@customer.example>\nAn: \thelp@fernhill.example"),
    ("Fwd: Printer", "-------- Mensaje reenviado --------\nAsunto: \tPrinter\nFecha: \tMon, 1 Dec 2026 "
                    "10:00:00 +0100\nDe: \tRita Kunde <rita@customer.example>\nPara: \thelp@fernhill.example"),
    ("Fwd: Printer", "-------- Messaggio inoltrato --------\nOggetto: \tPrinter\nData: \tMon, 1 Dec 2026 "
                     "10:00:00 +0100\nDa: \tRita Kunde <rita@customer.example>\nA: \thelp@fernhill.example"),
])
def test_a_plain_text_forward_with_wrapped_headers_opens_the_ticket_for_the_customer(
        mail_desk: Desk, tmp_path: Path, subject: str, block: str) -> None:
    raw = (f"From: Alice Agent <alice@fernhill.example>\nTo: help@fernhill.example\nSubject: {subject}\n"
           f"Message-ID: <wrap-{len(block)}@fernhill.example>\n\nFor the queue.\n\n{block}\n\n"
           "Our printer prints blank pages.\n").encode()
    made = ticket(mail_desk, intake(mail_desk, "eml", eml(tmp_path, raw, "wrap.eml"))["messages"][0]["ticket"])
    assert made["requester"] == "rita@customer.example"
    assert made["description"] == "Our printer prints blank pages."
    assert made["title"] in ("Printer", "Drukarka"), "the forward's prefix is no part of the title"


def test_a_colleague_forwarding_a_supplier_s_mail_is_the_requester(mail_desk: Desk, tmp_path: Path) -> None:
    """Carol asks about an invoice she got: the supplier must not become the requester, nor get
    the acknowledgement (nor, later, the agent's answer)."""
    raw = message("forwarded.eml").replace(b"From: Alice Agent <alice@fernhill.example>",
                                           b"From: Carol <carol@example.com>")
    result = intake(mail_desk, "eml", eml(tmp_path, raw))
    made = result["messages"][0]["ticket"]
    assert ticket(mail_desk, made)["requester"] == "carol@example.com"
    acknowledgements = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert all(b"dana@customer.example" not in (mail_desk.path / path).read_bytes().split(b"\n\n", 1)[0]
               for path in acknowledgements), "nothing is mailed to the supplier"


def test_replies_to_finished_tickets(mail_desk: Desk, tmp_path: Path) -> None:
    def mail_about(ticket_id: str, number: int, sender: str = "carol@example.com") -> Path:
        raw = (f"From: {sender}\nTo: help@fernhill.example\nSubject: Re: Printer [{ticket_id}]\n"
               f"Message-ID: <r{number}@example.com>\n\nStill broken.\n").encode()
        return eml(tmp_path, raw, f"r{number}.eml")

    resolved = mail_desk.new("Printer", "-q", "it-helpdesk", "--requester", "carol")
    mail_desk.run("--as", "alice", "resolve", resolved, "--note", "New toner.")
    taken = intake(mail_desk, "eml", mail_about(resolved, 1))
    assert taken["counts"]["reply"] == 1
    assert taken["messages"][0]["detail"] == "Printer (reopened: it was resolved)", "whoever runs intake sees it"
    shown = ticket(mail_desk, resolved)
    assert shown["status"] == "open", "a requester answering a resolved ticket reopens it"
    assert shown["conversation"][-1]["kind"] == "reopen"

    mail_desk.run("--as", "alice", "cc", resolved, "+tom@example.com")
    mail_desk.run("--as", "alice", "resolve", resolved, "--note", "New fuser.")
    thanks = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer [{resolved}]\n"
              f"Message-ID: <thanks@example.com>\n\nVielen Dank, l\u00e4uft wieder!\n").encode()
    intake(mail_desk, "eml", eml(tmp_path, thanks, "thanks.eml"))
    assert ticket(mail_desk, resolved)["status"] == "resolved", "a thank-you is not a reopening"
    intake(mail_desk, "eml", mail_about(resolved, 7, sender="tom@example.com"))
    assert ticket(mail_desk, resolved)["status"] == "open", "someone in its Cc says it is still broken: reopened"

    mail_desk.run("--as", "alice", "resolve", resolved, "--note", "New drum.")
    mail_desk.run("--as", "alice", "close", resolved)
    answer = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: AW: Re: Solved: Printer [{resolved}]\n"
              "Message-ID: <r2@example.com>\n\nStill broken.\n\nOn Fri, 4 Dec 2026 at 23:53, Fernhill Help "
              "<help@fernhill.example> wrote:\n> we believe your request is solved\n").encode()
    result = intake(mail_desk, "eml", eml(tmp_path, answer, "r2.eml"))
    follow_up = result["messages"][0]["ticket"]
    assert ticket(mail_desk, follow_up)["description"] == "Still broken.", "the old thread is on the old ticket"
    assert follow_up != resolved and f"follow-up to closed {resolved}" in result["messages"][0]["detail"]
    assert ticket(mail_desk, follow_up)["title"] == "Printer", "not 'Solved: Printer': it is an open problem"
    assert ticket(mail_desk, follow_up)["queue"] == "it-helpdesk", "the conversation carries on where it was"
    closing_thanks = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Solved: Printer [{resolved}]\n"
                      "Message-ID: <ty@example.com>\n\nThanks, works now!\n").encode()
    (thanked,) = intake(mail_desk, "eml", eml(tmp_path, closing_thanks, "ty.eml"))["messages"]
    assert (thanked["outcome"], thanked["ticket"]) == ("reply", resolved), "a thank-you opens no ticket"
    assert ticket(mail_desk, resolved)["status"] == "closed"
    template = mail_desk.path / ".gitdesk" / "templates" / "mail" / "question.md"
    template.write_text('---\nsubject: "Update on {{title}} [{{id}}]"\n---\n{{text}}\n')
    mail_desk.git("add", str(template))
    mail_desk.git("commit", "-qm", "Our own subject for questions")
    fresh = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Update one drive sync fails\n"
             b"Message-ID: <od1@example.com>\n\nOneDrive.\n")
    made = intake(mail_desk, "eml", eml(tmp_path, fresh, "od1.eml"))["messages"][0]["ticket"]
    assert ticket(mail_desk, made)["title"] == "Update one drive sync fails", "a prefix ends at a word's end"
    assert f"related: [{resolved}]" in mail_desk.text(follow_up)
    assert ticket(mail_desk, resolved)["status"] == "closed"
    by_tom = intake(mail_desk, "eml", mail_about(resolved, 8, sender="tom@example.com"))["messages"][0]["ticket"]
    acks = [mail_desk.path / path for path in mail_desk.git("ls-files", "outbox").split() if by_tom in path]
    assert [email.message_from_bytes(path.read_bytes())["To"] for path in acks] == ["tom@example.com"], \
        "whoever wrote is told the follow-up's number, not the requester who did not write"

    def said(ticket_id: str, number: int, sender: str, body: str) -> dict:  # type: ignore[type-arg]
        raw = (f"From: {sender}\nTo: help@fernhill.example\nSubject: Re: Solved: Printer [{ticket_id}]\n"
               f"Message-ID: <s{number}@example.com>\n\n{body}\n").encode()
        return intake(mail_desk, "eml", eml(tmp_path, raw, f"s{number}.eml"))["messages"][0]  # type: ignore[no-any-return]

    driver = mail_desk.new("Driver missing", "-q", "it-helpdesk", "--requester", "carol")
    mail_desk.run("--as", "alice", "cc", driver, "+tom@example.com")
    mail_desk.run("--as", "alice", "resolve", driver, "--note", "Installed driver 4.2.")
    said(driver, 1, "tom@example.com", "5 - great service!")
    assert ticket(mail_desk, driver)["status"] == "resolved", "a score and nothing else asks for nothing"
    said(driver, 2, "tom@example.com", "1. The new colleague needs the driver too, please.")
    assert ticket(mail_desk, driver)["status"] == "open", "a numbered request is no score: it reopens"
    mail_desk.run("--as", "alice", "resolve", driver, "--note", "Installed it for her too.")
    mail_desk.run("--as", "alice", "close", driver)
    asked = said(driver, 3, "carol@example.com", "Thanks! Please also install it on Tom's laptop.")
    assert asked["outcome"] == "new" and f"follow-up to closed {driver}" in asked["detail"], \
        "thanks followed by a request is a request"
    closing = said(driver, 4, "carol@example.com", "Thanks, works now, please close it.")
    assert (closing["outcome"], closing["ticket"]) == ("reply", driver), "asking to close asks for nothing more"


def test_mail_that_cannot_be_committed_is_never_reported_as_taken_in(mail_desk: Desk, tmp_path: Path) -> None:
    ticket_id = mail_desk.new("Printer", "-q", "it-helpdesk", "--requester", "carol")
    mail_desk.file(ticket_id).write_text(mail_desk.text(ticket_id) + "\nmy unsaved hand edit\n")
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: [{ticket_id}]\n"
           "Message-ID: <late@example.com>\n\nAny news?\n").encode()
    path = eml(tmp_path, raw)
    result = mail_desk.run("intake", "eml", str(path), "--format", "json", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == ("gitdesk: error: 1 message was not taken in (see the list above; run the same "
                                     "intake again to retry them)")
    record = json.loads(result.stdout)["messages"][0]
    assert record["outcome"] == "failed" and "uncommitted changes" in record["detail"]
    assert "my unsaved hand edit" in mail_desk.text(ticket_id), "the hand edit is untouched"
    mail_desk.git("checkout", "--", f"tickets/{ticket_id}.md")
    assert intake(mail_desk, "eml", path)["counts"]["reply"] == 1, "a re-run picks it up"


def test_two_intakes_of_one_mailbox_at_once_take_each_message_once(mail_desk: Desk, tmp_path: Path) -> None:
    raws = [(f"From: user{n}@example.org\nTo: help@fernhill.example\nSubject: Problem {n}\n"
             f"Message-ID: <p{n}@example.org>\n\nDetails {n}.\n").encode() for n in range(30)]
    box = mbox(tmp_path, *raws)
    runs = [subprocess.Popen([sys.executable, "-m", "gitdesk", "--desk", str(mail_desk.path), "intake", "mbox", str(box)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:
        run.communicate(timeout=120)
        assert run.returncode == 0
    assert len(list((mail_desk.path / "tickets").glob("*.md"))) == 30
    assert mail_desk.status() == ""
    listed = gitdesk_process("check", cwd=mail_desk.path)
    assert listed.returncode == 0, listed.stdout + listed.stderr


def test_a_long_mailbox_lands_in_one_commit_per_chunk(mail_desk: Desk, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.mail import intake as intake_module

    monkeypatch.setattr(intake_module, "CHUNK", 2)
    raws = [(f"From: user{n}@example.org\nTo: help@fernhill.example\nSubject: Problem {n}\n"
             f"Message-ID: <c{n}@example.org>\n\nDetails {n}.\n").encode() for n in range(5)]
    before = mail_desk.commits()
    result = intake(mail_desk, "mbox", mbox(tmp_path, *raws))
    assert result["counts"]["new"] == 5 and len(result["commits"]) == 3
    assert mail_desk.commits() == before + 3


def test_intake_names_a_missing_or_wrong_mailbox_in_one_line(mail_desk: Desk, tmp_path: Path) -> None:
    assert mail_desk.fails("intake", "mbox", str(tmp_path / "nope.mbox")).startswith("gitdesk: error: no such mbox")
    (tmp_path / "folder").mkdir()
    assert "is not a maildir" in mail_desk.fails("intake", "maildir", str(tmp_path / "folder"))


def test_one_hostile_message_never_holds_up_the_rest_of_the_mailbox(mail_desk: Desk, tmp_path: Path) -> None:
    """Cases a fresh-eyes review found: each once crashed intake or failed its whole chunk."""
    def mail(number: int, headers: str, body: bytes = b"Hello.\n") -> bytes:
        return f"To: help@fernhill.example\nMessage-ID: <h{number}@example.org>\n{headers}\n".encode() + b"\n" + body

    long_name = "漢" * 120 + ".pdf"
    messages = [
        mail(1, "From: erin@example.org\nSubject: Scan\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b",
             f"--b\nContent-Type: text/plain\n\nScan attached.\n--b\nContent-Type: application/pdf\n"
             f"Content-Disposition: attachment; filename*=utf-8''{urllib.parse.quote(long_name)}"
             f"\n\nPDF\n--b--\n".encode()),
        mail(2, "From: c1@example.org\nSubject: =?utf-8?q?x=C2=9By?="),
        mail(3, "From: " + "(" * 5000 + "a@example.org\nSubject: nested comments"),
        mail(4, "From: dates@example.org\nSubject: far future\nDate: Fri, 31 Dec 9999 23:59:59 -2359"),
        mail(5, "From: root@localhost\nSubject: cron output"),
        mail(6, "From: bogus@example.org\nSubject: odd name\nMIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=b",
             b"--b\nContent-Type: text/plain; charset=undefined\n\nText.\n--b\nContent-Type: text/plain\n"
             b"Content-Disposition: attachment; filename=\"=?x-bogus?q?a.txt?=\"\n\nA\n--b--\n"),
        "From: José <jose@example.org>\nTo: help@fernhill.example\nMessage-ID: <h7@example.org>\n"
        "Subject: héllo wörld, my printer.\n\nRaw UTF-8 headers.\n".encode(),
        # html.parser rescans the rest of the input for every unclosed tag: minutes for this one mail.
        mail(8, "From: html@example.org\nSubject: unclosed tags\nContent-Type: text/html",
             b"<p>Before</p>" + b"<a " * 70_000 + b"<!--x>" * 30_000),
        mail(9, "From: codec@example.org\nSubject: exotic codec\nContent-Type: text/plain; charset=unicode_escape",
             b"hello \\ud800 there\n"),
    ]
    result = intake(mail_desk, "mbox", mbox(tmp_path, *messages))
    outcomes = {m["position"]: (m["outcome"], m["detail"]) for m in result["messages"]}
    assert result["counts"]["failed"] == 0, outcomes
    assert outcomes["message 1"][0] == "new"
    first = result["messages"][0]["ticket"]
    stored = [p.name for p in (mail_desk.path / "attachments" / first).iterdir()]
    assert len(stored) == 1 and stored[0].endswith(".pdf") and len(stored[0].encode()) <= 150
    assert outcomes["message 2"][0] == "new" and "\x9b" not in mail_desk.text(result["messages"][1]["ticket"])
    assert outcomes["message 3"] == ("skipped", "malformed: no sender address (From:)")
    assert outcomes["message 4"][0] == "new"
    assert outcomes["message 5"] == ("skipped", "the sender 'root@localhost' is not an address a ticket can hold "
                                                "(set mail.local_senders: true to take in mail from machines such "
                                                "as cron)")
    assert outcomes["message 6"][0] == "new"
    assert "Text." in mail_desk.text(result["messages"][5]["ticket"])
    jose = mail_desk.text(result["messages"][6]["ticket"])
    assert "title: héllo wörld, my printer." in jose and "requester: jose@example.org" in jose
    assert "queue: it-helpdesk" in jose, "a keyword before a full stop still routes"
    assert outcomes["message 8"][0] == "new"
    assert outcomes["message 9"][0] == "new"
    assert mail_desk.text(result["messages"][7]["ticket"]).split("---\n", 2)[2].startswith("Before\n<a <a ")
    assert not (mail_desk.path / ".git" / "gitdesk" / "journal.json").exists()
    mail_desk.new("Still works afterwards")


def test_a_very_long_thread_continues_in_a_related_ticket(mail_desk: Desk, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.mail import intake as intake_module

    monkeypatch.setattr(intake_module, "MAX_THREAD", 3)
    mail_desk.configure(MAIL_CONFIG.replace("  address: help@fernhill.example\n",
                                            "  address: help@fernhill.example\n  notify: {acknowledgement: false}\n"),
                        "No acknowledgements: only the requester's mail counts here")
    replies = [(f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer\n"
                f"Message-ID: <t{n}@example.com>\nIn-Reply-To: <t{n - 1}@example.com>\n\nMore {n}.\n").encode()
               for n in range(1, 5)]
    replies.append(b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer\n"
                   b"Message-ID: <late@example.com>\nIn-Reply-To: <t1@example.com>\n\nAn answer to an old one.\n")
    first = b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Printer\nMessage-ID: <t0@example.com>\n\nJam.\n"
    result = intake(mail_desk, "mbox", mbox(tmp_path, first, *replies))
    outcomes = [m["outcome"] for m in result["messages"]]
    assert outcomes == ["new", "reply", "reply", "new", "reply", "reply"]
    original, continued = result["messages"][0]["ticket"], result["messages"][3]["ticket"]
    assert "is over 3 mails: continued here" in result["messages"][3]["detail"]
    assert f"related: [{original}]" in mail_desk.text(continued)
    assert result["messages"][4]["ticket"] == continued
    assert result["messages"][5]["ticket"] == continued, "answers to older mail follow the thread, not a third ticket"


def test_an_answer_to_a_full_thread_reopens_its_resolved_continuation(mail_desk: Desk, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.mail import intake as intake_module

    monkeypatch.setattr(intake_module, "MAX_THREAD", 4)
    thread = [(f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Printer\nMessage-ID: <p{n}@example.com>\n"
               + (f"In-Reply-To: <p{n - 1}@example.com>\n" if n else "") + f"\nJam {n}.\n").encode() for n in range(4)]
    taken = intake(mail_desk, "mbox", mbox(tmp_path, *thread))["messages"]
    assert [item["outcome"] for item in taken] == ["new", "reply", "reply", "new"], "its acknowledgement counts too"
    continued = taken[3]["ticket"]
    mail_desk.run("--as", "alice", "resolve", continued, "--note", "Replaced the fuser.")
    late = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer\n"
            b"Message-ID: <late@example.com>\nIn-Reply-To: <p1@example.com>\n\nIt jams again.\n")
    (again,) = intake(mail_desk, "eml", eml(tmp_path, late, "late.eml"))["messages"]
    assert (again["outcome"], again["ticket"]) == ("reply", continued), "not a second continuation"
    assert ticket(mail_desk, continued)["status"] == "open"


def test_a_full_thread_continues_with_its_requester_and_cc_whoever_writes_first(
        mail_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.mail import intake as intake_module

    monkeypatch.setattr(intake_module, "MAX_THREAD", 3)
    mail_desk.configure(MAIL_CONFIG.replace("  address: help@fernhill.example\n",
                                            "  address: help@fernhill.example\n  notify: {acknowledgement: false}\n"),
                        "No acknowledgements: only the mail written counts here")
    first = (b"From: Carol Kent <carol@example.com>\nTo: help@fernhill.example\nCc: tom@example.com\n"
             b"Subject: Printer\nMessage-ID: <c0@example.com>\n\nJam.\n")
    more = [(f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer\n"
             f"Message-ID: <c{n}@example.com>\nIn-Reply-To: <c{n - 1}@example.com>\n\nMore {n}.\n").encode()
            for n in (1, 2)]
    taken = intake(mail_desk, "mbox", mbox(tmp_path, first, *more))["messages"]
    original = taken[0]["ticket"]
    mail_desk.run("--as", "alice", "assign", original, "alice")
    from_tom = (b"From: tom@example.com\nTo: help@fernhill.example\nCc: carol@example.com, outsider@else.example\n"
                b"Subject: Re: Printer\n"
                b"Message-ID: <tom-1@example.com>\nIn-Reply-To: <c2@example.com>\n\nSame on my floor.\n")
    (by_tom,) = intake(mail_desk, "eml", eml(tmp_path, from_tom, "tom.eml"))["messages"]
    continued = ticket(mail_desk, by_tom["ticket"])
    assert by_tom["outcome"] == "new" and by_tom["ticket"] != original
    assert (continued["requester"], continued["cc"], continued["assignee"]) == \
        ("carol@example.com", ["tom@example.com"], "alice"), \
        "carol's conversation goes on, with alice, and without whoever tom copied"
    from_carol = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Printer\n"
                  b"Message-ID: <c3@example.com>\nIn-Reply-To: <c1@example.com>\n\nStill jams.\n")
    (by_carol,) = intake(mail_desk, "eml", eml(tmp_path, from_carol, "carol.eml"))["messages"]
    assert (by_carol["outcome"], by_carol["ticket"]) == ("reply", by_tom["ticket"]), "not a third ticket"


def test_an_agent_answering_in_a_full_thread_replies_on_the_continuation(
        mail_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.mail import intake as intake_module

    monkeypatch.setattr(intake_module, "MAX_THREAD", 2)
    first = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Printer\n"
             b"Message-ID: <a0@example.com>\n\nJam.\n")
    original = intake(mail_desk, "eml", eml(tmp_path, first, "a0.eml"))["messages"][0]["ticket"]
    by_alice = (b"From: alice@fernhill.example\nTo: carol@example.com\nCc: help@fernhill.example\n"
                b"Subject: Re: Printer\nMessage-ID: <a1@fernhill.example>\nIn-Reply-To: <a0@example.com>\n\n"
                b"Working on it.\n")
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, by_alice, "a1.eml"))["messages"]
    continued = ticket(mail_desk, taken["ticket"])
    assert taken["ticket"] != original and continued["requester"] == "carol@example.com"
    assert "continues" in continued["description"] and continued["conversation"][-1]["author"] == "alice"
    assert "Working on it." in continued["conversation"][-1]["text"], "the agent's words are a reply"
    assert not [path for path in mail_desk.committed_files() if path.startswith("outbox/")], \
        "carol got alice's own mail: no acknowledgement"


def test_mail_that_holds_nul_bytes_or_mislabelled_utf16_is_cleaned_not_retried_forever(mail_desk: Desk,
                                                                                       tmp_path: Path) -> None:
    nul = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Scanner\nMessage-ID: <nul-1@example.com>\n"
           b"Content-Type: text/plain; charset=utf-8\n\nThe scanner\x00 jams\x00.\n")
    utf16 = (b"From: carol@example.com\nTo: help@fernhill.example\nSubject: Heating\nMessage-ID: <u16-1@example.com>\n"
             b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
             + "The heating in room 2.14 is off.".encode("utf-16-le") + b"\n")
    result = intake(mail_desk, "mbox", mbox(tmp_path, nul, utf16))
    assert [m["outcome"] for m in result["messages"]] == ["new", "new"]
    texts = [ticket(mail_desk, m["ticket"])["description"] for m in result["messages"]]
    assert texts == ["The scanner jams.", "The heating in room 2.14 is off."]


def test_mail_from_a_machine_is_taken_in_where_the_desk_says_so(mail_desk: Desk, tmp_path: Path) -> None:
    cron = (b"From: root@backup01\nTo: help@fernhill.example\nSubject: Backup failed\n"
            b"Message-ID: <cron-1@backup01>\n\nrsync exited 23\n")
    skipped = intake(mail_desk, "eml", eml(tmp_path, cron, "cron.eml"))
    assert skipped["messages"][0]["outcome"] == "skipped"
    assert "set mail.local_senders: true" in skipped["messages"][0]["detail"]
    mail_desk.configure(MAIL_CONFIG.replace("  aliases:", "  local_senders: true\n  aliases:"), "internal desk")
    taken = intake(mail_desk, "eml", eml(tmp_path, cron, "cron.eml"))
    assert taken["messages"][0]["outcome"] == "new"
    assert ticket(mail_desk, taken["messages"][0]["ticket"])["requester"] == "root@backup01"
    assert mail_desk.run("check").exit_code == 0


def test_a_mail_too_long_for_a_ticket_is_taken_in_once_with_its_whole_text_attached(
        mail_desk: Desk, tmp_path: Path) -> None:
    mail_desk.configure(MAIL_CONFIG.replace("max_attachment_bytes: 1KB", "max_attachment_bytes: 10MB"),
                        "room for a pasted log")
    log = "".join(f"12:{n % 60:02d} backup01 rsync: error in file {n}\n" for n in range(80_000))  # 3 MB
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Backup log\n"
           f"Message-ID: <log-1@example.com>\n\nThe backup failed again, the log is below.\n\n{log}").encode()
    result = intake(mail_desk, "eml", eml(tmp_path, raw, "log.eml"))
    (taken,) = result["messages"]
    assert taken["outcome"] == "new", "taken in, not 'failed' at every intake"
    description = ticket(mail_desk, taken["ticket"])["description"]
    assert description.startswith("The backup failed again") and len(description) < 300_000
    assert "is cut here; the whole text is attached, the first of the attachments below." in description
    assert f"attachments/{taken['ticket']}/mail-text.txt" in description
    kept = mail_desk.path / "attachments" / taken["ticket"] / "mail-text.txt"
    assert kept.read_text().endswith("rsync: error in file 79999\n".rstrip())
    again = intake(mail_desk, "eml", eml(tmp_path, raw, "log.eml"))
    assert again["messages"][0]["outcome"] == "skipped", "and not a second time"
    assert mail_desk.run("check").exit_code == 0

    # Long answers fill the ticket file; then the thread continues in one related ticket.
    answers = [(f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Backup log\n"
                f"Message-ID: <log-{n + 1}@example.com>\nIn-Reply-To: <log-{n}@example.com>\n\n"
                f"Night {n}:\n{log[:300_000]}").encode() for n in range(1, 12)]
    outcomes = intake(mail_desk, "mbox", mbox(tmp_path, *answers[:9]))["messages"]
    outcomes += intake(mail_desk, "mbox", mbox(tmp_path, *answers[9:], name="later.mbox"))["messages"]
    kinds = [item["outcome"] for item in outcomes]
    assert kinds[:5] == ["reply"] * 5 and kinds.count("new") == 1, kinds
    continued = outcomes[kinds.index("new")]
    assert f"the ticket file of {taken['ticket']} is nearly full: continued here" in continued["detail"]
    assert f"related: [{taken['ticket']}]" in mail_desk.text(continued["ticket"])
    assert {item["ticket"] for item in outcomes[kinds.index("new"):]} == {continued["ticket"]}, \
        "later answers follow the continuation, in this run and the next"
    assert mail_desk.run("check").exit_code == 0


def test_a_reply_whose_attachments_would_overflow_its_ticket_continues_in_a_related_one(
        mail_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.mail import intake as intake_module

    monkeypatch.setattr(intake_module, "FULL_BYTES", 10 * 1024 * 1024)  # as if the size looked fine
    mail_desk.configure(MAIL_CONFIG.replace("max_attachment_bytes: 1KB", "max_attachment_bytes: 10MB"),
                        "room for attachments")
    line = "a long line of tonight's log\n"
    thread = [(f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Logs\nMessage-ID: <full-{n}@example.com>\n"
               f"{f'In-Reply-To: <full-{n - 1}@example.com>' if n else ''}\n\n{line * 9_000}").encode() for n in range(7)]
    first, *rest = intake(mail_desk, "mbox", mbox(tmp_path, *thread))["messages"]
    assert [item["outcome"] for item in rest] == ["reply"] * 6 and len(mail_desk.text(first["ticket"])) > 1_700_000
    parts = "".join(f"--b\nContent-Type: text/plain\nContent-Disposition: attachment; "
                    f"filename=\"{'n' * 140}-{n}.txt\"\n\nlog {n}\n" for n in range(400))
    answer = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Re: Logs\n"
              f"Message-ID: <full-7@example.com>\nIn-Reply-To: <full-6@example.com>\nMIME-Version: 1.0\n"
              f"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
              f"{'More of the log. ' * 20_000}\n{parts}--b--\n").encode()
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, answer, "answer.eml"))["messages"]
    assert taken["outcome"] == "new" and f"the ticket file of {first['ticket']} is full" in taken["detail"], \
        "taken in once, not refused at every intake"
    assert mail_desk.run("check").exit_code == 0


def test_a_sender_address_mail_cannot_answer_is_taken_in_with_a_note_for_the_agent(mail_desk: Desk,
                                                                                   tmp_path: Path) -> None:
    raw = ("From: üser@exämple.example\nTo: help@fernhill.example\nSubject: Login\n"
           "Message-ID: <u-1@exämple.example>\n\nI cannot log in.\n").encode()
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "u.eml"))["messages"]
    assert taken["outcome"] == "new", "taken in once, not 'failed' at every intake"
    assert not [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    (note,) = ticket(mail_desk, taken["ticket"])["conversation"]
    assert note["kind"] == "note" and note["text"].startswith("No acknowledgement was sent: cannot mail")
    assert "gitdesk set ID requester ADDRESS" in note["text"]
    assert "the part before the @ has non-ASCII letters" in note["text"] and "characters)" not in note["text"]
    assert intake(mail_desk, "eml", eml(tmp_path, raw, "u.eml"))["messages"][0]["outcome"] == "skipped"
    refused = mail_desk.run("--as", "alice", "reply", taken["ticket"], "-m", "Try again", ok=False)
    assert refused.exit_code == 1 and "cannot mail" in refused.output and "--no-send" in refused.output
    assert mail_desk.run("--as", "alice", "reply", taken["ticket"], "--no-send", "-m", "Try again").exit_code == 0
    assert mail_desk.run("check").exit_code == 0


def test_a_cc_mail_cannot_answer_is_left_out_and_an_international_domain_is_written_in_ascii(
        mail_desk: Desk, tmp_path: Path) -> None:
    raw = ("From: Good Sender <good@ok.example>\nTo: help@fernhill.example\nCc: \u00fcnal@umlaut.example, "
           "idn@b\u00fccher.example\nSubject: Printer\nMessage-ID: <cc-1@ok.example>\n\nIt jams.\n").encode()
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "cc.eml"))["messages"]
    shown = ticket(mail_desk, taken["ticket"])
    assert shown["cc"] == ["idn@b\u00fccher.example"]
    (note,) = shown["conversation"]
    assert note["text"].startswith("Not kept in the Cc, as this desk's mail cannot be written to them: "
                                   "\u00fcnal@umlaut.example")
    mail_desk.run("--as", "alice", "reply", taken["ticket"], "-m", "Looking into it")
    (answer,) = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    headers = (mail_desk.path / answer).read_text().split("\r\n\r\n", 1)[0]
    assert "To: Good Sender <good@ok.example>" in headers and "Cc: idn@xn--bcher-kva.example" in headers
    sent = json.loads(mail_desk.run("mail", "send", "--dry-run", "--format", "json").stdout)["messages"]
    assert sorted(message["to"] for message in sent) == [["good@ok.example"],
                                                        ["good@ok.example", "idn@xn--bcher-kva.example"]]


def test_an_international_domain_goes_out_by_idna_2008(mail_desk: Desk, tmp_path: Path) -> None:
    raw = ("From: hans@stra\u00dfe.de\nTo: help@fernhill.example\nSubject: VPN\nMessage-ID: <h-1@x.de>\n\n"
           "It drops.\n").encode()
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "h.eml"))["messages"]
    (ack,) = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert "To: hans@xn--strae-oqa.de" in (mail_desk.path / ack).read_text(), "not strasse.de: another domain"
    assert ticket(mail_desk, taken["ticket"])["requester"] == "hans@stra\u00dfe.de", "kept as the mail wrote it"
    answer = (f"From: hans@XN--STRAE-OQA.de\nTo: help@fernhill.example\nSubject: Re: VPN [{taken['ticket']}]\n"
              f"Message-ID: <h-2@x.de>\nIn-Reply-To: <h-1@x.de>\n\nStill drops.\n").encode()
    (again,) = intake(mail_desk, "eml", eml(tmp_path, answer, "h2.eml"))["messages"]
    assert (again["outcome"], again["ticket"]) == ("reply", taken["ticket"]), "one person in either form"
    other = (f"From: hans@strasse.de\nTo: help@fernhill.example\nSubject: Re: VPN [{taken['ticket']}]\n"
             f"Message-ID: <h-3@x.de>\nIn-Reply-To: <h-1@x.de>\n\nMe too.\n").encode()
    (stranger,) = intake(mail_desk, "eml", eml(tmp_path, other, "h3.eml"))["messages"]
    assert stranger["outcome"] == "new", "strasse.de is another domain, not straße.de spelt differently"


def test_a_mail_with_thousands_of_attachments_keeps_two_hundred_and_counts_the_rest(mail_desk: Desk,
                                                                                   tmp_path: Path) -> None:
    parts = "".join(f"--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"{'n' * 120}-{n}.txt\""
                    f"\n\nlog {n}\n" for n in range(9000))
    raw = (f"From: carol@example.com\nTo: help@fernhill.example\nSubject: Logs\nMessage-ID: <many@example.com>\n"
           f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
           f"All the logs.\n{parts}--b--\n").encode()
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, raw, "many.eml"))["messages"]
    assert taken["outcome"] == "new", "not refused at every intake"
    description = ticket(mail_desk, taken["ticket"])["description"]
    assert description.endswith("- 8800 more: not kept, over 200 attachments in one message")
    assert mail_desk.run("check").exit_code == 0


@pytest.mark.parametrize(("one", "other", "same"), [
    ("Kai@Bücher.example", "kai@xn--bcher-kva.example", True), ("uli@straße.de", "uli@strasse.de", False),
    ("ALICE@fernhill.example", "alice@fernhill.example", True), ("alice", "Alice", True),
    ("x@😀.example", "x@😀.example", True),
])
def test_one_key_for_every_spelling_of_an_address(one: str, other: str, same: bool) -> None:
    from gitdesk.text import address_key

    assert (address_key(one) == address_key(other)) is same


def test_a_folder_given_as_dot_is_named_by_the_folder(mail_desk: Desk, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "saved-mails"
    folder.mkdir()
    (folder / "a.eml").write_bytes(b"From: a@example.org\nTo: help@fernhill.example\nSubject: hi\n"
                                   b"Message-ID: <dot-1@example.org>\n\nhello\n")
    monkeypatch.chdir(folder)
    assert intake(mail_desk, "eml", Path("."))["source"] == "saved-mails", "not an empty name"


@pytest.mark.parametrize("answer, thanks", [
    ("Thank you so much, the laptop still works great!", True),
    ("Thanks, no more errors since then.", True),
    ("Thanks, the VPN no longer drops.", True),
    ("Thanks! It has not failed once since.", True),
    ("Thanks, no longer needed.", True),
    ("Danke, keine Fehler mehr!", True),
    ("Thanks, but it still fails.", False),
    ("Thanks, but it no longer prints at all.", False),
    ("Thanks but it has not worked since.", False),
    ("Danke, geht nicht mehr.", False),
    ("Vielen Dank, der Fehler tritt nicht mehr auf.", True),  # German puts the verb first: read plainly
    ("Thanks. Outlook is still running very slowly.", False),
    ("Thanks, no more errors, but the report is empty now.", False),
    ("Thanks, no longer broken on Windows. On the Mac it does nothing.", False),
    ("Thanks. It hasn't failed since Monday, until today.", False),
    ("Danke, es stürzt nicht mehr ab.", True),
    ("Thanks, no more errors!\n\nThe invoices now print blank pages.", False),  # good news, then a problem
    ("Thanks, I no longer get logged out every hour!", True),
    ("Danke, ist nicht mehr nötig.", True),
    ("Thanks, I no longer have the problem.", True),
    ("Thanks, we no longer need this.", True),
    ("Thanks, the printer no longer prints.", False),
    ("Thanks. It jams again, see the photo.", False),  # the old problem back, in its own words
    ("Thanks. The problem is back.", False),
    ("Thanks, the printer no longer jams.", True),
    ("Thank you, glad to be back online.", True),
    ("Thanks, the Wi-Fi is back!", True),  # good news that names no trouble
    ("Thanks for clearing the paper jam!", True),
    ("Thanks James, works now!", True),
    ("Thanks. It happened again this morning.", False),
])
def test_a_thank_you_that_names_the_old_problem_as_gone_does_not_reopen(answer: str, thanks: bool) -> None:
    """Requesters thank in the words of their problem ("no more errors"): that is not the
    problem back, and a resolved ticket must not reopen (nor a closed one start a follow-up,
    with its acknowledgement and a missed first-response target)."""
    from gitdesk.mail.words import just_thanks

    assert just_thanks(answer) is thanks


def test_a_signature_logo_in_every_reply_is_kept_once(mail_desk: Desk, tmp_path: Path) -> None:
    """Outlook sends the signature's logo with each reply: image001.png, image001-2.png,
    image001-3.png… piled up in the ticket's folder."""
    def mail(n: int, subject: str, text: str) -> bytes:
        logo = base64.b64encode(b"\x89PNG logo bytes").decode()
        return (f"From: olga@cust.example\nTo: help@fernhill.example\nSubject: {subject}\n"
                f"Message-ID: <logo{n}@cust.example>\nContent-Type: multipart/related; boundary=b\n\n--b\n"
                f"Content-Type: text/plain\n\n{text}\n--b\nContent-Type: image/png\nContent-ID: <image001>\n"
                "Content-Disposition: inline; filename=image001.png\nContent-Transfer-Encoding: base64\n\n"
                f"{logo}\n--b--\n").encode()

    (first,) = intake(mail_desk, "eml", eml(tmp_path, mail(1, "Scanner offline", "It is offline.")))["messages"]
    found = first["ticket"]
    intake(mail_desk, "eml", eml(tmp_path, mail(2, f"Re: Scanner offline [{found}]", "Still offline."), "2.eml"))
    assert sorted(path.name for path in (mail_desk.path / "attachments" / found).iterdir()) == ["image001.png"]
    assert "[image001.png](../attachments/" in mail_desk.text(found).split("Still offline.")[1]


def test_a_mailing_list_s_tag_does_not_title_the_ticket(mail_desk: Desk, tmp_path: Path) -> None:
    raw = (b"From: pat@fernhill.example\nTo: it-users@fernhill.example\nSubject: [it-users] Scanner offline\n"
           b"Message-ID: <tag@fernhill.example>\nList-Id: IT users <it-users.fernhill.example>\n\nIt is offline.\n")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, raw))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "Scanner offline"
    other = raw.replace(b"<tag@", b"<tag2@").replace(b"[it-users]", b"[urgent]")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, other, "2.eml"))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "[urgent] Scanner offline", "not the list's: the sender's"
    part = raw.replace(b"<tag@", b"<tag3@").replace(b"[it-users]", b"[it]")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, part, "3.eml"))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "[it] Scanner offline", "a part of its name is not its name"
    shown = raw.replace(b"<tag@", b"<tag4@").replace(b"[it-users]", b"[IT users]")
    (item,) = intake(mail_desk, "eml", eml(tmp_path, shown, "4.eml"))["messages"]
    assert ticket(mail_desk, item["ticket"])["title"] == "Scanner offline", "the list's name as it shows it"
