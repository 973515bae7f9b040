"""One incoming mail message, read defensively into what the desk needs.

Everything here is untrusted: headers may be missing or broken, charsets
wrong, bodies HTML only, attachment names hostile. ``parse`` either returns
an ``Incoming`` or raises ``MalformedMessage`` with a one-line reason; it
never writes anything.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import email
import email.header
import email.policy
import email.quoprimime
import email.utils
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.message import Message

from gitdesk.mail import html as htmltext
from gitdesk.model import Ticket
from gitdesk.text import address_key, clean_line

LOOP_HEADER = "X-Gitdesk-Desk"  # set on every mail gitdesk sends; seen coming back, it is a loop
MESSAGE_IDS = "message_ids"  # front-matter field: every Message-ID of a ticket's mail thread
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|antw|tr|r|rif|odp|pd|rv|vb|doorst|fs|res|enc|"
                           r"回复|回覆|答复|转发|轉寄|返信|転送)"
                           r"\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")
_RETURNED_ID = re.compile(r"^Message-ID:[ \t]*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE)
_SURROGATES = re.compile("[\ud800-\udfff]")
_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never text; a ticket file refuses NUL
# The phrase a mail program puts before the subject it answers ("Automatische Antwort: …"), or
# the whole subject: never a prefix of a word or a request ("Abwesende Kollegen im Kalender",
# "Automatische Antwort einrichten funktioniert nicht", "Fuera de la oficina no puedo …").
# Outlook's words in each language it writes them in (Exchange 2003: "Out of Office AutoReply:").
_AUTO_SUBJECT = re.compile(r"^\s*(\[(?=(auto(matic)?[- ]?reply|out of (the )?office)\]\s*[^\s:\]]{1,24}\s*:))?"
                           r"(automatic reply|auto(matic)?[- ]?reply|out of (the )?office( auto ?reply)?|"
                           r"autosvar|automatiskt? svar|automaattinen vastaus|"
                           r"abwesenheitsnotiz|automatische antwort|abwesend|réponse automatique|"
                           r"absent(?=\s+:\s*(re|tr|fwd?)\s*:)|"
                           r"absen(ce|t) du bureau|respuesta automática|fuera de la oficina|risposta automatica|"
                           r"fuori (sede|ufficio)|automatisch antwoord|afwezig|automatyczna odpowiedź|"
                           r"odpowiedź automatyczna|resposta automática|automatická odpověď|otomatik yanıt|"
                           r"автоматический ответ|"
                           r"自动回复|自動回覆|自動応答|自動返信|"
                           r"undeliver(able|ed)|delivery status notification|mail delivery (failed|subsystem))"
                           # "[Auto-Reply] Re: …", "[Out of Office] Solved: …", "Out of Office Re: …":
                           # the subject it answers follows (a reply's, or one of the desk's own)
                           r"(\]\s*[^\s:\]]{1,24}\s*:|\s+(re|aw|antw|sv|r)\s*:|\s*(:|：|\(|\[|-|$))", re.IGNORECASE)


class MalformedMessage(Exception):
    """A message that cannot be taken in; the text says why in one line."""


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str  # as the sender named it: untrusted, see attachments.safe_name
    data: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a delivery report says: the Message-IDs it quotes (ours among them, if it is
    about our mail), who could not be reached, and why."""

    quoted: tuple[str, ...]
    recipient: str | None
    reason: str


NO_SUBJECT_ROOM = 60  # characters of a mail's first line that title it when it has no subject


