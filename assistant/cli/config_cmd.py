"""``assistant config show`` and ``assistant config check FILE``."""

from __future__ import annotations

import argparse

from assistant.cli import add_config_args
from assistant.cli.output import console


def add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show the effective config, or check a YAML file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = csub.add_parser("show", help="print the effective config after defaults and overrides")
    add_config_args(show)
    show.set_defaults(handler=run_show)
    check = csub.add_parser("check", help="validate a YAML config and report every problem")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    check.set_defaults(handler=run_check)


def run_show(args: argparse.Namespace) -> int:
    from assistant.config import dump_yaml, load_config
    from assistant.models import resolve_models

    config, notes = resolve_models(load_config(args.config, args.overrides))
    for note in notes:
        print(f"# {note}")
    print(f"# effective config: {config.source}" + (f" + {len(args.overrides)} override(s)" if args.overrides else ""))
    print(dump_yaml(config), end="")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from assistant.config import load_config

    config = load_config(args.file, args.overrides)
    voices = ", ".join(config.tts.voices) or "none"
    console.print(f"{args.file}: OK (stt {config.stt.backend}, llm {config.llm.backend}, voices: {voices})")
    return 0
