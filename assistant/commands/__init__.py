"""Voice commands ("stop", "say that again", "slower", "speak German"...), handled before the LLM.

- :mod:`.matcher`: ``parse(text, language) -> Command | None`` and the typed :class:`Command`;
- :mod:`.phrases`: what people say, per language; :mod:`.replies`: what the assistant says back;
- :mod:`.session`: ``SessionState.apply(command) -> Effect``, the per-conversation effects
  (speaking rate, volume, patient mode, paused, history) and how the engine applies them;
- :mod:`.language`: "speak German", "antworte auf Spanisch": the reply-language commands;
- :mod:`.settings`: the ``commands:`` config section.

The names are re-exported lazily, so the config can import ``settings`` without loading the
matcher and its phrase tables.
"""

from __future__ import annotations

__all__ = ["Command", "KINDS", "LANGUAGES", "key", "parse"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("assistant.commands.matcher"), name)
    raise AttributeError(name)
