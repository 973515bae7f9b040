"""What a requester's words say, read without the ticket: only thanks ("Thanks, works
again!"), a satisfaction score ("4/5 - quick"), or something still wanted. Mail intake
judges incoming mail by these; the rules judge words already in a ticket by the same ones.
"""

from __future__ import annotations

import re
import unicodedata

from gitdesk.mail.message import strip_quoted
from gitdesk.text import is_greeting

_THANKS = re.compile(r"\b(thanks?|thank you|thx|ty|danke|vielen dank|dankesch[öo]n|merci|gracias|grazie|"
                     r"dzi[ęe]kuj[ęe]|obrigad[oa]|bedankt|tack|kiitos)\b", re.IGNORECASE)


def asks_nothing(said: str) -> bool:
    """Whether a mail on a finished ticket asks for nothing, so it is noted there rather than
    reopening it or starting a follow-up: a thank-you, or a score and nothing but words that
    judge the help ("5 - great service!", a Cc's or a second one). "1. The new colleague needs
    the driver too" reads as a score to the rating question, but asks for something."""
    if just_thanks(said):
        return True
    scored = feedback_score(said)
    return scored is not None and judgement_only(scored[1])


def just_thanks(text: str) -> bool:
    """Whether an answer only says thank you ("Thanks, works again!", "Vielen Dank, läuft
    wieder!"): short, thankful, no question and nothing that says it is still broken."""
    said = " ".join(text.split())
    return (0 < len(said) <= 160 and "?" not in said and bool(_THANKS.search(said))
            and not _STILL_BROKEN.search(_without_good_news(said))
            and not (_ASKS.search(said) and not _CLOSE.search(said)))


# Thanks that name the old problem as gone: "no more errors", "the VPN no longer drops",
# "still works great", "it has not failed once since". Only these phrases are set aside, and only
# in an answer that turns nowhere ("but", "though", "until"…) : "no more errors, but the report is
# empty" is judged whole, as before. A phrase must end its clause: "still running after 6 hours"
# is not "still running". German and the other languages keep the plain reading (their word
# order puts the verb elsewhere: "der Fehler tritt nicht mehr auf").
_NO_MORE = re.compile(r"\b(?:no more|no longer|not any ?more)\s+((?:[\w'-]+\s+){0,2}[\w'-]+)(?=\s*(?:[.!,;]|$))",
                      re.IGNORECASE)
_STILL_FINE = re.compile(r"\bstill (?:works?|working|runs?|running|going)(?: (?:great|fine|well|perfectly|"
                         r"ok(?:ay)?|like a charm))?(?=\s*(?:[.!,;]|$))|\bstill (?:fine|good|great|ok(?:ay)?|perfect)"
                         r"(?=\s*(?:[.!,;]|$))", re.IGNORECASE)
_NOT_SINCE = re.compile(r"\b(?:has ?n[o']t|have ?n[o']t|did ?n[o']t|not)\s+(?:failed|dropped|crashed|broken|happened|"
                        r"froze|frozen|come back|returned)(?:\s+(?:once|again|at all))?\s+since(?: then)?"
                        r"(?=\s*(?:[.!,;]|$))", re.IGNORECASE)
_TURNS = re.compile(r"\b(?:but|though|although|however|until|till|except|only|yet|now|aber|doch|jedoch|mais|pero)\b",
                    re.IGNORECASE)
_NOT_NEEDED = re.compile(r"(?:needed|required|necessary|relevant|urgent|an? (?:issue|problem))\b", re.IGNORECASE)
# Trouble that stopping is good news for: "the printer no longer jams", "it no longer freezes".
_TROUBLE = re.compile(r"\b(?:jam\w*|freez\w*|froze|hang\w*|hung|overheat\w*|beep\w*|flicker\w*)\b", re.IGNORECASE)
# What stopping is good news for: "I no longer have the problem", "we no longer need this".
_GONE = re.compile(r"\b(?:problems?|issues?|need\w*|help|happens?|occurs?|appears?|bother\w*)\b", re.IGNORECASE)


