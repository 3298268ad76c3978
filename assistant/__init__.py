"""assistant: a voice-to-voice assistant (Whisper → multilingual LLM → Coqui TTS), configured in YAML.

    from assistant import Assistant
    bot = Assistant.from_config("configs/cpu.yaml", ["stt.model=base"])
    turn = bot.respond("question.flac", output="reply.wav")
    print(turn.language, turn.text, turn.reply_text, turn.timings_ms)
"""

import os as _os

__version__ = "0.1.0"

# onnxruntime (Silero VAD, Piper voices) sends usage telemetry and writes a device id under
# ~/.cache/Microsoft from the moment it is imported; this opts out before any import of it.
# (``onnxruntime.disable_telemetry_events()`` alone comes too late: the id is written at import.)
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["Assistant", "Turn", "load_config", "__version__"]


def __getattr__(name: str):  # lazy: `import assistant` stays cheap
    if name == "Assistant":
        from assistant.modes.file import Assistant

        return Assistant
    if name == "Turn":
        from assistant.core.types import Turn

        return Turn
    if name == "load_config":
        from assistant.config import load_config

        return load_config
    raise AttributeError(name)