def _cut(text: str, room: int) -> str:
    """``text`` in ``room`` characters, cut at a word (if one ends in its second half), with "…"."""
    if len(text) <= room:
        return text
    cut = text[:room - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[room // 2:] else cut).rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Incoming:
    message_id: str  # "<...>"; made up from the bytes when the message has none
    references: tuple[str, ...]  # In-Reply-To and References, oldest first
    subject: str  # decoded, one line, control characters removed
    sender: str  # the From address
    sender_name: str
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To (lower case)
    date: datetime | None
    text: str  # the readable body
    attachments: tuple[Attachment, ...]
    automatic: str | None  # why this is an auto-reply or a bounce, else None
    desk_header: str | None  # our loop header, if the message carries it
    forwarded_from: str | None = None  # the original sender of a forwarded message
    forwarded_name: str | None = None  # their name, as the forwarded message gave it
    unauthenticated: str | None = None  # the receiving server's verdict when it says the From: is forged
    bounce: Bounce | None = None  # for a delivery report: what it says about which mail
    addressed: tuple[str, ...] = ()  # To and Cc as written (case kept): who else was in the conversation
    # The sender asks for no automatic answers (Exchange's X-Auto-Response-Suppress: All or
    # AutoReply; OOF alone asks only for no out-of-office notices): taken in, not acknowledged.
    no_auto_reply: bool = False
    list_id: str = ""  # a mailing list's List-Id (or its List-Unsubscribe, when it names none)
    # Who a list that rewrites From: wrote for ("'Yara' via Help" <help@…>, because her domain's
    # DMARC forbids relaying it as hers): X-Original-From, or Reply-To when From says "via".
    relayed_for: tuple[str, str] | None = None
    list_post: str | None = None  # a mailing list's own address (List-Post: <mailto:…>)
    # For mail without a Message-ID: the stand-in gitdesk 0.1 made (of every byte), so mail it took
    # in is known after an upgrade.
    former_id: str | None = None

    @property
    def title(self) -> str:
        """The subject without Re:/Fwd: prefixes, for a new ticket's title: a subject longer than
        a title (intake keeps it whole in the description) is cut at a word, with "…"."""
        subject = without_reply_prefix(self.subject)
        if len(subject) > TITLE_ROOM:
            return _cut(subject, TITLE_ROOM)
        if not subject:  # the first words of the mail: a queue of "(no subject)" rows says nothing
            first = next((clean_line(line) for line in self.text.split("\n") if clean_line(line)), "")
            return _cut(first, NO_SUBJECT_ROOM) if first else "(no subject)"
        return subject

    @property
    def long_subject(self) -> str | None:
        """The whole subject when the title had to cut it."""
        subject = without_reply_prefix(self.subject)
        return subject if len(subject) > TITLE_ROOM else None


TITLE_ROOM = 200  # the longest title a mail's subject makes


def without_reply_prefix(subject: str) -> str:
    """``subject`` without its Re:/Fwd:/AW: prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


def _raw_text(value: object) -> str:
    """A header value as text. Raw 8-bit headers (common, though not allowed) come from the
    parser as undecodable bytes: read them as UTF-8, else Windows-1252, not as U+FFFD."""
    if isinstance(value, email.header.Header):
        parts = []
        for chunk, charset in email.header.decode_header(value):
            if isinstance(chunk, str):
                parts.append(chunk)
            elif charset in (None, "unknown-8bit"):
                parts.append(_bytes_text(chunk))
            else:
                parts.append(_text_of(chunk, charset) or _bytes_text(chunk))
        return "".join(parts)
    return str(value)


def _bytes_text(data: bytes) -> str:
    for candidate in ("utf-8", "cp1252"):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    return _unlabelled(data)


# The scripts East Asian charsets write: hiragana, katakana, CJK punctuation and ideographs,
# full-width forms; Hangul.
_JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff60]")
_HANGUL = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uac00-\ud7af\uff01-\uff60]")
_HAN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff60]")
_LEGACY = (("cp932", _JAPANESE), ("euc_jp", _JAPANESE), ("cp949", _HANGUL), ("big5hkscs", _HAN),
           ("gb18030", _HAN))


def _unlabelled(data: bytes) -> str:
    """Bytes that are neither UTF-8 nor Windows-1252 (which leaves 81 8D 8F 90 9D undefined),
    nor what their label says: East Asian text from an older mailer, read by the charset under which
    most of what it reads is that charset's own script (Shift_JIS text read as anything else is
    half-width katakana or fails), else UTF-8 with U+FFFD for what cannot be read. Mostly valid
    UTF-8 (a Polish mail with one stray byte) is UTF-8."""
    loose = data.decode("utf-8", errors="replace")
    # Text of another charset read as UTF-8 is nearly all U+FFFD past ASCII; UTF-8 with a stray
    # byte or two has its own characters too.
    if loose.count("\ufffd") * 2 <= sum(1 for char in loose if ord(char) > 0x7F):
        return loose
    best, score = None, 0.5
    for candidate, script in _LEGACY:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        wide = [char for char in text if ord(char) > 0x7F]
        share = len(script.findall(text)) / len(wide) if wide else 0.0
        if share > score:
            best, score = text, share
    return best if best is not None else data.decode("utf-8", errors="replace")


# An HTML part's own <meta charset>, as a browser reads it when the mail's header names none.
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot even decode
        return ""
    if value is None:
        return ""
    try:
        text = _raw_text(value)
    except Exception:
        return ""
    return clean_line(_encoded_words(text))


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?[^?\s]+\?[bBqQ]\?)")


def _encoded_words(text: str) -> str:
    """``text`` with the encoded words the lenient path left alone (``=?utf-8?q?J=C3=BCrgen?=``)
    read: adjacent words of one charset together (a mailer may split a character between
    two), each run tried as declared, then as UTF-8, then as Windows-1252, so one word with
    a wrong or unknown charset does not leave the others unread (RFC 2047: the space between
    two encoded words is not part of the text)."""
    if "=?" not in text:
        return text
    text = _BETWEEN_WORDS.sub("", text)
    out: list[str] = []
    position = 0
    run: list[tuple[str, bytes | None, str]] = []  # (charset, bytes, as written) of adjacent words

    def flush() -> None:
        if not run:
            return
        data = b"".join(item[1] for item in run if item[1] is not None)
        if all(item[1] is not None for item in run) and (joined := _text_of(data, run[0][0])) is not None:
            out.append(joined)
        else:
            out.extend(item[2] if item[1] is None else (_text_of(item[1], item[0]) or item[1].decode("latin-1"))
                       for item in run)
        run.clear()

    for match in _ENCODED_WORD.finditer(text):
        charset = match.group(1).split("*", 1)[0].lower()
        if match.start() != position or (run and run[0][0] != charset):
            flush()
            out.append(text[position:match.start()])
        run.append((charset, _word_bytes(match.group(2).upper(), match.group(3)), match.group(0)))
        position = match.end()
    flush()
    out.append(text[position:])
    return "".join(out)


def _word_bytes(encoding: str, encoded: str) -> bytes | None:
    try:
        if encoding == "Q":
            return email.quoprimime.header_decode(encoded).encode("latin-1")
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None


# A label read as the superset mailers mean by it, as browsers and mail clients read it (WHATWG
# Encoding): Windows writes its own characters (“ ” – € ’) under iso-8859-1, GBK's under gb2312,
# cp932's under shift_jis. Read as labelled, those became control characters (then dropped) or
# mojibake; each superset reads all the labelled charset's text the same.
_SUPERSETS = {"iso8859-1": "cp1252", "iso8859-9": "cp1254", "iso8859-11": "cp874", "tis-620": "cp874",
              "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949", "big5": "big5hkscs"}


def _charsets(label: str) -> tuple[str, ...]:
    """What to try for text labelled ``label``: its superset first, then the label itself."""
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return (label,)
    return (_SUPERSETS[name], label) if name in _SUPERSETS else (label,)


def _text_of(data: bytes, charset: str) -> str | None:
    """``data`` as declared, else as UTF-8 (one word's bytes, or a run's), else None."""
    for candidate in (*_charsets(charset), "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    found = []
    for name in names:
        try:
            values = message.get_all(name) or []
        except Exception:
            continue
        try:
            pairs = email.utils.getaddresses([_raw_text(value) for value in values])
        except Exception:  # e.g. thousands of nested comments: RecursionError
            continue
        for display, address in pairs:
            if "@" in address:
                found.append((clean_line(_encoded_words(display)), address.strip().lower()))
    return found



def _decoded(part: Message) -> str:
    """A text part's content, whatever its charset claims. UTF-16 sent under another label
    (every other byte a NUL) is read as UTF-16; NUL and other control bytes are dropped,
    so no message is unstorable because of them."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset()
    if charset in (None, "us-ascii") and part.get_content_type() == "text/html":
        meta = _META_CHARSET.search(payload[:4096])
        charset = meta.group(1).decode("ascii").lower() if meta else charset
    return _TEXT_CONTROLS.sub("", _as_text(payload, charset or "utf-8"))


def _as_text(payload: bytes, charset: str) -> str:
    if payload[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or _looks_utf16(payload):
        for candidate in ("utf-16", "utf-16-le", "utf-16-be"):
            try:
                return payload.decode(candidate)
            except UnicodeError:
                continue
    for candidate in (*_charsets(charset), "utf-8", "cp1252"):
        try:
            if not codecs.lookup(candidate)._is_text_encoding:  # unicode_escape and friends make lone surrogates
                continue
            return _SURROGATES.sub("\ufffd", payload.decode(candidate))
        except (LookupError, UnicodeError):
            continue
    return _unlabelled(payload)  # mislabelled (Shift_JIS sent as ISO-2022-JP) or labelled nothing


def _looks_utf16(payload: bytes) -> bool:
    """Text in UTF-16 without a BOM: most of one byte of each pair is NUL."""
    sample = payload[:400]
    if len(sample) < 8:
        return False
    return max(sample[0::2].count(0), sample[1::2].count(0)) > len(sample) // 4


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        return None
    if "\ufffd" in name:  # raw 8-bit bytes in the header (common, though not allowed): read them
        with contextlib.suppress(Exception):
            again = Message()
            for header in ("Content-Disposition", "Content-Type"):
                if part.get(header) is not None:
                    again[header] = _raw_text(part.get(header))
            name = again.get_filename() or name
    return _encoded_words(str(name))


class _Body:
    """What a walk over the parts collects."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.forwarded_from: str | None = None
        self.forwarded_name: str | None = None


def _walk(message: Message, body: _Body, depth: int = 0) -> None:
    if depth > 20:  # a message nested in itself this deep is an attack, not mail
        raise MalformedMessage("message parts nested more than 20 deep")
    content_type = message.get_content_type()
    if content_type == "message/rfc822":
        inner = message.get_payload()
        inner_message = inner[0] if isinstance(inner, list) and inner else inner
        if isinstance(inner_message, Message):
            _forwarded(inner_message, body, depth)
        return
    if message.is_multipart():
        parts = message.get_payload()
        if not isinstance(parts, list):
            return
        if content_type == "multipart/alternative":
            plain = [p for p in parts if isinstance(p, Message) and p.get_content_type() == "text/plain"]
            chosen = plain[-1:] or [p for p in parts if isinstance(p, Message)][-1:]
            for version in chosen:
                _walk(version, body, depth + 1)
            # The other versions' text is the same words; their files are not: Apple Mail and
            # Thunderbird put a pasted screenshot only beside the HTML (multipart/related).
            for other in parts:
                if isinstance(other, Message) and other not in chosen:
                    scratch = _Body()
                    _walk(other, scratch, depth + 1)
                    body.attachments.extend(found for found in scratch.attachments
                                            if not found.content_type.startswith("text/")
                                            and found not in body.attachments)
            return
        for part in parts:
            if isinstance(part, Message):
                _walk(part, body, depth + 1)
        return
    disposition = (message.get_content_disposition() or "").lower()
    name = _filename(message)
    if disposition != "attachment" and name is None and content_type in ("text/plain", "text/html"):
        (body.texts if content_type == "text/plain" else body.htmls).append(_decoded(message))
        return
    if content_type == "message/delivery-status":
        return
    payload = message.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    body.attachments.append(Attachment(name or "", data, content_type))


def _forwarded(inner: Message, body: _Body, depth: int) -> None:
    """A message attached whole (a forward): its text, under the headers people need."""
    senders = _addresses(inner, "From")
    if senders and body.forwarded_from is None:
        body.forwarded_name, body.forwarded_from = senders[0]
    nested = _Body()
    _walk(inner, nested, depth + 1)
    text = "\n\n".join(nested.texts) or "\n\n".join(htmltext.to_text(h) for h in nested.htmls)
    body.texts.append(f"---------- Forwarded message ----------\nFrom: {_header(inner, 'From')}\n"
                      f"Date: {_header(inner, 'Date')}\nSubject: {_header(inner, 'Subject')}\n\n{text.strip()}")
    body.attachments.extend(nested.attachments)


# Gmail's "---------- Forwarded message ---------", Outlook's "-----Original Message-----" and its
# newer line of underscores, Apple Mail's "Begin forwarded message:", Thunderbird's "-------- Forwarded
# Message --------" (its Subject and Date come first); then the original's From line.
_INLINE_FORWARD = re.compile(r"^(?:-{5,}\s*(?:forwarded message|original message|weitergeleitete nachricht|"
                             r"message transf[ée]r[ée]|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|"
                             r"mensagem encaminhada|przekazana wiadomo[śs][ćc])\s*-{5,}"
                             r"|_{10,}|(?:begin forwarded message|anfang der weitergeleiteten nachricht|"
                             r"d[ée]but du message r[ée]exp[ée]di[ée])\s*:)\s*$"
                             r"(?:\s*^\*?(?:subject|date|betreff|datum|sujet|objet|asunto|fecha|oggetto|data|"
                             r"onderwerp|assunto|temat)\s*:.*$){0,2}"
                             r"\s*^\*?(from|von|de|da|van|od)\s*:\*?\s*(?P<from>.+)$", re.IGNORECASE | re.MULTILINE)


_HEADER_LINE = re.compile(r"^\*?[^\W\d][\w -]{0,24}\s*:\*?\s")


# Outlook's forward prefixes: FW, WG (German), TR (French), RV (Spanish), Doorst (Dutch), VB, VS…
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|rv|doorst|vb|vs|fs|pd|转发|轉寄|転送)\s*[:：]", re.IGNORECASE)


def _forward_at(text: str, subject: str) -> tuple[int, int, str] | None:
    """Where a forwarded mail starts in ``text``, where its From line ends, and that line's
    value. Outlook's desktop program marks a forward with a border, which text loses: under a
    forward's subject (FW:, WG:…), its From/Sent/To block is the forward too."""
    found = _INLINE_FORWARD.search(text)
    if found is not None:
        following = text[found.end():].split("\n", 2)[1:2]
        return found.start(), found.end(), _with_wrapped_address(found.group("from").strip(), following)
    if not _FORWARD_SUBJECT.match(subject):
        return None
    offset = 0
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        header = _OUTLOOK_FROM.match(stripped)
        if header and _outlook_block(lines, index):
            return offset, offset + len(line), _with_wrapped_address(stripped[header.end():].strip(),
                                                                     lines[index + 1:index + 2])
        offset += len(line) + 1
    return None


def _with_wrapped_address(value: str, following: Sequence[str]) -> str:
    """A From line's value with its address, when a wrap carried it onto the next line."""
    after = following[0].strip() if following else ""
    if "@" not in value and "@" in after and (after.startswith("<") or value.endswith("<")):
        return f"{value}{after}" if value.endswith("<") else f"{value} {after}"
    return value


def split_forward(text: str, subject: str = "") -> tuple[str, str] | None:
    """A forwarded mail's text as (the forwarder's own words above it, the forwarded mail's
    text without its header lines), or None when ``text`` holds no forward."""
    found = _forward_at(text, subject)
    if found is None:
        return None
    start, end, _ = found
    lines = text[end:].split("\n")[1:]  # what follows the From: line
    wrapping = "address"
    while lines and lines[0].strip() and (_HEADER_LINE.match(lines[0].strip()) or _wrapped(lines[0].strip(), wrapping)):
        # Date:, To:, Subject: …, and what a wrap carried over of an address or a recipients' list
        header = lines.pop(0).strip()
        if _HEADER_LINE.match(header):
            wrapping = "recipients" if _OUTLOOK_TO.match(header) else ""
    return text[:start].strip(), "\n".join(lines).strip()


def _automatic(message: Message, sender: str, subject: str) -> str | None:
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"automatic mail (Auto-Submitted: {auto})"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return "automatic reply"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "auto_reply"):
        return f"bulk or automatic mail (Precedence: {precedence})"
    if message.get_content_type() == "multipart/report" or _from_mail_system(sender):
        return "a delivery report (bounce)"
    if _header(message, "Return-Path") == "<>":
        return "mail with an empty return path (bounce or auto-reply)"
    if _AUTO_SUBJECT.match(subject) and _answers_something(message, subject):
        return "an automatic reply (by its subject)"
    if precedence == "list":  # last: intake takes it in when the list is the desk's own group
        return LIST_MAIL
    return None


LIST_MAIL = "mailing-list mail (Precedence: list)"
# A ticket's tag in a subject ("[GD-01M8…]"), whatever the desk's prefix.
_ANY_TAG = re.compile(r"\[[A-Za-z0-9]{1,10}-[0-9A-Za-z]{4,}\]")


def _answers_something(message: Message, subject: str) -> bool:
    """Whether the mail answers another (In-Reply-To, References, or a ticket's tag in its
    subject), as every automatic reply does. A new mail titled by its sender "Out of office:
    how do I set it up?" answers nothing: a request, whatever its first words."""
    return bool(_header(message, "In-Reply-To") or _header(message, "References") or _ANY_TAG.search(subject))


# "OOF" alone asks for no out-of-office notices only (MS-OXCMAIL 2.1.3.2.20); an acknowledgement
# is an "AutoReply", and web forms send "OOF" on mail a person waits an answer to.
_SUPPRESSED = re.compile(r"\b(all|autoreply)\b", re.IGNORECASE)
_AUTH_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)


