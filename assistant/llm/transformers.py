"""Local chat model through Hugging Face transformers, decoded token by token on the caller's thread.

We decode by hand (one forward pass per token with the KV cache) instead of ``generate()`` +
``TextIteratorStreamer`` because that pair needs a second thread, and a generator that owns
the loop can be stopped at once: ``gen.close()`` ends generation before the next token, which
is how barge-in cancels a reply. torch and transformers are imported only inside methods.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from pydantic import Field

from assistant.core import hub, registry
from assistant.core.errors import ModelNotFoundError, StageError
from assistant.core.model_entry import ModelEntry, entry, hf_snapshot
from assistant.core.options import BackendOptions, Device, resolve_device
from assistant.core.types import Message


class TransformersOptions(BackendOptions):
    backend: Literal["transformers"] = Field(
        "transformers", description="Run a chat model locally with Hugging Face transformers.")
    model: str = Field(
        "Qwen/Qwen2.5-1.5B-Instruct",
        description="Hugging Face hub id (downloaded once into the HF cache), a local model "
                    "directory, or a local .gguf file (dequantised at load; needs the gguf and "
                    "accelerate packages). Must be a chat/instruct model with a chat template.")
    revision: str | None = Field(
        None, description="Hub branch, tag or commit to load (default: main). Ignored for local directories.")
    device: Device = Field("auto", description="auto: CUDA when available, else CPU.")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weight dtype. auto: bfloat16 on GPUs that support it, else float16 on "
                            "CUDA; float32 on CPU.")
    max_new_tokens: int = Field(256, ge=1, description="Longest reply, in tokens.")
    temperature: float = Field(
        0.7, ge=0.0, description="Sampling temperature; 0 = greedy (deterministic).")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="Nucleus sampling: keep the smallest set "
                                                          "of tokens whose probability adds up to top_p.")
    repetition_penalty: float = Field(
        1.0, gt=0.0, description="Above 1 discourages repeating tokens already in the conversation; 1 = off.")
    no_repeat_ngram_size: int = Field(
        8, ge=0, description="A run of this many tokens is never repeated within one reply (the prompt "
                             "is not counted), so a small model can't loop on a phrase; 0 = off.")
    seed: int | None = Field(
        None, description="Sampling seed: with a seed the same messages give the same reply; "
                          "none = different each time.")
    cache_dir: str | None = Field(
        None, description="Where hub downloads are stored (default: the HF cache, $HF_HOME/hub).")
    trust_remote_code: bool = Field(
        False, description="Allow model repositories that ship their own Python code. Only for "
                           "repositories you trust.")
    warmup: bool = Field(
        False, description="Generate one token at load time, so the first reply doesn't pay for "
                           "lazy initialisation.")


def _dtype_keyword() -> str:
    # transformers renamed from_pretrained's torch_dtype to dtype in 4.56 (5.x warns on the old name).
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


class _IncrementalDecoder:
    """Turns a growing list of token ids into new text pieces.

    Byte-level tokens can split one character across several tokens; until the last bytes
    arrive the decoded text ends in U+FFFD, so that tail is held back.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.emitted = ""

    def _decode(self) -> str:
        return self.tokenizer.decode(self.ids, skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False)

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self._decode()
        if text.endswith("\ufffd"):
            return ""
        # Decoding a longer list never rewrites the text before a complete character, so the
        # new text is the suffix past what was already emitted.
        piece, self.emitted = text[len(self.emitted):], text
        return piece

    def flush(self) -> str:
        # An unfinished character at the very end can never complete now: drop it.
        text = self._decode().rstrip("\ufffd")
        piece, self.emitted = text[len(self.emitted):], text
        return piece


