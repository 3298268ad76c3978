"""``assistant eval voices``: how well each configured voice is understood. For every language,
the voice the assistant would use speaks the built-in reference sentences (``sentences.py``); the
configured STT transcribes them back with the language fixed; the WER is the voice's
intelligibility score (lower is better; it includes the recogniser's own errors, so compare
voices measured with the same STT).

``--all`` (``evaluate_all``): every voice the default voice map can pick for each language on this
machine, best first (``assistant.tts.quality.RANKING``: Piper where its files are present, Coqui
VITS where cached, Pico, espeak-ng), each on its own, not only the one that wins."""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from assistant.core.errors import AssistantError, AudioFileError, ConfigError
from assistant.core.types import AudioChunk
from assistant.eval.sentences import SENTENCES
from assistant.eval.wer import WordErrors, word_errors
from assistant.tts.quality import POOR_WER

MAX_TEXTS = 200  # files read from a --texts folder
MAX_TEXT_CHARS = 2000  # characters per text (a sentence or a short paragraph)


def load_texts(directory: str | Path) -> dict[str, tuple[str, ...]]:
    """Reference texts from a folder (``--texts``): every non-empty ``.txt``, its language from the
    file name as ``eval stt`` reads it (``fleurs-de-000.txt`` → de), e.g. the FLEURS transcripts."""
    from assistant.eval.stt import language_from_name

    d = Path(directory).expanduser()
    if not d.is_dir():
        raise AudioFileError(f"{d} is not a directory", "give a folder of .txt files named by language, "
                                                        "e.g. fleurs-de-000.txt")
    texts: dict[str, list[str]] = {}
    for path in sorted(d.glob("*.txt"))[:MAX_TEXTS]:
        language = language_from_name(path.name)
        try:
            text = " ".join(path.read_text(encoding="utf-8", errors="replace")[:MAX_TEXT_CHARS].split())
        except OSError as error:
            raise AudioFileError(f"cannot read {path}: {error}") from None
        if language and text:
            texts.setdefault(language, []).append(text)
    if not texts:
        raise AudioFileError(f"{d} holds no .txt file whose name says its language",
                             "name them like fleurs-de-000.txt (a language code between - _ or .)")
    return {lang: tuple(items) for lang, items in texts.items()}


def languages_to_check(config: Any, requested: list[str] | None,
                       sentences: dict[str, tuple[str, ...]] = SENTENCES) -> list[str]:
    """``requested``, else the languages of the voice map, else every language with sentences."""
    languages = requested or sorted(config.tts.voices) or sorted(sentences)
    missing = [lang for lang in languages if lang not in sentences]
    if requested and missing:
        raise ConfigError([f"no reference sentences for {', '.join(missing)} "
                           f"(eval voices has: {', '.join(sorted(sentences))})"])
    return [lang for lang in languages if lang in sentences]


def evaluate_voice(bot: Any, language: str,
                   speak: Callable[[str, str], tuple[str | None, Iterator[AudioChunk]]] | None = None,
                   sentences: dict[str, tuple[str, ...]] = SENTENCES) -> dict[str, Any]:
    """Round trip of ``language``'s sentences through its voice and the STT (``bot``: an Assistant).
    ``speak``: another voice than the one the assistant would use (``(label, chunks)``)."""
    total, rows, voice = WordErrors(), [], None
    tts_s = stt_s = audio_s = 0.0
    speak = speak or bot.stages.speak
    for sentence in sentences[language]:
        t0 = time.perf_counter()
        voice, chunks = speak(sentence, language)
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
             on_voice: Callable[[dict[str, Any]], None] | None = None,
             sentences: dict[str, tuple[str, ...]] = SENTENCES) -> list[dict[str, Any]]:
    """One result per language; a language no voice can speak gets ``error`` instead of a WER."""
    bot.load(("stt",))
    out = []
    for language in languages:
        try:
            result = evaluate_voice(bot, language, sentences=sentences)
        except AssistantError as e:
            result = {"language": language, "voice": None, "wer": None, "error": str(e)}
        out.append(result)
        if on_voice:
            on_voice(result)
    return out


def default_candidates(language: str) -> list[Any]:
    """Every voice the default voice map can pick for ``language`` on this machine, best first
    (their options). espeak-ng is always listed; it is skipped later if it lacks the language."""
    from assistant.config import DEFAULT_VOICES
    from assistant.core import registry
    from assistant.models.inventory import entry_for
    from assistant.tts.pico import pico_voice
    from assistant.tts.piper import PREFERRED_VOICES, is_present

    def options(spec: dict[str, Any]) -> Any:
        return registry.get("tts", spec["backend"]).options_class().model_validate(spec)

    out = []
    piper = PREFERRED_VOICES.get(language)
    if piper and is_present(piper) and shutil.which("espeak-ng"):
        out.append(options({"backend": "piper", "model": piper}))
    if language in DEFAULT_VOICES:
        coqui = options(DEFAULT_VOICES[language])
        if entry_for(coqui, f"tts:{language}").present:
            out.append(coqui)
    if pico_voice(language) is not None and importlib.util.find_spec("py_nanotts") is not None:
        out.append(options({"backend": "pico"}))
    out.append(options({"backend": "espeak"}))
    return out


def evaluate_all(bot: Any, languages: list[str],
                 on_voice: Callable[[dict[str, Any]], None] | None = None,
                 sentences: dict[str, tuple[str, ...]] = SENTENCES) -> list[dict[str, Any]]:
    """One result per (language, voice the defaults can pick); a voice that fails to load gets
    ``error``; a voice that can't speak the language (espeak-ng lacking it) gets no row."""
    from assistant.core import registry
    from assistant.tts.quality import verdict_for
    from assistant.tts.voices import voice_label

    bot.load(("stt",))
    out = []
    for language in languages:
        for options in default_candidates(language):
            label = voice_label(options)
            try:
                engine = registry.get("tts", options.backend).create(options)
                engine.load()
                if engine.supports(language) is False:
                    continue
                result = evaluate_voice(bot, language,
                                        lambda text, lang, e=engine, v=label: (v, e.synthesize(text, lang)),
                                        sentences)
            except AssistantError as e:
                result = {"language": language, "voice": label, "wer": None, "error": str(e)}
            result["backend"] = options.backend
            result["poor"] = verdict_for(options, language).poor if result.get("wer") is None else \
                result["wer"] > POOR_WER
            out.append(result)
            if on_voice:
                on_voice(result)
    return out
