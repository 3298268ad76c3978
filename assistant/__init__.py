"""assistant: a voice-to-voice assistant (Whisper → multilingual LLM → Coqui TTS), configured in YAML.

    from assistant import Assistant
    bot = Assistant.from_config("configs/cpu.yaml", ["stt.model=base"])
    turn = bot.respond("question.flac", output="reply.wav")
    print(turn.language, turn.text, turn.reply_text, turn.timings_ms)
"""

__version__ = "0.1.0"

__all__ = ["Assistant", "Turn", "load_config", "__version__"]


def __getattr__(name: str):  # lazy: `import assistant` stays cheap
    if name == "Assistant":
        from assistant.pipeline import Assistant

        return Assistant
    if name == "Turn":
        from assistant.types import Turn

        return Turn
    if name == "load_config":
        from assistant.config import load_config

        return load_config
    raise AttributeError(name)
