"""One conversation's state: history, language state, turn numbering, words carried over.

Stages (models) are shared; a ``Session`` is not. File mode and the live loop each hold one; a
server holds one per connection, so conversations never share history or language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from assistant.commands.session import SessionState
from assistant.core.turnlog import new_session_id
from assistant.core.types import Turn
from assistant.language.policy import LanguagePolicy, LanguageState
from assistant.llm.history import Conversation, History


@runtime_checkable
class AdjustableEndpointer(Protocol):
    """An endpointer whose end-of-turn silence can change between utterances
    (``assistant.audio.endpointing.Endpointer``)."""

    def set_min_silence_ms(self, min_silence_ms: float) -> None: ...


@dataclass
class Session:
    conversation: Conversation
    id: str = field(default_factory=new_session_id)  # 20261130T164512-3f9a1c; turn ids are "<id>-<n>"
    history: History = field(init=False)
    language: LanguageState = field(default_factory=LanguageState)
    next_turn_id: int = 1
    # Words of a turn the user interrupted before any reply (a pause mid-sentence): they belong
    # to the next utterance, so they are prepended to it rather than lost.
    carry: str = ""
    last_reply: str = ""  # what the user heard of the last reply (for a "repeat" command)
    models: dict[str, str] = field(default_factory=dict)  # stage → "backend:model", in every turn record
    commands: SessionState = field(default_factory=SessionState)  # what voice commands changed (rate, pause...)
    turn_language: str = "en"  # the language the current utterance was heard in (command matching)
    # The conversation's language before the current turn (asked for, else the last turn's):
    # command matching tries its phrases first, since short commands are often mislabelled.
    session_language: str | None = None
    refused_in_row: int = 0  # no-speech turns in a row (the noise hint)

    def __post_init__(self) -> None:
        self.history = History(self.conversation)

    def new_turn(self, source: str) -> Turn:
        turn = Turn(id=self.next_turn_id,
                    started_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"), input=source,
                    models=dict(self.models))
        self.next_turn_id += 1
        return turn

    def reply_language(self, user_language: str, policy: LanguagePolicy) -> str:
        """See ``LanguageState.reply_language`` (the language rules are written there)."""
        return self.language.reply_language(user_language, policy)

    def after_turn(self, turn: Turn, endpointer: object, base_silence_ms: float) -> None:
        """What a voice command changed that the mode's endpointer applies (live loop, realtime
        session): the end-of-turn silence of patient mode / normal speed, from ``base_silence_ms``
        (the mode's own). Nothing for other turns, or an endpointer that cannot change it."""
        if turn.status == "command" and isinstance(endpointer, AdjustableEndpointer):
            endpointer.set_min_silence_ms(self.commands.end_of_turn_silence_ms(base_silence_ms))

    def remember(self, user_text: str, reply_heard: str, language: str | None = None) -> None:
        """Only what the user actually heard of the reply goes into the history (and is what
        "repeat" says again)."""
        self.history.add(user_text, reply_heard)
        self.last_reply = reply_heard
        self.commands.remember(reply_heard, language or self.turn_language)
