"""What the desk removes from words that reach people they were not written for: email
addresses and phone numbers. The knowledge base, the site and mail that carries one
requester's ticket to another all use it, so what counts as an address is decided once."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitdesk.model import Config

# An address however it is spelt in Markdown or HTML: "bob\@example.com" and
# "dave&#64;example&#46;com" render as addresses on a Git host and in a browser.
_AT = r"(?:@|\\@|&#0*64;|&#[xX]0*40;|&commat;|%40)"
_DOT = r"(?:\.|\\\.|&#0*46;|&#[xX]0*2[eE];|&period;|%2[eE])"
# What renders as nothing between an address's characters: emphasis ("bob@**example.com**"),
# inline HTML tags ("<span>dave</span>@example.com", "exa<b></b>mple"), HTML comments and
# invisible characters (zero-width space, soft hyphen). Not "_": a word character already.
# Every part is bounded (a local part holds at most 64 characters, a label 63): unbounded, a
# long token before an "@" made every start position scan to it, seconds on one pasted log.
# A comment cannot run past its own "-->": one way to read each run of comments, not 2^n.
_FILL = r"(?:[*~`\u00ad\u200b-\u200d\u2060\ufeff]|</?[A-Za-z][^<>\n]{0,40}>|<!--(?:(?!-->)[^\n]){0,40}-->)"
_LABEL = rf"[\w-](?:[\w-]|{_FILL}){{0,62}}"  # starts with a letter: a run of fill fails at once
_AT_SIGN = re.compile(r"@|&#0*64;|&#[xX]0*40;|&commat;|%40")
_EMAIL = re.compile(rf"(?:[\w+-]|{_DOT}|\\[_+-]|{_FILL}){{1,64}}{_AT}{_FILL}{{0,8}}{_LABEL}"
                    rf"(?:{_FILL}{{0,8}}{_DOT}{_FILL}{{0,8}}{_LABEL}){{1,10}}")
# A phone number as people write one: +49 30 1234567, (030) 123-4567, 0171/1234567,
# +33 1 23 45 67 89, 01.23.45.67.89, +4915112345678, 555-123-4567, Tel. 030 - 123 45 67,
# +49 30 1234567-0: seven digits or more in groups on one line. Groups of digits are
# everywhere in an IT desk's text (ports 8080 8443 9000, builds 19045.3803, serial numbers, IP
# addresses, log times), so a run of groups counts as a phone number only when it starts as one
# does (with +, a bracketed area code, a 0 for a trunk or international prefix, or as a North
# American number), or follows a word that says it is one ("Tel", "phone", "call", "mobile").
# A bare run of digits (015112345678) is left unless such a word comes before it: it is as often
# an order or serial number.
_GAP = r"(?:[ \t\u00a0]*[./-][ \t\u00a0]*|[ \t\u00a0]+)"
# What a number must not touch to be one: Latin letters and digits. Chinese and Japanese write a
# number straight after a word (我的手机号是13812345678, 電話番号は03-1234-5678).
_LATIN = r"0-9A-Za-z_\u00c0-\u024f"
# A one-digit trunk prefix ("Телефон: 8 916 123-45-67", "8-916-…", "8(916)…"): part of the number
# when the run is one; a digit before a run that is not ("Room 4 0171 1234567") is split off again.
_TRUNK = r"\d(?:[ \t\u00a0]*[./-][ \t\u00a0]*|[ \t\u00a0]+|(?=\())"
_LEAD = re.compile(_TRUNK)
_PHONE = re.compile(
    rf"(?:(?<![{_LATIN}/.-])|(?<=[.:])(?=\+))"  # not inside a word or version; "T.+49" is a phone's start
    rf"(?:\+\d{{8,15}}"  # international, written whole
    rf"|1[ .-]\d{{3}}[ .-]\d{{3}}[ .-]\d{{4}}"  # 1-800-555-0199
    rf"|(?:\+\d{{1,3}}{_GAP}?(?:\(\d{{1,5}}\){_GAP}?)?\d{{1,5}}"
    rf"|(?:{_TRUNK})?(?:\(\d{{1,5}}\){_GAP}?)?\d{{2,5}})"
    rf"(?:{_GAP}\d{{2,8}}){{1,6}}"  # groups
    # An area code in brackets, then one run: (030)1234567, 8(916)1234567; not "(2025) 1234567 EUR".
    rf"|(?:{_TRUNK}\(\d{{1,5}}\)|\(0\d{{1,4}}\)){_GAP}?\d{{5,10}}"
    rf"|\d{{8,15}})"  # a bare run: a phone number only after a word that says so (13812345678)
    rf"(?:-\d{{1,5}}(?!\d))?(?![{_LATIN}/-]|\.[{_LATIN}])")  # an extension (-0), then no more of a word
_NORTH_AMERICAN = re.compile(r"(?:1[ .-])?\d{3}[ .-]\d{3}[ .-]\d{4}")
# The word (its words for "number" joined to it: "Rufnummer", 手机号是, but not "Handymodell" or
# 手机订单), then up to three short ones or words for "number" ("Phone number:", "My mobile number
# is", "Telefon komórkowy:"), in the 40 characters before it; "the cell count" is not one.
_SAID = re.compile(r"(?i)(?:\b(?:t[eé]l(?:[eé](?:phone|fon(?:o|e|u|a|nummer|nr)?|foon(?:nummer)?))?|"
                   r"(?:cell|tele)?phone|fon|mobile?|mobil(?:nummer|telefon|nr)?|mobiel(?:e nummer)?|m[oó]vil|celular|"
                   r"whats ?app|mob|моб|handy(?:nummer|nr)?|телефон\w{0,2}|тел|мобильн\w{1,3}|kom[oó]rk\w{1,2}|"
                   r"cellulare|ph|contact ?(?:no|nr|number)|portable|cell(?:ular)?|call|ruf(?:nummer|nr)?|fax)\b|"
                   r"☎|📞|(?:电话|電話|手机|手機|携帯|传真|傳真)(?:号码|號碼|番号|号|號)?(?:是|为|為|は)?|"
                   r"(?:请|請)?致[电電](?:给我|給我)?)"
                   r"(?:\W+(?:\w{1,4}|numb?er\w{0,2}|nummer|num[eéú]ro|telefon\w{0,3}|kom[oó]rkow\w{1,2}|"
                   r"m[oó]vil)){0,3}\W{0,4}$")
# A date with a four-digit year, or a time range, inside the run: a log's time stamp or office
# hours, not a number to call. What stands before or after it is judged on its own.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4}|\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2}")


# A character reference for what addresses and phone numbers are made of ("ex&#97;mple",
# "+1&#x20;555"): written as the character, so the patterns see what a reader sees. Never
# "<", ">", "&" or a quote: the text may be HTML.
_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));|&nbsp;")
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .@+-_()/\u00a0")


def _character(match: re.Match[str]) -> str:
    if match.group(0) == "&nbsp;":
        return "\u00a0"
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    return chr(code) if code < 0x110000 and chr(code) in _PLAIN else match.group(0)


def _revealed(text: str, clean: Callable[[str], str]) -> str:
    """``text`` with each line whose character references hide something ``clean`` removes
    written as it reads; every other line as it was (an article about HTML, code)."""
    if "&" not in text or not _REFERENCE.search(text):
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if "&" in line:
            read = _REFERENCE.sub(_character, line)
            if read != line and clean(read) != read:
                lines[number] = read
    return "\n".join(lines)


def without_addresses(text: str) -> str:
    """``text`` with every email address removed, in any spelling that renders as one. Run
    over whole generated files and pages too, so no field or title can carry one out."""
    return _addresses(_revealed(text, _addresses))


def _addresses(text: str, kept: Collection[str] = ()) -> str:
    if not _AT_SIGN.search(text):  # the pattern is slow on long text without one: it tries each word
        return text

    def removed(match: re.Match[str]) -> str:  # "help\@example.com", as Markdown escapes it: the desk's too
        return match.group(0) if kept and match.group(0).replace("\\", "").lower() in kept else "[email removed]"

    return _EMAIL.sub(removed, text)


def without_private(text: str, kept: Collection[str] = ()) -> str:
    """``text`` without addresses and without phone numbers (seven digits or more, not a date);
    ``kept``: addresses that stay, lower case (the desk's own, in mail to its requesters)."""
    def private(part: str) -> str:
        return _private(part, kept)

    return private(_revealed(text, private))


def desks_own(config: Config) -> frozenset[str]:
    """The addresses a requester may read in another's answer: the desk's own and its agents'."""
    own = [config.mail.address, *config.mail.aliases,
           *(person.email for handle, person in config.people.items() if config.is_agent(handle))]
    return frozenset(address.lower() for address in own if address)


def _private(text: str, kept: Collection[str] = ()) -> str:
    def phone(match: re.Match[str]) -> str:
        found = match.group(0)
        date = _DATE.search(found)
        if date:
            return _phones(found[:date.start()]) + date.group(0) + _phones(found[date.end():])
        if sum(char.isdigit() for char in found) < 7:
            return found
        said = _SAID.search(match.string, max(0, match.start() - 40), match.start())
        if found.isdigit():  # a bare run of digits is as often an order or serial number
            return "[phone removed]" if said else found
        if found[0] in "+(0" or _NORTH_AMERICAN.fullmatch(found) or said:
            return "[phone removed]"
        lead = _LEAD.match(found)  # "Room: 4 0171 1234567": the number after the digit is one
        return found[:lead.end()] + _phones(found[lead.end():]) if lead else found

    def _phones(part: str) -> str:
        return _PHONE.sub(phone, part)

    return _phones(_addresses(text, kept))
