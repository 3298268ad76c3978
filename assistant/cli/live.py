"""``assistant chat`` (the live voice loop) and ``assistant devices``."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from assistant.cli import add_config_args


def add_chat(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="talk to the assistant: microphone in, speaker out, hands-free",
                       description="The live voice loop. Speak; the assistant answers aloud in your "
                                   "language. Speak over it to interrupt. Stop with Ctrl-C.")
    add_config_args(p)
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop by itself after this long")
    p.add_argument("--no-greeting", action="store_true", help="don't say 'I'm listening' at start")
    p.set_defaults(handler=run_chat)


def add_devices(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list microphones and speakers (for audio.input_device / output_device)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    from rich.table import Table

    from assistant.audio.devices import list_devices
    from assistant.cli.output import console
    from assistant.core.errors import AudioDeviceError

    devices = list_devices()
    if not devices:
        raise AudioDeviceError("no audio devices found",
                               "start a sound server (PulseAudio/PipeWire) or connect a device; "
                               "on Linux also install libportaudio2")
    if args.json:
        print(json.dumps([d.__dict__ for d in devices], indent=2))
        return 0
    for kind, key in (("input", "audio.input_device"), ("output", "audio.output_device")):
        table = Table(title=f"{kind} devices (set {key} to a name part or index)")
        for col in ("", "index", "name", "channels", "default rate"):
            table.add_column(col)
        for d in devices:
            if d.channels(kind) == 0:
                continue
            default = d.is_default_input if kind == "input" else d.is_default_output
            table.add_row("*" if default else "", str(d.index) if not d.pulse_name else "",
                          d.name + (f" ({d.description})" if d.description and d.description != d.name else ""),
                          str(d.channels(kind)), f"{d.default_samplerate:.0f} Hz")
        console.print(table)
    console.print("* = default")
    return 0


def run_chat(args: argparse.Namespace) -> int:
    from assistant.audio.capture import Microphone
    from assistant.audio.devices import resolve_device
    from assistant.audio.endpointing import make_endpointer
    from assistant.audio.playback import Speaker
    from assistant.config import load_config
    from assistant.core.paths import check_log_path, check_writable_dir
    from assistant.modes.file import Assistant
    from assistant.modes.live.captions import Captions
    from assistant.modes.live.loop import ChatLoop

    config = load_config(args.config, args.overrides)
    check_log_path(config.log.path, reads=(args.config,))
    if config.output.save_replies:
        folder = Path(config.output.directory)
        check_writable_dir(folder, folder, "replies into")
    audio = config.audio
    captions = Captions()
    # Devices first: a missing microphone should fail in a second, not after loading models.
    mic_device = resolve_device(audio.input_device, "input")
    out_device = resolve_device(audio.output_device, "output")
    captions.status("loading")
    bot = Assistant.from_config(config=config)
    for note in bot.model_notes:
        captions.notice(note)
    endpointer = make_endpointer(audio, early=audio.early_stt)
    bot.load()
    for warning in bot.voices.warnings:
        captions.notice(warning)
    from assistant.audio.echo import echo_canceller, echo_decision

    decision = echo_decision(mic_device, out_device) if audio.echo_cancellation == "auto" else None
    if decision is not None:
        captions.notice(decision[1])
    echo = echo_canceller(audio, decision=decision)  # None when off
    with Microphone(mic_device, echo=echo) as mic, Speaker(out_device, echo=echo) as speaker:
        loop = ChatLoop(bot, mic, speaker, endpointer, captions, audio)
        stop = lambda *_: loop.stop()  # noqa: E731
        old_int = signal.signal(signal.SIGINT, stop)
        old_term = signal.signal(signal.SIGTERM, stop)
        timer = threading.Timer(args.duration, loop.stop) if args.duration else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            captions.notice(f"listening on {mic_device.name}, speaking on {out_device.name} — "
                            "speak any time; Ctrl-C stops")
            loop.run(greet=not args.no_greeting)
        finally:
            if timer:
                timer.cancel()
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
            speaker.stop()
    done = [t for t in loop.turns if t.status != "no_speech"]
    captions.notice(f"stopped after {len(done)} turn(s); log: {config.log.path or 'disabled'}")
    return 0
