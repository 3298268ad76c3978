"""``stt: whisper`` on a random-weight checkpoint, loaded through the same code users run.

Random weights give noise for text and never emit end-of-text, so decoding is bounded with
``sample_len`` and temperature 0 (see DESIGN.md); assertions check structure, not words.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.audio.io import load_audio
from assistant.core.errors import ModelNotFoundError, StageError
from assistant.core.types import AudioChunk
from assistant.language.names import WHISPER_LANGUAGES
from assistant.stt.whisper import MODEL_NAMES, WhisperOptions, WhisperSTT
from tests.support.shared import shared_audio

FAST = dict(device="cpu", sample_len=8, temperature=0.0)


def make(path: Path, **overrides) -> WhisperSTT:
    return WhisperSTT(WhisperOptions(model=str(path), **{**FAST, **overrides}))


@pytest.fixture(scope="module")
def stt(tiny_whisper_path: Path) -> WhisperSTT:
    s = make(tiny_whisper_path)
    s.load()
    return s


@pytest.fixture(scope="module")
def jfk() -> AudioChunk:
    return load_audio(shared_audio("jfk.flac"), 16000)


class _Spy:
    """Records the keyword arguments whisper.transcribe receives, then runs it."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, model, audio, **kwargs):
        self.calls.append(kwargs)
        return self.real(model, audio, **kwargs)


# -- options -----------------------------------------------------------------------------------

def test_defaults_and_static_lists_match_whisper():
    import whisper

    o = WhisperOptions()
    assert (o.model, o.language, o.task, o.beam_size, o.fp16) == ("small", "auto", "transcribe", 5, None)
    assert o.temperature == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the whisper CLI's fallback, on by default
    assert set(MODEL_NAMES) == set(whisper.available_models())


@pytest.mark.parametrize("raw, needle", [
    ({"modle": "small"}, "modle"),
    ({"task": "summarise"}, "task"),
    ({"language": "xx"}, "unknown language 'xx'"),
    ({"language": "german"}, "use its code 'de'"),
    ({"model": "smal"}, "unknown whisper model 'smal'"),
    ({"initial_prompt": {"zz": "hi"}}, "unknown language 'zz'"),
    ({"temperature": -0.5}, "temperature"),
    ({"sample_len": 1000}, "sample_len"),
    ({"beam_size": 0}, "beam_size"),
])
def test_options_reject_bad_values(raw, needle):
    with pytest.raises(ValidationError) as e:
        WhisperOptions(**raw)
    assert needle in str(e.value)


def test_options_accept_paths_lists_and_normalise_language():
    o = WhisperOptions(model="./models/mine.pt", temperature=[0.0, 0.2], language="DE")
    assert o.temperature == (0.0, 0.2) and o.language == "de"
    with pytest.raises(ValidationError):
        o.model = "tiny"  # frozen: options never change during a run


def test_prompt_resolution_per_language():
    o = WhisperOptions(initial_prompt={"de": "Hallo Welt.", "*": "Hello."})
    assert o.prompt_for("de") == "Hallo Welt." and o.prompt_for("fr") == "Hello."
    assert WhisperOptions(initial_prompt={"de": "x"}).prompt_for("fr") is None
    assert WhisperOptions(initial_prompt="Hi.").prompt_for("ja") == "Hi."


def test_import_is_light():
    code = "import sys, assistant.stt.whisper as w; w.WhisperOptions(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- loading -----------------------------------------------------------------------------------

def test_load_is_idempotent_and_warmup_runs(tiny_whisper_path):
    s = make(tiny_whisper_path, warmup=True)
    s.load()
    model = s._model
    s.load()
    assert s._model is model and s.device == "cpu" and s.fp16 is False


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nope" / "small.pt"
    with pytest.raises(ModelNotFoundError) as e:
        make(missing).load()
    assert str(missing) in str(e.value)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError, match="cannot load whisper checkpoint"):
        make(bad).load()


def test_named_model_offline_fails_fast(tmp_path, monkeypatch):
    # Hermetic "offline": every request goes to a proxy on a closed local port.
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen caches proxies from the env
    # Not flagged offline (the suite sets HF_HUB_OFFLINE, which alone would refuse at once): the probe must fail.
    from huggingface_hub import constants

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    stt = WhisperSTT(WhisperOptions(model="tiny", device="cpu", download_root=str(tmp_path / "cache")))
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError) as e:
        stt.load()
    assert time.monotonic() - start < 30
    message = str(e.value)
    assert "'tiny'" in message and str(tmp_path / "cache") in message and "load_model('tiny')" in message
    assert "unreachable" in message


# -- inference ---------------------------------------------------------------------------------

def test_detect_language_gives_every_language(stt, jfk):
    probs = stt.detect_language(jfk)
    assert len(probs) == 99 and set(probs) <= set(WHISPER_LANGUAGES)
    assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-4)
    values = list(probs.values())
    assert values == sorted(values, reverse=True)


