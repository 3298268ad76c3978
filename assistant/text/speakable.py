"""Replies made for listening: what TTS gets instead of the LLM's text (captions keep the original).

``speakable(text, language)`` turns markdown (headings, lists, bold/italic, inline code, links,
tables; a code block becomes "I've put the code on screen"), emoji, URLs (said as the site
name), e-mail addresses and symbols (% & ° → …) into plain speech, and reads numbers in the
formats a voice gets wrong in the reply's language. The engine calls it per sentence, so state
that spans sentences (inside a code block or not) lives in :class:`Speakable`.

Numbers — the rule: plain integers ("42", "1995") stay digits, because every voice here reads
them itself in the right language (espeak-ng, and the espeak-ng phonemizer behind the Coqui
and Piper voices; expanding them too would only be slower). We expand what depends on
conventions the voice does not know: currency amounts ($5, 12,50 €, 3 GBP), ordinals (1st, 3.
Mai, 1º, 1er), ISO dates, clock times, percentages, decimals and thousands separators (3.5 is
"three point five" in English, "3,5" is "drei Komma fünf" in German). Words come from
``num2words`` (LGPL, maintained, covers 50+ languages with correct grammar for cardinals,
ordinals and years — hand-written number spelling is the classic source of bugs here);
languages it lacks keep their digits.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.text.speech_words import CURRENCIES, MONTHS, WORDS, word

CODE_FENCE = re.compile(r"```|~~~")
_NUM2WORDS_LANGS = ("en", "de", "es", "fr", "pt", "it", "nl", "pl", "ru", "tr", "uk", "cs", "da", "fi", "sv",
                    "no", "hu", "id", "ja", "ko", "vi", "ar", "he", "ro", "sk", "sl", "sr", "lt", "lv", "kz")
COMMA_DECIMAL = frozenset("de es fr pt it nl pl ru tr uk cs da fi sv no hu id ro sk sl sr lt lv".split())


def _n2w(value, language: str, to: str = "cardinal") -> str | None:
    if language not in _NUM2WORDS_LANGS:
        return None
    from num2words import num2words

    try:
        return num2words(value, lang=language, to=to)
    except (NotImplementedError, OverflowError, ValueError, KeyError):
        return None


class Speakable:
    """Per-reply converter: ``push(sentence)`` returns the text to speak ("" for nothing)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.in_code = False

    def push(self, text: str) -> str:
        out: list[str] = []
        parts = CODE_FENCE.split(text)
        for i, part in enumerate(parts):
            if i > 0:  # a fence between parts[i-1] and parts[i]
                self.in_code = not self.in_code
                if self.in_code:
                    out.append(word("code", self.language))
                    continue
            if not self.in_code:
                out.append(_line(part, self.language))
        return _tidy(" ".join(o for o in out if o))


def speakable(text: str, language: str) -> str:
    """``text`` (a whole reply or one sentence of it) as it should be spoken."""
    conv = Speakable(language)
    return _tidy(" ".join(conv.push(line) for line in text.splitlines()))


# ----------------------------------------------------------------------------- markdown

