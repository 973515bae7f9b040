"""Text from tickets made safe to show on a terminal.

Ticket files are untrusted: a title can carry escape sequences that clear the
screen, retitle the window, forge hyperlinks, or (with bidirectional
overrides) make text read differently from what it is. Everything gitdesk
prints for people goes through ``visible``; JSON output escapes on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A joiner joins two characters; one at a word's edge joins nothing and only hides (a title of
# U+200D alone looked like a title to every check).
_LOOSE_JOINER = re.compile("(?<!\\S)[\u200c\u200d]+|[\u200c\u200d]+(?!\\S)")
# C0 controls except newline and tab, DEL, C1 controls, the invisible formatting
# characters that reorder or hide text, noncharacters and lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (but \\t and \\n), DEL, C1
    # zero-width space and marks, bidi controls; not the joiners U+200C/U+200D, which Persian
    # and Indic words and emoji sequences (👨‍👩‍👧) need
    "\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff"
    "\u061c\u180e\U000e0000-\U000e007f"  # the Arabic letter mark, a bidi control; tags hide text
    "\u115f\u1160\u3164\uffa0"  # the Hangul fillers: letters to Unicode, blank on screen
    "\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]"  # noncharacters, surrogates
)
# The only characters _UNSAFE matches that Python counts as printable: a fast path that trusts
# isprintable() must look for these too.
_BLANK_LETTERS = re.compile("[\u115f\u1160\u3164\uffa0]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


# What reorders or hides text in a page or a rendered article: bidi embeddings, overrides and
# isolates ("invoice\u202egpj.exe" reads "invoiceexe.jpg"), and tag characters (text no reader
# sees). Direction marks (U+200E, U+200F, U+061C) are left: Hebrew and Arabic text carries them,
# and they move no other character.
_REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")


def unreordered(text: str) -> str:
    """``text`` for HTML and Markdown: what reorders or hides text written out (``<U+202E>``)."""
    if text.isascii():
        return text
    return _REORDERING.sub(_show, text)


def visible(text: str) -> str:
    """``text`` with every control or invisible formatting character written out."""
    if text.isprintable() and not _BLANK_LETTERS.search(text):  # the common case
        return text
    return _UNSAFE.sub(_show, text)


# A greeting is a line of its own: the word, at most three more and a comma or "!" ("Hi Anna,",
# "Hallo Frau Schmidt!", "Sehr geehrte Damen und Herren,", "Добрый день, Иван!"), or a word or none alone;
# "Hi, the printer jams", "Hey the printer jams again!" and "hi-res display flickers" are the problem.
# More than one word after it must each be a name (a capital) or a word greetings use ("Hi team and
# Anna,"): "Hey VPN down again," reports a problem. A Chinese or Japanese greeting only alone on its
# line, or after a name or title ("王老师，您好！"): a sentence there has no spaces to count words by.
_WORD = r"\s+[^\s,!:;.，、！。：；]+"
_GREETING_LINE = re.compile(
    r"^\s*(?:¡?(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten (?:morgen|tag)|"
    r"sehr geehrte[rs]?|bonjour|ciao|buongiorno|hola|buen[oa]s (?:d[ií]as|tardes)|estimad[oa]s?|"
    r"ol[aá]|bom dia|moin|hej|hoi|goedemorgen|dzie[nń] dobry|cze[sś][cć]|witam|szanown\w+|"
    r"здравствуйте|добрый день|привет)"
    rf"(?:(?P<comma>\s*[,，])?(?P<who>(?:{_WORD}){{0,3}})\s*[,，!！]|(?:{_WORD})?)"
    # A name or a title before it: 王老师, 张先生, 佐藤さん (not "打印机坏了，您好").
    r"|(?:(?:[\u4e00-\u9fff]{1,3}(?:老师|先生|女士|经理|老板|小姐|同学)?|[\u4e00-\u9fff]{1,4}(?:さん|様|さま))[，,、]\s*)?"
    r"(?:お疲れ様です|お世話になっております|こんにちは|您好|你好|大家好)[，、！。,!]?)\s*$",
    re.IGNORECASE)
_GREETING_FILLERS = frozenset(
    "all team there everyone everybody folks guys both again and or und oder y o e et i a à van von der de "
    "da del di le la it support helpdesk desk service colleagues sir madam liebe liebes lieber zusammen "
    "allemaal alla todos todas tous tutti wszystkim señores señor señora senhores signori messieurs "
    "monsieur madame mesdames equipo équipe коллеги все всем".split())


def is_greeting(line: str) -> bool:
    """Whether ``line`` is only a greeting ("Hi Anna,", "Guten Tag zusammen!"), not a problem
    that opens with one ("Hey VPN down again,")."""
    match = _GREETING_LINE.match(line)
    if match is None:
        return False
    words = (match.group("who") or "").split()
    if match.group("comma"):  # "Добрый день, Иван!", "Hi, all!"; not "Hallo, Notfall!" (German nouns have capitals)
        return len(words) == 1 and (words[0].casefold() in _GREETING_FILLERS or (
            _name_like(words[0]) and _CYRILLIC.match(words[0]) is not None))
    if len(words) < 2:
        return True  # "Hi anna," written small is still a name
    return all(_name_like(word) or word.casefold() in _GREETING_FILLERS for word in words)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")  # where only names have a capital


def _name_like(word: str) -> bool:
    """Written as a name is: a capital, then small letters ("Anna", "Müller"), not "URGENT"."""
    return word[0].isupper() and not (len(word) > 1 and word.isupper())


def clean_line(text: str) -> str:
    """``text`` as one clean line: control and invisible formatting characters dropped,
    every run of white space one space. What a title, a name or a mail header keeps."""
    if text.isprintable() and "  " not in text and text == text.strip() and not _BLANK_LETTERS.search(text):
        return text
    return " ".join(_LOOSE_JOINER.sub("", " ".join(_UNSAFE.sub(" ", text).split())).split())


def has_hidden(text: str) -> bool:
    """Whether ``text`` holds a line break, a control character or an invisible formatting
    character that ``clean_line`` drops (escape sequences, bidi overrides): not one clean line."""
    return "\n" in text or _UNSAFE.search(text) is not None


def one_line(text: str) -> str:
    """``visible`` and on one line: tabs and newlines become spaces."""
    if text.isprintable() and not _BLANK_LETTERS.search(text):  # no line breaks, tabs or controls
        return text
    return visible(" ".join(text.replace("\t", " ").splitlines()))


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice ``word`` was most likely meant to be (for "did you mean …?"), if any is close."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``1 ticket``, ``2 tickets``: a count with its noun in the right number."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def ascii_address(address: str) -> str:
    """``address`` with an international domain (bücher.example) in its ASCII form
    (xn--bcher-kva.example), by IDNA 2008 with UTS 46 as mail servers read names
    (``straße.de`` stays ``straße``); a ``UnicodeError`` (``idna.IDNAError``) for a domain that
    is no valid name (an emoji, a zero-width space, a misplaced hyphen)."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    import idna

    return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"


