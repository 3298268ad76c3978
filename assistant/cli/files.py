"""File-mode commands: respond (a whole turn), transcribe (STT alone), say (TTS alone)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from assistant.cli import add_config_args
from assistant.cli.output import console, err_console, print_notes, print_turn

NO_SPEECH_EXIT = 9  # the recording held no speech: nothing was answered or written


# ---------------------------------------------------------------- respond

def add_respond(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("respond", help="answer one recorded question: audio file in → spoken reply out",
                       description="One whole turn from a file: transcript with language, the reply, "
                                   "and the reply spoken into an audio file.")
    p.add_argument("input", metavar="IN_AUDIO", help="any audio file ffmpeg reads (wav, flac, mp3, ogg, m4a, ...)")
    p.add_argument("-o", "--output", metavar="REPLY_AUDIO",
                   help="where to write the spoken reply; format by extension: "
                        ".wav (default), .mp3, .ogg, .opus, .flac "
                        "(default: <input name>.reply.wav beside the input, or in the current folder when "
                        "the input's folder is not writable)")
    p.add_argument("--json", action="store_true", help="print the whole turn as JSON")
    add_config_args(p)
    p.set_defaults(handler=run_respond)


def run_respond(args: argparse.Namespace) -> int:
    from assistant.audio.io import OUTPUT_FORMATS, load_audio
    from assistant.config import load_config
    from assistant.core.paths import check_input, check_log_path, check_output, default_reply_path
    from assistant.modes.file import Assistant

    # Everything the user typed is checked before any model loads (seconds) or the turn runs.
    source = check_input(args.input)
    config = load_config(args.config, args.overrides)
    reads = (source, args.config)
    notice = None
    if args.output:
        output = Path(args.output)
    else:
        output, notice = default_reply_path(source)
    check_output(output, reads=(*reads, config.log.path), what="output", formats=OUTPUT_FORMATS)
    check_log_path(config.log.path, reads=reads)
    t0 = time.perf_counter()
    audio = load_audio(source, 16000)  # a corrupt file is reported now, not after loading models
    decode_ms = (time.perf_counter() - t0) * 1000.0
    bot = Assistant.from_config(config=config)  # resolves the models (starter fallback) too
    print_notes(bot.model_notes)
    if notice:
        console.print(f"[yellow]{notice}[/]")
    with console.status("loading models…"):
        bot.load(("stt", "llm"))
    turn = bot.respond(audio, output=output, source=str(source), timings={"decode": decode_ms})
    if args.json:  # the turn's id as in the turn log: "<session>-<turn>", with both parts
        record = {"id": f"{bot.session.id}-{turn.id}", "session": bot.session.id, "turn": turn.id}
        print(json.dumps(record | {k: v for k, v in turn.to_dict().items() if k != "id"}, ensure_ascii=False,
                         indent=2))
    else:
        print_turn(turn)
    return NO_SPEECH_EXIT if turn.status == "no_speech" else 0


# ---------------------------------------------------------------- transcribe

def add_transcribe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transcribe", help="speech to text only (Whisper), as txt, json, srt or vtt",
                       description="The STT stage alone, like the whisper CLI.")
    p.add_argument("input", metavar="IN_AUDIO")
    p.add_argument("--format", "-f", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.add_argument("--model", help="model name or local checkpoint (sets stt.model)")
    p.add_argument("--language", help="spoken language code, or 'auto' (sets stt.language)")
    p.add_argument("--task", choices=["transcribe", "translate"], help="translate: any language → English text")
    p.add_argument("--initial-prompt", help="vocabulary hint: names and words that should come out right")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    add_config_args(p)
    p.set_defaults(handler=run_transcribe)


def format_transcript(transcript, fmt: str) -> str:
    from assistant.text.subtitles import subtitles

    if fmt == "txt":
        return transcript.text + "\n"
    if fmt == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"
    return subtitles(transcript, fmt)


def run_transcribe(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from assistant.audio.io import load_audio
    from assistant.config import load_config
    from assistant.core.paths import check_input, check_output, write_text_atomic
    from assistant.core.types import Utterance
    from assistant.engine.stages import Stages
    from assistant.models import resolve_models

    overrides = list(args.overrides)
    for key, value in (("model", args.model), ("language", args.language), ("task", args.task),
                       ("initial_prompt", args.initial_prompt)):
        if value is not None:
            overrides.append(f"stt.{key}={json.dumps(value)}")
    source = check_input(args.input)
    config = load_config(args.config, overrides)
    if args.output:
        check_output(args.output, reads=(source, args.config, config.log.path), what="output")
    audio = load_audio(source, 16000)
    config, notes = resolve_models(config)
    print_notes(notes)
    stages = Stages.from_config(config, ("stt",))
    stages.load(("stt",))
    heard = stages.hear(Utterance(audio, source=str(source)))
    transcript = heard.transcript
    if heard.no_speech:  # said, not only an empty line
        err_console.print(f"[yellow]No speech heard: {escape(heard.no_speech)}[/]")
    text = format_transcript(transcript, args.format)
    if args.output:
        write_text_atomic(args.output, text)
        console.print(f"[dim]{transcript.language} → {args.output}[/]")
    else:
        sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------- say

def add_say(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("say", help="text to speech only, into an audio file",
                       description="The TTS stage alone, with the voice the config maps to the language.")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--language", "-l", help="language code of the text (default: language.default)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help=".wav, .mp3, .ogg, .opus or .flac")
    add_config_args(p)
    p.set_defaults(handler=run_say)


def run_say(args: argparse.Namespace) -> int:
    from assistant.audio.io import OUTPUT_FORMATS, save_audio
    from assistant.config import load_config
    from assistant.core.errors import ConfigError, UsageError
    from assistant.core.paths import check_output
    from assistant.core.types import AudioChunk
    from assistant.engine.stages import Stages
    from assistant.language.names import check_code

    if not args.text.strip():
        raise UsageError("nothing to say: TEXT is empty", "give the text to speak in quotes")
    from assistant.models import resolve_models

    config = load_config(args.config, args.overrides)
    check_output(args.output, reads=(args.config, config.log.path), what="output", formats=OUTPUT_FORMATS)
    language = args.language or config.language.default
    try:
        check_code(language)
    except ConfigError as e:
        raise UsageError(f"--language: {e.problems[0]}", e.hint) from None
    config, notes = resolve_models(config)
    print_notes(notes)
    voice, chunks = Stages.from_config(config, ("tts",)).speak(args.text, language)  # as a reply is spoken
    if voice is None:
        raise UsageError("nothing to say: TEXT has no words a voice can speak (only symbols or emoji)",
                         "give text with words in it")
    audio = AudioChunk.concat(list(chunks))
    save_audio(audio, args.output)
    console.print(f"[dim]voice {voice} → {args.output} ({audio.duration:.1f} s)[/]")
    return 0
