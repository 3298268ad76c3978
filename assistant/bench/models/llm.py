"""A random-weight Qwen2 chat model with a small trained tokenizer, for tests and benchmarks only.

Its output is noise. It exists so the real loading and decoding code (``AutoTokenizer`` /
``AutoModelForCausalLM.from_pretrained`` on a directory) can run on machines with no model hub.
"""

from __future__ import annotations

from pathlib import Path

# Qwen's ChatML template, reduced to what the assistant sends (role + content, no tools).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_QWEN_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# A few sentences per language the assistant targets, so merges cover accented text too.
_CORPUS = [
    "Hello! How can I help you today? The weather is nice and sunny.",
    "What time is it? Please tell me a short story about a cat.",
    "Hallo! Wie kann ich dir heute helfen? Das Wetter ist schön, übermorgen regnet es.",
    "Wie spät ist es? Erzähl mir bitte eine kurze Geschichte über eine Katze.",
    "¡Hola! ¿En qué puedo ayudarte hoy? El tiempo está soleado y agradable.",
    "¿Qué hora es? Cuéntame una historia corta sobre un gato, por favor.",
    "Bonjour ! Comment puis-je vous aider aujourd'hui ? Il fait beau et ensoleillé.",
    "Quelle heure est-il ? Raconte-moi une courte histoire à propos d'un chat.",
    "Olá! Como posso ajudar você hoje? O tempo está ensolarado e agradável.",
    "Que horas são? Conte-me uma história curta sobre um gato, por favor.",
    "You are a helpful voice assistant. Answer briefly. system user assistant",
]

# Model dims per size. "0.5b" matches Qwen2.5-0.5B so benchmarks cost the real compute.
SIZES: dict[str, dict] = {
    # initializer_range 0.2 (not 0.02): near-uniform logits make greedy decoding repeat one
    # token forever, which hides bugs in streaming and stopping.
    "test": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=None,
                 initializer_range=0.2),
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, vocab_size=151936),
}


def build_tokenizer(vocab_size: int = 600):
    """Byte-level BPE (like Qwen's) trained on ``_CORPUS``, wrapped for transformers."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # Qwen2's own pipeline (NFC, its split regex, then bytes), so the saved tokenizer.json and
    # transformers' Qwen2Tokenizer (which AutoTokenizer picks from config.json) agree.
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        # every byte is in the vocabulary, so any text (any language) encodes
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        chat_template=CHATML_TEMPLATE,
    )


def build_causal_lm(path: str | Path, size: str = "test", seed: int = 0) -> Path:
    """Save a random-weight Qwen2 chat model to ``path`` and return it.

    ``size="test"``: a few hundred thousand parameters, loads and decodes in milliseconds.
    ``size="0.5b"``: Qwen2.5-0.5B dimensions (vocabulary 151936) for speed benchmarks; the
    tokenizer stays small, so only ids below its size appear in prompts, and generated ids
    beyond it decode to nothing (fix the token count when timing).
    Random weights, tests and benchmarks only.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    if size not in SIZES:
        raise ValueError(f"unknown size '{size}' (valid: {', '.join(SIZES)})")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = build_tokenizer()
    dims = dict(SIZES[size])
    dims["vocab_size"] = dims["vocab_size"] or len(tokenizer)
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        **dims,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )

    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    # Qwen ships both end tokens as eos in generation_config; mirror that so backends handle lists.
    model.generation_config = GenerationConfig(
        bos_token_id=pad_id, eos_token_id=[eos_id, pad_id], pad_token_id=pad_id
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
