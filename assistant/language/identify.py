"""Checks which language a reply is written in, offline.

Uses lingua (``lingua-language-detector``): it ships its own models (75 languages), is
maintained, and is the most accurate open identifier on short texts such as a spoken reply.
Its low-accuracy mode (trigram models only) loads in a fraction of a second and ~70 MB, and is
still reliable on a full sentence; replies shorter than a few words are not judged at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_WORDS = 3


@dataclass(frozen=True)
class ReplyCheck:
    expected: str
    detected: str | None
    confidence: float | None
    ok: bool
    skipped: str | None = None  # why the check could not judge (too short, unsupported language)
    retried: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"expected": self.expected, "detected": self.detected, "confidence": self.confidence,
                "ok": self.ok, "skipped": self.skipped, "retried": self.retried}


class ReplyLanguageChecker:
    def __init__(self) -> None:
        self._detector: Any = None
        self._supported: set[str] = set()

    def load(self) -> None:
        if self._detector is not None:
            return
        from lingua import Language, LanguageDetectorBuilder

        self._detector = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
        self._supported = {lang.iso_code_639_1.name.lower() for lang in Language.all()}

    def check(self, text: str, expected: str) -> ReplyCheck:
        if len(text.split()) < MIN_WORDS and not _is_cjk(text):
            return ReplyCheck(expected, None, None, True, skipped="too short to judge")
        self.load()
        # lingua and Whisper share ISO 639-1 codes, except Norwegian (Whisper nn/no, lingua nb/nn).
        exp = "nb" if expected == "no" else expected
        if exp not in self._supported:
            return ReplyCheck(expected, None, None, True, skipped="language not known to the checker")
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return ReplyCheck(expected, None, None, True, skipped="no language recognised")
        top = values[0]
        detected = top.language.iso_code_639_1.name.lower()
        expected_conf = next((v.value for v in values if v.language.iso_code_639_1.name.lower() == exp), 0.0)
        # Close languages (es/pt, da/nb) share trigrams: accept when the expected one is a strong runner-up.
        ok = detected == exp or expected_conf >= 0.3
        return ReplyCheck(expected, "no" if detected == "nb" and expected == "no" else detected,
                          round(float(top.value), 3), ok)


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in text)