class TransformersLLM:
    def __init__(self, options: TransformersOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = TransformersOptions(**overrides)
        elif overrides:
            options = options.model_copy(update=overrides)
        self.options = options
        self.tokenizer: Any = None
        self.model: Any = None
        self.device: str | None = None
        self._eos_ids: set[int] = set()
        self._step_kwargs: dict[str, Any] = {}

    # ----------------------------------------------------------------- loading

    def _resolve(self) -> tuple[str, dict[str, Any], tuple[str, str] | None]:
        """Where to load from, the from_pretrained kwargs, and for hub ids (cache dir, why offline)."""
        from huggingface_hub import constants

        opts = self.options
        local = Path(opts.model).expanduser()
        if local.is_dir():
            return str(local), {"trust_remote_code": opts.trust_remote_code}, None
        if local.is_file() and local.suffix == ".gguf":  # dequantised at load
            registry.Backend("llm", "transformers", "", "", ("gguf", "accelerate"),
                             "pip install gguf accelerate").check_requirements()
            return str(local.parent), {"gguf_file": local.name}, None
        if hub.looks_like_path(opts.model):
            raise ModelNotFoundError(
                f"LLM model directory '{opts.model}' does not exist",
                "set llm.model to an existing local model directory or a Hugging Face hub id",
            )
        offline = hub.is_offline()
        reachable = not offline and hub.hub_reachable()
        why = "" if reachable else ("HF_HUB_OFFLINE is set" if offline else "the hub is unreachable")
        kwargs = {"revision": opts.revision, "cache_dir": opts.cache_dir,
                  "trust_remote_code": opts.trust_remote_code, "local_files_only": not reachable}
        return opts.model, kwargs, (opts.cache_dir or constants.HF_HUB_CACHE, why)

    def _load_error(self, hub: tuple[str, str] | None, error: Exception) -> ModelNotFoundError:
        name = self.options.model
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if hub is None:
            return ModelNotFoundError(f"cannot load LLM model directory '{name}': {first}",
                                      "point llm.model at a transformers model directory "
                                      "(config.json, weights, tokenizer files)")
        cache, why = hub
        if why:
            hint = (f"run `hf download {name}` on a connected machine (and copy its HF cache here), "
                    f"or set llm.model to a local model directory")
            if why.startswith("HF_HUB_OFFLINE"):
                hint += "; or unset HF_HUB_OFFLINE to let it download"
            return ModelNotFoundError(
                f"LLM model '{name}' is not in the Hugging Face cache at {cache} ({why})", hint)
        return ModelNotFoundError(f"cannot load LLM model '{name}' from the Hugging Face hub: {first}",
                                  f"check the id and revision on https://huggingface.co (cache: {cache}), "
                                  f"or set llm.model to a local model directory")

    def _load_tokenizer(self) -> tuple[str, dict[str, Any], tuple[str, str] | None]:
        from transformers import AutoTokenizer

        resolved = source, kwargs, hub = self._resolve()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        except (OSError, ValueError) as e:
            raise self._load_error(hub, e) from e
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelNotFoundError(
                f"the tokenizer of LLM model '{self.options.model}' has no chat template, so it "
                f"can't hold a conversation (is it a base model rather than an instruct/chat model?)",
                "use an instruct model such as Qwen/Qwen2.5-1.5B-Instruct",
            )
        return resolved

    def load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        t0 = time.monotonic()
        source, kwargs, hub = self._load_tokenizer()
        self.device = resolve_device(self.options.device)
        kwargs[_dtype_keyword()] = self._dtype(torch)
        from transformers.utils import logging as hf_logging

        # The "Loading weights" bar is noise for a local model; hub downloads keep their own bar.
        quiet = hub is None and hf_logging.is_progress_bar_enabled()
        if quiet:
            hf_logging.disable_progress_bar()
        try:
            model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        except (OSError, ValueError) as e:
            raise self._load_error(hub, e) from e
        finally:
            if quiet:
                hf_logging.enable_progress_bar()
        self.model = model.to(self.device).eval()
        # Only the last position's logits are needed; on a long prompt the full [prompt x vocab]
        # logits would cost hundreds of MB (152k vocab). Older transformers lack the argument.
        params = inspect.signature(self.model.forward).parameters
        self._step_kwargs = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

        # Chat models often end a turn with a token other than tokenizer.eos (Qwen: <|im_end|>
        # and <|endoftext|>); generation_config lists them, sometimes as a list.
        eos: set[int] = set()
        for ids in (self.tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
            if isinstance(ids, int):
                eos.add(ids)
            elif ids:
                eos.update(int(i) for i in ids)
        self._eos_ids = eos
        self.load_seconds = time.monotonic() - t0
        if self.options.warmup:
            for _ in self._generate([Message("user", "Hi")], max_new_tokens=1):
                pass

    def _dtype(self, torch: Any) -> Any:
        if self.options.dtype != "auto":
            return getattr(torch, self.options.dtype)
        if self.device == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32

    # -------------------------------------------------------------- generation

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            self._load_tokenizer()
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        if self.model is None:
            raise StageError("llm", "the transformers LLM was used before load()")
        return self._generate(messages, self.options.max_new_tokens)

    def _processors(self) -> Any:
        from transformers import (
            LogitsProcessorList,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopPLogitsWarper,
        )

        o = self.options
        procs = LogitsProcessorList()
        if o.repetition_penalty != 1.0:
            procs.append(RepetitionPenaltyLogitsProcessor(o.repetition_penalty))
        if o.temperature > 0:
            if o.temperature != 1.0:
                procs.append(TemperatureLogitsWarper(o.temperature))
            if o.top_p < 1.0:
                procs.append(TopPLogitsWarper(o.top_p))
        return procs

    def _no_repeat(self) -> Any:
        from transformers import NoRepeatNGramLogitsProcessor

        n = self.options.no_repeat_ngram_size
        return NoRepeatNGramLogitsProcessor(n) if n else None

    def _generate(self, messages: Sequence[Message], max_new_tokens: int) -> Iterator[str]:
        import torch

        chat = [m.as_dict() if isinstance(m, Message) else dict(m) for m in messages]
        try:
            prompt = self.tokenizer.apply_chat_template(
                chat, add_generation_prompt=True, return_dict=True, return_tensors="pt")["input_ids"]
        except Exception as e:  # template errors (e.g. a role the template refuses)
            raise StageError("llm", f"cannot build the prompt with the model's chat template: {e}") from e

        greedy = self.options.temperature == 0
        processors = self._processors()
        no_repeat = self._no_repeat()
        self.finish_reason = None
        generator = None
        if not greedy and self.options.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(self.options.seed)
        decoder = _IncrementalDecoder(self.tokenizer)

        try:
            seen = prompt.to(self.device)  # prompt + reply so far, for the repetition penalty
            step_input, past = seen, None
            for _ in range(max_new_tokens):
                # inference_mode per step, never across a yield: the caller's code between
                # pieces must not run inside it (and the state is per-thread).
                with torch.inference_mode():
                    out = self.model(input_ids=step_input, past_key_values=past, use_cache=True,
                                     **self._step_kwargs)
                    past = out.past_key_values
                    scores = out.logits[:, -1, :].float()
                    if no_repeat is not None:  # on the reply's own tokens only
                        scores = no_repeat(seen[:, prompt.shape[-1]:], scores)
                    scores = processors(seen, scores)
                    if greedy:
                        token = scores.argmax(dim=-1, keepdim=True)
                    else:
                        token = torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator)
                    token_id = int(token)
                    if token_id in self._eos_ids:
                        self.finish_reason = "stop"
                        break
                    seen = torch.cat([seen, token], dim=-1)
                    step_input = token
                piece = decoder.push(token_id)
                if piece:
                    yield piece
            else:
                self.finish_reason = "length"  # max_new_tokens ended the reply
            tail = decoder.flush()
            if tail:
                yield tail
        except StageError:
            raise
        except Exception as e:
            # GeneratorExit (close() on barge-in) is not an Exception, so it passes straight through.
            hint = "try a smaller model, dtype: float16, or device: cpu" if "out of memory" in str(e) else None
            raise StageError("llm", f"generation failed: {type(e).__name__}: {e}", hint) from e


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: TransformersOptions, stage: str) -> ModelEntry:
    """A hub id: its snapshot in the Hugging Face cache; else a local directory or file."""
    local = Path(o.model).expanduser()
    if local.exists() or hub.looks_like_path(o.model):
        ok = local.is_file() or (local / "config.json").is_file()
        return entry(stage, "transformers", o.model, local, ok, True, None)
    snap = hf_snapshot(o.model, o.cache_dir, ("config.json",))
    return entry(stage, "transformers", o.model, snap or Path(f"hf:{o.model}"), snap is not None, False,
                 hub.hf_endpoint())


def fetch(e: ModelEntry, options: TransformersOptions) -> str:
    """The repository's snapshot, without the formats transformers does not load (and without the
    ``.bin`` copies when there are safetensors)."""
    from huggingface_hub import HfApi, snapshot_download

    ignore = ["*.onnx", "onnx/*", "*.gguf", "*.h5", "*.msgpack", "*.ot", "*.tflite", "openvino/*"]
    files = HfApi().list_repo_files(e.name, revision=options.revision)
    if any(f.endswith(".safetensors") for f in files):  # transformers prefers them: skip the copies
        ignore += ["*.bin", "*.pth", "*.pt"]
    return snapshot_download(e.name, revision=options.revision, cache_dir=options.cache_dir,
                             ignore_patterns=ignore)
