"""``assistant eval stt DIR``, ``eval voices`` and ``eval conversation``: quality measured on real speech."""

from __future__ import annotations

import argparse
import json
import sys

from assistant.cli import add_config_args
from assistant.cli.output import console


def add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure quality: STT word error rate and language ID, voice intelligibility",
                       description="Quality of the configured models, measured on real speech.")
    ev = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)

    s = ev.add_parser("stt", help="WER, language-ID accuracy and speed of the configured STT on a folder of clips",
                      description="Runs the configured STT on every clip in DIR that has its transcript beside it "
                                  "(clip.ogg + clip.txt) and reports, per language: WER (lower case, no "
                                  "punctuation), language-ID accuracy, mean language probability, real-time "
                                  "factor. The true language is taken from DIR/manifest.json "
                                  '({"clip.ogg": "de"}) or the file name (fleurs-de-000.ogg → de). '
                                  "Exit code 3 if DIR is missing or holds no clip with a transcript.")
    s.add_argument("dir", metavar="DIR", help="folder of recordings, each with a .txt reference beside it")
    s.add_argument("--json", action="store_true", help="print every figure and every clip as JSON")
    s.add_argument("-v", "--verbose", action="store_true", help="print each clip's transcript and WER")
    add_config_args(s)
    s.set_defaults(handler=run_eval_stt)

    v = ev.add_parser("voices", help="round trip for each voice: synthesize sentences, transcribe back, WER",
                      description="For each language of the voice map (or --languages), the voice the assistant "
                                  "would use speaks five built-in sentences; the configured STT transcribes them "
                                  "back with the language fixed; the WER scores how well the voice is understood.")
    v.add_argument("--languages", metavar="CODES",
                   help="comma-separated language codes (default: the voice map's, else all with sentences)")
    v.add_argument("--all", action="store_true",
                   help="every voice the default voice map can pick here (Piper, Coqui, Pico, espeak-ng), "
                        "not only the one that would speak")
    v.add_argument("--texts", metavar="DIR",
                   help="speak these texts instead of the built-in sentences: every .txt in DIR, its language "
                        "from the file name (fleurs-de-000.txt → de), e.g. a folder of FLEURS transcripts; "
                        "exit code 3 if DIR is missing or holds none")
    v.add_argument("--json", action="store_true", help="print every figure and every sentence as JSON")
    v.add_argument("-v", "--verbose", action="store_true", help="print what was heard for each sentence")
    add_config_args(v)
    v.set_defaults(handler=run_eval_voices)

    c = ev.add_parser("conversation", help="spoken questions through the whole loop: language, answers, voices, speed",
                      description="Each built-in question (25 per language, with the accepted answers) is spoken "
                                  "by a question voice and answered by the assistant as configured (STT, LLM, "
                                  "reply voice), one fresh conversation per question. Per language: language-ID "
                                  "accuracy, transcript WER, replies in the right language, degenerate replies "
                                  "(empty, echo, loop, cut off), correct answers, the reply voice's round-trip "
                                  "WER and the first-audio time. Exit code 2 for an unknown language or voice.")
    c.add_argument("--languages", metavar="CODES", help="comma-separated language codes (default: all with questions)")
    c.add_argument("--limit", metavar="N", type=_positive, help="only the first N questions of each language")
    c.add_argument("--question-voice", metavar="LANG=BACKEND[:NAME]", action="append", default=[],
                   help="the voice that asks LANG's questions (e.g. de=espeak, en=piper:en_US-joe-medium); "
                        "default: pico where installed, the starter Piper voice for en, else espeak-ng")
    c.add_argument("--json", action="store_true", help="print every figure and every turn as JSON")
    c.add_argument("-v", "--verbose", action="store_true", help="print each question, what was heard and the reply")
    c.add_argument("--save", metavar="FILE", help="also write the JSON report to FILE (a new file), updated after "
                                                    "every question, so a long run stopped early keeps its figures")
    add_config_args(c)
    c.set_defaults(handler=run_eval_conversation)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return n


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def run_eval_stt(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from assistant.config import load_config
    from assistant.core import registry
    from assistant.eval import stt as evaluation

    clips = evaluation.find_clips(args.dir)  # bad input fails before any model loads
    config = load_config(args.config, args.overrides)
    stt = registry.get("stt", config.stt.backend).create(config.stt)
    done = []

    def progress(r) -> None:
        done.append(r)
        if args.verbose and not args.json:
            console.print(f"[dim]{escape(r.file)}[/] {r.detected} {_pct(r.errors.wer)}: {escape(r.hypothesis)}")

    with console.status(f"transcribing {len(clips)} clips…") if not args.json else _Nothing():
        report = evaluation.evaluate(stt, clips, progress)
    report["stt"] = config.stt.model_dump(mode="json")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    table = Table(title=f"{config.stt.backend} {getattr(config.stt, 'model', '')} on {len(clips)} clips in {args.dir}")
    for col in ("language", "clips", "WER", "language ID", "mean p", "RTF", "s/clip"):
        table.add_column(col, justify="left" if col == "language" else "right")
    rows = list(report["languages"].items()) + [("all", report["overall"])]
    for name, row in rows:
        lid = f"{row['lid_correct']}/{row['lid_scored']}" if row["lid_scored"] else "-"
        table.add_row(name, str(row["clips"]), _pct(row["wer"]), lid, _num(row["mean_probability"], ".2f"),
                      _num(row["rtf"], ".3f"), _num(row["s_per_clip"], ".2f"), end_section=name == rows[-2][0])
    console.print(table)
    console.print(f"[dim]model load {report['load_s']:.1f} s; WER: lower case, no punctuation, over all words[/]")
    return 0


def run_eval_voices(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from assistant.config import load_config
    from assistant.eval import voices as evaluation
    from assistant.modes.file import Assistant

    sentences = evaluation.load_texts(args.texts) if args.texts else evaluation.SENTENCES  # before any model
    config = load_config(args.config, args.overrides)
    requested = [c.strip() for c in args.languages.split(",") if c.strip()] if args.languages else None
    if (args.all or args.texts) and not requested:
        requested = sorted(sentences)
    languages = evaluation.languages_to_check(config, requested, sentences)
    bot = Assistant.from_config(config=config)

    def progress(r) -> None:
        if args.verbose and not args.json:
            for row in r.get("sentences", []):
                console.print(f"[dim]{r['language']}[/] {_pct(row['wer'])}: {escape(row['text'])} → "
                              f"{escape(row['heard'])}")

    with console.status(f"round trip for {len(languages)} voices…") if not args.json else _Nothing():
        results = (evaluation.evaluate_all if args.all else evaluation.evaluate)(bot, languages, progress, sentences)
    if args.json:
        print(json.dumps({"stt": bot.config.stt.model_dump(mode="json"), "voices": results},
                         ensure_ascii=False, indent=2))
        return 0
    stt = bot.config.stt  # after the starter fallback: what really listened
    table = Table(title=f"voices heard back by {stt.backend} {getattr(stt, 'model', '')}")
    for col in ("language", "voice", "WER", "audio s", "TTS s"):
        table.add_column(col, justify="left" if col in ("language", "voice") else "right")
    for r in results:
        if r.get("error"):
            table.add_row(r["language"], escape(r.get("voice") or "-"), escape(r["error"]), "-", "-")
        else:
            poor = " (poor)" if r.get("poor") else ""
            table.add_row(r["language"], escape(r["voice"]), _pct(r["wer"]) + poor, f"{r['audio_s']:.1f}",
                          f"{r['tts_s']:.1f}")
    console.print(table)
    return 0


def run_eval_conversation(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from assistant.config import load_config
    from assistant.core.errors import UsageError
    from assistant.core.paths import check_output
    from assistant.eval import conversation as evaluation
    from assistant.eval import questions as data
    from assistant.modes.file import Assistant

    # every input checked before a model loads
    requested = [c.strip() for c in args.languages.split(",") if c.strip()] if args.languages else None
    languages = data.check_languages(requested)
    chosen = dict(evaluation.parse_question_voice(spec) for spec in args.question_voice)
    data.check_languages(list(chosen))
    questions = {lang: data.load_questions(lang, args.limit) for lang in languages}
    speaker = evaluation.QuestionSpeaker({lang: chosen.get(lang) or evaluation.default_question_voice(lang)
                                          for lang in languages})
    save = None
    if args.save:
        save = check_output(args.save, what="--save")
        if save.exists():
            raise UsageError(f"--save {save} exists; it would be overwritten", "choose another file, or remove it")
    config = load_config(args.config, args.overrides)
    bot = Assistant.from_config(config=config)
    models = {"stt": bot.config.stt.model_dump(mode="json"), "llm": bot.config.llm.model_dump(mode="json")}
    total = sum(len(q) for q in questions.values())
    done: list = []

    def progress(row, so_far) -> None:
        done.append(row)
        if save is not None:  # rewritten after every question: a run stopped early keeps what it measured
            tmp = save.with_name(save.name + ".part")
            tmp.write_text(json.dumps(so_far | {"models": models}, ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(save)
        if args.json:  # stdout holds only the JSON; a long run still says where it is
            print(f"[{len(done)}/{total}] {row.question.id}", file=sys.stderr, flush=True)
        elif args.verbose:
            r = row.to_dict()
            console.print(f"[dim]{r['id']}[/] {r['detected']} {escape(r['transcript'])} → {escape(r['reply'])} "
                          f"[dim]({'correct' if r['correct'] else 'wrong'}"
                          f"{', ' + r['degenerate'] if r['degenerate'] else ''})[/]")

    with console.status(f"{total} spoken questions through the whole loop…") if not args.json else _Nothing():
        report = evaluation.evaluate(bot, questions, speaker, progress)
    report["models"] = models
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    stt, llm = bot.config.stt, bot.config.llm
    table = Table(title=f"{total} spoken questions: {stt.backend} {getattr(stt, 'model', '')} → "
                        f"{llm.backend} {getattr(llm, 'model', '')}")
    for col in ("language", "asked by", "n", "language ID", "WER", "right language", "degenerate", "correct",
                "reply voice", "voice WER", "first audio s (median / p95)"):
        table.add_column(col, justify="left" if col in ("language", "asked by", "reply voice") else "right")
    rows = list(report["languages"].items()) + [("all", report["overall"])]
    for name, row in rows:
        firsts = "-" if row["first_audio_median_ms"] is None else \
            f"{row['first_audio_median_ms'] / 1000:.1f} / {row['first_audio_p95_ms'] / 1000:.1f}"
        table.add_row(name, escape(", ".join(row["question_voices"])) if name != "all" else "", str(row["questions"]),
                      _pct(row["lid_accuracy"]), _pct(row["wer"]),
                      _pct(row["right_language"]) + f" of {row['language_judged']}", _pct(row["degenerate"]),
                      _pct(row["correct"]), escape(", ".join(row["reply_voices"])) if name != "all" else "",
                      _pct(row["reply_wer"]), firsts, end_section=name == rows[-2][0])
    console.print(table)
    console.print("[dim]right language: of the replies long enough to judge; degenerate: empty, echo of the "
                  f"question, loop or cut off; one fresh conversation per question; {report['seconds']:.0f} s[/]")
    return 0


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
