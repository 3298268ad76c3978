"""A Coqui VITS model with random weights, saved the way Coqui's own models are.

For tests (``size="test"``: tiny, builds and speaks in milliseconds) and compute benchmarks
(``size="real"``: VITS's default dimensions, the compute of e.g. ``tts_models/en/ljspeech/vits``).
Its weights are random: the audio it makes is noise, never speech.

It uses plain characters (no phonemizer, so no espeak/gruut at inference) covering the accented
Latin letters of German, Spanish, French and Portuguese, at 22050 Hz. The files are what
``TTS(model_path=..., config_path=...)`` loads: ``model.pth`` holding ``{"model": state_dict}``
and a ``config.json`` written by the config itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

SAMPLE_RATE = 22050

# Lower case only: the config's "multilingual_cleaners" lower-cases text before tokenising.
LETTERS = "abcdefghijklmnopqrstuvwxyz" + "äöüß" + "áéíóúñ" + "àâæçèêëîïôœùûÿ" + "ãõ" + "0123456789"
PUNCTUATIONS = "!'(),-.:;? ¡¿\"«»"

# Tiny dimensions: every layer of VITS exists, each as small as the architecture allows.
# The decoder's upsample rates must multiply to the hop length (256).
_TINY_ARGS = dict(
    hidden_channels=16,
    hidden_channels_ffn_text_encoder=32,
    num_heads_text_encoder=2,
    num_layers_text_encoder=1,
    num_layers_posterior_encoder=1,
    num_layers_flow=1,
    resblock_kernel_sizes_decoder=[3],
    resblock_dilation_sizes_decoder=[[1, 3, 5]],  # type-1 resblocks take three dilations
    upsample_rates_decoder=[8, 8, 4],
    upsample_kernel_sizes_decoder=[16, 16, 8],
    upsample_initial_channel_decoder=32,
)


def build_vits(
    path: str | Path, size: Literal["test", "real"] = "test", seed: int = 0,
    languages: list[str] | None = None,
) -> tuple[Path, Path]:
    """Build a random-weight VITS under directory ``path``; return ``(model_path, config_path)``.

    For tests and benchmarks only: the weights are random. ``size="real"`` keeps VITS's default
    dimensions (same inference compute as a released VITS; the discriminator, used only in
    training, is left out of both sizes). ``languages`` (two or more ids, e.g. YourTTS's
    ``["en", "fr-fr", "pt-br"]``) makes it multilingual, with a language embedding as YourTTS has.
    """
    import torch

    from assistant.tts.torchaudio_compat import torchaudio_standins

    if size not in ("test", "real"):
        raise ValueError(f"size must be 'test' or 'real', not {size!r}")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)

    with torchaudio_standins():  # coqui-tts imports only where torchaudio can (see that module)
        from TTS.config.shared_configs import BaseAudioConfig
        from TTS.tts.configs.shared_configs import CharactersConfig
        from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
        from TTS.tts.models.vits import Vits

        multilingual = bool(languages and len(languages) > 1)
        args = VitsArgs(init_discriminator=False, use_language_embedding=multilingual,
                        **(_TINY_ARGS if size == "test" else {}))
        config = VitsConfig(
            model_args=args,
            audio=BaseAudioConfig(sample_rate=SAMPLE_RATE, fft_size=1024, win_length=1024, hop_length=256),
            use_phonemes=False,
            phonemizer=None,
            text_cleaner="multilingual_cleaners",
            characters=CharactersConfig(
                characters_class="TTS.tts.models.vits.VitsCharacters",
                pad="<PAD>",
                eos="<EOS>",
                bos="<BOS>",
                blank="<BLNK>",
                characters=LETTERS,
                punctuations=PUNCTUATIONS,
                phonemes=None,
                is_unique=True,
                is_sorted=True,
            ),
            add_blank=True,
            # Single-language: sentence splitting and symbol names follow English; the characters
            # still cover de/es/fr/pt.
            languages=list(languages) if multilingual else ["en"],
            test_sentences=[],
        )
        torch.manual_seed(seed)
        model = Vits(config)  # what coqui's setup_model() does when it loads the files back
        model.eval()

    model_path = out / "model.pth"
    config_path = out / "config.json"
    # A plain dict of tensors: loadable with torch.load(weights_only=True), as coqui does.
    torch.save({"model": model.state_dict()}, model_path)
    model.config.save_json(str(config_path))
    return model_path, config_path
