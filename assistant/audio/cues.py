"""Short synthesised cue sounds for the live loop (numpy only, no files).

- ``listening_cue()``: a rising two-note chime (E5 -> A5), "I'm listening".
- ``thinking_cue()``: one soft, low note (A4) with a gentle decay, "got it, working on it".
- ``error_cue()``: a falling minor pair (E4 -> C4), longer and darker, "that went wrong".

Each note is a sine with a little second and third harmonic (warmer than a bare sine), a 5 ms
attack and an exponential decay with a raised-cosine fade-out to exactly zero, so nothing clicks.
Levels stay well under full scale (peak ``volume``, default 0.3).
"""

from __future__ import annotations

import numpy as np

from assistant.core.types import AudioChunk


def _note(freq: float, seconds: float, rate: int, decay: float = 6.0) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t) + 0.08 * np.sin(6 * np.pi * freq * t)
    env = np.exp(-decay * t)
    attack = min(len(t), max(1, int(0.005 * rate)))
    env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    fade = min(len(t), max(1, int(0.02 * rate)))
    env[-fade:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    return tone * env


def _cue(notes: list[tuple[float, float]], rate: int, volume: float, gap: float = 0.0,
         decay: float = 6.0) -> AudioChunk:
    parts: list[np.ndarray] = []
    for i, (freq, seconds) in enumerate(notes):
        if i and gap:
            parts.append(np.zeros(int(gap * rate)))
        parts.append(_note(freq, seconds, rate, decay))
    samples = np.concatenate(parts)
    peak = float(np.max(np.abs(samples))) or 1.0
    return AudioChunk((samples * (volume / peak)).astype(np.float32), rate)


def listening_cue(rate: int = 16000, volume: float = 0.3) -> AudioChunk:
    """About 160 ms: two quick rising notes."""
    return _cue([(659.25, 0.07), (880.0, 0.09)], rate, volume, decay=8.0)


def thinking_cue(rate: int = 16000, volume: float = 0.3) -> AudioChunk:
    """About 140 ms: one soft low note."""
    return _cue([(440.0, 0.14)], rate, volume * 0.8, decay=12.0)


def command_cue(rate: int = 16000, volume: float = 0.3) -> AudioChunk:
    """About 120 ms: two quick high notes (a voice command was understood)."""
    return _cue([(987.77, 0.05), (1318.51, 0.07)], rate, volume * 0.8, decay=10.0)


def error_cue(rate: int = 16000, volume: float = 0.3) -> AudioChunk:
    """About 300 ms: two falling notes."""
    return _cue([(329.63, 0.13), (261.63, 0.17)], rate, volume, gap=0.01, decay=5.0)
