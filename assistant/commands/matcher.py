"""Recognising voice commands on the transcript.

``parse(text, language)`` returns a :class:`Command` or None. A command must be the whole
utterance, apart from politeness, hesitation and request frames ("could you please speak a bit
slower?" is the command ``slower``; "how do I stop a leak?" is a question). Matching ignores
case, accents, punctuation and word order, and tries the transcript's language first, then the
others (Whisper often mislabels one- or two-word clips). The language commands of
:mod:`assistant.commands.language` ("speak German") are kind ``language``.

Commands are intents, not strings: when no phrase matches exactly, the utterance is compared
with every phrase by edit distance on the normalised words (RapidFuzz), so what Whisper
mishears ("skitabit slummer please" for "speak a bit slower please") is still found. Each
match has a ``confidence``: 1.0 for an exact match, the similarity otherwise. At or above
``ACT`` the command is acted on; between ``ASK`` and ``ACT`` (``parse(..., ask=True)``) the
engine asks "Did you want me to ...?" and a yes/no on the next turn decides. A fuzzy match is
refused outright when the utterance carries a question word the phrase does not have, when
the phrase is too short for a distance to mean anything, or when the lengths differ much.

The session's language (the conversation's, before this turn) is tried first, then the
language Whisper detected, then the others.

The command's effects live in :mod:`assistant.commands.session`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import fuzz

from assistant.audio.guard import normalize
from assistant.commands import language as language_commands
from assistant.commands.phrases import (  # noqa: F401 (KINDS: re-exported)
    KINDS,
    NO_WORDS,
    PHRASES,
    POLITE_WORDS,
    QUESTION_VERBS,
    QUESTION_WORDS,
    STRONG_FILLERS,
    WEAK_FILLERS,
    YES_WORDS,
)
from assistant.commands.replies import confirmation
from assistant.commands.replies import reply_language as _spoken_in

LANGUAGES = ("en", "de", "es", "fr", "pt")  # languages with phrase tables, in the order tried
MAX_WORDS = 12  # longer utterances are never commands (cheap early exit)
# Set on the spoken command set (tests/commands/test_spoken_commands.py): the closest question scored
# 0.73 ("don't stop" / "don't listen"), the closest spoken question 0.62; misheard commands
# mostly 0.74-0.86 (README).
ACT = 0.82  # a fuzzy match this close is acted on
ASK = 0.74  # this close: ask first ("Did you want me to ...?")
# The rough sound (``sound``) counts only this close: 95 adds no false trigger on 1- to 4-word
# fragments of the FLEURS transcripts (4,636 of them; 85 added 15, 90 added 2).
SOUND_MIN = 95
MIN_FUZZY_CHARS = 6  # phrases shorter than this (without spaces) match exactly or not at all


@dataclass(frozen=True)
class Command:
    kind: str  # one of KINDS
    argument: str | None  # kind "language": the requested code (None: back to automatic)
    language: str  # the language the confirmation is in
    confirmation: str  # what to say (empty for "repeat": the engine says the last reply again)
    text: str  # the transcript it was recognised in
    confidence: float = 1.0  # 1.0: an exact phrase; below ``ACT``: ask before acting
    phrase: str = ""  # the phrase it matched (fuzzy matches)

    @property
    def certain(self) -> bool:
        return self.confidence >= ACT


def _pattern(fillers: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted({normalize(f) for f in fillers}, key=len, reverse=True)  # longest first
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


_STRONG = _pattern(STRONG_FILLERS)
_WEAK = _pattern(WEAK_FILLERS)


def _words(text: str) -> list[str]:
    """Normalised words minus fillers, repeats collapsed, in spoken order."""
    norm = normalize(text)
    strong = _STRONG.sub(" ", norm)
    words = _WEAK.sub(" ", strong).split() or strong.split()
    return _once([w for i, w in enumerate(words) if i == 0 or w != words[i - 1]])  # "stop stop stop"


def _once(words: list[str]) -> list[str]:
    """A phrase said (or decoded) twice or more in a row, once: Whisper repeats a short clip's
    whole text ("Wake up. Wake up." for "Wake up.")."""
    n = len(words)
    for period in range(1, n // 2 + 1):
        if n % period == 0 and words == words[:period] * (n // period):
            return words[:period]
    return words


def key(text: str) -> tuple[str, ...]:
    """The canonical form compared: normalised words minus fillers, repeats collapsed, sorted."""
    return tuple(sorted(_words(text)))


def _table(extra: dict[str, dict[str, tuple[str, ...]]] | None = None) -> dict[tuple[str, ...], dict[str, str]]:
    """canonical key -> {language: kind}."""
    table: dict[tuple[str, ...], dict[str, str]] = {}
    sources = [PHRASES] + ([extra] if extra else [])
    for source in sources:
        for kind, by_language in source.items():
            for lang, phrases in by_language.items():
                for phrase in phrases:
                    k = key(phrase)
                    if k:
                        table.setdefault(k, {})[lang] = kind
    return table


_TABLE = _table()


@lru_cache(maxsize=8)
def _fuzzy_table(extra_key: str = "") -> dict[str, list[tuple[str, str, str, str, str]]]:
    """language -> [(kind, phrase, words in order, words sorted, words with particles)] for
    phrases long enough."""
    import json

    extra = json.loads(extra_key) if extra_key else None
    out: dict[str, list[tuple[str, str, str, str, str]]] = {}
    for source in [PHRASES] + ([extra] if extra else []):
        for kind, by_language in source.items():
            for lang, phrases in by_language.items():
                for phrase in phrases:
                    words = _words(phrase)
                    if len("".join(words)) >= MIN_FUZZY_CHARS:
                        spoken = _STRONG.sub(" ", normalize(phrase)).split()
                        out.setdefault(lang, []).append(
                            (kind, phrase, " ".join(words), " ".join(sorted(words)), " ".join(spoken)))
    return out


_QUESTION = frozenset(normalize(w) for w in QUESTION_WORDS)
_QUESTION_VERB = frozenset(QUESTION_VERBS)


_POLITE = tuple(sorted({w for f in STRONG_FILLERS for w in normalize(f).split() if len(w) >= 5}))


def _heard_words(text: str) -> tuple[list[str], list[str]]:
    """(words minus fillers, words minus strong fillers only), for fuzzy matching: a word one
    letter off a politeness word ("witte" for "bitte", "plese") is dropped like the word."""
    norm = _STRONG.sub(" ", normalize(text))
    kept = [w for w in norm.split() if len(w) < 5 or fuzz.ratio(w, _closest(w)) < 80]
    words = _words(" ".join(kept))
    return words, kept


def _closest(word: str) -> str:
    from rapidfuzz import process

    found = process.extractOne(word, _POLITE, scorer=fuzz.ratio)
    return found[0] if found else ""


# Spellings folded to a rough sound, the same in every language (a phonetic key for Whisper's
# misspellings: "Lizer" for "leiser", "Sprichlotta" for "sprich lauter", "Apla mais forte" for
# "habla más fuerte"): digraphs to one letter, voiced consonants to their voiceless pair, silent
# h dropped, vowel spellings of one sound to one letter, a final -er to -a, doubled letters once.
_SOUND_RULES = tuple((re.compile(a), b) for a, b in (
    ("sch", "s"), ("ch", "s"), ("sh", "s"), ("ph", "f"), ("th", "t"), ("qu", "k"), ("ck", "k"),
    ("c(?=[eiy])", "s"), ("c", "k"), ("z", "s"), ("x", "ks"), ("w", "f"), ("v", "f"), ("j", "i"), ("y", "i"),
    ("b", "p"), ("d", "t"), ("g", "k"), ("h", ""),
    ("ei|ai|ay|ey|ee|ie|ea", "i"), ("eau|au|ao", "o"), ("oo|ou", "u"), (r"(?<=[a-z])er$", "a"),
    (r"(.)\1+", r"\1"),
))


@lru_cache(maxsize=4096)
def sound(word: str) -> str:
    """A normalised word's rough sound (see ``_SOUND_RULES``)."""
    for rx, to in _SOUND_RULES:
        word = rx.sub(to, word)
    return word


