"""Guard an LLM's streamed reply before it is shown and spoken, for every LLM backend.

``guard_reply(pieces, cut_off)`` passes the reply through sentence by sentence and

- **stops a loop**: a sentence that repeats an earlier one (``I'm glad to hear that. I'm glad to
  hear that.``), or a run of words that repeats back to back (``de la fin de la fin de la fin``),
  ends the reply there; the repetition is not passed on and the model's stream is closed (a
  local model stops generating);
- **never passes a sentence cut off by the token limit**: text after the last sentence end is
  held back until the reply goes on or ends. If it ends because the limit was reached
  (``cut_off()`` is true once the stream is exhausted), the unfinished sentence is dropped; if
  nothing complete came before it, it is kept and ended with a full stop.

Text is released only up to a sentence end (``. ! ? … ;`` or CJK ``。！？；`` followed by a space, or a
line break), so a caption appears a sentence at a time, exactly as the voice speaks it; a run-on
sentence with no end is released at its last comma or space once it is ``max_hold`` characters
long. ``Stages`` passes ``ReplyEnd.cut`` (the backend's ``finish_reason`` is ``"length"`` after a
stream the limit cut; every LLM backend sets it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

_END = re.compile(r"(?:[.!?…;][\"'”’»)\]]*\s+|[。！？；｡][」』）”]*\s*|\n+)")
_WORD = re.compile(r"\w+(?:'\w+)?")

MIN_REPEATED_WORDS = 8  # a back-to-back repetition must cover this many words to be a loop
MIN_REPEATS = 3  # ... and be at least this many copies (``very very`` is fine)
MAX_BLOCK = 12  # longest repeating block looked for, in words
MIN_SENTENCE_WORDS = 3  # "Yes." twice is not a loop; a repeated sentence of 3+ words is


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def repeated_run(words: list[str]) -> int | None:
    """Where a back-to-back repetition at the end of ``words`` starts being a repeat: the index
    after the first copy of the block, or None when the end is no loop."""
    n = len(words)
    for block in range(1, min(MAX_BLOCK, n // MIN_REPEATS) + 1):
        copies = 1
        while (copies + 1) * block <= n and words[n - (copies + 1) * block:n - copies * block] == words[n - block:]:
            copies += 1
        if copies >= MIN_REPEATS and copies * block >= MIN_REPEATED_WORDS:
            return n - (copies - 1) * block
    return None


def _cut_words(text: str, keep: int) -> str:
    """``text`` up to the end of its ``keep``-th word."""
    matches = list(_WORD.finditer(unicodedata.normalize("NFKC", text)))
    return text[: matches[keep - 1].end()] if keep else ""


def _end_cleanly(text: str) -> str:
    text = text.rstrip().rstrip(",:-–—(\"'“«").rstrip()
    if text and text[-1] not in ".!?…。！？":
        text += "."
    return text


@dataclass
class GuardReport:
    """What the guard did to the last reply (for logs and tests)."""

    loop: str | None = None  # "sentence" | "words" when a loop was stopped
    dropped: str = ""  # text that was not passed on
    cut_off: bool = False  # the token limit ended the reply


@dataclass
class _State:
    sentences: set[tuple[str, ...]] = field(default_factory=set)
    released_any: bool = False


def guard_reply(pieces: Iterable[str], cut_off: Callable[[], bool] = lambda: False,
                report: GuardReport | None = None, max_hold: int = 400) -> Iterator[str]:
    """The reply's pieces, guarded (see the module doc). Closing this generator closes ``pieces``."""
    report = report if report is not None else GuardReport()
    state = _State()
    held = ""
    source = iter(pieces)
    try:
        for piece in source:
            held += piece
            complete, held = _split(held)
            if not complete and len(held) > max_hold:
                cut = max(held.rfind(",", 0, max_hold), held.rfind(" ", 0, max_hold))
                if cut > 0:
                    complete, held = held[: cut + 1], held[cut + 1:]
            if complete:
                out, stop = _release(complete, state, report)
                if out:
                    yield out
                if stop:
                    report.dropped += held
                    return
            start = repeated_run(_words(held))  # a back-to-back loop inside the unfinished sentence
            if start is not None:
                kept = _cut_words(held, start)
                report.loop, report.dropped = "words", held[len(kept):]
                out, _ = _release(_end_cleanly(kept), state, report)
                if out:
                    yield out
                return
        # the stream ended: naturally, or because the token limit was reached
        report.cut_off = bool(cut_off())
        complete, held = _split(held.rstrip() + " ") if held.strip() else ("", "")
        if complete:
            out, stop = _release(complete, state, report)
            if out:
                yield out
            if stop:
                return
        if held.strip():
            if report.cut_off:
                if state.released_any:
                    report.dropped += held
                    return
                held = _end_cleanly(held)
            out, _ = _release(held, state, report)
            if out:
                yield out
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _split(text: str) -> tuple[str, str]:
    """(everything up to and including the last sentence end, the rest)."""
    ends = list(_END.finditer(text))
    last = ends[-1] if ends else None
    if last is None:
        return "", text
    return text[: last.end()], text[last.end():]


def _release(text: str, state: _State, report: GuardReport) -> tuple[str, bool]:
    """The part of ``text`` (whole sentences) to pass on, and whether a repeated sentence ended the reply."""
    out = []
    pos = 0
    for m in list(_END.finditer(text)) + [None]:
        end = m.end() if m is not None else len(text)
        sentence = text[pos:end]
        if not sentence.strip():
            pos = end
            continue
        key = tuple(_words(sentence))
        if len(key) >= MIN_SENTENCE_WORDS and key in state.sentences:
            report.loop, report.dropped = "sentence", text[pos:]
            return "".join(out), True
        if key:
            state.sentences.add(key)
        out.append(sentence)
        pos = end
        if m is None:
            break
    result = "".join(out)
    if result.strip():
        state.released_any = True
    return result, False