_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HRULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_BLOCK_MARK = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•·‣▪]\s+|\d{1,3}[.)]\s+(?=\D))")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_INLINE_CODE = re.compile(r"`([^`]*)`")
_EMPHASIS = re.compile(r"(\*\*\*|\*\*|\*|___|__|~~)(?=\S)(.+?)(?<=\S)\1")
_UNDERSCORE_EM = re.compile(r"(?<![\w])_(?=\S)(.+?)(?<=\S)_(?![\w])")
_HTML = re.compile(r"</?[a-zA-Z][^>]{0,40}>")


def _line(text: str, lang: str) -> str:
    if _TABLE_RULE.match(text) or _HRULE.match(text):
        return ""
    s = text.strip()
    if s.startswith("|") or s.count("|") >= 2:  # a table row: cells as a list
        cells = [c.strip() for c in s.strip("|").split("|")]
        s = ", ".join(c for c in cells if c)
        s = _end(s)
    else:
        heading = bool(re.match(r"^\s*#{1,6}\s", s))
        item = bool(_BLOCK_MARK.match(s))
        s = _BLOCK_MARK.sub("", s)
        if heading or item:
            s = _end(s)
    s = _IMAGE.sub(r"\1", s)
    s = _LINK.sub(r"\1", s)
    s = _INLINE_CODE.sub(r"\1", s)
    s = _HTML.sub(" ", s)
    for _ in range(2):
        s = _EMPHASIS.sub(r"\2", s)
    s = _UNDERSCORE_EM.sub(r"\1", s)
    s = _emails(s, lang)
    s = _urls(s, lang)
    s = _numbers(s, lang)
    s = _symbols(s, lang)
    return s


def _end(s: str) -> str:
    s = s.strip()
    return s if not s or s[-1] in ".!?;:…,。" else s + "."


# ----------------------------------------------------------------------------- web

_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_TLDS = "com|org|net|edu|gov|io|ai|dev|app|info|eu|de|at|ch|es|fr|pt|br|it|nl|pl|uk|co|us|ca|be|mx|ar"
_URL = re.compile(rf"\b(?:https?://|www\.)[^\s<>()\"']+|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>()\"']*)?",
                  re.IGNORECASE)


def _dotted(name: str, lang: str) -> str:
    return f" {word('dot', lang)} ".join(p for p in re.split(r"[.]", name) if p)


def _emails(s: str, lang: str) -> str:
    return _EMAIL.sub(lambda m: f"{_dotted(m.group(1), lang)} {word('at', lang)} {_dotted(m.group(2), lang)}", s)


def _urls(s: str, lang: str) -> str:
    def site(m: re.Match) -> str:
        url = m.group(0).rstrip(".,;:!?")
        tail = m.group(0)[len(url):]
        host = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE).split("/")[0].split(":")[0]
        host = re.sub(r"^www\.", "", host, flags=re.IGNORECASE)
        return _dotted(host.lower(), lang) + tail

    return _URL.sub(site, s)


# ----------------------------------------------------------------------------- numbers

_SYMBOL_CURRENCY = {"$": "USD", "US$": "USD", "R$": "BRL", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
_NUM = r"\d{1,3}(?:[.,\s ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_CUR_BEFORE = re.compile(rf"(US\$|R\$|[$€£¥₹])\s?({_NUM})"
                         r"(?:\s?(million|billion|Millionen|Milliarden|millones|millions|milhões))?")
_CUR_AFTER = re.compile(rf"({_NUM})\s?(€|\$|£|EUR|USD|GBP|CHF|BRL|euros?|Euro|dollars?|Dollar|dólar(?:es)?|reais"
                        rf"|pounds?|Pfund|libras?|livres?)\b|({_NUM})\s?(€|\$|£)")
_PERCENT = re.compile(rf"({_NUM})\s?%")
_TIME = re.compile(r"\b([01]?\d|2[0-3])[:h]([0-5]\d)\b(?:\s?(a\.?m\.?|p\.?m\.?|Uhr|h)\b)?"
                   r"|\b(1[0-2]|0?[1-9])\s?(a\.?m\.?|p\.?m\.?)(?=\W|$)",
                   re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_ORD_EN = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_ORD_ROMANCE = re.compile(r"\b(\d+)(?:\.?([ºª°])|(er|re|ère|e|ème|eme)\b)")
_DAY_MONTH = None  # built per language below
_DECIMAL = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,\s ]\d{3})+(?:[.,]\d+)?|\d+[.,]\d+)(?![\d.,]*\d)")


def _value(text: str, lang: str) -> float | int | None:
    """Parse a number as written in ``lang`` (or in English style, which LLMs often use)."""
    t = text.replace(" ", "").replace("\u00a0", "").replace(" ", "")
    if "," in t and "." in t:  # both: the last one is the decimal mark
        dec = "," if t.rfind(",") > t.rfind(".") else "."
        t = t.replace("." if dec == "," else ",", "").replace(dec, ".")
    elif "," in t or "." in t:
        mark = "," if "," in t else "."
        groups = t.split(mark)
        thousands = len(groups) > 2 or (len(groups[-1]) == 3
                                        and (mark == "." if lang in COMMA_DECIMAL else mark == ","))
        t = t.replace(mark, "") if thousands else t.replace(mark, ".")
    try:
        v = float(t)
    except ValueError:
        return None
    return int(v) if v.is_integer() and "." not in t else v


def _cardinal(value, lang: str) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _n2w(value, lang)


def _money(amount, code: str, lang: str, scale: str | None = None) -> str | None:
    names = CURRENCIES.get(code, {}).get(lang)
    if amount is None or names is None:
        return None
    one, many, sub_one, sub_many, feminine = names
    whole = int(amount)
    cents = int(round((amount - whole) * 100))
    def count(n: int, sg: str, pl: str) -> str | None:
        if n == 1:
            return f"{word('one_f' if feminine else 'one_m', lang)} {sg}"
        w = _n2w(n, lang)
        return f"{w} {pl}" if w else None
    if scale:
        w = _cardinal(amount, lang)
        return f"{w} {scale} {many}" if w else None
    parts = [count(whole, one, many)] if whole or not cents else []
    if cents:
        parts.append(count(cents, sub_one, sub_many))
    if any(p is None for p in parts):
        return None
    return f" {word('and_money', lang)} ".join(parts)


def _numbers(s: str, lang: str) -> str:
    if lang not in _NUM2WORDS_LANGS:
        return s

    def before(m: re.Match) -> str:
        return _money(_value(m.group(2), lang), _SYMBOL_CURRENCY[m.group(1)], lang, m.group(3)) or m.group(0)

    def after(m: re.Match) -> str:
        num, sym = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        low = sym.lower()
        code = {"€": "EUR", "$": "USD", "£": "GBP", "reais": "BRL"}.get(low) or (
            "EUR" if low.startswith("euro") else "USD" if low.startswith(("dollar", "dólar"))
            else "GBP" if low.startswith(("pound", "pfund", "libra", "livre")) else sym.upper())
        return _money(_value(num, lang), code, lang) or m.group(0)

    s = _CUR_BEFORE.sub(before, s)
    s = _CUR_AFTER.sub(after, s)
    s = _PERCENT.sub(lambda m: f"{_cardinal(_value(m.group(1), lang), lang) or m.group(1)} {word('percent', lang)}", s)
    s = _ISO_DATE.sub(lambda m: _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), lang) or m.group(0), s)
    s = _day_month(s, lang)
    s = _TIME.sub(lambda m: _time(m, lang) or m.group(0), s)
    if lang == "en":
        s = _ORD_EN.sub(lambda m: _n2w(int(m.group(1)), "en", "ordinal") or m.group(0), s)
    elif lang in ("es", "pt", "fr", "it"):
        s = _ORD_ROMANCE.sub(lambda m: _ordinal_romance(m, lang), s)
    s = _DECIMAL.sub(lambda m: _cardinal(_value(m.group(1), lang), lang) or m.group(0), s)
    return s


def _ordinal_romance(m: re.Match, lang: str) -> str:
    n = int(m.group(1))
    mark = m.group(2) or m.group(3)
    if lang == "fr" and mark not in ("er", "re", "ère", "e", "ème", "eme"):
        return m.group(0)
    if lang != "fr" and mark not in ("º", "ª", "°"):
        return m.group(0)
    w = _n2w(n, lang, "ordinal")
    if not w:
        return m.group(0)
    if lang == "fr" and n == 1:
        return "première" if mark in ("re", "ère") else "premier"
    if mark == "ª" and w.endswith("o"):  # feminine: primera, primeira
        w = w[:-1] + "a"
    return w


def _day(n: int, lang: str, dative: bool = False) -> str | None:
    if lang == "en":
        return _n2w(n, "en", "ordinal")
    if lang == "de":
        w = _n2w(n, "de", "ordinal")
        return w + ("n" if dative else "") if w else None
    if lang in ("fr", "es", "pt") and n == 1:
        return {"fr": "premier", "es": "primero", "pt": "primeiro"}[lang]
    return _n2w(n, lang)


def _date(y: int, mo: int, d: int, lang: str) -> str | None:
    if not (1 <= mo <= 12 and 1 <= d <= 31) or lang not in MONTHS:
        return None
    month = MONTHS[lang][mo - 1]
    day, year = _day(d, lang), _n2w(y, lang, "year")
    if not day or not year:
        return None
    return {"en": f"{month} {day}, {year}", "de": f"{day} {month} {year}",
            "es": f"{day} de {month} de {year}", "pt": f"{day} de {month} de {year}",
            "fr": f"{day} {month} {year}"}.get(lang, f"{day} {month} {year}")


def _day_month(s: str, lang: str) -> str:
    if lang not in MONTHS:
        return s
    months = "|".join(MONTHS[lang] + [m.capitalize() for m in MONTHS[lang]])
    if lang == "en":
        s = re.sub(rf"\b({months})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!:)",
                   lambda m: f"{m.group(1)} {_day(int(m.group(2)), lang)}", s)
        return re.sub(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({months})\b",
                      lambda m: f"the {_day(int(m.group(1)), lang)} of {m.group(2)}", s)
    if lang == "de":
        def de(m: re.Match) -> str:
            dative = bool(m.group(1))
            return f"{m.group(1) or ''}{_day(int(m.group(2)), lang, dative)} {m.group(3)}"
        return re.sub(rf"(\b(?i:am|vom|zum|bis zum|seit dem|ab dem|dem)\s+)?\b(\d{{1,2}})\.\s*({months})\b", de, s)
    sep = r"\s+de\s+" if lang in ("es", "pt") else r"\s+"
    return re.sub(rf"\b(\d{{1,2}})(?:er|º)?({sep})({months})\b",
                  lambda m: f"{_day(int(m.group(1)), lang)}{m.group(2)}{m.group(3)}", s)


def _time(m: re.Match, lang: str) -> str | None:
    said = _clock(m, lang)
    return said + "." if said and m.group(0).endswith(".") else said


def _clock(m: re.Match, lang: str) -> str | None:
    if m.group(4):  # "3 pm"
        h, mi, suffix = int(m.group(4)), 0, m.group(5)
    else:
        h, mi, suffix = int(m.group(1)), int(m.group(2)), m.group(3)
    hw = _n2w(h, lang)
    if hw is None:
        return None
    mw = _n2w(mi, lang) if mi else ""
    ampm = ""
    if suffix and suffix.lower().startswith(("a", "p")):
        ampm = " " + ("a m" if suffix.lower().startswith("a") else "p m")
    if lang == "en":
        if not mi:
            return f"{hw}{ampm}" if ampm else f"{hw} o'clock"
        return f"{hw} {'oh ' + mw if mi < 10 else mw}{ampm}"
    if lang == "de":
        return f"{'ein' if h == 1 else hw} Uhr" + (f" {mw}" if mi else "")
    if lang == "fr":
        unit = "heure" if h == 1 else "heures"
        return f"{'une' if h == 1 else hw} {unit}" + (f" {mw}" if mi else "")
    if lang == "es":  # "a las nueve y media": the article is usually written already
        return f"{'una' if h == 1 else hw}" + (f" y {mw}" if mi else " en punto")
    if lang == "pt":
        return (f"{'uma' if h == 1 else 'duas' if h == 2 else hw}"
                + (f" e {mw}" if mi else " horas" if h != 1 else " hora"))
    return f"{hw} {mw}".strip()


# ----------------------------------------------------------------------------- symbols and emoji

def _symbols(s: str, lang: str) -> str:
    if lang not in WORDS["percent"]:  # no words for this language: the voice reads its symbols
        return _strip_emoji(re.sub(r"\s*…\s*$", ".", s))
    s = re.sub(r"\s?%", f" {word('percent', lang)}", s)
    s = re.sub(r"\s?°\s?C\b", f" {word('degrees', lang)} Celsius", s)
    s = re.sub(r"\s?°\s?F\b", f" {word('degrees', lang)} Fahrenheit", s)
    s = s.replace("°", f" {word('degrees', lang)}")
    s = re.sub(r"\s*(?:→|⇒|->|=>|⟶)\s*", f" {word('to', lang)} ", s)
    s = re.sub(r"\s*&\s*", f" {word('and', lang)} ", s)
    s = re.sub(r"(?<=\d)\s*\+\s*(?=\d)", f" {word('plus', lang)} ", s)
    s = re.sub(r"(?<=\d)\s*[×x]\s*(?=\d)", f" {word('times', lang)} ", s)
    s = re.sub(r"(?<=\w)\s*=\s*(?=\w)", f" {word('equals', lang)} ", s)
    s = re.sub(r"~\s*(?=\d)", f"{word('about', lang)} ", s)
    s = re.sub(r"#(?=\d)", f"{word('number', lang)} ", s)
    s = re.sub(r"…\s*$", ".", s)
    s = re.sub(r"\s*…\s*", ", ", s)
    return _strip_emoji(s)


def _strip_emoji(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if o in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= o <= 0x1F3FF:  # joiners, selectors, skin tones
            continue
        cat = unicodedata.category(ch)
        if cat == "So" or (cat == "Sk" and o > 0x2000) or 0x1F000 <= o <= 0x1FAFF:
            out.append(" ")
            continue
        if ch in "*_`|#<>^\\{}[]":  # markup leftovers nobody wants read aloud
            out.append(" ")
            continue
        out.append(ch)
    return "".join(out)


def _tidy(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\s+([.,;:!?])", r"\1", s)
    s = re.sub(r"([.,;:!?])\1+", r"\1", s)
    s = re.sub(r"^[,;:.]\s*", "", s)
    return s
