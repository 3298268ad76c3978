"""Live captions for `assistant chat`: what was heard, the reply as it streams, timings, and a
status (listening / thinking / speaking). Rich styling on a terminal, plain lines otherwise
(e.g. when piped to a file or read by a screen reader)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from assistant.core.types import Turn
from assistant.language.names import name_of

STATUS_TEXT = {"listening": "● listening", "thinking": "… thinking", "speaking": "▶ speaking",
               "loading": "loading models"}


def heard_line(turn: Turn) -> str:
    """What was heard, with the language (rich markup; file mode prints it too)."""
    t = turn.transcript
    if t is None:
        return ""
    prob = f", p={t.language_probability:.2f}" if t.language_probability is not None else ""
    why = f", {turn.decision.reason}" if turn.decision and turn.decision.reason != "detected" else ""
    return f"[bold cyan]You[/] ({turn.language} {name_of(turn.language or '')}{prob}{why}): {escape(t.text)}"


def timings_line(timings: dict[str, float]) -> str:
    order = ["decode", "stt", "llm_first_token", "llm", "tts_first_audio", "tts", "first_audio", "total"]
    keys = [k for k in order if k in timings] + [k for k in timings if k not in order]
    return " · ".join(f"{k} {timings[k]:.0f} ms" for k in keys)


class Captions:
    def __init__(self, stream: TextIO | None = None, force_plain: bool | None = None) -> None:
        stream = stream or sys.stdout
        self.plain = (not stream.isatty()) if force_plain is None else force_plain
        self.console = Console(file=stream, highlight=False, soft_wrap=True,
                               force_terminal=False if self.plain else None, no_color=self.plain)
        self._lock = threading.Lock()  # the loop's threads print; keep lines whole
        self._status_shown = False
        self._mid_reply = False
        self.state = ""

    def _clear_status(self) -> None:
        if self._status_shown and not self.plain:
            self.console.file.write("\r\x1b[2K")
            self.console.file.flush()
        self._status_shown = False

    def _line(self, markup: str) -> None:
        with self._lock:
            self._clear_status()
            if self._mid_reply:
                self.console.print()
                self._mid_reply = False
            self.console.print(markup)
            self._redraw_status()

    def _redraw_status(self) -> None:
        if not self.plain and self.state and not self._mid_reply:
            self.console.file.write(f"\x1b[2m{STATUS_TEXT.get(self.state, self.state)}\x1b[0m")
            self.console.file.flush()
            self._status_shown = True

    def status(self, state: str) -> None:
        with self._lock:
            if state == self.state:
                return
            self.state = state
            if self.plain:
                self.console.print(escape(f"[{state}]"))
                return
            if not self._mid_reply:
                self._clear_status()
                self._redraw_status()

    def heard(self, turn: Turn) -> None:
        self._line(heard_line(turn))

    def reply_start(self, language: str) -> None:
        with self._lock:
            self._clear_status()
            self.console.print(f"[bold green]Assistant[/] ({language}): ", end="")
            self._mid_reply = True

    def reply_text(self, text: str) -> None:
        with self._lock:
            self.console.print(escape(text), end="")

    def reply_end(self, interrupted: bool = False) -> None:
        with self._lock:
            if self._mid_reply:
                self.console.print(" [yellow](interrupted)[/]" if interrupted else "")
                self._mid_reply = False

    def notice(self, text: str) -> None:
        self._line(f"[yellow]{escape(text)}[/]")

    def error(self, text: str) -> None:
        self._line(f"[bold red]error:[/] {escape(text)}")

    def timings(self, turn: Turn) -> None:
        if turn.timings_ms:
            self._line(f"[dim]{timings_line(turn.timings_ms)}[/]")

    def close(self) -> None:
        with self._lock:
            self._clear_status()
            if self._mid_reply:
                self.console.print()
                self._mid_reply = False
