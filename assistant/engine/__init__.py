"""The turn engine: one implementation of a turn for file mode, the live loop and a server."""

from assistant.engine.commands import Command, CommandParsers
from assistant.engine.session import Session
from assistant.engine.sinks import CollectingSink, ReplySink
from assistant.engine.stages import Heard, Stages
from assistant.engine.turn import FileInput, TextInput, TurnEngine, TurnPolicy

__all__ = ["CollectingSink", "Command", "CommandParsers", "FileInput", "Heard", "ReplySink", "Session", "Stages",
           "TextInput", "TurnEngine", "TurnPolicy"]
