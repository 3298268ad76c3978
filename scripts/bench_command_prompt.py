"""Does the command vocabulary as Whisper's ``initial_prompt`` help on short commands?

Transcribes the spoken command set (tests/data/commands) of the languages asked for twice with
the starter Whisper base and configs/cpu.yaml's settings, in a session of the clip's language:
without a prompt, and with one listing a phrase per command ("Stopp. Wiederhole. Langsamer. ...").
Prints, per language, the commands acted on / asked about and the questions that triggered.

    python3 scripts/bench_command_prompt.py --languages de,fr
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "commands"


def main(argv: list[str] | None = None) -> int:
    from assistant.audio.io import load_audio
    from assistant.commands import parse
    from assistant.commands.phrases import PHRASES
    from assistant.config import load_config
    from assistant.core import registry
    from assistant.language import policy
    from assistant.models import starter_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="de,fr")
    args = parser.parse_args(argv)
    langs = args.languages.split(",")
    prompts = {lang: ". ".join(p[lang][0].capitalize() for p in PHRASES.values() if lang in p) + "."
               for lang in langs}
    cfg = load_config(ROOT / "configs" / "cpu.yaml",
                      [f"stt.model={starter_dir() / 'whisper-base-ct2'}", "stt.warmup=false"])
    stt = registry.get("stt", cfg.stt.backend).create(cfg.stt)
    stt.load()
    with open(DATA / "manifest.tsv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["language"] in langs]
    counts: dict[tuple[str, str], Counter] = {}
    for row in rows:
        audio = load_audio(DATA / row["file"], 16000)
        decision = policy.decide(stt.detect_language(audio), audio.duration, cfg.language,
                                 policy.LanguageState(previous=row["language"]))
        want = "language" if row["intent"].startswith("language") else row["intent"]
        for name, prompt in (("no prompt", None), ("prompt", prompts.get(decision.language))):
            text = stt.transcribe(audio, language=decision.language, initial_prompt=prompt).text
            cmd = parse(text, decision.language, session_language=row["language"], ask=True)
            outcome = "none" if cmd is None or (want != "none" and cmd.kind != want) else (
                "acted" if cmd.certain else "asked")
            kind = "questions" if want == "none" else "commands"
            counts.setdefault((row["language"], name), Counter())[(kind, outcome)] += 1
    for (lang, name), c in sorted(counts.items()):
        print(f"{lang} {name:9}  commands acted {c[('commands', 'acted')]}, asked {c[('commands', 'asked')]}, "
              f"missed {c[('commands', 'none')]}; questions acted on {c[('questions', 'acted')]}, "
              f"asked {c[('questions', 'asked')]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