AMBIGUOUS_FROM = "ambiguous From:"
# A mailing list's post under the list's own address, its author named in X-Original-From or
# Reply-To: the receiving server could judge only the list's domain, so nobody checked the author.
NAMED_BY_A_LIST = "named by a mailing list"
_ANGLED = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>")


def _ambiguous_from(message: Message) -> str | None:
    """None for a From: that names one address. Otherwise (two From: lines, two addresses, or
    an address before another in <>: "alice@desk <attacker@evil>") the address in <> where
    there is exactly one, which is what mail programs show, else "": such a sender cannot be
    trusted to be anyone the desk knows."""
    try:
        values = [_raw_text(value) for value in message.get_all("From") or []]
        pairs = email.utils.getaddresses(values)
    except Exception:
        return None  # no From: to judge (Sender or Reply-To stood in)
    # Only different addresses count: "Meyer, Bob <bob@…>" (a comma left unquoted) and
    # "bob@x <bob@x>" (no name set, so the address is shown as one) name one person.
    if not values or len({address_key(pair[1].strip("'\"")) for pair in pairs if "@" in pair[1]}) <= 1:
        return None
    angled = _ANGLED.findall(" ".join(values))
    return angled[0].lower() if len(angled) == 1 else ""


def _forged(message: Message) -> str | None:
    """The verdict "dmarc=fail" when a receiving server's Authentication-Results says the From: domain
    did not send this mail. A forger can add headers claiming "pass", never ones that
    help them by claiming "fail", so only failures are believed."""
    try:
        results = [_raw_text(value) for value in message.get_all("Authentication-Results") or []]
    except Exception:
        return None
    return "dmarc=fail" if any(_AUTH_FAIL.search(result) for result in results) else None


