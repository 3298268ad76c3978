"""Local chat model through CTranslate2: the same hub models as the transformers backend,
converted once (int8 on CPU) into a cache and decoded by an engine built for CPU inference.

CTranslate2 comes with faster-whisper, so this adds no dependency. Conversion goes through
CTranslate2's own ``TransformersConverter`` (Qwen2, Llama, Mistral, Gemma, Phi, ... checkpoints);
a GGUF checkpoint (``gguf_file``) is first dequantised by transformers into a temporary
Hugging Face directory. Streaming uses ``Generator.generate_tokens``; closing our generator
closes CTranslate2's, which stops decoding (barge-in).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from pydantic import Field

from assistant.core.errors import AssistantError, MissingDependencyError, ModelNotFoundError, StageError
from assistant.core.hub import models_root
from assistant.core.model_entry import ModelEntry
from assistant.core.options import BackendOptions, Device, resolve_device
from assistant.core.types import Message
from assistant.llm.transformers import TransformersLLM, TransformersOptions, _IncrementalDecoder

CONVERTED_INFO = "assistant-ct2.json"  # written last: a directory without it is incomplete


class CTranslate2LLMOptions(BackendOptions):
    backend: Literal["ctranslate2"] = Field(
        "ctranslate2", description="Run a chat model locally with CTranslate2 (converted once, cached).")
    model: str = Field(
        "Qwen/Qwen2.5-1.5B-Instruct",
        description="Hugging Face hub id (downloaded once into the HF cache) or a local model directory "
                    "(transformers layout, or holding the gguf_file). Converted on first load.")
    gguf_file: str | None = Field(
        None, description="A GGUF checkpoint inside `model` to convert instead (e.g. "
                          "SmolLM2-135M-Instruct.Q4_1.gguf); needs the packages gguf and accelerate.")
    revision: str | None = Field(None, description="Hub branch, tag or commit. Ignored for local directories.")
    device: Device = Field("auto", description="auto: CUDA when CTranslate2 sees a GPU, else CPU.")
    compute_type: Literal["auto", "int8", "int8_float32", "int8_float16", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weights and compute. auto: int8 on CPU, int8_float16 on CUDA.")
    cpu_threads: int = Field(0, ge=0, description="Decoding threads on CPU; 0 = the `threads:` budget's llm share.")
    converted_dir: str | None = Field(
        None, description="Where converted models are kept (default: $ASSISTANT_MODELS/ct2, i.e. "
                          "~/.cache/assistant/models/ct2).")
    max_new_tokens: int = Field(256, ge=1, description="Longest reply, in tokens.")
    temperature: float = Field(0.7, ge=0.0, description="Sampling temperature; 0 = greedy (deterministic).")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="Nucleus sampling threshold.")
    top_k: int = Field(50, ge=1, description="Sample among the k most likely tokens (with temperature > 0).")
    repetition_penalty: float = Field(1.0, gt=0.0, description="Above 1 discourages repeats; 1 = off.")
    cache_dir: str | None = Field(None, description="Hub download cache (default: the HF cache).")
    trust_remote_code: bool = Field(False, description="Allow repositories that ship their own code.")
    warmup: bool = Field(False, description="Generate one token at load time.")


def converted_root(options: CTranslate2LLMOptions) -> Path:
    if options.converted_dir:
        return Path(options.converted_dir).expanduser()
    return models_root() / "ct2"


def _fingerprint(source: Path, gguf_file: str | None, quantization: str) -> str:
    import ctranslate2

    files = [source / gguf_file] if gguf_file else sorted(source.glob("*.safetensors")) + sorted(source.glob("*.bin"))
    files += [source / "config.json"]
    stamp = [(str(f.resolve()), f.stat().st_size, int(f.stat().st_mtime)) for f in files if f.is_file()]
    key = json.dumps([stamp, quantization, ctranslate2.__version__.split(".")[0]])
    return hashlib.sha1(key.encode()).hexdigest()[:12]


class CTranslate2LLM:
    def __init__(self, options: CTranslate2LLMOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = CTranslate2LLMOptions(**overrides)
        elif overrides:
            options = options.model_copy(update=overrides)
        self.options = options
        self.tokenizer: Any = None
        self.generator: Any = None
        self.device: str | None = None
        self.model_dir: Path | None = None  # the converted model
        self._end_tokens: list[str] = []
        self.threads = 0  # decoding threads, once loaded
        self.last_token_ids: list[int] = []

    # ----------------------------------------------------------------- loading

    def _source(self) -> tuple[Path, dict[str, Any], Any]:
        """The local checkpoint directory, tokenizer kwargs, and the transformers helper (for errors)."""
        o = self.options
        helper = TransformersLLM(TransformersOptions(model=o.model, revision=o.revision, cache_dir=o.cache_dir,
                                                     trust_remote_code=o.trust_remote_code))
        source, kwargs, hub = helper._resolve()
        if hub is not None:  # a hub id: the snapshot directory, downloaded when needed
            from huggingface_hub import snapshot_download

            try:
                source = snapshot_download(o.model, revision=o.revision, cache_dir=o.cache_dir,
                                           local_files_only=kwargs["local_files_only"])
            except Exception as e:  # huggingface_hub raises several unrelated types here
                raise helper._load_error(hub, e) from e
        kwargs = {"trust_remote_code": o.trust_remote_code}
        if o.gguf_file:
            if not (Path(source) / o.gguf_file).is_file():
                raise ModelNotFoundError(f"GGUF file '{o.gguf_file}' is not in '{source}'",
                                         "set llm.gguf_file to a .gguf file inside llm.model")
            kwargs["gguf_file"] = o.gguf_file
        return Path(source), kwargs, (helper, hub)

    def _quantization(self) -> str:
        if self.options.compute_type != "auto":
            return self.options.compute_type
        return "int8_float16" if self.device == "cuda" else "int8"

    def convert(self) -> Path:
        """The converted model directory: from the cache, or converted now (once)."""
        from transformers import AutoTokenizer

        source, kwargs, (helper, hub) = self._source()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(source), **kwargs)
        except (OSError, ValueError) as e:
            raise helper._load_error(hub, e) from e
        if not getattr(self.tokenizer, "chat_template", None):
            raise AssistantError(f"the tokenizer of LLM model '{self.options.model}' has no chat template",
                                 "use an instruct/chat model")
        quantization = self._quantization()
        name = (self.options.gguf_file or source.name).removesuffix(".gguf")
        target = (converted_root(self.options)
                  / f"{name}-{quantization}-{_fingerprint(source, self.options.gguf_file, quantization)}")
        if not (target / CONVERTED_INFO).is_file():
            self._convert(source, kwargs, quantization, target)
        return target

    def _convert(self, source: Path, kwargs: dict[str, Any], quantization: str, target: Path) -> None:
        from ctranslate2.converters import TransformersConverter

        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            checkpoint = source
            eos = self._eos_tokens_of(source, kwargs)
            if self.options.gguf_file:
                checkpoint = Path(tmp) / "hf"
                self._dequantise_gguf(source, kwargs, checkpoint)
            out = Path(tmp) / "ct2"
            try:
                TransformersConverter(str(checkpoint), low_cpu_mem_usage=True,
                                      trust_remote_code=self.options.trust_remote_code).convert(
                    str(out), quantization=quantization, force=True)
            except (ValueError, NotImplementedError) as e:  # an architecture CTranslate2 can't convert
                raise AssistantError(f"CTranslate2 cannot convert LLM model '{self.options.model}': {e}",
                                     "use llm.backend: transformers for this model") from e
            (out / CONVERTED_INFO).write_text(json.dumps({
                "model": self.options.model, "gguf_file": self.options.gguf_file, "source": str(source),
                "quantization": quantization, "end_tokens": eos}, indent=1))
            if target.exists():
                shutil.rmtree(target)
            out.rename(target)

    def _eos_tokens_of(self, source: Path, kwargs: dict[str, Any]) -> list[str]:
        # Chat models often end a turn with a token other than tokenizer.eos (Qwen: <|im_end|>).
        from transformers import GenerationConfig

        ids: set[int] = set()
        if isinstance(self.tokenizer.eos_token_id, int):
            ids.add(self.tokenizer.eos_token_id)
        try:
            found = GenerationConfig.from_pretrained(str(source), **kwargs).eos_token_id
        except (OSError, ValueError, TypeError):
            found = None
        ids.update([found] if isinstance(found, int) else (found or []))
        return sorted(set(self.tokenizer.convert_ids_to_tokens(sorted(ids))))

    def _dequantise_gguf(self, source: Path, kwargs: dict[str, Any], out: Path) -> None:
        import importlib.util

        from transformers import AutoModelForCausalLM

        missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingDependencyError(f"converting a GGUF checkpoint needs {', '.join(missing)}",
                                         "install it with: pip install gguf accelerate")
        model = AutoModelForCausalLM.from_pretrained(str(source), **kwargs)
        # save_pretrained refuses a GGUF-loaded model while it still names its quantizer
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        del model

    def load(self) -> None:
        import ctranslate2

        from assistant.core.threads import budget

        t0 = time.monotonic()
        self.device = ("cuda" if resolve_device(self.options.device) == "cuda" and ctranslate2.get_cuda_device_count()
                       else "cpu")
        self.model_dir = self.convert()
        info = json.loads((self.model_dir / CONVERTED_INFO).read_text())
        self._end_tokens = info["end_tokens"]
        self.threads = threads = self.options.cpu_threads or budget().llm
        try:
            self.generator = ctranslate2.Generator(str(self.model_dir), device=self.device,
                                                   compute_type=self._quantization(), intra_threads=threads)
        except (RuntimeError, ValueError) as e:
            raise ModelNotFoundError(f"cannot load the converted LLM at {self.model_dir}: {e}",
                                     f"delete {self.model_dir} to convert it again") from e
        self.load_seconds = time.monotonic() - t0
        if self.options.warmup:
            for _ in self._generate([Message("user", "Hi")], max_new_tokens=1):
                pass

    # -------------------------------------------------------------- generation

    def _system_prefix(self, chat: list[dict], ids: Sequence[int]) -> list[str]:
        """The tokens of the leading system message, when the chat template puts them first and
        unchanged (then they are a static prompt); else nothing."""
        if len(chat) < 2 or chat[0].get("role") != "system":
            return []
        try:
            head = self.tokenizer.apply_chat_template(chat[:1], add_generation_prompt=False,
                                                      return_dict=True)["input_ids"]
        except Exception:  # a template that wants a user turn: no static prompt, same reply
            return []
        if not head or len(head) >= len(ids) or list(ids[:len(head)]) != list(head):
            return []
        return self.tokenizer.convert_ids_to_tokens(list(head))

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            self.convert()
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        if self.generator is None:
            raise StageError("llm", "the ctranslate2 LLM was used before load()")
        return self._generate(messages, self.options.max_new_tokens)

    def _generate(self, messages: Sequence[Message], max_new_tokens: int) -> Iterator[str]:
        # No seed option: CTranslate2 samples on its own decoding thread, which set_random_seed
        # (per thread) does not reach, so seeded replies would not repeat.
        o = self.options
        chat = [m.as_dict() if isinstance(m, Message) else dict(m) for m in messages]
        try:
            ids = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_dict=True)["input_ids"]
        except Exception as e:  # template errors (e.g. a role the template refuses)
            raise StageError("llm", f"cannot build the prompt with the model's chat template: {e}") from e
        tokens = self.tokenizer.convert_ids_to_tokens(list(ids))
        static = self._system_prefix(chat, ids)
        greedy = o.temperature == 0
        decoder = _IncrementalDecoder(self.tokenizer)
        self.last_token_ids = decoder.ids
        self.finish_reason = "length"  # until an end token is seen (the reply guard reads it)
        # The system message's tokens go in as CTranslate2's static prompt, whose model state it
        # keeps: every turn after the first skips that part of the prompt (about 100 tokens:
        # 0.27 → 0.09 s to SmolLM2's first token on this CPU with no history, one thread).
        steps = self.generator.generate_tokens(
            tokens[len(static):], static_prompt=static or None, cache_static_prompt=bool(static),
            max_length=max_new_tokens,
            sampling_topk=1 if greedy else o.top_k, sampling_topp=1.0 if greedy else o.top_p,
            sampling_temperature=1.0 if greedy else o.temperature,
            repetition_penalty=o.repetition_penalty, end_token=self._end_tokens or None)
        count = 0
        try:
            for count, step in enumerate(steps, 1):
                if step.token in self._end_tokens:  # (CTranslate2 may yield the end token itself)
                    self.finish_reason = "stop"
                    break
                piece = decoder.push(step.token_id)
                if piece:
                    yield piece
                if count >= max_new_tokens:
                    break
            else:
                self.finish_reason = "stop" if count < max_new_tokens else "length"
            tail = decoder.flush()
            if tail:
                yield tail
        except Exception as e:
            raise StageError("llm", f"generation failed: {type(e).__name__}: {e}") from e
        finally:
            steps.close()  # stops CTranslate2's decoding (barge-in closes us mid-reply)


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: CTranslate2LLMOptions, stage: str) -> ModelEntry:
    """The same checkpoints as transformers (a hub id or a local directory), converted at load."""
    from dataclasses import replace

    from assistant.llm import transformers

    return replace(transformers.model_entry(o, stage), backend="ctranslate2")


def fetch(e: ModelEntry, options: CTranslate2LLMOptions) -> str:
    """The transformers checkpoint (converted at load)."""
    from assistant.llm import transformers

    return transformers.fetch(e, options)
