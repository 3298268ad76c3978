"""Local commands: the one place a transcript is checked before it reaches the LLM.

A command parser takes the user's words and the session, applies its effect to the session and
returns a ``Command`` (what to say back), or None when the words are not a command. The engine
tries each parser of a ``CommandParsers`` in order; a richer set of commands (stop, repeat,
speaking rate, clear history, pause) plugs in by adding parsers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from assistant.engine.session import Session
from assistant.language import commands as language_commands


@dataclass(frozen=True)
class Command:
    name: str  # "language", ...
    say: str | None  # confirmation to speak, in the session's reply language (None: say nothing)


Parser = Callable[[str, Session], "Command | None"]


def language_command(text: str, session: Session) -> Command | None:
    """"Speak German" style requests: set the reply language until told otherwise."""
    command = language_commands.parse(text)
    if command is None:
        return None
    session.language.requested = command.language
    return Command("language", command.confirmation)


class CommandParsers:
    def __init__(self, parsers: list[Parser] | None = None) -> None:
        self.parsers: list[Parser] = list(parsers) if parsers is not None else [language_command]

    def add(self, parser: Parser, first: bool = False) -> None:
        self.parsers.insert(0, parser) if first else self.parsers.append(parser)

    def __call__(self, text: str, session: Session) -> Command | None:
        for parser in self.parsers:
            command = parser(text, session)
            if command is not None:
                return command
        return None
