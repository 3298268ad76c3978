"""The conversation sent to the LLM: system prompt, bounded history, the new user turn.

The prompt only ever grows at its end between turns, so an engine that keeps the conversation's
KV cache (onnxruntime-genai) prefills just the new tokens:
- the system prompt is the same every turn; the reply-language line goes with the user's words
  (where the retry's stronger line goes too), and each past question keeps the line it was sent
  with;
- history is trimmed in blocks: once it holds more than ``max_turns`` exchanges or
  ``max_tokens`` tokens, the oldest are dropped until at most half of each budget is left, so the
  start of the prompt changes only every few turns instead of every turn.
The same rule serves every backend, so they all see the same prompts. Only what the user actually
heard is kept (barge-in trims the reply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pydantic import Field

from assistant.core.options import Section
from assistant.core.types import Message
from assistant.language.instructions import language_instruction

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful voice assistant. Your replies are spoken aloud, so answer the way a person "
    "talks: one to three short sentences of plain conversational text, no lists, no headings, no "
    "markdown, no emoji, no code and no links (name a website instead of giving its address). "
    "If the user wants more detail, they will ask."
)


class Conversation(Section):
    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, description="System prompt sent before every turn.")
    max_turns: int = Field(8, ge=0, description="Keep at most this many past turns as context; beyond it the "
                                                "oldest are dropped down to half (fewer prompt changes).")
    max_tokens: int = Field(2048, ge=0, description="Keep at most this many tokens of past turns as context; "
                                                    "beyond it the oldest are dropped down to half.")


class Exchange(tuple):
    """One past exchange, ``(user, assistant)`` as the user said and heard it; ``instruction`` is
    the line the user's words were sent to the LLM with (the prompt repeats it unchanged)."""

    instruction: str | None

    def __new__(cls, user: str, assistant: str, instruction: str | None = None) -> "Exchange":
        self = super().__new__(cls, (user, assistant))
        self.instruction = instruction
        return self


def user_message(user: str, instruction: str | None) -> str:
    # The instruction goes after the user's words: the last thing the model reads before it
    # answers weighs most with small models (README, "Multilingual").
    return f"{user}\n\n{instruction}" if instruction else user


@dataclass
class History:
    settings: Conversation
    turns: list[tuple[str, str]] = field(default_factory=list)
    _sent: tuple[str, str | None] | None = field(default=None, repr=False)  # the last prompt's user words and line
    trimmed: bool = False  # the oldest exchanges were dropped since the last prompt (its start changed)

    def add(self, user: str, assistant: str) -> None:
        if self.settings.max_turns == 0:
            return
        sent = self._sent[1] if self._sent and self._sent[0] == user else None
        self.turns.append(Exchange(user, assistant, sent))
        if len(self.turns) > self.settings.max_turns:
            del self.turns[: len(self.turns) - (self.settings.max_turns + 1) // 2]
            self.trimmed = True

    def clear(self) -> None:
        self.turns.clear()

    def _cost(self, turn: tuple[str, str], count_tokens: Callable[[str], int]) -> int:
        return count_tokens(user_message(turn[0], getattr(turn, "instruction", None))) + count_tokens(turn[1])

    def _trim_tokens(self, count_tokens: Callable[[str], int]) -> None:
        costs = [self._cost(t, count_tokens) for t in self.turns]
        budget = self.settings.max_tokens
        if sum(costs) <= budget:
            return
        drop = 0
        while drop < len(costs) and sum(costs[drop:]) > budget // 2:
            drop += 1
        if drop == len(costs) and costs and costs[-1] <= budget:
            drop -= 1  # the newest exchange alone fits the budget: keep it
        del self.turns[:drop]
        self.trimmed = self.trimmed or drop > 0

    def prefix(self, count_tokens: Callable[[str], int]) -> list[Message]:
        """The next prompt without its question: system prompt and history, trimmed as the next
        ``messages`` will send them (an engine that keeps the KV cache can prefill it ahead)."""
        self._trim_tokens(count_tokens)
        msgs = [Message("system", self.settings.system_prompt)]
        for turn in self.turns:
            msgs += [Message("user", user_message(turn[0], getattr(turn, "instruction", None))),
                     Message("assistant", turn[1])]
        return msgs

    def messages(self, user: str, reply_language: str | None,
                 count_tokens: Callable[[str], int], extra_instruction: str | None = None) -> list[Message]:
        """The prompt. ``extra_instruction`` (a retry's stronger line) replaces the reply-language
        line after the user's words."""
        msgs = self.prefix(count_tokens)
        self.trimmed = False
        # The language line as it is (in parentheses the 0.5B starter model wrote 3 of 15 replies in
        # parentheses too: scripts/compare_language_line.py); the retry's stronger line in them.
        line = f"({extra_instruction})" if extra_instruction else (
            language_instruction(reply_language) if reply_language else None)
        self._sent = (user, line)
        msgs.append(Message("user", user_message(user, line)))
        return msgs