_DSN_FIELD = re.compile(r"^(Final-Recipient|Original-Recipient|Status|Action)\s*:\s*(.+)$",
                        re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\Z")


def _is_report(message: Message, sender: str) -> bool:
    """A delivery report: multipart/report, or mail from the mail system itself. (Out-of-office
    replies also quote our Message-ID, but say nothing about delivery.)"""
    if message.get_content_type() == "multipart/report":
        # Not read receipts (disposition-notification): only reports about delivery.
        return str(message.get_param("report-type") or "").lower() == "delivery-status"
    return _from_mail_system(sender)


def _from_mail_system(sender: str) -> bool:
    return sender.split("@")[0] in ("mailer-daemon", "postmaster")


def _bounce(message: Message, raw: bytes, own_id: str) -> Bounce | None:
    """Read a delivery report (multipart/report, or mail from MAILER-DAEMON)."""
    text = raw[:1024 * 1024].decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for name, value in _DSN_FIELD.findall(text):
        fields.setdefault(name.casefold(), clean_line(value)[:200])
    action = (fields.get("action") or "failed").split()[0].lower()
    if action != "failed":  # "delayed", "delivered", "relayed": the mail may still arrive
        return None
    recipient = fields.get("final-recipient") or fields.get("original-recipient")
    if recipient and ";" in recipient:
        recipient = recipient.split(";", 1)[1].strip()
    # Only the status code is kept: a diagnostic is free text anyone can write, and the note
    # must not carry a stranger's instructions ("send further replies to …") to the agent.
    status = (fields.get("status") or "").partition(" ")[0]
    # The bounced mail is named by its own Message-ID header in the returned headers; the IDs
    # in its References are earlier mail anyone in the thread knows, so they do not count.
    quoted = tuple(dict.fromkeys(found for line in _RETURNED_ID.findall(text) for found in message_ids(line)
                                 if found != own_id))
    return Bounce(quoted, recipient, f"status {status}" if _STATUS.match(status) else "no status given")


def _date(message: Message) -> datetime | None:
    text = _header(message, "Date")
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):  # "31 Dec 9999 -2359" overflows
        return None


