"""Typed errors. The CLI prints ``str(error)`` as one line; no traceback for these.

Each error says what is wrong and, in ``hint``, how to fix it.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error a user can cause or fix. ``exit_code`` is what the CLI returns."""

    exit_code = 2  # subclasses name the kind; a plain AssistantError is a usage error

    def __init__(self, message: str, hint: str | None = None) -> None:
        from assistant.core.secrets import redact  # whatever a server sent, no API key is ever shown

        message = redact(message)
        hint = redact(hint) if hint else hint
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(AssistantError):
    """The command line itself is wrong (empty text, an unknown language code, output = input)."""

    exit_code = 2


class ConfigError(AssistantError):
    """The YAML or a --set override is invalid. ``problems`` lists every one found."""

    exit_code = 2

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        from assistant.core.secrets import redact

        self.problems = [redact(p) for p in problems]
        super().__init__("; ".join(self.problems) if len(self.problems) == 1 else
                         f"{len(self.problems)} problems in the configuration:\n  " + "\n  ".join(self.problems),
                         hint)


class AudioFileError(AssistantError):
    """An input file is missing, empty, truncated, corrupt or not audio; or an output file (reply,
    transcript, turn log) can't be written where asked."""

    exit_code = 3


class ModelNotFoundError(AssistantError):
    """A model can't be found locally and can't be downloaded."""

    exit_code = 4


class MissingDependencyError(AssistantError):
    """An optional package a backend needs is not installed."""

    exit_code = 4


class StageError(AssistantError):
    """A stage failed while running a turn (the turn is logged as failed)."""

    exit_code = 5

    def __init__(self, stage: str, message: str, hint: str | None = None) -> None:
        self.stage = stage
        super().__init__(message, hint)


class LLMConnectionError(StageError):
    """The LLM server refused the connection, timed out or answered with an error."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__("llm", message, hint)


class AudioDeviceError(AssistantError):
    """No audio device, or the configured one doesn't exist or can't be opened."""

    exit_code = 6


class NoVoiceError(StageError):
    """No configured or built-in voice can speak the reply's language."""

    def __init__(self, language: str, hint: str | None = None) -> None:
        self.language = language
        super().__init__("tts", f"no voice is available for language '{language}'", hint)
