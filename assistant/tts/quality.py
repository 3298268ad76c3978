"""How well each voice is understood: the measured figures, the ranking they give, and which
languages have only a poor voice. The one place these facts live (``assistant languages``,
``doctor``, ``eval voices --all`` and the starter fallback read them from here).

The figures are round trips: the voice speaks the five reference sentences of
``assistant/eval/sentences.py``, the starter Whisper base (faster-whisper, int8, beam 5) transcribes
them back with the language fixed, and the word error rate is the voice's score. They include
Whisper's own errors, so they compare voices, not absolute quality. Produced by ``COMMAND`` on the
starter pack (see the README, Voices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMMAND = ("HF_HUB_OFFLINE=1 assistant eval voices --all --languages en,de,es,fr,it,pt,nl "
           "--set tts.voices.pt='{backend: espeak, voice: pt-br}'")
POOR_WER = 0.15  # a voice heard back worse than this is "poor" (the target)

# Best first: measured on the sentences above where both exist (README, Voices); a voice that is
# not on the machine (Piper files, a Coqui download) is skipped and the next one speaks.
RANKING = ("piper", "coqui", "pico", "espeak")

# (backend, language) → round-trip WER with Whisper base; filled from COMMAND's output.
ROUND_TRIP_WER: dict[tuple[str, str], float] = {}


@dataclass(frozen=True)
class Verdict:
    poor: bool
    reason: str  # what was measured (or why it is assumed poor)
    fix: str | None  # how to get a better voice, when poor


def _better_voice_hint(language: str) -> str:
    from assistant.tts.pico import pico_voice

    if pico_voice(language) is not None:
        return "install py-nanotts (pip install py-nanotts) for the Pico voice, or pull a Piper voice"
    from assistant.tts.piper import PREFERRED_VOICES

    if language in PREFERRED_VOICES:
        return (f"on a connected machine run `assistant models pull` with a config mapping {language} to "
                f"{{backend: piper, model: {PREFERRED_VOICES[language]}}} (configs/cpu.yaml does)")
    return (f"map {language} to a Piper or Coqui voice under tts.voices and run `assistant models pull` "
            "on a connected machine")


def verdict(backend: str, language: str) -> Verdict:
    """Is ``backend``'s voice for ``language`` known to be poorly understood?"""
    wer = ROUND_TRIP_WER.get((backend, language))
    if wer is not None:
        heard = f"Whisper base hears it back at {100 * wer:.0f} % WER"
        if wer > POOR_WER:
            return Verdict(True, f"{backend}: {heard}", _better_voice_hint(language))
        return Verdict(False, f"{backend}: {heard}", None)
    if backend == "espeak" and language != "en":
        return Verdict(True, "espeak-ng: a formant voice, hard to understand outside English",
                       _better_voice_hint(language))
    return Verdict(False, f"{backend}: not measured", None)


def verdict_for(options: Any, language: str) -> Verdict:
    """``verdict`` for a voice's options (a pinned espeak voice is still espeak-ng)."""
    return verdict(getattr(options, "backend", str(options)), language)
