"""How well each voice is understood: the measured figures, the ranking they give, and which
languages have only a poor voice. The one place these facts live (``assistant languages``,
``doctor``, ``eval voices --all`` and the starter fallback read them from here).

The figures are round trips: a voice speaks reference texts, the starter Whisper base
(faster-whisper, int8, greedy, Whisper's utterance window) transcribes them back with the language
fixed, and the word error rate is the voice's score. They include Whisper's own errors, so they
compare voices, not absolute quality. Two sets, on the starter pack (README, Voices):

- ``SENTENCES_WER``: the five short sentences per language of ``assistant/eval/sentences.py``
  (30-40 words a language: one word is 3 points), by ``SENTENCES_COMMAND``;
- ``FLEURS_WER``: the ten FLEURS transcripts per language beside the shared test clips (about 250
  words a language, names and numbers included), by ``FLEURS_COMMAND``. Where both exist this one
  decides, being ten times larger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# $M: the starter pack's whisper-base-ct2 folder
_STT = "--set stt.backend=faster-whisper --set stt.model=$M --set stt.compute_type=int8 --set stt.beam_size=null"
SENTENCES_COMMAND = f"assistant eval voices --all --languages en,de,es,fr,it,pt,nl {_STT}"
FLEURS_COMMAND = f"assistant eval voices --all --texts shared/audio/fleurs {_STT}"
POOR_WER = 0.15  # a voice heard back worse than this is "poor" (the target)

# Best first, as measured (both sets agree); a voice that is not on the machine (Piper files, a
# Coqui download) is skipped and the next one speaks.
RANKING = ("piper", "coqui", "pico", "espeak")

# (backend, language) → round-trip WER, copied from the commands' output (6 December 2026).
SENTENCES_WER: dict[tuple[str, str], float] = {
    ("piper", "en"): 0.000,  # en_US-joe-medium, the starter voice
    ("pico", "en"): 0.000, ("pico", "de"): 0.097, ("pico", "es"): 0.034, ("pico", "fr"): 0.162,
    ("pico", "it"): 0.034,
    ("espeak", "en"): 0.182, ("espeak", "de"): 0.581, ("espeak", "es"): 0.621, ("espeak", "fr"): 0.703,
    ("espeak", "it"): 0.552, ("espeak", "pt"): 0.938, ("espeak", "nl"): 0.938,
}
FLEURS_WER: dict[tuple[str, str], float] = {
    ("piper", "en"): 0.061,
    ("pico", "en"): 0.090, ("pico", "de"): 0.106, ("pico", "es"): 0.068, ("pico", "fr"): 0.222,
    ("espeak", "en"): 0.156, ("espeak", "de"): 0.596, ("espeak", "es"): 0.277, ("espeak", "fr"): 0.941,
    ("espeak", "pt"): 1.077,
}
# The same Whisper (int8, greedy) on the human FLEURS recordings of the same texts
# (`assistant eval stt shared/audio/fleurs`, README Quality): what a voice's figure compares with.
HUMAN_WER = {"de": 0.200, "en": 0.113, "es": 0.106, "fr": 0.346, "pt": 0.200}


def measured(backend: str, language: str) -> float | None:
    """The round-trip WER that decides: FLEURS where measured, else the five sentences."""
    key = (backend, language)
    return FLEURS_WER.get(key, SENTENCES_WER.get(key))


@dataclass(frozen=True)
class Verdict:
    poor: bool
    reason: str  # what was measured (or why it is assumed poor)
    fix: str | None  # how to get a better voice, when poor


def _better_voice_hint(language: str, backend: str) -> str:
    from assistant.tts.pico import pico_voice

    if pico_voice(language) is not None and backend == "espeak":
        return "install py-nanotts (pip install py-nanotts) for the Pico voice, or pull a Piper voice"
    from assistant.tts.piper import PREFERRED_VOICES

    if language in PREFERRED_VOICES:
        return (f"on a connected machine run `assistant models pull` with a config mapping {language} to "
                f"{{backend: piper, model: {PREFERRED_VOICES[language]}}}")
    return (f"map {language} to a Piper or Coqui voice under tts.voices and run `assistant models pull` "
            "on a connected machine")


def verdict(backend: str, language: str) -> Verdict:
    """Is ``backend``'s voice for ``language`` known to be poorly understood?"""
    wer = measured(backend, language)
    if wer is not None:
        heard = f"Whisper base hears it back at {100 * wer:.0f} % WER"
        if language in HUMAN_WER:
            heard += f" (human speakers of the same texts: {100 * HUMAN_WER[language]:.0f} %)"
        if wer > POOR_WER:
            return Verdict(True, f"{backend}: {heard}", _better_voice_hint(language, backend))
        return Verdict(False, f"{backend}: {heard}", None)
    if backend == "espeak" and language != "en":
        return Verdict(True, "espeak-ng: a formant voice, hard to understand outside English",
                       _better_voice_hint(language, backend))
    return Verdict(False, f"{backend}: not measured", None)


def verdict_for(options: Any, language: str) -> Verdict:
    """``verdict`` for a voice's options (a pinned espeak voice is still espeak-ng)."""
    return verdict(getattr(options, "backend", str(options)), language)
