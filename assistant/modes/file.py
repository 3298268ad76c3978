"""The assistant's Python API and file mode: one conversation over the turn engine.

``Assistant`` builds the stages from the configuration, holds one ``Session`` (history, language
state) and answers a recording with ``respond``: the engine's turn with a file source and a sink
that collects the reply audio into a file. The live loop (``chat.py``) runs the same engine with
the microphone and the speaker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from assistant.audio.io import OUTPUT_FORMATS
from assistant.config import Config, load_config
from assistant.core import registry
from assistant.core.paths import check_output
from assistant.core.turnlog import TurnLog
from assistant.core.types import AudioChunk, Turn
from assistant.engine import CollectingSink, FileInput, Session, Stages, TurnEngine, TurnPolicy
from assistant.engine.turn import NO_SPEECH_NOTICE
from assistant.llm.base import LLM
from assistant.stt.base import STT
from assistant.tts.voices import VoiceRouter

__all__ = ["Assistant", "NO_SPEECH_NOTICE"]

FILE_MODE = TurnPolicy(stream=False, say_errors=False, raise_errors=True)


class Assistant:
    def __init__(self, config: Config, stt: STT, llm: LLM, voices: VoiceRouter,
                 turn_log: TurnLog | None = None, vad=None) -> None:
        self.config = config
        self.stages = Stages(config, stt, llm, voices, vad)
        self.turn_log = turn_log or TurnLog(config.log.path)
        self.engine = TurnEngine(self.stages, self.turn_log)
        self.session: Session = self.engine.new_session()
        self.model_notes: list[str] = []  # the starter-fallback line, when starter models run

    @classmethod
    def from_config(cls, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                    config: Config | None = None) -> "Assistant":
        """Build (but don't load) every stage from a YAML file and ``--set`` style overrides."""
        from assistant.models import resolve_models

        config, notes = resolve_models(config or load_config(path, overrides))
        stt = registry.get("stt", config.stt.backend).create(config.stt)
        llm = registry.get("llm", config.llm.backend).create(config.llm)
        bot = cls(config, stt, llm, VoiceRouter(config.tts))
        bot.model_notes = notes
        return bot

    def load(self, stages: tuple[str, ...] = ("stt", "llm", "tts")) -> dict[str, float]:
        """Load models now (otherwise each loads on first use). Returns load times in ms."""
        return self.stages.load(stages)

    # the stages and the conversation, by their old names
    stt = property(lambda self: self.stages.stt)
    llm = property(lambda self: self.stages.llm)
    voices = property(lambda self: self.stages.voices)
    history = property(lambda self: self.session.history)
    language = property(lambda self: self.session.language)

    def respond(self, audio: str | Path | AudioChunk, output: str | Path | None = None,
                on_text: Callable[[str], None] | None = None, source: str | None = None,
                timings: dict[str, float] | None = None) -> Turn:
        """One whole turn from a file or samples. Logs the turn; raises AssistantError on failure
        (after logging it). ``on_text`` receives reply tokens as they stream. ``source`` names
        samples decoded beforehand (the log's ``input``); ``timings`` seeds the turn's timings
        (e.g. that decoding's ``decode`` ms). Ctrl-C or SIGTERM during the turn logs it as
        ``interrupted`` and leaves no reply file."""
        if output is not None and not isinstance(audio, AudioChunk):
            check_output(output, reads=(audio,), what="output", formats=OUTPUT_FORMATS)  # never over the input
        file = FileInput(audio, source)
        turn = self.session.new_turn(file.name)
        turn.timings_ms.update(timings or {})
        return self.engine.run(self.session, file, CollectingSink(output, on_text), FILE_MODE, turn=turn)
