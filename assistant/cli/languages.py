"""``assistant languages``: every language Whisper knows, whether the policy allows it, which
voice would speak it with the active config (after the starter fallback, as ``chat`` would run
it), and whether that voice is known to be poorly understood (``assistant.tts.quality``)."""

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
    from assistant.models import resolve_models
    from assistant.tts.quality import verdict_for
    from assistant.tts.voices import VoiceRouter

    configured = load_config(args.config, args.overrides)
    config, _notes = resolve_models(configured)
    router = VoiceRouter(config.tts)
    allowed = set(config.language.languages)
    fixed = getattr(config.stt, "language", "auto")
    rows = []
    for code in WHISPER_LANGUAGES:
        ok = (code == fixed) if fixed != "auto" else (not allowed or code in allowed)
        voice = router.expected(code)
        quality = verdict_for(voice.options, code) if voice is not None else None
        rows.append({"code": code, "name": name_of(code), "allowed": ok, "voice": router.describe(code),
                     "poor_voice": quality.reason if quality and quality.poor else None,
                     "better_voice": quality.fix if quality and quality.poor else None})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = Table(title=f"Languages ({config.source})", show_lines=False)
    for col in ("code", "language", "allowed", "voice", "understood"):
        table.add_column(col)
    for r in rows:
        understood = "-" if r["voice"].startswith("none") else ("[yellow]poorly[/]" if r["poor_voice"] else "yes")
        table.add_row(r["code"], r["name"], "yes" if r["allowed"] else "no", r["voice"], understood)
    console.print(table)
    spoken = sum(1 for r in rows if not r["voice"].startswith("none"))
    good = sum(1 for r in rows if not r["voice"].startswith("none") and not r["poor_voice"])
    console.print(f"{len(rows)} languages; {spoken} with a voice, {good} of them well understood; "
                  + ("all allowed" if not allowed and fixed == "auto"
                     else "restricted by language.languages / stt.language"))
    # The reason and the fix for the languages a user is likely to speak: those the policy names,
    # else those of the voice map.
    focus = list(config.language.languages) or sorted(configured.tts.voices)
    for r in rows:
        if r["code"] in focus and r["poor_voice"]:
            console.print(f"[yellow]poorly voiced[/] {r['code']} ({r['name']}): {r['poor_voice']}; "
                          f"better: {r['better_voice']}")
    return 0
