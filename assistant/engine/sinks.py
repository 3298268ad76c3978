"""Where a turn's output goes. The engine calls a ``ReplySink`` in this order:

``status("thinking")`` → ``heard(turn)`` → (``command(kind)`` for a voice command) →
``reply_start(language)`` → (``reply_token`` per token,
``reply_text`` per sentence, ``audio`` per chunk, ``status("speaking")`` at the first chunk) →
``reply_end(interrupted)`` → ``wait_played(cancel)`` → ``complete(turn)``; ``notice`` and
``error`` whenever they happen. ``reply_text`` gets the text as written (for captions), ``audio``
what the voice says. Calls come from the turn's thread and its speech thread, never at once for
the same method.

Three sinks: ``CollectingSink`` (file mode: gathers the audio and writes the reply file), the live
loop's speaker sink (``assistant.modes.live.loop.LiveSink``, over a ``Sink`` speaker, or a
``TimedSink`` that reports when the reply was heard), and a realtime session's sink, which sends
each call as an event (transcript deltas, base64 audio deltas, "response done").
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from assistant.core.errors import StageError
from assistant.core.types import AudioChunk, Turn


class ReplySink:
    """Base sink: every hook does nothing; override what the medium shows or plays."""

    def status(self, state: str) -> None:
        """listening | thinking | speaking."""

    def heard(self, turn: Turn) -> None:
        """The user's words are known (``turn.transcript``, ``turn.decision``)."""

    def command(self, kind: str) -> None:
        """A voice command was understood (before its confirmation is spoken): e.g. an earcon."""

    def reply_start(self, language: str) -> None: ...

    def reply_token(self, token: str) -> None:
        """Each raw token as the LLM streams it (before the language check; may be retried)."""

    def reply_text(self, text: str) -> None:
        """One sentence of the reply as it will be spoken (after the language check)."""

    def audio(self, chunk: AudioChunk) -> None: ...

    def reply_end(self, interrupted: bool = False) -> None: ...

    def notice(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...

    def played_seconds(self) -> float:
        """Seconds of reply audio the user has heard so far (a running total): on barge-in it
        tells the engine how much of the reply to keep in the history."""
        return 0.0

    def wait_played(self, cancel: threading.Event) -> None:
        """Block until the audio sent so far has been heard, or ``cancel`` is set."""

    def first_heard_at(self) -> float | None:
        """When this turn's first reply audio reached the listener (the engine's clock), where the
        medium knows it (a speaker's DAC time); None: the moment it was handed over counts."""
        return None

    def complete(self, turn: Turn) -> None:
        """The turn succeeded: finish the output (may raise an ``AssistantError``)."""


class CollectingSink(ReplySink):
    """File mode: keeps the reply audio, sets ``turn.reply_audio`` and writes ``output``."""

    def __init__(self, output: str | Path | None = None, on_text: Callable[[str], None] | None = None) -> None:
        self.output = output
        self.on_text = on_text
        self.chunks: list[AudioChunk] = []

    def reply_token(self, token: str) -> None:
        if self.on_text:
            self.on_text(token)

    def audio(self, chunk: AudioChunk) -> None:
        self.chunks.append(chunk)

    def played_seconds(self) -> float:
        return sum(c.duration for c in self.chunks)

    def complete(self, turn: Turn) -> None:
        if not self.chunks:
            if turn.voice is not None:  # a voice spoke, yet there is nothing to write
                raise StageError("tts", f"voice {turn.voice} produced no audio")
            return
        from assistant.audio.io import save_audio

        turn.reply_audio = AudioChunk.concat(self.chunks)
        if self.output is not None:
            turn.output_path = str(save_audio(turn.reply_audio, self.output))
