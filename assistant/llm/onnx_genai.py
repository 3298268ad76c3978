"""Local chat model through ONNX Runtime GenAI, keeping each conversation's KV cache between turns.

Every other local backend prefills the whole conversation again on every turn, so the first
token comes later as the history grows. Here a conversation's ``Generator`` stays alive: the
next turn's prompt is compared token by token with what the generator already holds, the
generator is rewound to the common prefix (``rewind_to``) and only the rest is prefilled
(``append_tokens``). The same rule covers every way the prompt can change: a new user turn (only
its tokens are new), a reply the user interrupted (the engine keeps only what was heard, so the
prefix ends there and the unheard tokens are dropped), history trimmed (the prefix ends after the
system prompt; ``prepare`` prefills the trimmed prompt between turns). The engine's prompts only
grow at their end otherwise (``assistant/llm/history.py``: a constant system prompt, the
reply-language line with each question, history trimmed in blocks).

The engine names the conversation (``stream(messages, session=...)``, its session id): each
keeps its own generator ("slot"), so server sessions never share a cache; beyond ``sessions``
conversations the least recently used slot is dropped. A caller that names none gets the kept
conversation whose tokens the prompt continues furthest.

Models are converted once with ONNX Runtime GenAI's own model builder (Qwen2, Llama, Mistral,
Gemma, Phi, ...; int4 weights on CPU) into a cache; a GGUF checkpoint is first dequantised by
transformers, as the CTranslate2 backend does. The chat template and the decoding of tokens to
text come from the model's Hugging Face tokenizer, as in the other backends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from pydantic import Field

from assistant.core.errors import AssistantError, ModelNotFoundError, StageError
from assistant.core.hub import models_root
from assistant.core.model_entry import ModelEntry, entry
from assistant.core.options import BackendOptions
from assistant.core.types import Message
from assistant.llm.transformers import _IncrementalDecoder

CONVERTED_INFO = "assistant-genai.json"  # written last: a directory without it is incomplete


class OnnxGenAIOptions(BackendOptions):
    backend: Literal["onnxruntime-genai"] = Field(
        "onnxruntime-genai",
        description="Run a chat model locally with ONNX Runtime GenAI, keeping each conversation's "
                    "KV cache between turns (converted once, cached).")
    model: str = Field(
        "Qwen/Qwen2.5-0.5B-Instruct",
        description="Hugging Face hub id, a local model directory (transformers layout, or holding the "
                    "gguf_file), or a directory already converted for ONNX Runtime GenAI "
                    "(genai_config.json). Converted on first load.")
    gguf_file: str | None = Field(
        None, description="A GGUF checkpoint inside `model` to convert instead; needs the packages gguf "
                          "and accelerate.")
    revision: str | None = Field(None, description="Hub branch, tag or commit. Ignored for local directories.")
    precision: Literal["int4", "fp32"] = Field(
        "int4", description="Weights of the converted model: int4 (about 4x smaller and faster on CPU) or fp32.")
    cpu_threads: int = Field(0, ge=0, description="Threads on CPU; 0 = the `threads:` budget's llm share.")
    converted_dir: str | None = Field(
        None, description="Where converted models are kept (default: $ASSISTANT_MODELS/onnx-genai).")
    sessions: int = Field(
        4, ge=1, le=64, description="Conversations whose KV cache is kept (one per server session); "
                                    "the least recently used is dropped beyond that.")
    context_tokens: int = Field(
        4096, ge=64, description="Longest prompt plus reply, in tokens. Each kept conversation "
                                 "reserves its KV cache for this many tokens at its first turn (fp32: "
                                 "about 46 KB a token for SmolLM2-135M, 25 KB for Qwen2.5-0.5B).")
    max_new_tokens: int = Field(256, ge=1, description="Longest reply, in tokens.")
    temperature: float = Field(0.7, ge=0.0, description="Sampling temperature; 0 = greedy (deterministic).")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="Nucleus sampling threshold.")
    top_k: int = Field(50, ge=1, description="Sample among the k most likely tokens (with temperature > 0).")
    repetition_penalty: float = Field(1.0, gt=0.0, description="Above 1 discourages repeats; 1 = off.")
    seed: int | None = Field(None, description="Sampling seed; none = different each time.")
    cache_dir: str | None = Field(None, description="Hub download cache (default: the HF cache).")
    trust_remote_code: bool = Field(False, description="Allow repositories that ship their own code.")
    warmup: bool = Field(False, description="Generate one token at load time.")


def converted_root(options: OnnxGenAIOptions) -> Path:
    if options.converted_dir:
        return Path(options.converted_dir).expanduser()
    return models_root() / "onnx-genai"


@dataclass
class _Slot:
    """One kept conversation: its generator and the tokens its sequence holds."""

    generator: Any = None
    tokens: list[int] = field(default_factory=list)
    prompt_len: int = 0  # how many of the tokens were the last prompt (the rest: its reply)
    used: int = 0  # when last claimed (a counter)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class OnnxGenAILLM:
    keeps_sessions = True  # stream() takes the conversation's key (the engine passes its session id)

    def __init__(self, options: OnnxGenAIOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = OnnxGenAIOptions(**overrides)
        elif overrides:
            options = options.model_copy(update=overrides)
        self.options = options
        self.tokenizer: Any = None
        self.model: Any = None
        self.model_dir: Path | None = None
        self.threads = 0
        self.slots: dict[object, _Slot] = {}  # by conversation (the engine's session)
        self._spare: Any = None  # a generator no conversation holds, rewound for the next new one
        self._clock = 0
        self._eos_ids: set[int] = set()
        self.finish_reason: str | None = None
        self.last_prefill = 0  # tokens prefilled by the last stream() (the rest came from the cache)
        self.last_reused = 0  # tokens of the last prompt taken from the cache

    # ----------------------------------------------------------------- loading

    def _ct2_helper(self) -> Any:
        # The CTranslate2 backend already resolves hub ids / local dirs / GGUF files and dequantises
        # GGUF checkpoints; the same source goes to ONNX Runtime GenAI's builder.
        from assistant.llm.ctranslate2 import CTranslate2LLM, CTranslate2LLMOptions

        o = self.options
        return CTranslate2LLM(CTranslate2LLMOptions(
            model=o.model, gguf_file=o.gguf_file, revision=o.revision, cache_dir=o.cache_dir,
            trust_remote_code=o.trust_remote_code))

    def convert(self) -> Path:
        """The converted model directory: given, from the cache, or converted now (once)."""
        from transformers import AutoTokenizer

        local = Path(self.options.model).expanduser()
        if (local / "genai_config.json").is_file():
            target = local
        else:
            from assistant.llm.ctranslate2 import _fingerprint

            helper = self._ct2_helper()
            source, kwargs, (hf, hub) = helper._source()
            try:
                helper.tokenizer = AutoTokenizer.from_pretrained(str(source), **kwargs)
            except (OSError, ValueError) as e:
                raise hf._load_error(hub, e) from e
            precision = self.options.precision
            name = (self.options.gguf_file or source.name).removesuffix(".gguf")
            target = (converted_root(self.options)
                      / f"{name}-{precision}-{_fingerprint(source, self.options.gguf_file, precision)}")
            if not (target / CONVERTED_INFO).is_file():
                self._convert(helper, source, kwargs, target)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(target))
        except (OSError, ValueError) as e:
            raise ModelNotFoundError(f"cannot load the tokenizer of the converted LLM at {target}: {e}",
                                     f"delete {target} to convert it again") from e
        if not getattr(self.tokenizer, "chat_template", None):
            raise AssistantError(f"the tokenizer of LLM model '{self.options.model}' has no chat template",
                                 "use an instruct/chat model")
        return target

    def _convert(self, helper: Any, source: Path, kwargs: dict[str, Any], target: Path) -> None:
        import importlib.util

        if importlib.util.find_spec("onnx_ir") is None:  # the builder's own dependency
            from assistant.core.errors import MissingDependencyError

            raise MissingDependencyError("converting a model for ONNX Runtime GenAI needs onnx-ir",
                                         "install it with: pip install onnx-ir")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Said before the wait, not logged: the first start otherwise looks hung for minutes.
        print(f"Converting LLM '{Path(self.options.model).name}' for ONNX Runtime GenAI ({self.options.precision}), "
              f"once: a few minutes on a laptop CPU; later starts load {target}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            checkpoint = source
            if self.options.gguf_file:
                checkpoint = Path(tmp) / "hf"
                helper._dequantise_gguf(source, kwargs, checkpoint)
            out = Path(tmp) / "genai"
            # The builder in its own process: it holds the whole fp32 model in memory while it
            # writes the ONNX graph, and all of that is freed when it exits.
            cmd = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(checkpoint),
                   "-o", str(out), "-p", self.options.precision, "-e", "cpu", "-c", str(Path(tmp) / "cache")]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0 or not (out / "genai_config.json").is_file():
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise AssistantError(f"ONNX Runtime GenAI cannot convert LLM model '{self.options.model}': {last}",
                                     "use llm.backend: ctranslate2 or transformers for this model")
            if not (out / "tokenizer_config.json").is_file():
                helper.tokenizer.save_pretrained(out)
            (out / CONVERTED_INFO).write_text(json.dumps({
                "model": self.options.model, "gguf_file": self.options.gguf_file, "source": str(source),
                "precision": self.options.precision}, indent=1))
            if target.exists():
                shutil.rmtree(target)
            out.rename(target)

    def load(self) -> None:
        import onnxruntime_genai as og

        from assistant.core.threads import budget

        t0 = time.monotonic()
        self.model_dir = self.convert()
        self.threads = threads = self.options.cpu_threads or budget().llm
        try:
            config = og.Config(str(self.model_dir))
            config.clear_providers()  # CPU
            config.overlay(json.dumps({"model": {"decoder": {"session_options": {
                "intra_op_num_threads": threads, "inter_op_num_threads": 1}}}}))
            self.model = og.Model(config)
        except Exception as e:  # onnxruntime_genai raises plain RuntimeError/OgaError
            raise ModelNotFoundError(f"cannot load the converted LLM at {self.model_dir}: {e}",
                                     f"delete {self.model_dir} to convert it again") from e
        eos: set[int] = set()
        config_json = json.loads((self.model_dir / "genai_config.json").read_text())["model"]
        for ids in (self.tokenizer.eos_token_id, config_json.get("eos_token_id")):
            if isinstance(ids, int):
                eos.add(ids)
            elif ids:
                eos.update(int(i) for i in ids)
        self._eos_ids = eos
        self.context = min(self.options.context_tokens, int(config_json.get("context_length") or 1 << 30))
        self.slots, self._spare = {}, None
        self.load_seconds = time.monotonic() - t0
        if self.options.warmup:
            for _ in self._generate([Message("user", "Hi")], max_new_tokens=1):
                pass
            # the warm-up conversation is nobody's: its generator waits for the first one
            self._spare = next(iter(self.slots.values())).generator
            self.slots = {}

    # ------------------------------------------------------------------ slots

    def _new_generator(self) -> Any:
        import onnxruntime_genai as og

        o = self.options
        params = og.GeneratorParams(self.model)
        search: dict[str, Any] = {"max_length": self.context, "do_sample": o.temperature > 0,
                                  "repetition_penalty": o.repetition_penalty}
        if o.temperature > 0:
            search.update(temperature=o.temperature, top_p=o.top_p, top_k=o.top_k)
        if o.seed is not None:
            search["random_seed"] = o.seed
        params.set_search_options(**search)
        return og.Generator(self.model, params)

    def _claim(self, ids: list[int], session: object | None) -> tuple[_Slot, int]:
        """The slot for this prompt and how many of its tokens the slot already holds."""
        self._clock += 1
        slot = self.slots.get(session) if session is not None else None
        if session is None and self.slots:
            # No conversation named: the kept one whose last prompt this one continues.
            best = max(self.slots.values(), key=lambda s: (common_prefix(s.tokens, ids), s.used))
            if common_prefix(best.tokens, ids) >= best.prompt_len:
                slot = best
        if slot is None:
            slot = self.slots[session if session is not None else object()] = _Slot()
        slot.used = self._clock
        while len(self.slots) > self.options.sessions:  # drop the least recently used
            self._spare = self.slots.pop(min(self.slots, key=lambda k: self.slots[k].used)).generator
        return slot, common_prefix(slot.tokens, ids)

    def _prefill(self, slot: _Slot, ids: list[int], keep: int) -> None:
        import numpy as np

        keep = min(keep, len(ids) - 1)  # at least one token goes in, to get the next token's logits
        if slot.generator is None:
            # A new generator reserves its KV cache (context_tokens) first: 0.3-0.6 s for 4096
            # tokens of SmolLM2 on this CPU. One left by the warm-up or a dropped conversation is
            # rewound instead.
            slot.generator, self._spare = self._spare or self._new_generator(), None
            slot.tokens, keep = [], 0
        # (an end token stops the generator without entering its sequence)
        keep = min(keep, slot.generator.token_count())
        if keep < slot.generator.token_count():
            slot.generator.rewind_to(keep)
        slot.tokens, slot.prompt_len = list(ids), len(ids)
        self.last_reused, self.last_prefill = keep, len(ids) - keep
        slot.generator.append_tokens(np.asarray(ids[keep:], dtype=np.int32))

    # -------------------------------------------------------------- generation

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            self.convert()
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def prepare(self, messages: Sequence[Message], session: object) -> None:
        """Prefill the start of the conversation's next prompt now (``messages``: system prompt and
        history, no question), so the next turn prefills only its question. The engine calls it
        when trimmed history changed the prompt's start, between turns. Only an optimisation: a
        failure drops this conversation's cache, and the next turn prefills the whole prompt."""
        if self.model is None:
            raise StageError("llm", "the onnxruntime-genai LLM was used before load()")
        chat = [m.as_dict() if isinstance(m, Message) else dict(m) for m in messages]
        try:
            ids = list(self.tokenizer.apply_chat_template(chat, add_generation_prompt=False,
                                                          return_dict=True)["input_ids"])
        except Exception:
            return  # the turn itself will report a template error
        if not ids or len(ids) >= self.context:
            return
        slot, keep = self._claim(ids, session)
        try:
            self._prefill(slot, ids, keep)
        except Exception:
            slot.generator, slot.tokens = None, []

    def stream(self, messages: Sequence[Message], session: object | None = None) -> Iterator[str]:
        """``session``: the conversation these messages belong to (any hashable key, e.g. the
        engine's session id); each keeps its own KV cache. None: the kept conversation whose
        tokens the prompt continues furthest."""
        if self.model is None:
            raise StageError("llm", "the onnxruntime-genai LLM was used before load()")
        return self._generate(messages, self.options.max_new_tokens, session)

    def _generate(self, messages: Sequence[Message], max_new_tokens: int,
                  session: object | None = None) -> Iterator[str]:
        chat = [m.as_dict() if isinstance(m, Message) else dict(m) for m in messages]
        try:
            ids = list(self.tokenizer.apply_chat_template(chat, add_generation_prompt=True,
                                                          return_dict=True)["input_ids"])
        except Exception as e:  # template errors (e.g. a role the template refuses)
            raise StageError("llm", f"cannot build the prompt with the model's chat template: {e}") from e
        room = self.context - len(ids)
        if room < 1:
            raise StageError("llm", f"the prompt has {len(ids)} tokens, more than llm.context_tokens "
                                    f"({self.context}) allows",
                             "lower conversation.max_tokens or raise llm.context_tokens")
        max_new_tokens = min(max_new_tokens, room)
        slot, keep = self._claim(ids, session)
        decoder = _IncrementalDecoder(self.tokenizer)
        self.finish_reason = "length"  # until an end token is seen (the reply guard reads it)
        try:
            try:
                self._prefill(slot, ids, keep)
            except Exception:
                slot.generator = None  # a failed append leaves the state unknown: start again
                self._prefill(slot, ids, 0)
            for _ in range(max_new_tokens):
                slot.generator.generate_next_token()
                token = int(slot.generator.get_next_tokens()[0])
                slot.tokens.append(token)
                if token in self._eos_ids:
                    self.finish_reason = "stop"
                    break
                piece = decoder.push(token)
                if piece:
                    yield piece
                if slot.generator.is_done():  # the context is full
                    break
            tail = decoder.flush()
            if tail:
                yield tail
        except Exception as e:
            slot.generator, slot.tokens = None, []  # never reuse a generator that failed mid-way
            raise StageError("llm", f"generation failed: {type(e).__name__}: {e}") from e
        finally:
            if slot.generator is not None:  # what the generator really holds (an end token is not in it)
                del slot.tokens[slot.generator.token_count():]


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: OnnxGenAIOptions, stage: str) -> ModelEntry:
    """The same checkpoints as transformers, or a directory already converted (genai_config.json)."""
    from dataclasses import replace

    from assistant.llm import transformers

    local = Path(o.model).expanduser()
    if (local / "genai_config.json").is_file():
        return entry(stage, "onnxruntime-genai", o.model, local, True, True, None)
    return replace(transformers.model_entry(o, stage), backend="onnxruntime-genai")


def fetch(e: ModelEntry, options: OnnxGenAIOptions) -> str:
    """The transformers checkpoint (converted once at load)."""
    from assistant.llm import transformers

    return transformers.fetch(e, options)