def unmailable(address: str) -> str | None:
    """Why the desk cannot write ``address`` into a mail it sends, or None when it can: mail
    takes in addresses (üser@…, taro..yamada.@docomo.ne.jp) that cannot be written back."""
    local, at, _ = address.rpartition("@")
    if not at:
        return "it is not a mail address"
    if not local.isascii():
        return "the part before the @ has non-ASCII letters, which this desk's mail cannot carry (SMTPUTF8)"
    import email.errors
    from email.headerregistry import Address

    try:
        written = ascii_address(address)
        domain = written.rpartition("@")[2]
        if len(domain) > 253 or any(len(label) > 63 for label in domain.split(".")):
            return "its domain is longer than a domain name may be (63 characters a part)"
        if not all(_LABEL.fullmatch(label) for label in domain.split(".")):
            return "its domain is not a valid domain name (letters, digits and inner hyphens only)"
        if len(local) > 64:
            return "the part before the @ is longer than 64 characters"
        Address(addr_spec=written)
    except UnicodeError:  # idna.IDNAError is one: an emoji, a zero-width space, a misplaced hyphen
        return "its domain is not a valid international domain name"
    except (ValueError, TypeError, IndexError, email.errors.MessageError) as error:
        return clean_line(str(error)).rstrip(")") or "Python's mail library refuses it"
    return None


_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def domain_key(domain: str) -> str:
    """What two spellings of one mail domain share (see ``address_key``)."""
    return address_key(f"x@{domain}").rpartition("@")[2]


def asset_key(asset: str) -> str:
    """What two spellings of one asset share: case, and Unicode's forms (an "é" typed as e and
    a combining accent, as some keyboards send it; full-width letters). Every grouping and
    comparison of assets goes through it."""
    if asset.isascii():
        return asset.casefold()
    import unicodedata

    return unicodedata.normalize("NFKC", asset).casefold()


def address_key(address: str) -> str:
    """What two spellings of one mail address (or handle) share: lower case, and an
    international domain in its ASCII form, so ``kai@bücher.example`` is
    ``kai@xn--bcher-kva.example``, while ``straße.de`` stays apart from ``strasse.de``
    (``casefold`` would make them one). Every comparison of addresses goes through it."""
    if address.isascii() or "@" not in address:
        return address.lower()
    try:
        return ascii_address(address).lower()
    except UnicodeError:
        return address.lower()
