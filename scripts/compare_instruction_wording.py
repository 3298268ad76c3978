"""Two wordings of the reply-language instruction on FLEURS statements (text in, no audio, no retry).

    python3 scripts/compare_instruction_wording.py A,B 4

A: a third-person line in the target language ("Der Nutzer spricht Deutsch. Antworte nur auf
Deutsch."), B: the imperative in assistant/language/instructions.py ("Antworte immer auf Deutsch.").
For the starter pack's Qwen2.5-Coder-0.5B through CTranslate2 int8 (temperature 0.7, 60 tokens),
N transcripts per language (de es fr pt en) from the shared FLEURS clips: replies in the right
language (lingua), instructions read back, statements read back.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FLEURS = Path(__file__).resolve().parents[2] / "shared" / "audio" / "fleurs"
A = {"en": "The user speaks English. Reply only in English.",
     "de": "Der Nutzer spricht Deutsch. Antworte nur auf Deutsch.",
     "es": "El usuario habla español. Responde solo en español.",
     "fr": "L'utilisateur parle français. Réponds uniquement en français.",
     "pt": "O usuário fala português. Responda apenas em português."}


def main() -> int:
    from assistant.core.hub import starter_dir
    from assistant.language import instructions
    from assistant.language.identify import ReplyLanguageChecker
    from assistant.llm import history
    from assistant.llm.ctranslate2 import CTranslate2LLM

    variants = sys.argv[1].split(",") if len(sys.argv) > 1 else ["A", "B"]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    llm = CTranslate2LLM(model=str(starter_dir() / "qwen2.5-coder-0.5b-instruct-hf"), device="cpu",
                         compute_type="int8", max_new_tokens=60, temperature=0.7)
    llm.load()
    checker = ReplyLanguageChecker()
    conversation = history.History(history.Conversation())
    for v in variants:
        tot = {"n": 0, "ok": 0, "instruction": 0, "echo": 0}
        for lang in ("de", "es", "fr", "pt", "en"):
            current = instructions.INSTRUCTIONS[lang]
            if v == "A":
                instructions.INSTRUCTIONS[lang] = (A[lang], current[1])
            for i in range(n):
                text = (FLEURS / f"fleurs-{lang}-{i:03d}.txt").read_text(encoding="utf-8").strip()
                reply = "".join(llm.stream(conversation.messages(text, lang, lambda _t: 0))).strip()
                ok = checker.check(reply, lang).ok
                read_back = any(w.split(".")[0] in reply for w in (A[lang], current[0]))
                echo = difflib.SequenceMatcher(None, text.lower(), reply.lower()[:len(text) + 20]).ratio() > 0.8
                tot["n"] += 1
                tot["ok"] += ok
                tot["instruction"] += read_back
                tot["echo"] += echo
                print(f"  [{v} {lang} {'ok' if ok else 'WRONG'}{' INSTRUCTION' if read_back else ''}"
                      f"{' ECHO' if echo else ''}] {reply[:120]!r}", flush=True)
            instructions.INSTRUCTIONS[lang] = current
        print(v, tot, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
