"""LLM benchmark: time to first token and decode speed of the transformers backend.

A random-weight model with Qwen2.5-0.5B's dimensions costs what the real one costs. Random
weights rarely pick an end token and most of their ids decode to no text, so tokens are counted
at the model (one forward pass per token), not from the streamed text.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from assistant.bench.common import Settings, cached, stats, sync
from assistant.core.types import Message

USER_TEXT = ("And so, my fellow Americans: ask not what your country can do for you, "
             "ask what you can do for your country.")


class ForwardClock:
    """Stands in for the model inside the backend and notes when each forward pass returns."""

    def __init__(self, model: Any, device: str) -> None:
        self._model, self._device = model, device
        self.times: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self._model(*args, **kwargs)
        sync(self._device)
        self.times.append(time.perf_counter())
        return out


def build_model(settings: Settings) -> Path:
    from assistant.bench.models.llm import build_causal_lm

    return cached(settings.work_dir / f"llm-{settings.llm_size}-seed{settings.seed}",
                  lambda p: build_causal_lm(p, size=settings.llm_size, seed=settings.seed))


def load(settings: Settings, max_new_tokens: int) -> tuple[Any, ForwardClock, float]:
    """A loaded TransformersLLM (greedy, ``max_new_tokens``) whose forward passes are clocked."""
    from assistant.llm.transformers import TransformersLLM, TransformersOptions

    path = build_model(settings)
    llm = TransformersLLM(TransformersOptions(model=str(path), device=settings.device, temperature=0.0,
                                              max_new_tokens=max_new_tokens))
    t0 = time.perf_counter()
    llm.load()
    load_s = time.perf_counter() - t0
    clock = ForwardClock(llm.model, llm.device)
    llm.model = clock
    return llm, clock, load_s


def messages() -> list[Message]:
    from assistant.config import DEFAULT_SYSTEM_PROMPT

    return [Message("system", DEFAULT_SYSTEM_PROMPT), Message("user", USER_TEXT)]


def generate(llm: Any, clock: ForwardClock) -> tuple[float, float, int]:
    """One reply: (time to first token, time to last token, tokens), from the call's start."""
    clock.times.clear()
    t0 = time.perf_counter()
    for _ in llm.stream(messages()):
        pass
    n = len(clock.times)
    return (clock.times[0] - t0 if n else float("nan")), (clock.times[-1] - t0 if n else float("nan")), n


def run(settings: Settings, log: Any) -> dict[str, Any]:
    log(f"llm {settings.llm_size}")
    llm, clock, load_s = load(settings, settings.llm_tokens)
    for _ in range(settings.warmup):
        generate(llm, clock)
    ttft, rate, total, counts = [], [], [], []
    for _ in range(settings.repeat):
        first, last, n = generate(llm, clock)
        ttft.append(first)
        total.append(last)
        counts.append(n)
        if n > 1:
            rate.append((n - 1) / (last - first))  # decode speed after the prompt
    prompt_tokens = len(llm.tokenizer.apply_chat_template(
        [m.as_dict() for m in messages()], add_generation_prompt=True, return_dict=True)["input_ids"])
    return {
        "name": f"transformers {settings.llm_size}", "backend": "transformers", "device": llm.device,
        "parameters": sum(p.numel() for p in clock._model.parameters()), "load_s": round(load_s, 3),
        "runs": settings.repeat, "prompt_tokens": prompt_tokens,
        "tokens": {"decoded": counts, "expected": settings.llm_tokens,
                   "match": all(n == settings.llm_tokens for n in counts)},
        "ttft_s": stats(ttft), "tokens_per_s": stats(rate), "total_s": stats(total),
    }
