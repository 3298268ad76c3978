"""openai-whisper checkpoint → transformers Whisper → CTranslate2 (faster-whisper), all offline.

Benchmarks and tests need the *same* weights in every backend, so the comparison is of compute
and not of checkpoints. Published converted models can't be downloaded here, so we convert our
own random-weight checkpoints (``build_whisper_checkpoint``) along the same route the published
``Systran/faster-whisper-*`` repositories took: openai → transformers → CTranslate2.

transformers 5.x no longer ships its ``convert_openai_to_hf`` script, so the state dict is
mapped here (the names are a fixed, documented correspondence). The tokenizer is built from
openai-whisper's bundled ``.tiktoken`` vocabulary with transformers' ``TikTokenConverter``, so
token ids are exactly openai-whisper's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

#: openai-whisper module names → transformers WhisperForConditionalGeneration names. Applied
#: as substring replacements in this order (``attn_ln`` before ``attn.``, ``cross_attn`` first).
_RENAMES: tuple[tuple[str, str], ...] = (
    ("encoder.positional_embedding", "encoder.embed_positions.weight"),
    ("decoder.positional_embedding", "decoder.embed_positions.weight"),
    ("decoder.token_embedding", "decoder.embed_tokens"),
    (".blocks.", ".layers."),
    (".cross_attn_ln.", ".encoder_attn_layer_norm."),
    (".cross_attn.", ".encoder_attn."),
    (".attn_ln.", ".self_attn_layer_norm."),
    (".attn.", ".self_attn."),
    (".query.", ".q_proj."),
    (".key.", ".k_proj."),
    (".value.", ".v_proj."),
    (".out.", ".out_proj."),
    (".mlp_ln.", ".final_layer_norm."),
    (".mlp.0.", ".fc1."),
    (".mlp.2.", ".fc2."),
    ("encoder.ln_post.", "encoder.layer_norm."),
    ("decoder.ln.", "decoder.layer_norm."),
)

#: What faster-whisper needs beside CTranslate2's model.bin/config.json/vocabulary.json.
FASTER_WHISPER_FILES = ("tokenizer.json", "preprocessor_config.json")


def _hf_name(name: str) -> str:
    for old, new in _RENAMES:
        name = name.replace(old, new)
    return "model." + name


def _is_multilingual(n_vocab: int) -> bool:
    return n_vocab >= 51865  # openai-whisper's own rule (Whisper.is_multilingual)


def _num_languages(n_vocab: int) -> int:
    return n_vocab - 51765 - int(_is_multilingual(n_vocab))  # Whisper.num_languages


def _tiktoken_encoding(n_vocab: int) -> Any:
    from whisper.tokenizer import get_encoding

    name = "multilingual" if _is_multilingual(n_vocab) else "gpt2"
    return get_encoding(name, num_languages=_num_languages(n_vocab))


def build_tokenizer(n_vocab: int = 51865) -> Any:
    """A transformers fast tokenizer with openai-whisper's ids, built from its bundled vocabulary."""
    import whisper.tokenizer
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    enc = _tiktoken_encoding(n_vocab)
    assets = Path(whisper.tokenizer.__file__).parent / "assets"
    vocab_file = assets / ("multilingual.tiktoken" if _is_multilingual(n_vocab) else "gpt2.tiktoken")
    # _special_tokens is ordered by id and starts right after the BPE ranks, so adding them in
    # order gives each the id openai-whisper gives it (checked below).
    specials = dict(sorted(enc._special_tokens.items(), key=lambda kv: kv[1]))
    core = TikTokenConverter(vocab_file=str(vocab_file), pattern=enc._pat_str,
                             extra_special_tokens=specials).converted()
    for token in ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>"):
        if core.token_to_id(token) != specials[token]:
            raise RuntimeError(f"tokenizer conversion gave {token} the id {core.token_to_id(token)}, "
                               f"not openai-whisper's {specials[token]}")
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   model_max_length=448)