def thread_ids(ticket: Ticket) -> list[str]:
    """The Message-IDs of the ticket's mail, in the order they came and went; a value that
    is not one (a hand edit with a line break) is left out, never put in a header."""
    value = ticket.extra.get(MESSAGE_IDS)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and _MESSAGE_ID.fullmatch(item)]


def with_thread_id(ticket: Ticket, message_id: str, *, answered: bool = True) -> Ticket:
    """The ticket knowing ``message_id``: last, as what the next mail answers; or, for mail
    the requester never saw (a bounce), first, so that it is known but never answered."""
    known = thread_ids(ticket)
    return replace(ticket, extra={**ticket.extra,
                                  MESSAGE_IDS: [*known, message_id] if answered else [message_id, *known]})


def without_thread_id(ticket: Ticket, message_id: str) -> Ticket:
    """The ticket without ``message_id`` (mail withdrawn unsent): nothing answers it."""
    if message_id not in thread_ids(ticket):
        return ticket
    return replace(ticket, extra={**ticket.extra,
                                  MESSAGE_IDS: [item for item in thread_ids(ticket) if item != message_id]})


def message_ids(text: str) -> list[str]:
    return _MESSAGE_ID.findall(text)


def parse(raw: bytes) -> Incoming:
    """Read one message (the bytes of an .eml file or one mbox entry)."""
    try:
        return _parse(raw)
    except MalformedMessage:
        raise
    except Exception as error:  # RecursionError, OverflowError…: hostile mail is skipped, never a crash
        raise MalformedMessage(f"cannot be read: {type(error).__name__}") from None


