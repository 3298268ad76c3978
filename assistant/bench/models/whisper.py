"""Random-weight openai-whisper checkpoints, for tests and benchmarks only.

The weights are random: the text they produce is noise. What is real is everything else — the
file format ``whisper.load_model(path)`` reads, the architecture, the multilingual vocabulary
(51865 tokens, so whisper's bundled tokenizer and its 99 language tokens work) and, at the real
sizes, the compute cost. That lets the loading and inference code users run be tested, and
timed, on machines that cannot download the published weights.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

#: ModelDimensions per size. "test" is as small as whisper allows while keeping what its code
#: hard-wires: 80 mel bins, 1500 audio positions (30 s windows), 448 text positions and the
#: multilingual vocabulary. The others are the published dims of the real models.
DIMS: dict[str, dict[str, int]] = {
    "test": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                 n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1),
    # English-only models have one token fewer (no language tokens to pick from)
    "test.en": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                    n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1),
    "tiny": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=384, n_audio_head=6, n_audio_layer=4,
                 n_vocab=51865, n_text_ctx=448, n_text_state=384, n_text_head=6, n_text_layer=4),
    "base": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=512, n_audio_head=8, n_audio_layer=6,
                 n_vocab=51865, n_text_ctx=448, n_text_state=512, n_text_head=8, n_text_layer=6),
    "small": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=768, n_audio_head=12, n_audio_layer=12,
                  n_vocab=51865, n_text_ctx=448, n_text_state=768, n_text_head=12, n_text_layer=12),
    "medium": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=1024, n_audio_head=16, n_audio_layer=24,
                   n_vocab=51865, n_text_ctx=448, n_text_state=1024, n_text_head=16, n_text_layer=24),
    # large-v3 and turbo: 128 mel bins and 100 languages (one more vocabulary token)
    "large-v3": dict(n_mels=128, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20,
                     n_audio_layer=32, n_vocab=51866, n_text_ctx=448, n_text_state=1280,
                     n_text_head=20, n_text_layer=32),
    "turbo": dict(n_mels=128, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20,
                  n_audio_layer=32, n_vocab=51866, n_text_ctx=448, n_text_state=1280,
                  n_text_head=20, n_text_layer=4),
}


def build_whisper_checkpoint(path: str | Path, size: str = "test", seed: int = 0) -> Path:
    """Write a random-weight checkpoint of ``size`` to ``path`` (a .pt file); return the path.

    Deterministic per ``seed``; the global torch RNG is left untouched.
    """
    import torch
    from whisper.model import ModelDimensions, Whisper

    if size not in DIMS:
        raise ValueError(f"unknown size '{size}' (valid: {', '.join(DIMS)})")
    dims = ModelDimensions(**DIMS[size])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Whisper(dims)
        # Whisper() leaves the decoder's positional embedding as torch.empty (the real value
        # comes from the checkpoint): uninitialised memory gives run-to-run noise or NaN.
        with torch.no_grad():
            model.decoder.positional_embedding.normal_(0.0, 0.01)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # load_model uses torch.load(weights_only=True): a plain dict of ints and tensors only.
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, p)
    return p
