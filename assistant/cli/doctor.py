"""``assistant doctor``: one screen that says what works and what doesn't, and how to fix it.

Fast (a few seconds: torch's import and at most one short probe per hub, run in parallel) and
read-only: nothing is downloaded or loaded. Exit 0 only when ``assistant chat`` with this
config can start: its STT and LLM models are here (or fetchable, or replaced by starter models),
their backends' packages are installed, and there is an input and an output audio device.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
from typing import Any

from assistant.cli import add_config_args
from assistant.cli.output import console

OK, BAD, WARN = "[green]✓[/]", "[red]✗[/]", "[yellow]![/]"


def add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this machine and config: models, hubs, devices, voices",
                       description="What works and what doesn't, with the command that fixes each problem. "
                                   "Exit code 0 only if `assistant chat` can start. Downloads nothing.")
    add_config_args(p)
    p.set_defaults(handler=run_doctor)


class _Report:
    def __init__(self) -> None:
        self.exit = 0

    def line(self, mark: str, label: str, text: str) -> None:
        console.print(f" {mark} [bold]{label:<10}[/] {text}")

    def fail(self, code: int, label: str, text: str) -> None:
        self.line(BAD, label, text)
        self.exit = self.exit or code


def _torch_line(r: _Report) -> None:
    try:
        import torch
    except ImportError:
        r.fail(4, "torch", "not installed (see README: install the torch build for your machine first)")
        return
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        bf16 = torch.cuda.is_bf16_supported()
        r.line(OK, "torch", f"{torch.__version__}, CUDA: {name} (Whisper fp16, LLM {'bf16' if bf16 else 'fp16'})")
    else:
        r.line(OK, "torch", f"{torch.__version__}, CPU only (fp32; no CUDA GPU visible)")


def _hubs(config: Any, entries: list) -> dict[str, str | None]:
    from assistant.core import hub

    return hub.probe_all([hub.hf_endpoint(), hub.WHISPER_HOST, hub.COQUI_HOST, *(e.hub_url for e in entries)])


def _model_lines(r: _Report, config: Any, effective: Any, entries: list) -> None:
    from assistant.core import registry
    from assistant.core.errors import AssistantError
    from assistant.models.inventory import entry_for, format_size

    for e in entries:
        if not e.stage.startswith("tts"):
            stage_opts = getattr(effective, e.stage)
            used = entry_for(stage_opts, e.stage)
            try:
                registry.get(e.stage, stage_opts.backend).check_requirements()
            except AssistantError as err:
                r.fail(4, e.stage, str(err))
                continue
            if e.present or e.remote:
                r.line(OK, e.stage, f"{e.backend} {e.name} ({e.status}, {format_size(e.size)}) {e.location}")
            elif used.name != e.name and used.present:
                r.line(WARN, e.stage, f"{e.backend} {e.name} is missing → the starter model runs instead: "
                                      f"{used.backend} {used.name} (for the configured one: "
                                      f"assistant models pull on a connected machine)")
            elif e.hub_url and not e.local and _reachable(e.hub_url):
                r.line(WARN, e.stage, f"{e.backend} {e.name} is missing; it downloads on first use "
                                      f"(or now: assistant models pull)")
            else:
                r.fail(4, e.stage, f"{e.backend} {e.name} is missing (fix: {e.fix()})")


def _reachable(url: str) -> bool:
    from assistant.core import hub

    return hub.hub_reachable(url)


def _voice_lines(r: _Report, config: Any, effective: Any) -> None:
    from assistant.models.inventory import entry_for
    from assistant.tts.quality import verdict

    languages = list(config.language.languages) or list(config.tts.voices) or [config.language.default]
    parts, poor = [], []
    for lang in languages:
        chosen = backend = None
        for source, opts in (("mapped", effective.tts.voices.get(lang)), ("fallback", effective.tts.fallback)):
            if opts is None:
                continue
            entry = entry_for(opts, f"tts:{lang}")
            if entry.present:
                label = entry.name if entry.name.startswith(entry.backend) else f"{entry.backend} {entry.name}"
                chosen, backend = label + (" (fallback)" if source == "fallback" else ""), opts.backend
                break
        if chosen is None and effective.tts.espeak_fallback and shutil.which("espeak-ng"):
            chosen, backend = "espeak-ng", "espeak"
        parts.append(f"{lang}: {chosen or '[red]none[/]'}")
        quality = verdict(backend, lang) if backend else None
        if quality is not None and quality.poor:
            poor.append(f"{lang} ({quality.reason}; better: {quality.fix})")
    r.line(OK if all("none" not in p for p in parts) else WARN, "voices",
           "; ".join(parts) + " (a missing voice falls back to the next; assistant models pull fetches them)")
    if poor:
        r.line(WARN, "voices", "poorly understood: " + "; ".join(poor))


def _audio_lines(r: _Report) -> None:
    from assistant.audio.devices import list_devices
    from assistant.core.errors import AssistantError

    try:
        devices = list_devices()
    except AssistantError as e:
        r.fail(6, "audio", str(e))
        return
    for kind in ("input", "output"):
        usable = [d for d in devices if d.channels(kind) > 0]
        default = next((d for d in usable if getattr(d, f"is_default_{kind}")), usable[0] if usable else None)
        if default is None:
            r.fail(6, kind,
                   f"no {kind} device (start PulseAudio/PipeWire or connect one; `assistant devices` lists them)")
        else:
            r.line(OK, kind, f"{default.name} ({default.default_samplerate:.0f} Hz; {len(usable)} {kind} device(s))")


def run_doctor(args: argparse.Namespace) -> int:
    from assistant.config import load_config
    from assistant.models import resolve_models, starter, starter_dir
    from assistant.models.inventory import configured_models

    config = load_config(args.config, args.overrides)
    r = _Report()
    console.print(f"[bold]assistant doctor[/] — config: {config.source}" +
                  (f" + {len(args.overrides)} override(s)" if args.overrides else ""))
    r.line(OK, "python", f"{platform.python_version()} ({sys.executable})")
    _torch_line(r)
    entries = configured_models(config)
    hubs = _hubs(config, entries)
    for url, why in sorted(hubs.items()):
        r.line(OK if why is None else WARN, "hub", f"{url}: {'reachable' if why is None else why}")
    root = starter_dir()
    older = (starter.read_manifest(root) or {}).get("pack")
    if starter.is_installed(root):
        r.line(OK, "starter", f"installed in {root}")
    elif older and older != starter.STARTER.id:
        r.line(WARN, "starter", f"{root} holds an older pack ({older}, without the newer models); "
                                f"fix: python3 -m assistant models install starter (adds only what is new)")
    else:
        r.line(WARN, "starter", f"not installed ({root}); fix: python3 -m assistant models install starter")
    effective, notes = resolve_models(config)
    _model_lines(r, config, effective, entries)
    _voice_lines(r, config, effective)
    for tool, why in (("espeak-ng", "the espeak voices"), ("ffmpeg", "reading audio files")):
        path = shutil.which(tool)
        r.line(OK if path else WARN, tool, path or f"missing (needed for {why}): apt-get install {tool}")
    _audio_lines(r)
    console.print("[green]assistant chat can start[/]" if r.exit == 0 else
                  "[red]assistant chat can't start yet: fix the ✗ lines above[/]")
    return r.exit