_AFTERWORDS = re.compile(r"[\s.!,;:)(-]*(?:(?:many |again |a lot |so much )*(?:thanks|thank you|cheers|regards|again|"
                         r"a lot|so much)\b[\s.!,;:)(-]*)*", re.IGNORECASE)


def _without_good_news(said: str) -> str:
    """``said`` with the phrases that name the old problem as gone set aside, when the answer
    ends on them and turns nowhere; "no longer prints" made a sign of trouble either way."""
    def gone(match: re.Match[str]) -> bool:
        return bool(_STILL_BROKEN.search(match.group(1)) or _NOT_NEEDED.match(match.group(1))
                    or _GONE.search(match.group(1)) or _TROUBLE.search(match.group(1)))

    good = [match for match in _NO_MORE.finditer(said) if gone(match)]
    good += [*_STILL_FINE.finditer(said), *_NOT_SINCE.finditer(said)]
    # It must end the answer: "no longer broken on Windows. On the Mac it does nothing." goes on
    # to a problem that names no broken word.
    trusted = bool(good) and not _TURNS.search(said) and bool(
        _AFTERWORDS.fullmatch(said[max(match.end() for match in good):]))

    def judged(match: re.Match[str]) -> str:
        if gone(match):
            return "" if trusted else match.group(0)
        # "no longer prints": what stopped is what it should do; "no more questions" is neither
        return " broken " if match.group(0).lower().startswith("no longer") else match.group(0)

    said = _NO_MORE.sub(judged, said)
    return _NOT_SINCE.sub("", _STILL_FINE.sub("", said)) if trusted else said


# A request after the thanks ("Thanks! Please also install it on Tom's laptop") is not just thanks;
# "Thanks, please close it" is.
_CLOSE = re.compile(r"\b(?:close|closed|schlie(?:ß|ss)en|fermer|cerrar|chiudere|zamkn(?:ąć|ac))\b", re.IGNORECASE)
_ASKS = re.compile(r"\b(?:please|pls|plz|kindly|could you|can you|would you|bitte|könnten sie|koennten sie|"
                   r"por favor|per favore|s'il vous pla[iî]t|merci de|proszę|prosze)\b", re.IGNORECASE)


# A score opens the first line, alone or followed by punctuation: "4", "Score: 5 - quick!",
# "3/5", "5 stars, thanks". "1 more thing: …" and "4.5" are words, not scores. A score that names
# its scale ("/5", stars) may be followed by words at once: "4/5 fast, but…"; not by a date
# ("4/5/2026") or a fraction of something ("3/5 of the laptops", "3/5 der Laptops").
_STARS = r"(?:stars?|sternen|sterne?|[ée]toiles?|estrellas?|stelle|gwiazd(?:ek|ki|ka))"
_SCORE = re.compile(r"^\W*(?:(?:score|rating|note|bewertung|punkte|notation)\s*[:=]?\s*)?([1-5])"
                    rf"(?:(?:\s*/\s*5(?:\s*{_STARS})?|\s*{_STARS})(?![\w/-]|[.,]\d)"
                    r"(?!\s+(?:of|der|des|de|del|di|dei|delle|z|is|are|was|were|would|ist|sind|est|sont|es|son)\b)"
                    r"\s*[-–—:,.!)]*\s*(.*)$"
                    r"|(?:\s*(?:of|out of|von|sur|de|su|na)\s*5)?(?:\s*" + _STARS + r")?"
                    r"(?:\s*$|\s*[-–—:,.!)]+(?!\d)\s*(.*)$))",
                    re.IGNORECASE)