def _generation_config(dims: dict[str, int]) -> Any:
    """What transformers' generate (and CTranslate2's converter) read: languages, tasks, suppression."""
    from transformers import GenerationConfig
    from whisper.tokenizer import LANGUAGES, get_tokenizer

    n_vocab, layers, heads = dims["n_vocab"], dims["n_text_layer"], dims["n_text_head"]
    multilingual = _is_multilingual(n_vocab)
    tok = get_tokenizer(multilingual, num_languages=_num_languages(n_vocab))
    lang_to_id = ({f"<|{code}|>": tok.to_language_token(code)
                   for code in list(LANGUAGES)[: _num_languages(n_vocab)]} if multilingual else {})
    return GenerationConfig(
        decoder_start_token_id=tok.sot, bos_token_id=tok.eot, eos_token_id=tok.eot, pad_token_id=tok.eot,
        max_length=dims["n_text_ctx"], is_multilingual=multilingual, lang_to_id=lang_to_id,
        task_to_id={"transcribe": tok.transcribe, "translate": tok.translate} if multilingual else {},
        no_timestamps_token_id=tok.no_timestamps, prev_sot_token_id=tok.sot_prev,
        # the same lists openai-whisper suppresses with suppress_tokens="-1" and suppress_blank
        suppress_tokens=sorted(tok.non_speech_tokens), begin_suppress_tokens=[tok.encode(" ")[0], tok.eot],
        # the real models' heads are found by analysis; for random weights any choice is as good,
        # and the second half of the layers is what CTranslate2 would pick by default.
        alignment_heads=[[layer, head] for layer in range(layers // 2, layers) for head in range(heads)],
        max_initial_timestamp_index=50,
    )


def openai_to_transformers(checkpoint: str | Path, out_dir: str | Path) -> Path:
    """Write a transformers Whisper model directory (weights, tokenizer, configs) from an openai .pt."""
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    ckpt = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    dims: dict[str, int] = ckpt["dims"]
    state = {_hf_name(k): v for k, v in ckpt["model_state_dict"].items()}
    state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]  # whisper ties them

    gen = _generation_config(dims)
    config = WhisperConfig(
        vocab_size=dims["n_vocab"], num_mel_bins=dims["n_mels"], d_model=dims["n_audio_state"],
        encoder_layers=dims["n_audio_layer"], encoder_attention_heads=dims["n_audio_head"],
        decoder_layers=dims["n_text_layer"], decoder_attention_heads=dims["n_text_head"],
        encoder_ffn_dim=4 * dims["n_audio_state"], decoder_ffn_dim=4 * dims["n_text_state"],
        max_source_positions=dims["n_audio_ctx"], max_target_positions=dims["n_text_ctx"],
        decoder_start_token_id=gen.decoder_start_token_id, bos_token_id=gen.bos_token_id,
        eos_token_id=gen.eos_token_id, pad_token_id=gen.pad_token_id,
        suppress_tokens=gen.suppress_tokens, begin_suppress_tokens=gen.begin_suppress_tokens,
        tie_word_embeddings=True,
    )
    if dims["n_audio_state"] != dims["n_text_state"]:
        raise ValueError("transformers Whisper needs equal encoder and decoder widths")
    model = WhisperForConditionalGeneration(config).eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    # transformers keeps no copy of the tied output projection in missing keys when tied.
    if unexpected or [k for k in missing if k != "proj_out.weight"]:
        raise RuntimeError(f"state-dict mapping is incomplete: missing {missing}, unexpected {unexpected}")
    model.generation_config = gen

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    build_tokenizer(dims["n_vocab"]).save_pretrained(out)
    WhisperFeatureExtractor(feature_size=dims["n_mels"]).save_pretrained(out)
    return out


def transformers_to_ctranslate2(hf_dir: str | Path, out_dir: str | Path, quantization: str | None = None) -> Path:
    """Convert a transformers Whisper directory into one faster-whisper loads.

    ``quantization`` sets the stored weight type (None keeps float32); faster-whisper's
    ``compute_type`` can still convert at load time, as it does for the published float16 repos.
    """
    from ctranslate2.converters import TransformersConverter

    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)  # CTranslate2 refuses a non-empty directory unless forced
    TransformersConverter(str(hf_dir), copy_files=list(FASTER_WHISPER_FILES)).convert(
        str(out), quantization=quantization, force=True)
    return out


def convert_whisper_checkpoint(checkpoint: str | Path, out_dir: str | Path, quantization: str | None = None,
                               transformers_dir: str | Path | None = None) -> Path:
    """openai .pt → CTranslate2 directory for faster-whisper. Keeps the transformers model only when
    ``transformers_dir`` is given (otherwise it goes to a temporary directory)."""
    import tempfile

    if transformers_dir is not None:
        return transformers_to_ctranslate2(openai_to_transformers(checkpoint, transformers_dir), out_dir,
                                           quantization)
    with tempfile.TemporaryDirectory(prefix="whisper-hf-") as tmp:
        return transformers_to_ctranslate2(openai_to_transformers(checkpoint, tmp), out_dir, quantization)


def read_ct2_config(model_dir: str | Path) -> dict[str, Any]:
    """CTranslate2's config.json of a converted model (languages, suppressed ids)."""
    return json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
