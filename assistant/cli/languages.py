"""``assistant languages``: every language Whisper knows, whether the policy allows it, and
which voice would speak it with the active config."""

from __future__ import annotations

import argparse
import json

from assistant.cli import add_config_args


def add_languages(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("languages", help="list languages: allowed by the policy? which voice speaks them?")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_config_args(p)
    p.set_defaults(handler=run_languages)


def run_languages(args: argparse.Namespace) -> int:
    from rich.table import Table

    from assistant.cli.output import console
    from assistant.config import load_config
    from assistant.language.names import WHISPER_LANGUAGES, name_of
    from assistant.tts.voices import VoiceRouter

    config = load_config(args.config, args.overrides)
    router = VoiceRouter(config.tts)
    allowed = set(config.language.languages)
    fixed = getattr(config.stt, "language", "auto")
    rows = []
    for code in WHISPER_LANGUAGES:
        ok = (code == fixed) if fixed != "auto" else (not allowed or code in allowed)
        rows.append({"code": code, "name": name_of(code), "allowed": ok, "voice": router.describe(code)})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = Table(title=f"Languages ({config.source})", show_lines=False)
    for col in ("code", "language", "allowed", "voice"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["code"], r["name"], "yes" if r["allowed"] else "no", r["voice"])
    console.print(table)
    spoken = sum(1 for r in rows if not r["voice"].startswith("none"))
    console.print(f"{len(rows)} languages; {spoken} with a voice; "
                  f"{'all allowed' if not allowed and fixed == 'auto' else 'restricted by language.languages / stt.language'}")
    return 0
