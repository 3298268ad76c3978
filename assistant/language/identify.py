"""Checks which language a reply is written in, offline.

Uses lingua (``lingua-language-detector``): it ships its own models (75 languages), is
maintained, and is the most accurate open identifier on short texts such as a spoken reply.
Its low-accuracy mode (trigram models only) loads in a fraction of a second and ~70 MB, and is
still reliable on a full sentence; replies shorter than a few words are not judged at all.

On short sentences the low-accuracy mode over 75 languages errs: correct English replies were
taken for French, Maori or Basque ("The capital of France is Paris.", "The sky is blue.", "The
capital of Spain is Madrid."), which would regenerate a right reply and then speak it with a
wrong voice. So a "wrong language" verdict is confirmed in high-accuracy mode among only the
expected language, the one found and English (the language small models fall back to); that
got all such cases right. High accuracy over many languages costs ~550 MB and seconds of CPU at
the first check; over these two or three it is loaded only when a verdict needs confirming.
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
        self._confirmers: dict[tuple[str, ...], Any] = {}

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
        if detected != exp and expected_conf < 0.3:
            values = self._confirm(text, {exp, detected, "en"})
            top = values[0]
            detected = top.language.iso_code_639_1.name.lower()
            expected_conf = next((v.value for v in values if v.language.iso_code_639_1.name.lower() == exp), 0.0)
        # Close languages (es/pt, da/nb) share trigrams: accept when the expected one is a strong runner-up.
        ok = detected == exp or expected_conf >= 0.3
        return ReplyCheck(expected, "no" if detected == "nb" and expected == "no" else detected,
                          round(float(top.value), 3), ok)


    def _confirm(self, text: str, codes: set[str]) -> list[Any]:
        """Confidence values in high-accuracy mode among ``codes`` only (lingua keeps the loaded
        models for the process, so building a detector per set costs nothing after the first)."""
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        key = tuple(sorted(codes))
        if key not in self._confirmers:
            langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in key]
            self._confirmers[key] = LanguageDetectorBuilder.from_languages(*langs).build()
        return self._confirmers[key].compute_language_confidence_values(text)


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in text)
