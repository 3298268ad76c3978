"""``stt.audio_ctx: utterance``: Whisper's encoder sees only the utterance, not a 30 s window.

The window arithmetic, that a full window through the short-window encoder is exactly the old
computation, that both backends really encode fewer frames, and (real weights, skipped without
the starter pack) that jfk.flac is still heard right. The WER on the FLEURS clips is in the
docs/quality.md ("Short utterances in Whisper"), measured with ``assistant eval stt``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from assistant.audio.io import load_audio
from assistant.eval.wer import word_errors
from assistant.stt.whisper_options import encoder_frames
from tests.support.shared import shared_audio, starter_model

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


def test_faster_whisper_turn_encodes_the_utterance_once(monkeypatch):
    """A turn detects the language, then transcribes in the language it chose: the decode reuses
    the detection's encoder pass (it used to encode the same window again)."""
    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    stt = FasterWhisperSTT(FasterWhisperOptions(model=str(starter_model("whisper-base-ct2")), device="cpu",
                                                compute_type="int8", beam_size=None))
    stt.load()
    audio = load_audio(shared_audio("jfk.flac"), 16000)
    assert next(iter(stt.detect_language(audio))) == "en"
    seen, transcript = _encoded_lengths(monkeypatch, stt, audio, language="en")
    assert seen == [], seen
    assert word_errors(JFK, transcript.text).wer <= 0.1, transcript.text
    other = load_audio(shared_audio("jfk.flac"), 16000)
    other = type(other)(other.samples[: len(other.samples) // 2].copy(), 16000)  # other audio: encoded anew
    seen, _ = _encoded_lengths(monkeypatch, stt, other, language="en")
    assert seen == [encoder_frames(stt.options, len(other.samples))], seen


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


@pytest.mark.parametrize("checks, lengths, failed", [
    ([(1.2, -0.3, 0.01)], [20], False),
    ([(2.6, -0.3, 0.01)], [20], True),     # too repetitive: a loop
    ([(1.2, -1.4, 0.01)], [20], True),     # too unsure
    ([(1.2, -1.4, 0.9)], [20], False),     # unsure because it is silence
    ([(1.2, -0.3, 0.01)], [50], True),     # reached the token budget
    ([], [], False),                       # nothing said
])
def test_window_failed(checks, lengths, failed):
    from assistant.stt.faster_whisper import FasterWhisperOptions
    from assistant.stt.whisper_options import window_failed

    assert window_failed(checks, lengths, FasterWhisperOptions(), budget=50) is failed


def test_a_failed_utterance_window_is_decoded_again_on_the_full_window():
    """No temperature fallback on the short window (sampling loops again there): one greedy try
    with a token budget, one with a second more of margin, then the full window, one
    temperature at a time."""
    from types import SimpleNamespace

    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    stt = FasterWhisperSTT(FasterWhisperOptions(retry_budget=5, retry_max_s=1000))
    calls = []
    results = [(0.6, -0.2), (1.1, -0.2)]  # compression ratio 0.6 ok; the second call's result

    def decode(samples, frames, language, prompt, encoded, overrides):
        time.sleep(0.05)  # the retries' time is measured against the first decode's
        calls.append((len(samples), frames, overrides.get("temperature"), overrides.get("max_new_tokens")))
        ratio, logprob = (3.0, -0.2) if frames is not None and looping else results.pop(0)
        seg = SimpleNamespace(start=0.0, text=" words", compression_ratio=ratio, avg_logprob=logprob,
                              no_speech_prob=0.0)
        return [seg], SimpleNamespace(sequences=[[1] * 10], encoded=None)

    stt._decode = decode
    audio = np.zeros(5 * 16000, np.float32)
    for looping in (False, True):
        calls.clear()
        stt.run(audio, language="en")
        if not looping:  # one call: the utterance plus 2 s of silence, greedy, a budget of 20 + 15/s
            assert calls == [(700 * 160, 700, [0.0], 95)]
        else:  # then a second more of margin, then the real audio on the full window at the first temperature
            assert calls[0] == (700 * 160, 700, [0.0], 95) and calls[1][:3] == (800 * 160, 800, [0.0])
            assert calls[2][:3] == (len(audio), None, [0.0])


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _scripted(outcomes, clock, seconds_per_token=0.01):
    """short/full callables for ``short_window_first`` that play ``outcomes`` in order: each a
    (compression ratio, tokens decoded) pair, taking ``seconds_per_token`` × tokens of the clock."""
    calls = []

    def play(kind, language, temperature, budget):
        ratio, tokens = outcomes.pop(0)
        tokens = min(tokens, budget)
        clock.now += seconds_per_token * tokens
        calls.append((kind, language, temperature, budget))
        return (kind, language, temperature, len(calls) - 1), [(ratio, -0.3, 0.01)], [tokens]

    return (lambda frames, budget, lang: play("short", lang, 0.0, budget),
            lambda lang, temperature, budget: play("full", lang, temperature, budget), calls)


def test_retries_try_the_next_candidate_language_before_the_full_window():
    from assistant.stt.faster_whisper import FasterWhisperOptions
    from assistant.stt.whisper_options import short_window_first

    clock = _Clock()
    short, full, calls = _scripted([(3.0, 40), (1.2, 30)], clock)  # French fails, Portuguese passes
    result, language = short_window_first(FasterWhisperOptions(), 4 * 16000, short, full, ("fr", "pt", "es"),
                                          clock=clock)
    assert (result, language) == (("short", "pt", 0.0, 1), "pt")
    assert [c[:2] for c in calls] == [("short", "fr"), ("short", "pt")]


def test_retries_are_bounded_by_time_and_keep_the_least_failed():
    """Every try loops: the retries (a wider window, then the full window per temperature) stop
    when a normal decode's time (× retry_budget) is spent, whatever the schedule still holds, and
    the least failed result is kept."""
    from assistant.stt.faster_whisper import FasterWhisperOptions
    from assistant.stt.whisper_options import normal_tokens, short_window_first

    n = 4 * 16000
    for budget in (0.0, 1.0, 10.0):
        clock = _Clock()
        ratios = [3.5, 3.2, 2.9, 3.0, 3.0, 3.0, 3.0, 3.0]
        short, full, calls = _scripted([(r, 200) for r in ratios], clock)
        options = FasterWhisperOptions(retry_budget=budget)
        result, language = short_window_first(options, n, short, full, ("de",), clock=clock)
        first = 0.01 * 80  # the first decode took 0.8 s for its 80 tokens
        assert clock.now <= first + budget * 0.01 * normal_tokens(n) + 1e-9, (budget, calls)
        assert language == "de"
        if budget == 0.0:
            assert len(calls) == 1 and result[3] == 0
        elif budget == 1.0:  # the wider window only: the full window's encoder does not fit
            assert [c[0] for c in calls] == ["short", "short"] and result[3] == 1
        else:
            assert [c[0] for c in calls][:3] == ["short", "short", "full"] and len(calls) <= 8, calls
            assert result == ("full", "de", 0.0, 2)  # ratio 2.9: the least failed
    # the hard cap in seconds wins over the relative budget
    clock = _Clock()
    short, full, calls = _scripted([(3.5, 80)] + [(3.0, 200)] * 6, clock, seconds_per_token=1.0)
    short_window_first(FasterWhisperOptions(retry_budget=10, retry_max_s=5.0), n, short, full, ("de",), clock=clock)
    assert len(calls) == 1 and clock.now == 80.0  # 5 s hold 5 tokens, too few for the utterance


def test_failure_ranks_decodes():
    from assistant.stt.faster_whisper import FasterWhisperOptions
    from assistant.stt.whisper_options import failure

    o = FasterWhisperOptions()
    assert failure([(1.2, -0.3, 0.01)], [20], o, 50) == 0.0
    assert failure([(2.6, -0.3, 0.01)], [20], o, 50) < failure([(3.6, -0.3, 0.01)], [20], o, 50)
    assert failure([(1.2, -1.5, 0.9)], [20], o, 50) == 0.0  # unsure because silent
    assert failure([(1.2, -0.3, 0.01)], [50], o, 50) == 1.0  # out of tokens


def test_spoken_drops_the_tail_and_punctuation_after_the_last_word():
    from types import SimpleNamespace as S

    from assistant.stt.whisper_options import spoken

    def seg(start, text):
        return S(start=start, text=text)

    def run(segments, duration=6.7):
        return [s.text for s in spoken(segments, lambda s: s.text, lambda s: s.start, duration)]

    words, dots = seg(0.0, " l'accident a eu lieu"), seg(6.42, " ...")  # FLEURS fr-000
    assert run([words, seg(5.18, " un incendie."), dots]) == [" l'accident a eu lieu", " un incendie."]
    assert run([words, seg(3.0, " ..."), seg(5.18, " 110.")]) == [" l'accident a eu lieu", " ...", " 110."]
    assert run([words, seg(6.6, " y")]) == [" l'accident a eu lieu"]  # in the quiet tail
    assert run([seg(0.0, " - !"), seg(2.0, "…")]) == []
    assert run([]) == []


def test_punctuation_after_the_words_fails_no_check_and_starts_no_retry():
    """A first decode whose only doubtful segment is "..." after the words (log-probability -1.6)
    is kept: no second decode of the same sentence."""
    from types import SimpleNamespace

    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    for trailing, decodes in ((" ...", 1), (" un", 2)):
        stt = FasterWhisperSTT(FasterWhisperOptions(retry_budget=5, retry_max_s=1000))
        calls = []

        def decode(samples, frames, language, prompt, encoded, overrides, trailing=trailing, calls=calls):
            time.sleep(0.02)
            calls.append(frames)
            segments = [SimpleNamespace(start=0.0, text=" l'accident", compression_ratio=1.1, avg_logprob=-0.4,
                                        no_speech_prob=0.38)]
            if len(calls) == 1:  # the doubtful last segment, in the first decode only
                segments.append(SimpleNamespace(start=4.2, text=trailing, compression_ratio=0.3,
                                                avg_logprob=-1.64, no_speech_prob=0.54))
            return segments, SimpleNamespace(sequences=[[1] * 10], encoded=None)

        stt._decode = decode
        stt.run(np.zeros(5 * 16000, np.float32), language="fr")
        assert len(calls) == decodes, (trailing, calls)


def test_real_french_sentence_is_decoded_once_and_its_log_mel_computed_once(monkeypatch):
    """FLEURS fr-000 with the starter Whisper base as a live turn runs it (detect, then transcribe in
    the detected language): Whisper writes "..." into the margin after the sentence; that no
    longer decodes the sentence a second time, the log-mel detection computed is reused, and the
    words are the same as with both done twice."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from bench_speaker import speech_only  # the clip trimmed to its speech, as the live endpointer cuts it

    from assistant.core.types import AudioChunk
    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    path = starter_model("whisper-base-ct2")
    audio = AudioChunk(speech_only(shared_audio("fleurs") / "fleurs-fr-000.ogg"), 16000)
    stt = FasterWhisperSTT(FasterWhisperOptions(model=str(path), device="cpu", compute_type="int8",
                                                beam_size=None))
    stt.load()
    decodes, mels = [], []
    real_decode, extractor = stt._decode, stt._model.feature_extractor

    class CountingExtractor:
        def __getattr__(self, name):
            return getattr(extractor, name)

        def __call__(self, *args, **kwargs):
            mels.append(1)
            return extractor(*args, **kwargs)

    monkeypatch.setattr(stt, "_decode", lambda *a, **k: (decodes.append(a[1]), real_decode(*a, **k))[1])
    monkeypatch.setattr(stt._model, "feature_extractor", CountingExtractor())
    assert next(iter(stt.detect_language(audio))) == "fr"
    transcript = stt.transcribe(audio, language="fr")
    assert len(decodes) == 1 and len(mels) == 1, (decodes, mels)
    assert "..." not in transcript.text
    reference = (shared_audio("fleurs") / "fleurs-fr-000.txt").read_text()
    assert word_errors(reference, transcript.text).wer <= 0.25, transcript.text
