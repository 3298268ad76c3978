#!/usr/bin/env python3
"""Where the reply-language line goes, on the eval's spoken-question texts (text in, no retry).

    python3 scripts/compare_language_line.py [--layouts system,after,plain,before] [--limit 3]
                                             [--engine onnxruntime-genai|ctranslate2] [--tokens 40]

system: the line at the end of the system prompt (the earlier layout; the prompt's start then
changes with the language); after: "question\\n\\n(line)" (as the retry's line); plain:
"question\\n\\nline"; before: "line\\nquestion". The starter's Qwen2.5-Coder-0.5B-Instruct, greedy,
each question a first turn, languages de, en, es, fr, pt. Counts: replies in the asked language
(lingua, as the reply check), replies wrapped in parentheses (the model imitating the line's
form), replies that read the line back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prompt(layout: str, question: str, lang: str):  # type: ignore[no-untyped-def]
    from assistant.core.types import Message
    from assistant.language.instructions import language_instruction
    from assistant.llm.history import DEFAULT_SYSTEM_PROMPT

    line = language_instruction(lang)
    if layout == "system":
        return [Message("system", f"{DEFAULT_SYSTEM_PROMPT}\n{line}"), Message("user", question)]
    user = {"after": f"{question}\n\n({line})", "plain": f"{question}\n\n{line}",
            "before": f"{line}\n{question}"}[layout]
    return [Message("system", DEFAULT_SYSTEM_PROMPT), Message("user", user)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layouts", default="system,after,plain,before")
    ap.add_argument("--limit", type=int, default=3)
    ap.add_argument("--engine", default="onnxruntime-genai")
    ap.add_argument("--tokens", type=int, default=40)
    a = ap.parse_args()
    from assistant.core.hub import starter_dir
    from assistant.eval.questions import load_questions
    from assistant.language.identify import ReplyLanguageChecker
    from assistant.language.instructions import language_instruction
    from assistant.models import starter

    model = str(starter_dir() / starter.QWEN_HF)
    if a.engine == "ctranslate2":
        from assistant.llm.ctranslate2 import CTranslate2LLM

        llm = CTranslate2LLM(model=model, compute_type="int8", max_new_tokens=a.tokens, temperature=0.0)
    else:
        from assistant.llm.onnx_genai import OnnxGenAILLM

        llm = OnnxGenAILLM(model=model, max_new_tokens=a.tokens, temperature=0.0)
    llm.load()
    checker = ReplyLanguageChecker()
    checker.load()
    for layout in a.layouts.split(","):
        tot = {"n": 0, "right": 0, "parenthesised": 0, "line_read_back": 0}
        for lang in ("de", "en", "es", "fr", "pt"):
            for q in load_questions(lang, a.limit):
                reply = "".join(llm.stream(prompt(layout, q.text, lang))).strip()
                check = checker.check(reply, lang)
                tot["n"] += 1
                tot["right"] += check.ok
                tot["parenthesised"] += reply.startswith("(")
                tot["line_read_back"] += language_instruction(lang).rstrip(".") in reply
                print(f"  [{layout} {lang} {'ok' if check.ok else 'WRONG ' + str(check.detected)}] {reply[:100]!r}",
                      flush=True)
        print(layout, tot, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
