"""One explicit thread budget per engine, adding up to the machine.

Nothing capped torch's thread pool before: on a busy 2-core machine the transformers LLM slowed
20-45x and openai-whisper 7-25x from oversubscription, while CTranslate2 with a fixed pool slowed
only ~1.5x. In the live loop the stages overlap in time in two phases, so the budget is per phase:

- listening: the VAD and Smart Turn (onnxruntime, one thread each, tiny models);
- after the turn ends: STT alone, so it may use every core;
- replying: the LLM streams while TTS speaks the first sentences: ``llm + tts = total``.

Each engine takes its number from :func:`budget`: torch stages through ``torch.set_num_threads``
(one process-wide pool: :func:`apply_torch`), CTranslate2 through ``cpu_threads``, onnxruntime
through ``intra_op_num_threads``. ``assistant doctor`` shows :func:`budget`'s answer.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field


class ThreadSettings(BaseModel):
    """The ``threads:`` section. 0 = decided from the core count (see :func:`plan`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: int = Field(0, ge=0, description="Cores the assistant may use; 0 = all this process may run on.")
    stt: int = Field(0, ge=0, description="Speech recognition (runs alone once a turn ends); 0 = total.")
    llm: int = Field(0, ge=0, description="LLM decoding; 0 = total minus tts (they overlap while replying).")
    tts: int = Field(0, ge=0, description="Speech synthesis; 0 = 1 (voices are light next to the LLM).")
    smart_turn: int = Field(1, ge=1, description="Smart Turn end-of-turn model (onnxruntime).")


@dataclass(frozen=True)
class ThreadBudget:
    total: int
    stt: int
    llm: int
    tts: int
    smart_turn: int
    vad: int = 1  # Silero's own onnxruntime session: one thread, fixed by silero-vad

    @property
    def torch(self) -> int:
        # torch has one process-wide pool: sized for its heaviest user while replying
        return self.llm

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "torch": self.torch}


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # honours taskset/cgroup CPU sets
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan(settings: ThreadSettings | None = None, cores: int | None = None) -> ThreadBudget:
    s = settings or ThreadSettings()
    total = s.total or cores or available_cores()
    tts = s.tts or 1
    llm = s.llm or max(1, total - tts)
    return ThreadBudget(total=total, stt=s.stt or total, llm=llm, tts=tts, smart_turn=s.smart_turn)


_settings: ThreadSettings | None = None


def configure(settings: ThreadSettings | None) -> ThreadBudget:
    """Adopt a config's ``threads:`` section for this process; returns the effective budget."""
    global _settings
    _settings = settings
    return budget()


def budget() -> ThreadBudget:
    """The effective per-engine thread budget (what `doctor` shows)."""
    return plan(_settings)


def apply_torch() -> int:
    """Size torch's process-wide pool to the budget. A no-op (0) where no stage has imported
    torch: importing it costs seconds, for nothing when every engine has its own pool."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    n = budget().torch
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