def similarity(words: list[str], phrase_words: str, phrase_sorted: str, spoken: list[str] = (),
               phrase_spoken: str = "") -> float:
    """0..1: how close the utterance's words are to a phrase's (edit distance on the characters,
    in order and sorted, spaces ignored so "skitabit" can be "speak a bit"; the same with the
    particles kept, so "sagt es nochmal" is close to "sag es noch mal"; and on the words' rough
    sound, so "Lizer" is "leiser")."""
    said = " ".join(words)
    by_order = fuzz.ratio(said.replace(" ", ""), phrase_words.replace(" ", ""))
    by_set = fuzz.ratio(" ".join(sorted(words)), phrase_sorted)
    with_particles = fuzz.ratio("".join(spoken), phrase_spoken.replace(" ", "")) if spoken and phrase_spoken else 0
    by_sound = fuzz.ratio("".join(map(sound, words)), "".join(map(sound, phrase_words.split())))
    by_sound = by_sound if by_sound >= SOUND_MIN else 0.0  # a rough key: only the same sound counts
    return max(by_order, by_set, with_particles, by_sound) / 100.0


def _comparable(words: list[str], phrase: str) -> bool:
    """Lengths close enough for a distance to mean something (letters and words)."""
    n = len(phrase.replace(" ", ""))
    return abs(len("".join(words)) - n) <= max(3, n // 2) and abs(len(words) - phrase.count(" ") - 1) <= 2


def _fuzzy(text: str, order: list[str], table: dict[str, list[tuple[str, str, str, str, str]]]
           ) -> tuple[str, str, str, float] | None:
    """The closest phrase at or above ``ASK``: (kind, language, phrase, confidence). Languages
    are tried in ``order``: the first one with a match at ``ACT`` wins; otherwise the best."""
    words, spoken = _heard_words(text)
    if not words:
        return None
    opening = ({*words[:2], *spoken[:2]} & _QUESTION) | ({words[0], spoken[0]} & _QUESTION_VERB)  # a question
    best: tuple[str, str, str, float] | None = None
    for lang in order:
        for kind, phrase, phrase_words, phrase_sorted, phrase_spoken in table.get(lang, ()):
            if not (_comparable(words, phrase_words) or _comparable(spoken, phrase_spoken)):
                continue
            if opening - set(phrase_spoken.split()):
                continue  # a question, unless the phrase itself asks it ("what can i say")
            score = similarity(words, phrase_words, phrase_sorted, spoken, phrase_spoken)
            if score >= ASK and (best is None or score > best[3] + 1e-9):
                best = (kind, lang, phrase, score)
        if best is not None and best[3] >= ACT:
            return best
    return best


def closest(text: str, order: list[str] | tuple[str, ...] = LANGUAGES) -> tuple[str, str, str, float] | None:
    """The nearest phrase whatever its score: (kind, language, phrase, similarity), for reports
    on why a command was missed (no threshold, no question check)."""
    words, spoken = _heard_words(text)
    if not words:
        return None
    best: tuple[str, str, str, float] | None = None
    for lang in order:
        for kind, phrase, phrase_words, phrase_sorted, phrase_spoken in _fuzzy_table("").get(lang, ()):
            score = similarity(words, phrase_words, phrase_sorted, spoken, phrase_spoken)
            if best is None or score > best[3] + 1e-9:
                best = (kind, lang, phrase, score)
    return best


_VERBS = {v.replace(" ", ""): v for v in language_commands.VERBS.split("|")}  # heard without spaces -> verb
_PREPS = ("in", "auf", "en", "em", "na", "no", "dans", "op", "po", "to", "a", "al")
_SPEAKERS = frozenset(("i", "ich", "yo", "je", "eu", "we", "wir", "you", "du", "tu", "nous", "my", "mein", "ma"))


def _fuzzy_language(text: str) -> tuple[language_commands.LanguageCommand | None, float]:
    """"Speak German" with the verb misheard ("und Worte auf Französisch", "Twitch to Spanish",
    "par l'espagnol"): the language name must be exact, the verb (one or two words heard) close
    to one of the language commands' verbs. Confidence: halfway between the verb's similarity and 1."""
    words = _heard_words(text)[1]
    if not 2 <= len(words) <= 6 or words[0] in _SPEAKERS:
        return None, 0.0
    for n in (1, 2):
        verb, rest = "".join(words[:n]), words[n:]
        if rest and rest[0] in _PREPS:
            rest = rest[1:]
        if not rest or len(rest) > 3:
            continue
        from rapidfuzz import process

        found = process.extractOne(verb, list(_VERBS), scorer=fuzz.ratio, score_cutoff=75)
        if found is None:
            continue
        command = language_commands.parse(f"{_VERBS[found[0]]} {' '.join(rest)}")
        if command is not None:
            return command, (1 + found[1] / 100) / 2
    return None, 0.0


def yes_or_no(text: str) -> bool | None:
    """An answer to "Did you want me to ...?": True (yes, ja, sí, oui, sim...), False (no, nein,
    non, não...), or None when the utterance is anything else."""
    words = [w for w in normalize(text).split() if w not in POLITE_WORDS]
    if not words or len(words) > 4:
        return None
    if all(w in YES_WORDS for w in words):
        return True
    if all(w in NO_WORDS for w in words):
        return False
    return None


def language_order(session_language: str | None, detected: str) -> list[str]:
    """The phrase tables in the order tried: the session's language, the detected one, the rest."""
    first = [lang for lang in (session_language, detected) if lang]
    return list(dict.fromkeys([*first, *LANGUAGES]))


def parse(text: str, language: str = "en", extra_phrases: dict[str, dict[str, tuple[str, ...]]] | None = None,
          reply_language: str | None = None, session_language: str | None = None,
          ask: bool = False) -> Command | None:
    """The voice command ``text`` is, or None; see ``parse_one``. An utterance of several
    sentences or clauses ("Speak up, I can't hear you.") is a command when it is none as a
    whole but each part is the same command; its confidence is the least sure part's."""
    whole = parse_one(text, language, extra_phrases, reply_language, session_language, ask)
    if whole is not None:
        return whole
    parts = [p for p in _CLAUSES.split(text) if key(p)]
    if not 2 <= len(parts) <= 3 or len(normalize(text).split()) > MAX_WORDS:
        return None
    found = [parse_one(p, language, extra_phrases, reply_language, session_language, ask) for p in parts]
    if any(c is None for c in found) or len({(c.kind, c.argument) for c in found}) > 1:  # type: ignore[union-attr]
        return None
    least = min(found, key=lambda c: c.confidence)  # type: ignore[union-attr]
    return replace(least, text=text)  # type: ignore[arg-type]


_CLAUSES = re.compile(r"[,.;:!?¡¿]+")


def parse_one(text: str, language: str = "en", extra_phrases: dict[str, dict[str, tuple[str, ...]]] | None = None,
              reply_language: str | None = None, session_language: str | None = None,
              ask: bool = False) -> Command | None:
    """The voice command ``text`` is, or None.

    ``language``: what Whisper detected. ``session_language``: the conversation's language
    before this turn; its phrases are tried first, then ``language``'s, then the others'.
    ``reply_language``: the language confirmations should be spoken in (default: the language
    of the phrase that matched). ``extra_phrases``: more phrasings, ``{kind: {language:
    (phrase, ...)}}`` (from the config). ``ask``: also return uncertain matches (confidence
    between ``ASK`` and ``ACT``), for the caller to confirm; otherwise only certain ones.
    """
    norm = normalize(text)
    if not norm or len(norm.split()) > MAX_WORDS:
        return None
    said = " ".join(_once(norm.split()))  # "Speak my language. Speak my language."
    lang_cmd, lang_confidence = language_commands.parse(said), 1.0
    if lang_cmd is None:
        lang_cmd, lang_confidence = _fuzzy_language(said)
    if lang_cmd is not None:
        return Command("language", lang_cmd.language, lang_cmd.language or reply_language or language,
                       lang_cmd.confirmation, text, round(lang_confidence, 3))
    table = _table(extra_phrases) if extra_phrases else _TABLE
    order = language_order(session_language, language)
    matches = table.get(key(text))
    confidence, phrase = 1.0, ""
    if matches:
        matched = next(lang for lang in (*order, *sorted(matches)) if lang in matches)
        kind = matches[matched]
    else:
        import json

        extra_key = json.dumps(extra_phrases, sort_keys=True) if extra_phrases else ""
        found = _fuzzy(text, order, _fuzzy_table(extra_key))
        if found is None or (found[3] < ACT and not ask):
            return None
        kind, matched, phrase, confidence = found
    say_in = _spoken_in(kind, reply_language or matched)
    return Command(kind, None, say_in, confirmation(kind, say_in), text, round(confidence, 3), phrase)
