"""``stt.audio_ctx: utterance``: Whisper's encoder sees only the utterance, not a 30 s window.

The window arithmetic, that a full window through the short-window encoder is exactly the old
computation, that both backends really encode fewer frames, and (real weights, skipped without
the starter pack) that jfk.flac is still heard right. The WER on the FLEURS clips is in the
README ("Short utterances in Whisper"), measured with ``assistant eval stt``.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.io import load_audio
from assistant.eval.wer import word_errors
from assistant.stt.whisper_options import encoder_frames
from tests.shared import shared_audio, starter_model

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


class _Opts:
    def __init__(self, audio_ctx="utterance", margin=1.0, minimum=3.0):
        self.audio_ctx, self.audio_ctx_margin_s, self.audio_ctx_min_s = audio_ctx, margin, minimum


@pytest.mark.parametrize("seconds, opts, frames", [
    (2.0, _Opts("full"), None),
    (2.0, _Opts(), 300),               # the 3 s minimum
    (5.0, _Opts(), 600),               # 5 s + 1 s margin
    (5.01, _Opts(), 602),              # rounded up to an even frame count
    (5.0, _Opts(margin=0.0, minimum=0.0), 500),
    (29.5, _Opts(), 3000),             # never more than one window
    (31.0, _Opts(), None),             # longer audio: full windows
])
def test_encoder_frames(seconds, opts, frames):
    assert encoder_frames(opts, int(seconds * 16000)) == frames


def test_the_tail_is_where_no_segment_can_start():
    from assistant.stt.whisper_options import in_tail

    assert in_tail(12.0, 12.12) and in_tail(13.0, 12.12)  # "... una sociedad. y" (FLEURS es-009)
    assert not in_tail(7.44, 12.12) and not in_tail(0.0, 0.5)


def test_short_window_encoder_is_the_same_computation(tiny_whisper_path):
    import torch
    import whisper

    from assistant.stt.whisper import allow_short_windows

    model = whisper.load_model(str(tiny_whisper_path), device="cpu")
    mel = torch.randn(1, model.dims.n_mels, 3000)
    with torch.no_grad():
        before = model.encoder(mel)
        allow_short_windows(model)
        after = model.encoder(mel)
        short = model.encoder(mel[..., :600])
    assert torch.equal(before, after)
    assert short.shape == (1, 300, model.dims.n_audio_state)
    with pytest.raises(ValueError, match="incorrect audio shape"):
        model.encoder(torch.randn(1, model.dims.n_mels, 3002))


def _encoded_lengths(monkeypatch, stt, audio, language="en"):
    """The encoder input lengths (mel frames) one transcription asked for."""
    seen, last_frames = [], []
    model = stt._model.model if hasattr(stt._model, "model") and hasattr(stt._model, "feature_extractor") \
        else None
    if model is not None:  # faster-whisper: the CTranslate2 model
        real = type(model).encode

        class Spy:
            def __init__(self, inner):
                self._inner = inner

            def __getattr__(self, name):
                return getattr(self._inner, name)

            def encode(self, features, to_cpu=False):
                seen.append(np.asarray(features).shape[-1])
                last_frames.append(np.asarray(features)[0, :, -1].copy())
                return real(self._inner, features, to_cpu=to_cpu)

        monkeypatch.setattr(stt._model, "model", Spy(model))
    else:  # openai-whisper: the encoder module
        encoder = stt._model.encoder
        forward = encoder.forward
        monkeypatch.setattr(encoder, "forward", lambda x: (seen.append(x.shape[-1]), forward(x))[1])
    transcript = stt.transcribe(audio, language=language)
    stt.last_frames = last_frames
    return seen, transcript


def test_faster_whisper_encodes_only_the_utterance(monkeypatch):
    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    path = starter_model("whisper-base-ct2")
    audio = load_audio(shared_audio("jfk.flac"), 16000)  # 11 s
    for ctx in ("full", "utterance"):
        stt = FasterWhisperSTT(FasterWhisperOptions(model=str(path), device="cpu", compute_type="int8",
                                                    beam_size=None, audio_ctx=ctx))
        stt.load()
        expected = encoder_frames(stt.options, len(audio.samples)) or 3000
        seen, transcript = _encoded_lengths(monkeypatch, stt, audio)
        assert seen and set(seen) == {expected}, (ctx, seen)
        assert word_errors(JFK, transcript.text).wer <= 0.1, (ctx, transcript.text)
        if ctx == "utterance":  # the margin is audio silence (Whisper's log-mel floor), not zero log-mel
            assert all(abs(frame).min() > 0.1 for frame in stt.last_frames), stt.last_frames
        # language detection reuses the (short) encoder pass
        probs = stt.detect_language(audio)
        assert next(iter(probs)) == "en"


def test_openai_whisper_encodes_only_the_utterance(monkeypatch):
    from assistant.stt.whisper import WhisperOptions, WhisperSTT

    path = starter_model("whisper-base-openai", "base.pt")
    audio = load_audio(shared_audio("jfk.flac"), 16000)
    stt = WhisperSTT(WhisperOptions(model=str(path), device="cpu", beam_size=None, audio_ctx="utterance"))
    stt.load()
    seen, transcript = _encoded_lengths(monkeypatch, stt, audio)
    assert seen and set(seen) == {encoder_frames(stt.options, len(audio.samples))}, seen
    assert word_errors(JFK, transcript.text).wer <= 0.1, transcript.text
    probs = stt.detect_language(audio)
    assert next(iter(probs)) == "en" and probs["en"] > 0.8