def _parse(raw: bytes) -> Incoming:
    if not raw.strip():
        raise MalformedMessage("empty message")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as error:  # pragma: no cover - the parser is lenient by design
        raise MalformedMessage(f"cannot be parsed: {error}") from None
    if not message.keys():
        raise MalformedMessage("no headers: this is not a mail message")
    senders = _addresses(message, "From") or _addresses(message, "Sender", "Reply-To")
    if not senders:
        raise MalformedMessage("no sender address (From:)")
    sender_name, sender = senders[0]
    ambiguous = _ambiguous_from(message)
    if ambiguous is not None:  # what mail programs show, and DMARC judges, is the address in <>
        sender_name, sender = "", ambiguous or sender
    elif sender != sender.strip("'\""):  # 'bob@x' <bob@x>: the address in <>, not the quoted name
        angled = _ANGLED.findall(_header(message, "From"))
        sender = angled[0].lower() if len(angled) == 1 else sender.strip("'\"")
    subject = _header(message, "Subject")
    found_ids = message_ids(_header(message, "Message-ID"))
    message_id = found_ids[0] if found_ids else f"<{_fingerprint(raw)}@gitdesk.invalid>"
    references = message_ids(_header(message, "References")) + message_ids(_header(message, "In-Reply-To"))
    parts = _Body()
    try:
        _walk(message, parts)
    except MalformedMessage:
        raise
    except Exception as error:
        raise MalformedMessage(f"the body cannot be read: {type(error).__name__}") from None
    automatic = _automatic(message, sender, subject)
    body = "\n\n".join(t.strip("\n") for t in parts.texts if t.strip())
    if not body and parts.htmls:
        body = "\n\n".join(htmltext.to_text(h) for h in parts.htmls)
    body = unicodedata.normalize("NFC", body.replace("\r\n", "\n").replace("\r", "\n"))
    forwarded_from, forwarded_name = parts.forwarded_from, parts.forwarded_name
    inline = _forward_at(body, subject) if forwarded_from is None else None
    if inline:
        found = email.utils.getaddresses([inline[2]])
        forwarded_from = found[0][1].lower() if found and "@" in found[0][1] else None
        forwarded_name = clean_line(found[0][0]) if forwarded_from else None
    recipients = tuple(dict.fromkeys(address for _, address in
                                     _addresses(message, "To", "Cc", "Delivered-To", "X-Original-To")))
    return Incoming(
        message_id=message_id,
        references=tuple(dict.fromkeys(references)),
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        recipients=recipients,
        date=_date(message),
        text=without_device_line(body.strip()),
        attachments=tuple(parts.attachments),
        forwarded_from=forwarded_from,
        forwarded_name=forwarded_name or None,
        automatic=automatic,
        desk_header=_header(message, LOOP_HEADER) or None,
        unauthenticated=_forged(message) or (AMBIGUOUS_FROM if ambiguous is not None else None),
        bounce=_bounce(message, raw, message_id) if _is_report(message, sender) else None,
        addressed=tuple(dict.fromkeys(address for _, address in _addresses(message, "To", "Cc"))),
        no_auto_reply=bool(_SUPPRESSED.search(_header(message, "X-Auto-Response-Suppress"))),
        list_id=clean_line(_header(message, "List-Id") or _header(message, "List-Unsubscribe"))[:300],
        relayed_for=_relayed_for(message, sender_name),
        list_post=_list_post(message),
        former_id=None if found_ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@gitdesk.invalid>",
    )


# Mail programs' marks in a mailbox (mutt's Status, Thunderbird's X-Mozilla-Status), and the
# headers each delivery adds (a copy to an alias, the same mail fetched twice): not the mail's own.
_MAILBOX_MARKS = frozenset({b"status", b"x-status", b"x-uid", b"x-keywords", b"x-mozilla-status",
                            b"x-mozilla-status2", b"content-length", b"lines"})
_TRACE = re.compile(rb"^(received|delivered-to|x-original-to|return-path|x-delivered-to|x-envelope-to"
                    rb"|x-received|arc-[a-z-]+|authentication-results|x-spam[a-z-]*|dkim-signature"
                    rb"|x-gm-[a-z-]+|x-google-[a-z-]+|" + b"|".join(sorted(_MAILBOX_MARKS)) + rb")\s*:",
                    re.IGNORECASE)


