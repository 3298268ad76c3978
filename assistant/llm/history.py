"""The conversation sent to the LLM: system prompt, bounded history, the new user turn.

History is bounded by turns and by tokens (oldest dropped first) so long chats never overflow
the model's context. Only what the user actually heard is kept (barge-in trims the reply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pydantic import Field

from assistant.language.instructions import language_instruction
from assistant.core.options import Section
from assistant.core.types import Message


DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful voice assistant. Your replies are spoken aloud, so answer the way a person "
    "talks: one to three short sentences of plain conversational text, no lists, no headings, no "
    "markdown, no emoji, no code and no links (name a website instead of giving its address). "
    "If the user wants more detail, they will ask."
)


class Conversation(Section):
    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, description="System prompt sent before every turn.")
    max_turns: int = Field(8, ge=0, description="Keep at most this many past turns as context.")
    max_tokens: int = Field(2048, ge=0, description="Keep at most this many tokens of past turns as context.")


@dataclass
class History:
    settings: Conversation
    turns: list[tuple[str, str]] = field(default_factory=list)

    def add(self, user: str, assistant: str) -> None:
        if self.settings.max_turns == 0:
            return
        self.turns.append((user, assistant))
        del self.turns[: max(0, len(self.turns) - self.settings.max_turns)]

    def clear(self) -> None:
        self.turns.clear()

    def messages(self, user: str, reply_language: str | None,
                 count_tokens: Callable[[str], int], extra_instruction: str | None = None) -> list[Message]:
        system = self.settings.system_prompt
        if reply_language:
            system = f"{system}\n{language_instruction(reply_language)}"
        budget = self.settings.max_tokens
        kept: list[tuple[str, str]] = []
        for u, a in reversed(self.turns[-self.settings.max_turns:] if self.settings.max_turns else []):
            cost = count_tokens(u) + count_tokens(a)
            if cost > budget:
                break
            budget -= cost
            kept.append((u, a))
        msgs = [Message("system", system)]
        for u, a in reversed(kept):
            msgs += [Message("user", u), Message("assistant", a)]
        # A retry's instruction goes after the user's words: the last thing the model reads before
        # it answers weighs most with small models (README, "Multilingual").
        msgs.append(Message("user", f"{user}\n\n({extra_instruction})" if extra_instruction else user))
        return msgs
