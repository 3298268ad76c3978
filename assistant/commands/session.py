"""What voice commands change, kept per conversation (one chat, or one server session).

The turn engine owns one :class:`SessionState` per conversation and calls it like this::

    command = commands.parse(transcript.text, detected_language, reply_language=...)
    if state.paused and (command is None or not state.accepts(command)):
        log the turn as status "ignored" (asleep); speak nothing; return
    if command is not None:
        effect = state.apply(command)
        if effect.stop_speaking:  speaker.stop()  (barge-in has usually done it already)
        if effect.clear_history:  history.clear()
        if effect.forget_last:    history.turns[-1:] = []  (the last exchange)
        if effect.reply_language is not ...: language state .requested = effect.reply_language
        speak effect.say in effect.language (if not empty); log turn status "command",
        reply_text = effect.say, and don't call the LLM
    else: normal turn; after it, state.remember(reply_heard, reply_language)

    every reply the engine speaks: chunk = state.shape(chunk)  (speaking rate and volume)
    the endpointer's end-of-turn silence: endpointer.set_min_silence_ms(
        state.end_of_turn_silence_ms(settings.audio.min_silence_ms))  after each command

``Effect`` is plain data, so the same state works for the live chat, the server and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assistant.commands.matcher import Command
from assistant.commands.replies import confirmation, reply_language
from assistant.commands.settings import CommandSettings
from assistant.core.types import AudioChunk

_UNCHANGED = object()


@dataclass(frozen=True)
class Effect:
    say: str  # what to speak now ("" for nothing)
    language: str  # the language ``say`` is in
    stop_speaking: bool = False
    clear_history: bool = False
    forget_last: bool = False
    reply_language: object = _UNCHANGED  # a code or None (automatic) when the command changes it

    @property
    def changes_language(self) -> bool:
        return self.reply_language is not _UNCHANGED


@dataclass
class SessionState:
    settings: CommandSettings = field(default_factory=CommandSettings)
    rate: float = 1.0  # speaking-rate factor (1.0 = the voice's own; 1.25 = 25 % faster)
    volume: float = 1.0  # output gain factor
    patient: bool = False  # longer end-of-turn silence
    paused: bool = False  # asleep until a "resume" command
    last_reply: str = ""
    last_reply_language: str = "en"
    pending: Command | None = None  # an uncertain command asked about ("Did you want me to ...?")

    # -- bookkeeping the engine does --------------------------------------------------------
    def remember(self, reply: str, language: str) -> None:
        """The reply the user heard last (for "repeat")."""
        if reply.strip():
            self.last_reply, self.last_reply_language = reply, language

    def accepts(self, command: Command | None) -> bool:
        """While paused only "resume" (and "help", so a lost user can find the wake phrase) count."""
        if not self.paused:
            return command is not None
        return command is not None and command.kind in ("resume", "help")

    def end_of_turn_silence_ms(self, base_ms: int) -> int:
        """The pause that ends an utterance: ``base_ms``, or the patient-mode one."""
        return max(base_ms, self.settings.patient_silence_ms) if self.patient else base_ms

    # -- commands -----------------------------------------------------------------------------
    def apply(self, command: Command) -> Effect:
        kind, lang = command.kind, command.language
        said = command.confirmation
        s = self.settings
        if kind == "stop":
            return Effect(said, lang, stop_speaking=True)
        if kind == "repeat":
            if not self.last_reply:
                key = "nothing_to_repeat"
                return Effect(confirmation(key, lang), reply_language(key, lang), stop_speaking=True)
            return Effect(self.last_reply, self.last_reply_language, stop_speaking=True)
        if kind in ("slower", "faster"):
            step = s.rate_step if kind == "faster" else -s.rate_step
            new = min(max(self.rate + step, s.min_rate), s.max_rate)
            return self._limited("rate", new, said, lang)
        if kind in ("louder", "quieter"):
            factor = 10 ** (s.volume_step_db / 20)
            new = self.volume * factor if kind == "louder" else self.volume / factor
            new = min(max(new, 10 ** (s.min_volume_db / 20)), 10 ** (s.max_volume_db / 20))
            return self._limited("volume", new, said, lang)
        if kind == "new_conversation":
            self.last_reply = ""
            return Effect(said, lang, stop_speaking=True, clear_history=True)
        if kind == "forget_last":
            self.last_reply = ""
            return Effect(said, lang, stop_speaking=True, forget_last=True)
        if kind == "help":
            return Effect(said, lang, stop_speaking=True)
        if kind == "patient":
            self.patient = True
            return Effect(said, lang)
        if kind == "normal":
            self.patient, self.rate = False, 1.0
            return Effect(said, lang)
        if kind == "pause":
            self.paused = True
            return Effect(said, lang, stop_speaking=True)
        if kind == "resume":
            was_paused, self.paused = self.paused, False
            return Effect(said if was_paused else "", lang)
        if kind == "language":
            return Effect(said, lang, reply_language=command.argument)
        raise ValueError(f"unknown command kind {kind!r}")

    def _limited(self, attr: str, new: float, said: str, lang: str) -> Effect:
        if abs(new - getattr(self, attr)) < 1e-3:
            return Effect(confirmation("at_limit", lang), reply_language("at_limit", lang))
        setattr(self, attr, round(new, 4))
        return Effect(said, lang)

    # -- what the engine does to every reply --------------------------------------------------
    def shape(self, chunk: AudioChunk) -> AudioChunk:
        """A reply chunk at the session's speaking rate and volume."""
        samples = chunk.samples
        if abs(self.rate - 1.0) > 1e-3 and len(samples):
            samples = change_tempo(samples, chunk.sample_rate, self.rate)
        if abs(self.volume - 1.0) > 1e-3:
            samples = apply_gain(samples, self.volume)
        return chunk if samples is chunk.samples else AudioChunk(samples, chunk.sample_rate)


def change_tempo(samples: np.ndarray, sample_rate: int, rate: float) -> np.ndarray:
    """Speech ``rate`` times as fast, pitch unchanged (WSOLA: 25 ms Hann frames, 50 % overlap,
    each placed where it best continues the previous one). Applied to the audio, so the rate
    works the same for every voice backend. (librosa's phase vocoder needs 15 s of JIT
    compilation on first use and sounds phasey on speech.)"""
    x = np.asarray(samples, np.float32).reshape(-1)
    n = max(2, int(0.025 * sample_rate) // 2 * 2)
    hop = n // 2
    tol = hop // 2
    frames = max(1, int(np.ceil(len(x) / rate / hop)))
    pad = np.zeros(n + tol + int(hop * rate) + 1, np.float32)
    xp = np.concatenate([pad, x, pad, pad])
    base = len(pad)
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)  # periodic Hann: sums to 1
    y = np.zeros(frames * hop + n, np.float32)
    prev = None
    for k in range(frames):
        ideal = base + int(round(k * hop * rate))
        if prev is None:
            pos = ideal
        else:
            target = xp[prev + hop: prev + hop + n]  # what would naturally follow the last frame
            region = xp[ideal - tol: ideal + tol + n]
            pos = ideal - tol + int(np.argmax(np.correlate(region, target, "valid")))
        y[k * hop: k * hop + n] += win * xp[pos: pos + n]
        prev = pos
    return y[: int(round(len(x) / rate))].copy()  # (the first 12 ms fade in: one window only)


def apply_gain(samples: np.ndarray, gain: float) -> np.ndarray:
    """``samples`` × ``gain``, scaled back where that would clip (louder only as far as the
    output allows)."""
    out = np.asarray(samples, np.float32) * gain
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out