def _fingerprint(raw: bytes) -> str:
    """A stand-in Message-ID for mail that has none (cron, monitoring scripts): its bytes but
    the headers each delivery adds, so a second copy of it is known as taken in. Without a
    Date the delivery headers are all that tells one alert from the same alert next week: kept."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    dated = re.search(rb"^date\s*:", head, re.IGNORECASE | re.MULTILINE) is not None
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded header's next line goes with it
            if not skipping:
                kept.append(line)
            continue
        found = _TRACE.match(line)
        skipping = found is not None and (dated or found.group(1).lower() in _MAILBOX_MARKS)
        if not skipping:
            kept.append(line)
    return hashlib.sha256(b"\n".join(kept) + b"\n\n" + body).hexdigest()[:40]


def _list_post(message: Message) -> str | None:
    found = re.search(r"<mailto:([^<>?\s]+@[^<>?\s]+)", _header(message, "List-Post"), re.IGNORECASE)
    return found.group(1).lower() if found else None


def _relayed_for(message: Message, sender_name: str) -> tuple[str, str] | None:
    """The author a list named when it rewrote From: to its own address (Google Groups,
    Mailman's DMARC mitigation): its X-Original-From, or the one Reply-To of a From "… via …"."""
    found = _addresses(message, "X-Original-From")
    if not found and re.search(r"\svia\s", sender_name, re.IGNORECASE):
        found = _addresses(message, "Reply-To")
    return (found[0][0], found[0][1]) if len(found) == 1 else None


# --- quoted text ------------------------------------------------------------------------

_QUOTE_STARTS = (
    re.compile(r"^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|"
               r"oorspronkelijk bericht|messaggio originale)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{20,}\s*$"),  # Outlook on the web puts a rule above the quoted headers
)
_WROTE = re.compile(r"^(on|am|le|el|op|den|il giorno|em)\s.{4,300}"
                    r"(wrote|schrieb|a écrit|escribió|schreef|skrev|ha scritto|escreveu)\s*:\s*$", re.IGNORECASE)
# German, Dutch and Scandinavian programs name the writer after the verb ("Am 3.1.2026 um 10:00
# schrieb Bob Meyer <bob@…>:"): believed only with an address, or quoted lines after it, since
# "Am 3. Januar schrieb mir Herr Schmidt folgendes:" is a requester's own sentence.
_WROTE_NAMED = re.compile(r"^((am|op|den)\s.{4,300}\s(schrieb|schreef|skrev)\s.{1,200}"
                          r"|.{1,300}\sheeft\s.{1,200}\shet volgende geschreven"
                          r"|.{4,300}\snapisał(?:\(a\)|a)?"  # Polish Gmail: "pon., 1 gru 2026 … <a@b> napisał(a):"
                          r"|.{1,300}\s于.{4,100}写道"  # Chinese Gmail: "<a@b> 于…写道："
                          # Japanese Gmail names no verb: "2026年12月1日(火) 19:00 Alice <a@b>:"
                          r"|\d{4}年\d{1,2}月\d{1,2}日.{1,300}<[^<>\s]+@[^<>\s]+>)\s*[:：]\s*$", re.IGNORECASE)
# A colon, or the full-width one Chinese and Japanese Outlook write ("发件人：Alice").
_OUTLOOK_COLON = r"\s*(:\*?(\s|$)|：\*?\s*)"  # "Cc:" with nothing after it too
# Italian, Polish, Swedish, Danish/Norwegian, Finnish and Portuguese too (Da/Od/Från/Fra/Lähettäjä).
_OUTLOOK_FROM = re.compile(r"^\*?(from|von|de|van|da|od|från|fra|lähettäjä|发件人|寄件者|差出人)" + _OUTLOOK_COLON,
                           re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\*?(sent|gesendet|envoyé|enviad[oa]( el| em)?|verzonden|date|datum|data|fecha|inviato|"
                           r"wysłano|skickat|sendt|lähetetty|发送时间|寄件日期|日期|送信日時|日付)" + _OUTLOOK_COLON,
                           re.IGNORECASE)
_OUTLOOK_SUBJECT = re.compile(r"^\*?(subject|betreff|objet|asunto|onderwerp|oggetto|temat|ämne|emne|aihe|assunto|"
                              r"主题|主旨|件名)" + _OUTLOOK_COLON, re.IGNORECASE)


def _outlook_block(lines: Sequence[str], index: int) -> bool:
    """Whether the From line at ``index`` opens a mail program's block of the quoted mail's
    headers: a Sent (or Date) line, a To line and a Subject line, in any order (Apple Mail puts
    the subject first; without a To line, as for Bcc, the From line must hold an address), among
    known header lines only, blank lines, and the lines a wrap carries over (see ``_wrapped``),
    within ten header lines. A requester's "From: JFK / To: Heathrow / Date: 9 December, 18:45"
    (a travel plan), or a form of "Email:", "Phone:" fields, is not one."""
    sent = subject = recipients = False
    wrapping = "address"  # what the line above may go on with: the From line's address
    headers = 0
    for line in lines[index + 1:index + 60]:
        line = line.strip()
        if not line:
            continue
        if _OUTLOOK_SUBJECT.match(line):
            subject, wrapping = True, "subject"
        elif _OUTLOOK_SENT.match(line):
            sent, wrapping = True, ""
        elif _OUTLOOK_TO.match(line):
            recipients, wrapping = True, "recipients"
        elif _OUTLOOK_OTHER.match(line):
            wrapping = ""
        elif _wrapped(line, wrapping):
            if wrapping in ("address", "subject") and "@" not in line:
                wrapping = ""  # a name or a subject wraps onto one line, no more
            continue
        else:
            break
        headers += 1
        if headers > 10:
            break
        if sent and subject and (recipients or "@" in lines[index]):
            return True
    return False


def _wrapped(line: str, wrapping: str) -> bool:
    """Whether ``line`` in a header block is the rest of the header above it, carried over by a
    wrap at 76 characters: the From line's address or a short end of its name (``wrapping``
    "address"), the end of the subject ("subject"), or the rest of a recipients' list
    ("recipients", after To and Cc): addresses, names between ";" and ",", or the last name
    alone ("Becker"); never a sentence ("and my boss in copy")."""
    if not wrapping or (_BLOCK_HEADER.match(line) and "@" not in line):
        return False
    if "@" in line or line.startswith("<"):
        return wrapping != "subject"
    if line.endswith((".", "!", "?")):
        return False
    if wrapping == "subject":  # "…does not print double-sided / anymore"
        return True
    if wrapping == "address":  # "(IT Service / Desk)"
        return len(line.split()) <= 3 and not line[0].islower()
    names = [name.strip() for name in re.split(r"[;,]", line) if name.strip()]
    return all(len(name.split()) <= 3 and not name[0].islower() for name in names)  # "Becker", "Erin; Black, Frank"


_OUTLOOK_TO = re.compile(r"^\*?(to|cc|bcc|reply-to|an|antwort an|kopie|à|copie|cci|a|para|cópia|copia|aan|do|dw|kopia|"
                         r"till|til|kopi|vastaanottaja|kopio|收件人|收件者|抄送|副本|宛先)" + _OUTLOOK_COLON,
                         re.IGNORECASE)
_OUTLOOK_OTHER = re.compile(r"^\*?(importance|priority|attachments|wichtigkeit|anlagen|pièces jointes|"
                            r"importancia|datos adjuntos|priorità|allegati)" + _OUTLOOK_COLON, re.IGNORECASE)
_BLOCK_HEADER = re.compile(r"^\*?[^\W\d][\w -]{0,24}\s*[:：]")  # "Email: …", "收件人：…"


# A mail program's attribution names when (a digit) or who (an address), or quotes next: "On the
# display the printer wrote:" is the requester's own sentence, and what follows it theirs too.
_ATTRIBUTION = re.compile(r"[0-9@<]")


_DEVICE = (r"(iphone|ipad|ipod|android|samsung|galaxy|pixel|huawei|honor|xiaomi|redmi|oneplus|oppo|motorola|nokia|"
           r"xperia|blackberry|mobile|mobil|handy|smartphone|phone|tablet|t[ée]l[ée]phone|telefone|tel[ée]fono|"
           r"m[óo]vil|cellulare|telefoon|mobiel|telefon|smartfon)"
           # its model and kind: "Galaxy S23 Ultra", "Redmi Note 8 Pro", "10 smartphone", "device"
           r"( ((?-i:[A-Z0-9][\w.-]*)|smartphone|phone|device|tablet|handy|mobile)){0,4}")
_SIGNED = (r"sent from (my )?" + _DEVICE, r"sent from (mail|outlook) for (windows|ios|android|mac)( \d+)?",
           r"sent from yahoo mail (for|on) (iphone|android)", r"get outlook for (ios|android)",
           r"von meinem " + _DEVICE + " gesendet", r"envoy[ée] (de|depuis) mon " + _DEVICE,
           r"enviado desde mi " + _DEVICE, r"enviado do meu " + _DEVICE, r"inviato da(l mio)? " + _DEVICE,
           r"verzonden (vanaf|met) mijn " + _DEVICE, r"skickat från min " + _DEVICE, r"sendt fra min " + _DEVICE,
           r"wysłane z mojego " + _DEVICE, r"iphoneから送信", r"从我的 ?iphone ?发送", r"发自我的 ?iphone")
# What a phone or a mail app signs every mail with: no word of the requester's. A device it names,
# and nothing more: "Sent from my laptop, still not working" is the requester's own sentence.
_DEVICE_LINE = re.compile(r"^\W{0,3}(" + "|".join(_SIGNED) + r")\W{0,3}$", re.IGNORECASE)


def without_device_line(text: str) -> str:
    """``text`` without the "Sent from my iPhone" its last lines may be (before the quotation
    of a top-posted reply, or at the end), unless it is all there is."""
    lines = text.split("\n")
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or _DEVICE_LINE.match(lines[end - 1].strip())):
        end -= 1
    if end == len(lines) or end == 0:
        return text
    return "\n".join(lines[:end]).rstrip()


def strip_quoted(text: str) -> str:
    """A reply without the earlier mail it quotes (Gmail's "On … wrote:", Outlook's
    "From:/Sent:" block or "Original Message" rule, trailing "> " lines)."""
    lines = text.split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if any(p.match(stripped) for p in _QUOTE_STARTS):
            cut = index
            break
        wrote, named, outlook = _WROTE.match(stripped), _WROTE_NAMED.match(stripped), _OUTLOOK_FROM.match(stripped)
        # Gmail wraps a long German attribution over two lines: believed only with quoted lines
        # after it ("Am Montag schrieb ich an support@hersteller.de / und bekam diese Antwort:"
        # is the requester's own). The verb is looked for first: the pattern is dear on long lines.
        named_joined = not stripped.endswith(":") and "@" in joined \
            and any(verb in joined.casefold() for verb in _NAMING_VERBS) and bool(_WROTE_NAMED.match(joined)) \
            and next((line.strip() for line in lines[index + 2:index + 6] if line.strip()), "").startswith(">")
        if not (wrote or named or outlook or named_joined or _WROTE.match(joined)):
            continue  # most lines: nothing below them is looked at
        following = [line.strip() for line in lines[index + 1:index + 5]]
        quoting = next((line for line in following if line), "").startswith(">")
        if (wrote and (quoting or _ATTRIBUTION.search(stripped))) or (
                _WROTE.match(joined) and not stripped.endswith(":") and _ATTRIBUTION.search(joined)) or (
                named and (quoting or "@" in stripped)) or named_joined or (outlook and _outlook_block(lines, index)):
            cut = index
            break
    kept = lines[:cut]
    while kept and (kept[-1].startswith(">") or not kept[-1].strip()):
        kept.pop()
    result = without_device_line("\n".join(kept).strip())
    # A bottom- or inline-poster writes nothing above the quotation but a greeting; a top-poster's
    # words are above it, and what is below (a disclaimer, a list's footer, a quotation a client
    # wrapped without "> ") is not theirs to keep.
    if not result or _GREETING.match(result):
        below = _answers_below(lines[cut:])
        if below:
            result = f"{result}\n\n{below}".strip()
    return result or text.strip()  # all of it quoted: keep what was sent rather than nothing


_NAMING_VERBS = ("schrieb", "schreef", "skrev", "geschreven", "写道", "napisał")
_GREETING = re.compile(r"^(hi|hello|hallo|hey|dear|good (morning|afternoon|evening)|guten (morgen|tag|abend)|moin|"
                       r"servus|gr[üu]ezi|liebe[rs]?|sehr geehrte[rs]?|bonjour|salut|hola|buenos d[ií]as|ciao|"
                       r"buongiorno|hej|hoi|dag|goedemorgen|dzie[ńn] dobry|ol[áa]|bom dia|你好|您好|こんにちは)"
                       r"\b[^\n]{0,60}$|^[^\n]{1,40},$", re.IGNORECASE)


_CONTEXT = 3  # quoted lines kept above an answer written below them


def _answers_below(quoted: list[str]) -> str:
    """What a bottom- or inline-poster wrote below the "> " lines they quote ("2nd floor, room
    214" under "> Which floor and room?"), with the few quoted lines just above each answer so
    that it reads as the question it answers; "" when the rest is all quotation. Only for a
    quotation in "> " lines: an Outlook block quotes without marks, and what is below it is the
    earlier mail."""
    start = next((i for i, line in enumerate(quoted[:4]) if line.startswith(">")), None)
    if start is None:
        return ""
    out: list[str] = []
    context: list[str] = []
    for line in quoted[start:]:
        if line.startswith(">"):
            context.append(line)
            continue
        if not line.strip():
            if out and out[-1].strip():
                out.append("")
            continue
        if context:
            shown = [q for q in context if q.strip(">").strip()][-_CONTEXT:]
            if out and out[-1].strip():
                out.append("")
            out += [*shown, ""] if shown else []
            context = []
        out.append(line)
    return "\n".join(out).strip() if any(line.strip() for line in out) else ""