# An answer that says the problem is still there is a reply, score or not: it must reopen the
# ticket, not disappear into the weekly feedback ("4/5 laptops still fail", "2 - noch kaputt").
_STILL_BROKEN = re.compile(r"\b(still|not work\w*|n[o']t fixed|doesn'?t|does not|don'?t work|didn'?t|won'?t|"
                           r"can'?t|cannot|fail\w*|broken|broke|again and again|"
                           r"immer noch|noch nicht|geht nicht|funktioniert nicht|kaputt|"
                           r"(?:geht|funktioniert)(?:\s+(?:jetzt|wieder|immer|noch|schon|heute)){1,3}\s+nicht\b"
                           r"(?!\s+mehr)|"
                           r"toujours|ne marche pas|ne fonctionne pas|todav[ií]a|sigue|no funciona|"
                           r"ancora|non funziona|nadal|nie dzia[łl]a|ainda|n[ãa]o funciona|"
                           # a new problem, not a judgement of the help: "1: urgent, server down"
                           r"down|dead|crash\w*|drops?|error\w*|urgent|locked out|"
                           # the old problem returned: "it jams again", "the problem is back" ("the Wi-Fi
                           # is back", "thanks for clearing the jam" are good news)
                           r"(?:jam\w*|happen\w*|fail\w*|freez\w*|froze) again|"
                           r"(?:problem|issue|error|fault)s? (?:is|are|came|comes) back)\b", re.IGNORECASE)


# A bare number and words is a score when every word judges the help ("5 great service", "4 good",
# "3 ok", "5 Great, thanks!", "5 thanks, works now"); one word that is not ("2 quick questions", "1 top priority: …",
# "3 ok, but can you…") makes it a reply, which reaches the ticket and an agent.
_JUDGING = frozenset("""
great good ok okay fine excellent perfect super fast quick slow poor bad terrible awful awesome amazing nice
helpful friendly brilliant happy satisfied pleased thanks thank thx you very really quite so much lot many all
and was is it the a an job work works worked service support help answer response reply team top gut sehr
schnell prima toll langsam schlecht danke dank vielen schön schon gemacht zufrieden bien bon tres très rapide
lent merci beaucoup content bueno buena muy muchas rapido rápido excelente gracias contento ottimo buono
veloce lento grazie mille dobrze bardzo świetnie swietnie szybko dziękuję dziekuje
would recommend recommended definitely professional kind polite patient competent efficient quickly slowly
unfriendly rude unhelpful impolite late freundlich unfreundlich hilfsbereit kompetent professionell aimable
efficace servicio atención atencion rápida rapida amable eficiente servizio assistenza gentile cortese
now again fixed solved resolved working jetzt wieder geht funktioniert gelöst behoben
obsługa obsluga miły mily uprzejmy ありがとう ありがとうございました ありがとうございます 谢谢 謝謝 感谢 非常感谢 很好
""".split())
_JUDGED = re.compile(r"^\W*([1-5])(?:\s*/\s*5)?\s+(?:(?:out of|of|von|sur|de|su|na)\s+5\s+)?(\w[^?]*)$",
                     re.IGNORECASE)


def _only_judges(words: str) -> bool:
    """Whether every word of ``words`` (some) judges the help: "great service", "slow, unfriendly"."""
    found = re.findall(r"\w+", words.casefold())
    return bool(found) and all(word in _JUDGING for word in found)


def judgement_only(comment: str) -> bool:
    """Whether a score's comment is nothing, or nothing but words that judge the help."""
    return not comment.strip() or _only_judges(comment)


def _judged(first: str) -> re.Match[str] | None:
    found = _JUDGED.match(first)
    return found if found and _only_judges(found.group(2)) else None


# How else people write a score: stars (★★★★☆, ⭐⭐⭐⭐⭐), out of ten (10/10), in words before
# a scale (Five stars), with an emoji after it (4 👍). Read as the digits the patterns know.
_STAR_GLYPHS = re.compile(r"^(\W*?)([★⭐]{1,5})(☆*)")
_LATER_STARS = re.compile(r"(?<=\w)\s*[★⭐]+")  # "Five ⭐": a scale, as "stars"
_NUMBER_WORDS = {word: str(number) for number, words in enumerate((
    "one eins un une uno una", "two zwei deux dos", "three drei trois tres", "four vier quatre cuatro",
    "five fünf cinq cinco", "six sechs seis", "seven sieben sept siete", "eight acht huit ocho",
    "nine neun neuf nueve", "ten zehn dix diez"), start=1) for word in words.split()}