def test_transcribe_detects_and_fills_every_field(stt, jfk):
    t = stt.transcribe(jfk)
    assert t.language in WHISPER_LANGUAGES and t.task == "transcribe"
    assert 0 < t.language_probability <= 1
    assert list(t.language_probabilities)[0] == t.language and len(t.language_probabilities) == 5
    assert list(t.language_probabilities.values()) == sorted(t.language_probabilities.values(), reverse=True)
    assert math.isclose(t.duration, jfk.duration) and 10 < t.duration < 12
    assert 0 <= t.no_speech_probability <= 1
    assert t.text == t.text.strip()
    for s in t.segments:
        assert 0 <= s.start <= s.end <= 30 and s.text and s.text in t.text
        assert s.avg_logprob <= 0 and 0 <= s.no_speech_probability <= 1
    assert t.avg_logprob is None if not t.segments else t.avg_logprob <= 0
    assert stt.transcribe(jfk) == t  # temperature 0: deterministic


def test_fixed_language_is_honoured(stt, jfk, tiny_whisper_path):
    t = stt.transcribe(jfk, language="de")
    assert (t.language, t.language_probability, t.language_probabilities) == ("de", None, {})
    assert make(tiny_whisper_path, language="fr").transcribe(jfk).language == "fr"


def test_translate_and_other_rates(tiny_whisper_path):
    s = make(tiny_whisper_path, task="translate", beam_size=None)
    audio48 = load_audio(shared_audio("jfk.flac"), 48000)
    t = s.transcribe(audio48, language="es")
    assert t.task == "translate" and math.isclose(t.duration, audio48.duration, rel_tol=1e-3)


def test_initial_prompt_reaches_whisper(tiny_whisper_path, jfk, monkeypatch):
    import whisper

    spy = _Spy(whisper.transcribe)
    monkeypatch.setattr(whisper, "transcribe", spy)
    s = make(tiny_whisper_path, initial_prompt={"de": "Guten Tag.", "*": "Hello."})
    s.transcribe(jfk, language="de")
    s.transcribe(jfk, language="fr")
    s.transcribe(jfk, language="de", initial_prompt="Override.")
    assert [c["initial_prompt"] for c in spy.calls] == ["Guten Tag.", "Hello.", "Override."]
    assert spy.calls[0]["sample_len"] == 8 and spy.calls[0]["fp16"] is False


def test_no_speech_probability_survives_a_dropped_window(tiny_whisper_path, jfk):
    kept = make(tiny_whisper_path).transcribe(jfk, language="en")
    # A threshold of 0 with an unreachable logprob threshold makes whisper drop the window.
    dropped = make(tiny_whisper_path, no_speech_threshold=0.0, logprob_threshold=0.0).transcribe(
        jfk, language="en")
    assert kept.segments and not dropped.segments and dropped.text == ""
    assert dropped.avg_logprob is None
    assert dropped.no_speech_probability == pytest.approx(kept.no_speech_probability)
    assert dropped.no_speech_probability < 1.0  # the computed value, not a placeholder


def test_empty_and_tiny_audio(stt):
    empty = AudioChunk(np.zeros(0, np.float32), 16000)
    t = stt.transcribe(empty)
    assert (t.text, t.segments, t.no_speech_probability, t.duration) == ("", (), 1.0, 0.0)
    assert stt.transcribe(empty, language="de").language == "de"
    assert len(stt.detect_language(empty)) == 99  # padded silence still has a distribution
    short = stt.transcribe(AudioChunk(np.zeros(800, np.float32), 8000))  # 100 ms at another rate
    assert math.isclose(short.duration, 0.1) and 0 <= short.no_speech_probability <= 1


def test_language_the_model_lacks_is_a_stage_error(stt, jfk):
    with pytest.raises(StageError, match="yue"):  # large-v3 only; this checkpoint has 99 languages
        stt.transcribe(jfk, language="yue")


def test_whisper_failure_is_a_stage_error(stt, jfk, monkeypatch):
    import whisper

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(whisper, "transcribe", boom)
    with pytest.raises(StageError, match="kaboom") as e:
        stt.transcribe(jfk, language="en")
    assert e.value.stage == "stt"


def test_english_only_model(tmp_path, jfk):
    from assistant.bench.models.whisper import build_whisper_checkpoint

    s = make(build_whisper_checkpoint(tmp_path / "test.en.pt", size="test.en"))
    assert s.detect_language(jfk) == {"en": 1.0}
    assert s.transcribe(jfk, language="de").language == "en"


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA GPU")
def test_cuda_auto_uses_fp16(tiny_whisper_path, jfk):
    s = make(tiny_whisper_path, device="auto")
    t = s.transcribe(jfk)
    assert (s.device, s.fp16) == ("cuda", True)
    assert t.language in WHISPER_LANGUAGES and 0 <= t.no_speech_probability <= 1
