"""``assistant eval voices``: how well each configured voice is understood. For every language,
the voice the assistant would use speaks the built-in reference sentences (``sentences.py``); the
configured STT transcribes them back with the language fixed; the WER is the voice's
intelligibility score (lower is better; it includes the recogniser's own errors, so compare
voices measured with the same STT)."""

from __future__ import annotations

import time
from typing import Any, Callable

from assistant.errors import AssistantError, ConfigError
from assistant.eval.sentences import SENTENCES
from assistant.eval.wer import WordErrors, word_errors
from assistant.types import AudioChunk


def languages_to_check(config: Any, requested: list[str] | None) -> list[str]:
    """``requested``, else the languages of the voice map, else every language with sentences."""
    languages = requested or sorted(config.tts.voices) or sorted(SENTENCES)
    missing = [lang for lang in languages if lang not in SENTENCES]
    if requested and missing:
        raise ConfigError([f"no reference sentences for {', '.join(missing)} "
                           f"(eval voices has: {', '.join(sorted(SENTENCES))})"])
    return [lang for lang in languages if lang in SENTENCES]


def evaluate_voice(bot: Any, language: str) -> dict[str, Any]:
    """Round trip of ``language``'s sentences through its voice and the STT (``bot``: an Assistant)."""
    total, rows, voice = WordErrors(), [], None
    tts_s = stt_s = audio_s = 0.0
    for sentence in SENTENCES[language]:
        t0 = time.perf_counter()
        voice, chunks = bot.stages.speak(sentence, language)
        audio = AudioChunk.concat(list(chunks))
        tts_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        heard = bot.stt.transcribe(audio, language=language).text
        stt_s += time.perf_counter() - t0
        audio_s += audio.duration
        errors = word_errors(sentence, heard)
        total = total + errors
        rows.append({"text": sentence, "heard": heard, "wer": errors.wer})
    return {"language": language, "voice": voice, "wer": total.wer, "sentences": rows,
            "audio_s": round(audio_s, 3), "tts_s": round(tts_s, 3), "stt_s": round(stt_s, 3)}


def evaluate(bot: Any, languages: list[str],
             on_voice: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """One result per language; a language no voice can speak gets ``error`` instead of a WER."""
    bot.load(("stt",))
    out = []
    for language in languages:
        try:
            result = evaluate_voice(bot, language)
        except AssistantError as e:
            result = {"language": language, "voice": None, "wer": None, "error": str(e)}
        out.append(result)
        if on_voice:
            on_voice(result)
    return out
