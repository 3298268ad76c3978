"""Terminal output: captions for a turn, timings, errors. Plain text when not a terminal."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from assistant.errors import AssistantError, ConfigError
from assistant.language.names import name_of
from assistant.types import Turn

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


def heard_line(turn: Turn) -> str:
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