_WORDS = "|".join(_NUMBER_WORDS)
# "out of" only: "3 of 5 printers were fixed" and "3 of 10 users" are counts of things, not scores.
_OUT_OF_FIVE = re.compile(rf"^(\W*)(\d|{_WORDS})\s+out of\s+(?:5|five)\b", re.IGNORECASE)
_OUT_OF_TEN = re.compile(rf"^(\W*)(10|[1-9]|{_WORDS})\s*(?:/|out of)\s*(?:10|ten)(?![\d/]|[.,]\d)", re.IGNORECASE)
_IN_WORDS = re.compile(rf"^(\W*)({_WORDS})(?=\s+(?:{_STARS})\b|\s*/\s*5)", re.IGNORECASE)


def _number(word: str) -> int:
    return int(_NUMBER_WORDS.get(word.casefold(), word))


def _as_digits(first: str) -> str:
    """A first line with its score written as the patterns read it (``first`` is NFKC: a
    full-width ５ is a 5 already): stars, out of ten (halved, rounded up), in words."""
    first = first.replace("\ufe0f", "")  # the emoji form of ⭐
    stars = _STAR_GLYPHS.match(first)
    if stars and (not stars.group(3) or len(stars.group(2)) + len(stars.group(3)) == 5):
        first = f"{stars.group(1)}{len(stars.group(2))} stars {first[stars.end():]}"
    first = _LATER_STARS.sub(" stars", first, count=1)
    first = " ".join("".join(" " if unicodedata.category(char) in ("So", "Sk", "Cf") else char
                             for char in first).split())
    first = _OUT_OF_TEN.sub(lambda found: f"{found.group(1)}{(_number(found.group(2)) + 1) // 2}/5", first, count=1)
    first = _OUT_OF_FIVE.sub(lambda found: f"{found.group(1)}{_number(found.group(2))}/5", first, count=1)
    return _IN_WORDS.sub(lambda found: found.group(1) + str(_number(found.group(2))), first, count=1)


def _opening(line: str) -> str:
    """A line as the score patterns read it: NFKC (a full-width ５ is a 5), other ways of writing
    a score as digits."""
    return _as_digits(unicodedata.normalize("NFKC", line.strip()))


def _scored(opening: str) -> re.Match[str] | None:
    """The score an ``_opening`` starts with: a match of ``_SCORE`` or ``_JUDGED``."""
    return _SCORE.match(opening) or _judged(opening)


# After a score, what makes the answer a request or a new problem, not a judgement of the help:
# it must reach an agent ("4/5 laptops need the driver too", "★ Important: please set up…").
_REQUEST = re.compile(r"\b(?:needs?|needed|another|install|set ?up|missing|stopped|(?:got|have|has|had) no|"
                      r"same (?:problem|issue|error)|brauche[n]?|benötig\w*|fehlt)\b", re.IGNORECASE)


_NUMBERED = re.compile(r"([1-5])[.)]\s+\S")
# A question without its mark: "1 is it fixed now", "2 can you look again" (not "5 is great").
# After a 4 or 5, praise that holds a word of breakage: "5 - still works perfectly", "5 - no more
# crashes, thanks", "5 - Besser geht nicht!" (left out before the breakage words are looked for).
_PRAISE = re.compile(r"\bstill (?:works?|working|running|fine|great|perfect\w*|good)\b|"
                     r"\bno (?:more )?(?:crash\w*|errors?|problems?|issues?|drops?)\b|"
                     r"\bwithout (?:any )?(?:crash\w*|errors?|problems?)\b|can'?t thank|"
                     r"keine (?:Fehler|Abstürze|Probleme) mehr|(?:besser|schneller) geht'?s?(?: es)? nicht|"
                     r"toujours (?:aussi|au top|parfait)\w*|(?:sigue|todavía) funcionando(?: bien| perfect\w*)?|"
                     r"todavía funciona(?: bien| perfect\w*)",
                     re.IGNORECASE)
