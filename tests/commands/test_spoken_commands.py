"""The spoken command set (tests/data/commands, made by scripts/make_command_set.py): 15 commands x
5 languages x 3 phrasings and 50 near-miss questions, spoken by voices that are not the
assistant's (SVOX Pico, Piper en_US-joe, espeak-ng for Portuguese), transcribed once per run by
the starter Whisper base with the shipped settings (configs/cpu.yaml: faster-whisper, int8,
greedy, the utterance-sized window) and the language policy of a session that has been speaking
the clip's language. The command matcher then sees what a user's session would give it.

Reports recall (acted on / asked about) and false triggers per language; asserts no question is
ever acted on as a command, and recall floors set a margin below what was measured (README)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assistant.commands import parse
from assistant.commands.matcher import closest, language_order
from tests.support.shared import starter_model

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data" / "commands"
LANGUAGES = ("en", "de", "es", "fr", "pt")
# Recall floors (acted on without asking; acted on or asked about), about three clips below the
# figures measured (README). Most misses are Whisper's: words it did not hear (Pico fr/de, espeak
# pt); a short clip taken for another language is heard again in the session's (as the engine
# does: assistant/engine/commands.py). The target is 95 %.
# Measured 6 December 2026: recall en 91.1, de 77.8, es 95.6, fr 55.6, pt 17.8 %; acted on or
# asked 93.3, 84.4, 100, 66.7, 37.8 %. Portuguese is spoken by espeak-ng, which Whisper base
# rarely understands.
RECALL_FLOOR = {"en": 0.84, "de": 0.7, "es": 0.88, "fr": 0.48, "pt": 0.1}
RECALL_OR_ASK_FLOOR = {"en": 0.86, "de": 0.77, "es": 0.93, "fr": 0.6, "pt": 0.3}


def manifest() -> list[dict[str, str]]:
    with open(DATA / "manifest.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_the_set_is_complete():
    rows = manifest()
    commands = [r for r in rows if r["intent"] != "none"]
    for lang in LANGUAGES:
        intents = {r["intent"] for r in commands if r["language"] == lang}
        assert len(intents) >= 15, lang
        assert all(sum(r["language"] == lang and r["intent"] == i for r in commands) >= 3 for i in intents)
    assert sum(r["intent"] == "none" for r in rows) >= 40
    assert all((DATA / r["file"]).is_file() for r in rows)
    assert not any("assistant" in r["voice"] for r in rows)  # never the assistant's own voice


@pytest.fixture(scope="module")
def heard() -> list[dict]:
    """Every clip transcribed once per run: (row, transcript, detected language). With
    $COMMAND_SET_TRANSCRIPTS set, the transcripts are kept in that file and read back from it
    on later runs (for tuning the matcher without transcribing again)."""
    import json
    import os

    cache = os.environ.get("COMMAND_SET_TRANSCRIPTS")
    if cache and Path(cache).is_file():
        return json.loads(Path(cache).read_text(encoding="utf-8"))
    from assistant.audio.io import load_audio
    from assistant.config import load_config
    from assistant.core import registry
    from assistant.core.types import Utterance
    from assistant.engine.commands import in_session_language
    from assistant.engine.stages import Stages
    from assistant.language.policy import LanguageState

    model = starter_model("whisper-base-ct2")
    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "configs" / "cpu.yaml", [f"stt.model={model}", "stt.warmup=false"])
    stages = Stages(cfg, registry.get("stt", cfg.stt.backend).create(cfg.stt), None, None)  # type: ignore[arg-type]
    stages.load(("stt",))
    out = []
    for row in manifest():
        audio = load_audio(DATA / row["file"], 16000)
        state = LanguageState(previous=row["language"])  # the session has been speaking this language
        utterance = Utterance(audio, source=row["file"], speech_ratio=0.9)
        first = stages.recognise(utterance, state, {})
        # as the engine does: a short clip taken for another language is heard again in the session's
        result = in_session_language(stages, utterance, first, row["language"], cfg.commands, {})
        text = result.transcript.text if result.transcript is not None else ""
        detected = result.decision.language if result.decision is not None else row["language"]
        first_text = first.transcript.text if first.transcript is not None else ""
        first_language = first.decision.language if first.decision is not None else row["language"]
        out.append({**row, "heard": text, "detected": detected, "first": f"{first_text} [{first_language}]"})
    if cache:
        Path(cache).write_text(json.dumps(out, ensure_ascii=False, indent=0), encoding="utf-8")
    return out


def outcome(record: dict) -> str:
    """A command: acted (on the right one) | asked (about the right one) | wrong (acted on
    another) | missed / none. A question: none | asked | acted (a false trigger)."""
    cmd = parse(record["heard"], record["detected"], session_language=record["language"], ask=True)
    if cmd is None:
        return "none"
    want = "language" if record["intent"] in ("language", "language_auto") else record["intent"]
    if record["intent"] != "none" and cmd.kind != want:
        return "wrong" if cmd.certain else "missed"  # asked about another command: a miss
    return "acted" if cmd.certain else "asked"


def test_recall_and_false_triggers_per_language(heard):
    table = {}
    print()
    for record in heard:
        record["outcome"] = outcome(record)
        if record["outcome"] not in ("acted",) and record["intent"] != "none" or \
                record["intent"] == "none" and record["outcome"] != "none":
            near = closest(record["heard"], language_order(record["language"], record["detected"]))
            first = record.get("first", "")
            again = f" (first {first})" if first.rsplit(" [", 1)[0] != record["heard"] else ""
            print(f"  {record['file']:28} {record['voice']:16} {record['text']!r} -> {record['heard']!r} "
                  f"[{record['detected']}]{again} {record['outcome']}; nearest: "
                  + (f"{near[0]}/{near[1]} {near[2]!r} {near[3]:.2f}" if near else "-"))
    print(f"{'lang':5} {'commands':>8} {'acted':>6} {'asked':>6} {'wrong':>6} {'recall':>7} {'+asked':>7} "
          f"{'questions':>9} {'false':>6} {'asked':>6}")
    for lang in LANGUAGES:
        cmds = [r for r in heard if r["language"] == lang and r["intent"] != "none"]
        qs = [r for r in heard if r["language"] == lang and r["intent"] == "none"]
        n = {o: sum(r["outcome"] == o for r in cmds) for o in ("acted", "asked", "wrong")}
        false = sum(r["outcome"] == "acted" for r in qs)
        false_asked = sum(r["outcome"] == "asked" for r in qs)
        table[lang] = (n["acted"] / len(cmds), (n["acted"] + n["asked"]) / len(cmds), false, false_asked, n["wrong"])
        print(f"{lang:5} {len(cmds):8} {n['acted']:6} {n['asked']:6} {n['wrong']:6} {table[lang][0]:7.1%} "
              f"{table[lang][1]:7.1%} {len(qs):9} {false:6} {false_asked:6}")
    for lang, (recall, recall_or_ask, false, _asked, wrong) in table.items():
        assert false == 0, f"{lang}: a question was acted on as a command"
        assert wrong == 0, f"{lang}: a command was taken for another one"
        assert recall >= RECALL_FLOOR[lang], f"{lang}: recall {recall:.1%}"
        assert recall_or_ask >= RECALL_OR_ASK_FLOOR[lang], f"{lang}: recall with confirmation {recall_or_ask:.1%}"
