"""Compare the starter pack's candidate LLMs on short questions in six languages (text in, no audio).

    python3 scripts/compare_starter_llms.py [--models smollm2,qwen] [--languages en,de,es,fr,pt,it]
                                            [--prompt native|english] [--retry/--no-retry] [--json out.json]

Each question goes to the model the way a turn does: the system prompt and the language instruction
from ``assistant.llm.history`` (``--prompt english`` uses the older English-only instruction), the
CTranslate2 backend as in ``configs/cpu.yaml`` (int8, temperature 0.7, 120 new tokens), the reply's
first sentence checked by the project's reply-language check (lingua), and one regeneration with the
engine's own retry instruction when that check fails (as ``assistant/engine/turn.py`` does).

Per model and language it prints: the share of replies in the asked language (the whole reply
judged; first try and after the retry), degenerate replies (empty, a loop the reply guard would cut,
an echo of the question), a rough correctness count (an accepted keyword in the reply), and the
median first-token and total times (which depend on the machine's load: ``uptime`` is printed).

The questions are this script's own quick set (10 per language, answers checkable by keyword); the
full spoken evaluation is ``assistant eval conversation``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (question, accepted keywords: any of them, case-insensitive, in the reply)
QUESTIONS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "en": [("What is the capital of France?", ("paris",)),
           ("How many days are there in a week?", ("seven", "7")),
           ("What colour is the sky on a clear day?", ("blue",)),
           ("What is two plus three?", ("five", "5")),
           ("Which ocean lies between Europe and America?", ("atlantic",)),
           ("What is the capital of Spain?", ("madrid",)),
           ("How many legs does a spider have?", ("eight", "8")),
           ("What colour is snow?", ("white",)),
           ("Which day comes after Monday?", ("tuesday",)),
           ("What do bees make?", ("honey",))],
    "de": [("Was ist die Hauptstadt von Frankreich?", ("paris",)),
           ("Wie viele Tage hat eine Woche?", ("sieben", "7")),
           ("Welche Farbe hat der Himmel an einem klaren Tag?", ("blau",)),
           ("Was ist zwei plus drei?", ("fünf", "5")),
           ("Was ist die Hauptstadt von Deutschland?", ("berlin",)),
           ("Wie viele Beine hat eine Spinne?", ("acht", "8")),
           ("Welche Farbe hat Schnee?", ("weiß", "weiss")),
           ("Welcher Tag kommt nach Montag?", ("dienstag",)),
           ("Was machen Bienen?", ("honig",)),
           ("Wie viele Monate hat ein Jahr?", ("zwölf", "12"))],
    "es": [("¿Cuál es la capital de Francia?", ("parís", "paris")),
           ("¿Cuántos días tiene una semana?", ("siete", "7")),
           ("¿De qué color es el cielo en un día despejado?", ("azul",)),
           ("¿Cuánto es dos más tres?", ("cinco", "5")),
           ("¿Cuál es la capital de España?", ("madrid",)),
           ("¿Cuántas patas tiene una araña?", ("ocho", "8")),
           ("¿De qué color es la nieve?", ("blanc",)),
           ("¿Qué día viene después del lunes?", ("martes",)),
           ("¿Qué producen las abejas?", ("miel",)),
           ("¿Cuántos meses tiene un año?", ("doce", "12"))],
    "fr": [("Quelle est la capitale de la France ?", ("paris",)),
           ("Combien de jours y a-t-il dans une semaine ?", ("sept", "7")),
           ("De quelle couleur est le ciel par temps clair ?", ("bleu",)),
           ("Combien font deux plus trois ?", ("cinq", "5")),
           ("Quelle est la capitale de l'Espagne ?", ("madrid",)),
           ("Combien de pattes a une araignée ?", ("huit", "8")),
           ("De quelle couleur est la neige ?", ("blanc", "blanche")),
           ("Quel jour vient après lundi ?", ("mardi",)),
           ("Que fabriquent les abeilles ?", ("miel",)),
           ("Combien de mois y a-t-il dans une année ?", ("douze", "12"))],
    "pt": [("Qual é a capital da França?", ("paris",)),
           ("Quantos dias tem uma semana?", ("sete", "7")),
           ("De que cor é o céu num dia limpo?", ("azul",)),
           ("Quanto é dois mais três?", ("cinco", "5")),
           ("Qual é a capital de Portugal?", ("lisboa",)),
           ("Quantas patas tem uma aranha?", ("oito", "8")),
           ("De que cor é a neve?", ("branc",)),
           ("Que dia vem depois de segunda-feira?", ("terça",)),
           ("O que as abelhas produzem?", ("mel",)),
           ("Quantos meses tem um ano?", ("doze", "12"))],
    "it": [("Qual è la capitale della Francia?", ("parigi",)),
           ("Quanti giorni ci sono in una settimana?", ("sette", "7")),
           ("Di che colore è il cielo in una giornata limpida?", ("azzurro", "blu")),
           ("Quanto fa due più tre?", ("cinque", "5")),
           ("Qual è la capitale d'Italia?", ("roma",)),
           ("Quante zampe ha un ragno?", ("otto", "8")),
           ("Di che colore è la neve?", ("bianc",)),
           ("Che giorno viene dopo lunedì?", ("martedì", "martedi")),
           ("Che cosa producono le api?", ("miele",)),
           ("Quanti mesi ci sono in un anno?", ("dodici", "12"))],
}

MODELS = {"smollm2": "smollm2-135m-instruct-hf", "qwen": "qwen2.5-coder-0.5b-instruct-hf"}


def english_instruction(code: str) -> str:
    from assistant.language.names import name_of

    name = name_of(code)
    return (f"The user speaks {name}. Reply only in {name} (language code '{code}'), "
            f"whatever language earlier messages used.")


def degenerate(question: str, reply: str) -> str | None:
    from assistant.text.reply_guard import _words, repeated_run

    if not reply.strip():
        return "empty"
    words = _words(reply)
    if any(repeated_run(words[:i]) is not None for i in range(8, len(words) + 1)):
        return "loop"
    head, asked = words[:20], set(_words(question))
    if len(head) >= 2 and sum(w in asked for w in head) >= 0.9 * len(head):
        return "echo"  # nothing but the question's own words
    from assistant.language.instructions import INSTRUCTIONS

    if any(line.split(".")[0] in reply for pair in INSTRUCTIONS.values() for line in pair):
        return "instruction"  # the language instruction read back instead of an answer
    return None


def generate(llm, messages, language: str) -> tuple[str, str | None, float | None, float]:
    """The reply, its first sentence, first-token and total seconds."""
    from assistant.text.sentences import SentenceSplitter

    splitter = SentenceSplitter(language)
    t0 = time.perf_counter()
    first_token = None
    first_sentence = None
    parts: list[str] = []
    for piece in llm.stream(messages):
        if first_token is None:
            first_token = time.perf_counter() - t0
        parts.append(piece)
        for s in splitter.push(piece):
            first_sentence = first_sentence or s
    rest = splitter.flush()
    first_sentence = first_sentence or rest
    return "".join(parts).strip(), first_sentence, first_token, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="smollm2,qwen")
    ap.add_argument("--languages", default="en,de,es,fr,pt,it")
    ap.add_argument("--prompt", choices=("native", "english"), default="native")
    ap.add_argument("--retry", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--limit", type=int, default=10, help="questions per language")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--show", action="store_true", help="print every reply")
    args = ap.parse_args()

    from assistant.core.hub import starter_dir
    from assistant.engine.stages import Stages
    from assistant.language.identify import ReplyLanguageChecker
    from assistant.llm import history
    from assistant.llm.ctranslate2 import CTranslate2LLM

    if args.prompt == "english":  # the instruction before it was written in the target language
        history.language_instruction = english_instruction
    conversation = history.History(history.Conversation())
    checker = ReplyLanguageChecker()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min); prompt {args.prompt}, "
          f"retry {'on' if args.retry else 'off'}, temperature {args.temperature}", flush=True)
    results = {}
    for name in args.models.split(","):
        path = starter_dir() / MODELS[name]
        if not (path / "config.json").is_file():
            print(f"{name}: {path} is not installed (assistant models install starter)", file=sys.stderr)
            return 2
        llm = CTranslate2LLM(model=str(path), device="cpu", compute_type="int8", max_new_tokens=120,
                             temperature=args.temperature)
        llm.load()
        rows = {}
        for lang in args.languages.split(","):
            stats = {"n": 0, "first_ok": 0, "ok": 0, "retried": 0, "degenerate": 0, "correct": 0,
                     "first_token": [], "total": [], "replies": []}
            for question, keys in QUESTIONS[lang][:args.limit]:
                msgs = conversation.messages(question, lang, lambda _t: 0)
                reply, first, ft, total = generate(llm, msgs, lang)
                check = checker.check(first or "", lang)
                whole = checker.check(reply, lang)
                stats["first_ok"] += whole.ok
                if args.retry and not check.ok:  # as the engine does: once, with its insist instruction
                    stats["retried"] += 1
                    extra = Stages.insist_instruction(check.detected or "en", lang)
                    reply, first, ft2, total2 = generate(
                        llm, conversation.messages(question, lang, lambda _t: 0, extra), lang)
                    ft, total = total + (ft2 or 0), total + total2
                    whole = checker.check(reply, lang)
                stats["n"] += 1
                stats["ok"] += whole.ok
                bad = degenerate(question, reply)
                stats["degenerate"] += bad is not None
                stats["correct"] += any(k in reply.lower() for k in keys)
                stats["first_token"].append(ft or total)
                stats["total"].append(total)
                stats["replies"].append({"q": question, "reply": reply, "lang": whole.detected, "ok": whole.ok,
                                         "degenerate": bad})
                if args.show:
                    print(f"  [{lang} {'ok' if whole.ok else whole.detected}{' ' + bad if bad else ''}] "
                          f"{question} -> {reply[:160]!r}", flush=True)
            rows[lang] = stats
            print(f"{name:8} {lang}: right language {stats['ok']}/{stats['n']} (first try {stats['first_ok']}, "
                  f"retried {stats['retried']}), degenerate {stats['degenerate']}, correct {stats['correct']}, "
                  f"first token {statistics.median(stats['first_token']):.2f} s, "
                  f"total {statistics.median(stats['total']):.2f} s (median)", flush=True)
        results[name] = rows
        tot = {k: sum(r[k] for r in rows.values()) for k in ("n", "ok", "first_ok", "degenerate", "correct")}
        print(f"{name:8} all: right language {tot['ok']}/{tot['n']} (first try {tot['first_ok']}), "
              f"degenerate {tot['degenerate']}, correct {tot['correct']}", flush=True)
        del llm
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