# With a score of 3 or less only, words that say it broke again ("1 - Outlook startet nicht mehr",
# "1 - it isn't fixed", "3 - das Problem ist wieder da"): a 5 (or a 4) says the same words in praise
# ("5 - Besser geht es nicht!", "4 - klappt nicht schlecht"), where they are a score.
_LOW_BROKEN = re.compile(r"(?:startet|druckt|geht|funktioniert|läuft|lädt|öffnet|verbindet|reagiert|bootet|"
                         r"scannt|klappt)(?:\s+\w+){0,3}\s+nicht\b|nicht gelöst|nicht behoben|wieder da\b|"
                         r"tritt\s+(?:\w+\s+)?wieder auf|n[o']?t (?:fixed|solved|resolved)|"
                         r"isn'?t (?:fixed|solved|working)|"
                         r"\bagain\b|ne marche plus|ne fonctionne plus|werkt niet|niet opgelost|"
                         r"no se (?:ha )?(?:resuelto|solucionado)|non (?:è )?risolto|(?:is|came|come) back\b|"
                         r"persist|weiterhin|nog steeds niet|werkt\b(?:\s+\w+){0,2}\s+niet|est revenu|volvió|"
                         r"pas résolu|no está resuelto|nothing (?:has )?changed|\bworse\b|"
                         r"nichts (?:hat sich )?geändert|kommt wieder|en panne|otra vez|\bis (?:er )?nog\b|is terug",
                         re.IGNORECASE)
_ASKED = re.compile(r"^\W*[1-5]\s+(?:(?:is|are|can|could|will|would|should|ist|kann|können)\s+"
                    r"(?:it|this|that|you|he|she|they|there|the|es|das|man|sie|ihr)"
                    r"|(?:was|does|did|do)\s+(?:it|this|that|you|he|she|they|there))\b", re.IGNORECASE)


def feedback_score(text: str) -> tuple[int, str] | None:
    """(score, comment) from the answer to a feedback request: a number 1-5 opening its
    first line ("4", "Score: 5 - quick!", "3/5", "5 great service"); None when it does not
    start with one, or when its first line says the problem is still there."""
    lines = [line for line in strip_quoted(text).split("\n")]
    # Answered below the quoted question ("> How did we do? …" then "4, works fine"), or after a
    # greeting ("Hi Dan," then "5 - thanks, works great!").
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith(">")):
        lines.pop(0)
    if len(lines) > 1 and is_greeting(lines[0].strip()):  # "Hi Dan," alone; "Hi, it jams" says more
        below = [line for line in lines[1:] if line.strip()]
        if below and _scored(_opening(below[0])) is not None:
            lines = lines[lines.index(below[0]):]
    first = _opening(lines[0]) if lines else ""
    match = _scored(first)
    judged = _PRAISE.sub(" ", first) if match is not None and int(match.group(1)) >= 4 else first
    if match is None or _STILL_BROKEN.search(judged) or "?" in first or _ASKED.match(first):  # a question
        return None
    if int(match.group(1)) <= 3 and _LOW_BROKEN.search(first):
        return None
    numbered = _NUMBERED.match(first)
    if numbered:  # "1. Please also…", or then "2. …": a request, or the first of a list of them
        following = next((line.strip() for line in lines[1:] if line.strip()), "")
        if _ASKS.search(first) or following.startswith((f"{int(numbered.group(1)) + 1}.",
                                                        f"{int(numbered.group(1)) + 1})")):
            return None
    said = match.group(2) if match.re is _JUDGED else (match.group(2) or match.group(3) or "")
    comment = " ".join(" ".join([said, *lines[1:]]).split())
    if not _only_judges(comment) and (_ASKS.search(comment) or _REQUEST.search(comment)):
        return None
    return int(match.group(1)), comment[:2000]
