"""Decides when a recording holds no speech, so the assistant never answers silence or noise.

Three layers: the signal level (no STT call for silence), Whisper's own no-speech rule
(no-speech probability high *and* low confidence), and phrases Whisper is known to invent on
non-speech (subtitle credits always; short courtesies like "Thank you." only when the evidence
for speech is weak, because a user may really say them).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from pydantic import Field

from assistant.core.options import Section
from assistant.core.types import AudioChunk, Transcript


class SpeechGuard(Section):
    """When a recording is treated as 'no speech' (no LLM call, nothing spoken)."""

    silence_peak_dbfs: float = Field(
        -80.0, description="Recordings whose loudest sample is below this (dBFS) are silence; STT is not run.")
    min_speech_s: float = Field(
        0.2, ge=0, description="File mode: recordings in which the voice detector finds less speech are not answered.")
    no_speech_threshold: float = Field(
        0.6, ge=0, le=1, description="Whisper no-speech probability above which a turn is refused...")
    logprob_threshold: float = Field(
        -1.0, description="...when the average log-probability is also below this (Whisper's own rule).")
    phantom_phrases: tuple[str, ...] = Field(
        (), description="Extra phrases that count as Whisper hallucinations on non-speech "
                        "(added to the built-in list).")


# Learned from Whisper's training data (subtitles): credits it writes on silence or music.
CREDITS = (
    "subtitles by the amara org community", "subtitled by the amara org community",
    "untertitel im auftrag des zdf", "untertitel der amara org community", "untertitelung des zdf",
    "sous titres realises par la communaute d amara org", "sous titrage st 501",
    "subtitulos realizados por la comunidad de amara org", "subtitulado por la comunidad de amara org",
    "legendas pela comunidade amara org", "legendas pela comunidade de amara org",
    "sottotitoli creati dalla comunita amara org", "ondertitels ingediend door de amara org gemeenschap",
    "napisy stworzone przez spolecznosc amara org", "zdjecia i montaz",
    "subtitles by", "transcription by castingwords", "www mooji org",
)
# Short outputs Whisper produces for coughs, breathing and noise.
SHORT_PHANTOMS = (
    "thank you", "thanks for watching", "thank you for watching", "please subscribe", "you", "bye",
    "thank you very much", "vielen dank", "danke", "danke schon", "tschuss", "merci", "merci beaucoup",
    "gracias", "gracias por ver", "obrigado", "obrigada", "grazie", "ご視聴ありがとうございました",
    "продолжение следует", "спасибо", "字幕由amara org社区提供", "謝謝觀看",
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
    "music", "applause", "laughter", "silence",
)


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[\W_]+", " ", text)
    return text.strip()


def peak_dbfs(audio: AudioChunk) -> float:
    if len(audio.samples) == 0:
        return float("-inf")
    peak = float(np.max(np.abs(audio.samples)))
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def is_silent(audio: AudioChunk, guard: SpeechGuard) -> bool:
    """Digital silence or nothing at all. (Quiet speech is common — some microphones peak at
    -50 dBFS — so loudness alone never decides; the VAD does, see ``speech_ratio``.)"""
    return audio.duration < 0.1 or peak_dbfs(audio) < guard.silence_peak_dbfs


def speech_ratio(audio: AudioChunk, vad) -> tuple[float, float]:
    """(share of 32 ms frames the VAD calls speech, seconds of speech) for a whole recording."""
    from assistant.audio.vad import FRAME, SAMPLE_RATE

    x = audio.resampled(SAMPLE_RATE).samples
    n = len(x) // FRAME
    if n == 0:
        return 0.0, 0.0
    vad.reset()
    speech = sum(vad.speech_probability(x[i * FRAME:(i + 1) * FRAME]) >= 0.5 for i in range(n))
    vad.reset()
    return speech / n, speech * FRAME / SAMPLE_RATE


def no_speech_reason(t: Transcript, guard: SpeechGuard, speech_ratio: float | None = None) -> str | None:
    """Why this transcript must not be answered, or None when it is real speech."""
    text = normalize(t.text)
    if not text:
        return "nothing was transcribed"
    low_confidence = t.avg_logprob is not None and t.avg_logprob < guard.logprob_threshold
    if t.no_speech_probability > guard.no_speech_threshold and (low_confidence or t.avg_logprob is None):
        return f"Whisper judged it non-speech (no-speech probability {t.no_speech_probability:.2f})"
    phantoms = {normalize(p) for p in guard.phantom_phrases}
    if text in phantoms or any(c in text for c in CREDITS if len(c) > 12) or text in CREDITS:
        return f"'{t.text.strip()}' is a phrase Whisper invents on non-speech"
    if text in SHORT_PHANTOMS:
        weak = (t.no_speech_probability >= 0.2 or (speech_ratio is not None and speech_ratio < 0.5)
                or (t.avg_logprob is not None and t.avg_logprob < -0.8))
        if weak:
            return f"'{t.text.strip()}' is a phrase Whisper invents on noise, and the speech evidence is weak"
    if speech_ratio is not None and speech_ratio < 0.1:
        return f"the voice detector heard speech in only {speech_ratio:.0%} of the recording"
    return None
