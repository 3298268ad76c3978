"""Recognising voice commands on the transcript.

``parse(text, language)`` returns a :class:`Command` or None. A command must be the whole
utterance, apart from politeness, hesitation and request frames ("could you please speak a bit
slower?" is the command ``slower``; "how do I stop a leak?" is a question). Matching ignores
case, accents, punctuation and word order, and tries the transcript's language first, then the
others (Whisper often mislabels one- or two-word clips). The language commands of
:mod:`assistant.language.commands` ("speak German") are kind ``language``.

The command's effects live in :mod:`assistant.commands.session`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.commands.phrases import KINDS, PHRASES, STRONG_FILLERS, WEAK_FILLERS  # noqa: F401 (KINDS: re-exported)
from assistant.commands.replies import confirmation, reply_language as _spoken_in
from assistant.guard import normalize
from assistant.language import commands as language_commands

LANGUAGES = ("en", "de", "es", "fr", "pt")  # languages with phrase tables, in the order tried
MAX_WORDS = 12  # longer utterances are never commands (cheap early exit)


@dataclass(frozen=True)
class Command:
    kind: str  # one of KINDS
    argument: str | None  # kind "language": the requested code (None: back to automatic)
    language: str  # the language the confirmation is in
    confirmation: str  # what to say (empty for "repeat": the engine says the last reply again)
    text: str  # the transcript it was recognised in


def _pattern(fillers: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted({normalize(f) for f in fillers}, key=len, reverse=True)  # longest first
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


_STRONG = _pattern(STRONG_FILLERS)
_WEAK = _pattern(WEAK_FILLERS)


def key(text: str) -> tuple[str, ...]:
    """The canonical form compared: normalised words minus fillers, repeats collapsed, sorted."""
    norm = normalize(text)
    strong = _STRONG.sub(" ", norm)
    words = _WEAK.sub(" ", strong).split() or strong.split()
    deduped = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]  # "stop stop stop"
    return tuple(sorted(deduped))


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


def parse(text: str, language: str = "en", extra_phrases: dict[str, dict[str, tuple[str, ...]]] | None = None,
          reply_language: str | None = None) -> Command | None:
    """The voice command ``text`` is, or None.

    ``language``: what Whisper detected; its phrases win when a phrase exists in several
    languages. ``reply_language``: the language confirmations should be spoken in (default: the
    language of the phrase that matched, or ``language`` when the phrase is also one of its own).
    ``extra_phrases``: more phrasings, ``{kind: {language: (phrase, ...)}}`` (from the config).
    """
    norm = normalize(text)
    if not norm or len(norm.split()) > MAX_WORDS:
        return None
    lang_cmd = language_commands.parse(text)
    if lang_cmd is not None:
        return Command("language", lang_cmd.language, lang_cmd.language or reply_language or language,
                       lang_cmd.confirmation, text)
    table = _table(extra_phrases) if extra_phrases else _TABLE
    matches = table.get(key(text))
    if not matches:
        return None
    matched = language if language in matches else next(
        (lang for lang in (*LANGUAGES, *sorted(matches)) if lang in matches))
    kind = matches[matched]
    say_in = _spoken_in(kind, reply_language or matched)
    return Command(kind, None, say_in, confirmation(kind, say_in), text)
