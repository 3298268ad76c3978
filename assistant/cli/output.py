"""Terminal output: captions for a turn, timings, errors. Plain text when not a terminal."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from assistant.core.errors import AssistantError, ConfigError
from assistant.core.types import Turn
from assistant.modes.live.captions import heard_line, timings_line

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(e: AssistantError) -> None:
    if isinstance(e, ConfigError) and len(e.problems) > 1:
        err_console.print(f"[bold red]error:[/] {len(e.problems)} problems in the configuration:")
        for p in e.problems:
            err_console.print(f"  - {escape(p)}")
        if e.hint:
            err_console.print(f"  ({escape(e.hint)})")
        return
    err_console.print(f"[bold red]error:[/] {escape(str(e))}")


def print_notes(notes: list[str]) -> None:
    """Start-up notes (e.g. which starter models stand in for missing ones), on stderr so that
    machine-readable stdout (--json, transcripts) stays clean."""
    for note in notes:
        err_console.print(f"[yellow]{escape(note)}[/]")


def print_turn(turn: Turn, *, reply_streamed: bool = False) -> None:
    if turn.transcript is not None:
        console.print(heard_line(turn))
    if turn.status == "no_speech":
        console.print(f"[yellow]{escape(turn.notice or 'No speech.')}[/]")
    elif turn.reply_text and not reply_streamed:
        console.print(f"[bold green]Assistant[/] ({turn.reply_language}): {escape(turn.reply_text)}")
    if turn.notice and turn.status != "no_speech":
        console.print(f"[yellow]{escape(turn.notice)}[/]")
    if turn.output_path and turn.reply_audio is not None:
        console.print(f"[dim]voice {escape(turn.voice or '')} → {escape(turn.output_path)} "
                      f"({turn.reply_audio.duration:.1f} s)[/]")
    if turn.timings_ms:
        console.print(f"[dim]{timings_line(turn.timings_ms)}[/]")


def is_terminal() -> bool:
    return sys.stdout.isatty()
