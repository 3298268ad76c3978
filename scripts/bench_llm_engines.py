#!/usr/bin/env python3
"""Time to first token and decode speed of the in-process LLM engines, same prompt, medians.

    python3 scripts/bench_llm_engines.py [--models smollm2,0.5b] [--engines transformers,ctranslate2]
                                         [--tokens 48] [--repeat 3] [--threads N] [--json out.json]
    python3 scripts/bench_llm_engines.py --exchanges 8 [--models smollm2,gguf:FILE]
                                         [--engines ctranslate2,onnxruntime-genai] [--max-turns 8]
    python3 scripts/bench_llm_engines.py --exchanges 12 --multilingual --layouts before,after \
        --models qwen --engines ctranslate2,onnxruntime-genai --max-turns 4 --tokens 60

--exchanges N: one conversation of N exchanges through the engine's own history (the user's
questions, the model's own greedy replies of up to --tokens tokens kept as history, at most
--max-turns past turns), the same questions for every engine; first-token time at each exchange,
and the ratio of the last to the first (the KV cache target: within 1.25). onnxruntime-genai
keeps the conversation's KV cache (it reports how many prompt tokens it prefilled); the others
prefill the whole prompt every turn. gguf:FILE: any GGUF chat model (e.g. the 0.5B starter).

--multilingual: the realistic run's conversation instead: FLEURS sentences (the shared clips'
transcripts) in en, de, es, fr, pt in turn, each with its reply language, as the engine asks.
--layouts: "after" is the prompt the engine builds now (history.py: the system prompt the same
every turn, the reply-language line with the question, history trimmed in blocks); "before" is
the earlier one (the line in the system prompt, the oldest exchange dropped every turn past
--max-turns), kept here to measure the change on the same run. After a turn that trimmed history,
"after" lets a KV-cache engine prefill the next prompt's start between turns, as the engine does
(prepared_after_ms: that work, done while the user listens and speaks). qwen: the starter's
Qwen2.5-Coder-0.5B-Instruct (the -hf directory the offline configs/cpu.yaml resolves to; the GGUF
for onnxruntime-genai, whose converted model is made from it).

smollm2: the starter pack's SmolLM2-135M-Instruct GGUF (real weights; transformers dequantises it
to float32, CTranslate2 converts it once to int8). 0.5b: a random-weight model with
Qwen2.5-0.5B's dimensions (built and cached by the bench), which costs what the real one costs.
Greedy decoding; every token is timed at the backend's incremental decoder (both engines use the
same one), so replies that start with tokens decoding to no text are still counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.bench.common import Settings  # noqa: E402
from assistant.bench.llm import build_model, messages  # noqa: E402
from assistant.core.hub import starter_dir  # noqa: E402
from assistant.llm import transformers as tf_backend  # noqa: E402

TOKEN_TIMES: list[float] = []
_push = tf_backend._IncrementalDecoder.push


def _timed_push(self, token_id):  # type: ignore[no-untyped-def]
    TOKEN_TIMES.append(time.perf_counter())
    return _push(self, token_id)


tf_backend._IncrementalDecoder.push = _timed_push


QUESTIONS = ["What is the capital of France?", "How far is it from Berlin?",
             "What should I see there in one day?", "Is the food expensive?", "What is a good dish to try?",
             "How do I say thank you in French?", "What is the weather like in spring?",
             "Can you recommend a museum for children?", "How do I get from the airport to the centre?",
             "Is it safe to walk at night?", "What time do shops close?", "Thank you, that is all."]


FLEURS = Path(__file__).resolve().parents[2] / "shared" / "audio" / "fleurs"
LANGUAGES = ["en", "de", "es", "fr", "pt"]


def fleurs_questions(n: int, folder: Path = FLEURS) -> list[tuple[str, str]]:
    """(sentence, language) for n turns: en, de, es, fr, pt in turn, the clips in order."""
    if not folder.is_dir():
        raise SystemExit(f"no FLEURS transcripts under {folder} (--fleurs DIR)")
    out = []
    for i in range(n):
        lang = LANGUAGES[i % len(LANGUAGES)]
        texts = sorted(folder.glob(f"fleurs-{lang}-*.txt"))
        if not texts:
            raise SystemExit(f"no fleurs-{lang}-*.txt under {folder}")
        out.append((texts[(i // len(LANGUAGES)) % len(texts)].read_text().strip(), lang))
    return out


def before_history(max_turns: int):  # type: ignore[no-untyped-def]
    """The prompt layout before the KV-cache change, for the before/after comparison."""
    from assistant.core.types import Message
    from assistant.language.instructions import language_instruction
    from assistant.llm.history import Conversation, History

    class Before(History):
        def add(self, user: str, assistant: str) -> None:
            self.turns.append((user, assistant))
            del self.turns[: max(0, len(self.turns) - self.settings.max_turns)]

        def messages(self, user, reply_language, count_tokens, extra_instruction=None):  # type: ignore[no-untyped-def]
            system = self.settings.system_prompt
            if reply_language:
                system = f"{system}\n{language_instruction(reply_language)}"
            msgs = [Message("system", system)]
            for u, a in self.turns:
                msgs += [Message("user", u), Message("assistant", a)]
            return msgs + [Message("user", user)]

    return Before(Conversation(max_turns=max_turns))


def model_args(name: str) -> dict[str, str]:
    if name == "qwen":
        from assistant.models import starter

        hf = starter_dir() / starter.QWEN_HF
        if not (hf / "config.json").is_file():
            raise SystemExit(f"no starter Qwen under {hf}")
        return {"model": str(hf)}
    if name.startswith("gguf:"):
        f = Path(name[5:]).expanduser()
        if not f.is_file():
            raise SystemExit(f"no GGUF file at {f}")
        return {"model": str(f.parent), "gguf_file": f.name}
    if name == "smollm2":
        d = starter_dir() / "smollm2-135m-instruct"
        gguf = next(d.glob("*.gguf"), None) if d.is_dir() else None
        if gguf is None:
            raise SystemExit(f"no SmolLM2 GGUF under {d}")
        return {"model": str(d), "gguf_file": gguf.name}
    return {"model": str(build_model(Settings(llm_size=name)))}


def make(engine: str, args: dict[str, str], tokens: int):  # type: ignore[no-untyped-def]
    if engine == "onnxruntime-genai":
        from assistant.llm.onnx_genai import OnnxGenAILLM

        hf = starter_dir() / "smollm2-135m-instruct-hf"
        if args.get("gguf_file", "").startswith("SmolLM2") and (hf / "config.json").is_file():
            args = {"model": str(hf)}  # the same weights, already in transformers layout
        from assistant.models import starter

        if args.get("model") == str(starter_dir() / starter.QWEN_HF):
            gguf = starter_dir() / starter.QWEN_GGUF
            args = {"model": str(gguf.parent), "gguf_file": gguf.name}
        return OnnxGenAILLM(**args, temperature=0.0, max_new_tokens=tokens)
    if engine == "ctranslate2":
        from assistant.llm.ctranslate2 import CTranslate2LLM

        return CTranslate2LLM(**args, temperature=0.0, max_new_tokens=tokens)
    if "gguf_file" in args:  # the transformers backend takes a directory: dequantise once, like CT2 does
        from assistant.llm.ctranslate2 import CTranslate2LLM

        helper = CTranslate2LLM(**args)
        out = Path(args["model"]).parent.parent / "ct2" / "hf-from-gguf" / args["gguf_file"]
        if not (out / "config.json").is_file():
            source, kwargs, _ = helper._source()
            from transformers import AutoTokenizer

            helper.tokenizer = AutoTokenizer.from_pretrained(str(source), **kwargs)
            helper._dequantise_gguf(source, kwargs, out)
        args = {"model": str(out)}
    from assistant.llm.transformers import TransformersLLM

    return TransformersLLM(**args, temperature=0.0, max_new_tokens=tokens)


def one(llm) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    TOKEN_TIMES.clear()
    t0 = time.perf_counter()
    first_text = None
    for piece in llm.stream(messages()):
        if first_text is None and piece.strip():
            first_text = time.perf_counter() - t0
    n = len(TOKEN_TIMES)
    rate = (n - 1) / (TOKEN_TIMES[-1] - TOKEN_TIMES[0]) if n > 1 else float("nan")
    return TOKEN_TIMES[0] - t0, rate, n


def conversation(llm, exchanges: int, max_turns: int, multilingual: bool = False,  # type: ignore[no-untyped-def]
                 layout: str = "after") -> list[dict]:
    """First-token time of each exchange of one growing conversation (through History, as the engine)."""
    from assistant.llm.history import Conversation, History

    history = History(Conversation(max_turns=max_turns)) if layout == "after" else before_history(max_turns)
    turns = fleurs_questions(exchanges) if multilingual else [(QUESTIONS[i % len(QUESTIONS)], None)
                                                              for i in range(exchanges)]
    session = f"bench-{layout}"
    checker = None
    if multilingual:  # the reply-language check the engine runs: does the layout keep replies in the asked language?
        from assistant.language.identify import ReplyLanguageChecker

        checker = ReplyLanguageChecker()
        checker.load()
    rows = []
    for i, (q, lang) in enumerate(turns):
        msgs = history.messages(q, lang, llm.count_tokens)
        TOKEN_TIMES.clear()
        t0 = time.perf_counter()
        stream = llm.stream(msgs, session=session) if getattr(llm, "keeps_sessions", False) else llm.stream(msgs)
        reply = "".join(stream)
        n = len(TOKEN_TIMES)
        row = {"exchange": i + 1, "layout": layout, "language": lang,
               "ttft_ms": round((TOKEN_TIMES[0] - t0) * 1000) if n else None,
               "tokens_per_s": round((n - 1) / (TOKEN_TIMES[-1] - TOKEN_TIMES[0]), 1) if n > 1 else None,
               "tokens": n, "history": len(history.turns)}
        if hasattr(llm, "last_prefill"):
            row["prefilled"], row["reused"] = llm.last_prefill, llm.last_reused
        if checker is not None and lang:
            check = checker.check(reply.strip(), lang)
            row["reply_language"], row["right_language"] = check.detected, check.ok
            row["reply"] = reply.strip()[:160]
        history.add(q, reply.strip())
        if layout == "after" and getattr(llm, "keeps_sessions", False):
            prefix = history.prefix(llm.count_tokens)  # as the engine does between turns
            if history.trimmed:
                history.trimmed = False
                t1 = time.perf_counter()
                llm.prepare(prefix, session)
                row["prepared_after_ms"] = round((time.perf_counter() - t1) * 1000)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="smollm2,0.5b")
    ap.add_argument("--engines", default="transformers,ctranslate2")
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="threads per engine (0: the default budget)")
    ap.add_argument("--exchanges", type=int, default=0, help="time one conversation of this many exchanges")
    ap.add_argument("--max-turns", type=int, default=8, help="past turns kept in the --exchanges conversation")
    ap.add_argument("--multilingual", action="store_true",
                    help="FLEURS sentences in en, de, es, fr, pt in turn, each with its reply language")
    ap.add_argument("--layouts", default="after", help="prompt layouts to time: before, after or both (before,after)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    from assistant.core import threads

    threads.configure(threads.ThreadSettings(llm=a.threads) if a.threads else None)
    threads.apply_torch()
    rows = []
    for model in a.models.split(","):
        args = model_args(model)
        for engine in a.engines.split(","):
            llm = make(engine, args, a.tokens)
            t0 = time.perf_counter()
            llm.load()
            load_s = time.perf_counter() - t0
            if a.exchanges:
                import os

                for layout in a.layouts.split(","):
                    load_before = os.getloadavg()[0]
                    one(llm)  # warm-up (another conversation)
                    conv = conversation(llm, a.exchanges, a.max_turns, a.multilingual, layout)
                    ttft = [r["ttft_ms"] for r in conv]
                    first, last = ttft[0], ttft[-1]
                    eighth = ttft[7] if len(ttft) >= 8 else None
                    row = {"model": model, "engine": engine, "layout": layout, "threads": threads.budget().llm,
                           "exchanges": a.exchanges, "multilingual": a.multilingual, "max_turns": a.max_turns,
                           "ttft_first_ms": first, "ttft_eighth_ms": eighth, "ttft_last_ms": last,
                           "ttft_median_ms": statistics.median(ttft),
                           "eighth_over_first": round(eighth / first, 2) if first and eighth else None,
                           "last_over_first": round(last / first, 2) if first else None,
                           "tokens_per_s": statistics.median(r["tokens_per_s"] for r in conv if r["tokens_per_s"]),
                           "right_language": (sum(bool(r.get("right_language")) for r in conv)
                                              if a.multilingual else None),
                           "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                           "per_exchange": conv}
                    rows.append(row)
                    print(json.dumps({k: v for k, v in row.items() if k != "per_exchange"}), flush=True)
                del llm
                continue
            one(llm)  # warm-up
            runs = [one(llm) for _ in range(a.repeat)]
            row = {"model": model, "engine": engine, "threads": threads.budget().llm, "load_s": round(load_s, 2),
                   "ttft_ms": round(statistics.median(r[0] for r in runs) * 1000),
                   "tokens_per_s": round(statistics.median(r[1] for r in runs), 1),
                   "tokens": [r[2] for r in runs]}
            rows.append(row)
            print(json.dumps(row), flush=True)
            del llm
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
