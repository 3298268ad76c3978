"""Local commands: the one place a transcript is checked before it reaches the LLM.

A command parser takes the user's words and the session, applies its effect to the session and
returns a ``Command`` (what to say back), or None when the words are not a command. The engine
tries each parser of a ``CommandParsers`` in order. The default set is the voice commands of
:mod:`assistant.commands` (stop, repeat, slower/faster, louder/quieter, new conversation, forget
that, help, patient mode, pause/resume and the language commands), with their per-session state
in ``session.commands``; with ``commands.enabled: false`` only the language commands remain.

A command heard but not clearly (the matcher's confidence between ``ASK`` and ``ACT``) is not
acted on: the assistant asks "Did you want me to ...?" (command ``ask``) and keeps it pending
for one turn; a yes on that turn acts on it, a no says "Okay, I won't." (``cancelled``), and
anything else is handled as an ordinary turn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from assistant import commands as voice
from assistant.commands import language as language_commands
from assistant.commands.matcher import yes_or_no
from assistant.commands.replies import CANCELLED, question
from assistant.commands.settings import CommandSettings
from assistant.core.types import Utterance
from assistant.engine.session import Session
from assistant.engine.stages import Heard

if TYPE_CHECKING:
    from assistant.engine.stages import Stages


@dataclass(frozen=True)
class Command:
    name: str  # the command kind: "language", "stop", "repeat", ... ("asleep": ignored while paused)
    say: str | None  # confirmation to speak (None or "": say nothing)
    language: str | None = None  # the language ``say`` is in (None: the turn's reply language)
    status: str = "command"  # the turn's status: "command", or "ignored" (paused, not a wake phrase)
    stop_speaking: bool = False  # the command asks to stop the current reply


Parser = Callable[[str, Session], "Command | None"]


def language_command(text: str, session: Session) -> Command | None:
    """"Speak German" style requests: set the reply language until told otherwise."""
    command = language_commands.parse(text)
    if command is None:
        return None
    session.language.requested = command.language
    return Command("language", command.confirmation)


def voice_command(text: str, session: Session) -> Command | None:
    """Every voice command (the language ones included), its effect applied to the session.
    While paused, anything but a wake phrase (or "help") is an "asleep" command: ignored, silent."""
    state = session.commands
    if not state.settings.enabled:
        return None
    reply_language = session.language.requested or None
    pending, state.pending = state.pending, None
    if pending is not None:  # the last turn asked "Did you want me to ...?"
        answer = yes_or_no(text)
        if answer is False:
            lang = pending.language if pending.language in CANCELLED else "en"
            return Command("cancelled", CANCELLED[lang], lang)
        if answer is True:
            return _act(pending, session)
    parsed = voice.parse(text, session.turn_language, state.settings.extra_phrases or None,
                         reply_language=reply_language, session_language=session.session_language, ask=True)
    if state.paused and not state.accepts(parsed):
        return Command("asleep", None, status="ignored")
    if parsed is None:
        return None
    if not parsed.certain:
        state.pending = parsed
        say, lang = question(parsed.kind, parsed.language)
        return Command("ask", say, lang)
    return _act(parsed, session)


def in_session_language(stages: "Stages", utterance: Utterance, heard: Heard, session_language: str | None,
                        settings: CommandSettings, timings: dict[str, float]) -> Heard:
    """A short utterance Whisper took for another language than the session's is heard again in
    the session's language when it is no command as heard: on one to three words language ID is
    a coin toss ("Lauter, bitte" as Chinese, "¡Para!" as Russian), and a command is what such a
    short turn most often is. The second transcript is kept only when it is a command (acted on
    or asked about); anything else stays as first heard, so a question is never rewritten."""
    t, d = heard.transcript, heard.decision
    if (not settings.enabled or heard.no_speech or t is None or d is None or not session_language
            or d.language == session_language or d.reason in ("fixed", "requested")
            or utterance.audio.duration > settings.session_language_s):
        return heard
    extra = settings.extra_phrases or None
    if voice.parse(t.text, d.language, extra, session_language=session_language, ask=True) is not None:
        return heard  # a command as heard
    again = stages.hear_in(utterance, session_language, timings)
    if not again.text or voice.parse(again.text, session_language, extra, session_language=session_language,
                                     ask=True) is None:
        return heard
    return Heard(again, replace(d, language=session_language, reason="session-command", candidates=()))


def _act(parsed: voice.Command, session: Session) -> Command:
    state = session.commands
    effect = state.apply(parsed)
    if effect.clear_history:
        session.history.clear()
    if effect.forget_last:
        session.history.turns[-1:] = []
        session.last_reply = ""
    if effect.changes_language:
        session.language.requested = effect.reply_language  # type: ignore[assignment]
    return Command(parsed.kind, effect.say, effect.language, stop_speaking=effect.stop_speaking)


def interrupts(text: str, session: Session) -> bool:
    """Whether ``text`` is a command that stops the current reply (stop, repeat, new conversation,
    pause...), without applying it: a typed "stop" must cut the reply before its turn runs."""
    state = session.commands
    if not state.settings.enabled:
        return False
    parsed = voice.parse(text, session.turn_language, state.settings.extra_phrases or None,
                         session_language=session.session_language)
    return parsed is not None and parsed.kind in STOPS_SPEAKING


# the kinds whose effect stops the reply being spoken (see SessionState.apply)
STOPS_SPEAKING = frozenset({"stop", "repeat", "new_conversation", "forget_last", "help", "pause"})


class CommandParsers:
    def __init__(self, parsers: list[Parser] | None = None) -> None:
        self.parsers: list[Parser] = list(parsers) if parsers is not None else [voice_command, language_command]

    def add(self, parser: Parser, first: bool = False) -> None:
        self.parsers.insert(0, parser) if first else self.parsers.append(parser)

    def __call__(self, text: str, session: Session) -> Command | None:
        for parser in self.parsers:
            command = parser(text, session)
            if command is not None:
                return command
        return None
