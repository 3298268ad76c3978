#!/usr/bin/env python3
"""Time to first token and decode speed of the in-process LLM engines, same prompt, medians.

    python3 scripts/bench_llm_engines.py [--models smollm2,0.5b] [--engines transformers,ctranslate2]
                                         [--tokens 48] [--repeat 3] [--threads N] [--json out.json]

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

from assistant.core.hub import starter_dir  # noqa: E402
from assistant.bench.common import Settings  # noqa: E402
from assistant.bench.llm import build_model, messages  # noqa: E402
from assistant.llm import transformers as tf_backend  # noqa: E402

TOKEN_TIMES: list[float] = []
_push = tf_backend._IncrementalDecoder.push


def _timed_push(self, token_id):  # type: ignore[no-untyped-def]
    TOKEN_TIMES.append(time.perf_counter())
    return _push(self, token_id)


tf_backend._IncrementalDecoder.push = _timed_push


def model_args(name: str) -> dict[str, str]:
    if name == "smollm2":
        d = starter_dir() / "smollm2-135m-instruct"
        gguf = next(d.glob("*.gguf"), None) if d.is_dir() else None
        if gguf is None:
            raise SystemExit(f"no SmolLM2 GGUF under {d}")
        return {"model": str(d), "gguf_file": gguf.name}
    return {"model": str(build_model(Settings(llm_size=name)))}


def make(engine: str, args: dict[str, str], tokens: int):  # type: ignore[no-untyped-def]
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="smollm2,0.5b")
    ap.add_argument("--engines", default="transformers,ctranslate2")
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="threads per engine (0: the default budget)")
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
