"""``stt: faster-whisper`` on a converted random-weight checkpoint, through the code users run.

The converted model holds the same weights as the ``whisper`` backend's test checkpoint
(``tiny_whisper_path``), so the two backends can be compared output for output: at float32 with
greedy decoding they agree token for token (checked below). Random weights never emit
end-of-text, so decoding is bounded with ``sample_len`` (see DESIGN.md).
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.audio.io import load_audio
from assistant.config import load_config
from assistant.core import registry
from assistant.core.errors import AssistantError, ModelNotFoundError, StageError
from assistant.core.types import AudioChunk, Transcript
from assistant.language.names import WHISPER_LANGUAGES
from assistant.stt.faster_whisper import MODEL_REPOS, FasterWhisperOptions, FasterWhisperSTT
from tests.support.shared import shared_audio

FAST = dict(device="cpu", sample_len=8, temperature=0.0)
EOT = 50257


@pytest.fixture(scope="session")
def tiny_ct2_path(tiny_whisper_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's tiny whisper checkpoint converted for faster-whisper (same weights)."""
    from assistant.bench.models.convert import convert_whisper_checkpoint

    return convert_whisper_checkpoint(tiny_whisper_path, tmp_path_factory.mktemp("fw") / "test-ct2")


def make(path: Path, **overrides) -> FasterWhisperSTT:
    return FasterWhisperSTT(FasterWhisperOptions(model=str(path), **{**FAST, **overrides}))


@pytest.fixture(scope="module")
def stt(tiny_ct2_path: Path) -> FasterWhisperSTT:
    s = make(tiny_ct2_path, compute_type="float32")
    s.load()
    return s


@pytest.fixture(scope="module")
def jfk() -> AudioChunk:
    return load_audio(shared_audio("jfk.flac"), 16000)


# -- options -----------------------------------------------------------------------------------

def test_defaults_and_model_names_match_faster_whisper():
    from faster_whisper import utils

    o = FasterWhisperOptions()
    assert (o.model, o.compute_type, o.cpu_threads, o.language, o.task, o.beam_size, o.vad_filter) == \
        ("small", "auto", 0, "auto", "transcribe", 5, False)
    assert o.temperature == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the whisper CLI's fallback, on by default
    assert MODEL_REPOS == utils._MODELS


@pytest.mark.parametrize("raw, needle", [
    ({"modle": "small"}, "modle"),
    ({"model": "smal"}, "unknown faster-whisper model 'smal'"),
    ({"compute_type": "int4"}, "compute_type"),
    ({"language": "german"}, "use its code 'de'"),
    ({"initial_prompt": {"zz": "hi"}}, "unknown language 'zz'"),
    ({"temperature": -0.5}, "temperature"),
    ({"sample_len": 1000}, "sample_len"),
    ({"cpu_threads": -1}, "cpu_threads"),
    ({"fp16": True}, "fp16"),  # a whisper option with no meaning here: compute_type replaces it
])
def test_options_reject_bad_values(raw, needle):
    with pytest.raises(ValidationError) as e:
        FasterWhisperOptions(**raw)
    assert needle in str(e.value)


def test_prompt_resolution_is_whispers():
    o = FasterWhisperOptions(initial_prompt={"de": "Hallo Welt.", "*": "Hello."})
    assert o.prompt_for("de") == "Hallo Welt." and o.prompt_for("fr") == "Hello."
    assert FasterWhisperOptions(initial_prompt="Hi.").prompt_for("ja") == "Hi."


def test_import_is_light():
    code = ("import sys, assistant.stt.faster_whisper as f; f.FasterWhisperOptions(); "
            "print(any(m in sys.modules for m in ('torch', 'ctranslate2', 'faster_whisper')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry_entry():
    b = registry.get("stt", "faster-whisper")
    assert b.options_class() is FasterWhisperOptions
    assert isinstance(b.create(FasterWhisperOptions(model="tiny")), FasterWhisperSTT)  # cheap: no load


# -- conversion (assistant/bench/models/convert.py) ----------------------------------------------

def test_conversion_keeps_weights_and_token_ids(tiny_whisper_path, tmp_path):
    import torch
    import whisper
    from transformers import AutoTokenizer, WhisperForConditionalGeneration

    from assistant.bench.models.convert import openai_to_transformers, read_ct2_config, transformers_to_ctranslate2

    hf_dir = openai_to_transformers(tiny_whisper_path, tmp_path / "hf")
    ours = WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    theirs = whisper.load_model(str(tiny_whisper_path), device="cpu")
    mel = torch.randn(1, 80, 3000)
    tokens = torch.tensor([[50258, 50259, 50359, 50363, 400, 1000]])
    with torch.no_grad():
        diff = (ours(input_features=mel, decoder_input_ids=tokens).logits - theirs(mel, tokens)).abs().max()
    assert diff < 1e-3
    tok, ref = AutoTokenizer.from_pretrained(hf_dir), whisper.tokenizer.get_tokenizer(True)
    text = "And so, my fellow Americans — Größe, año, 日本語."
    assert tok.encode(text, add_special_tokens=False) == ref.encode(text)
    assert tok.convert_tokens_to_ids(["<|nospeech|>", "<|notimestamps|>", "<|30.00|>"]) == \
        [ref.no_speech, ref.no_timestamps, ref.timestamp_begin + 1500]
    config = read_ct2_config(transformers_to_ctranslate2(hf_dir, tmp_path / "ct2"))
    assert len(config["lang_ids"]) == 99 and config["suppress_ids_begin"] == [220, 50257]


# -- loading -----------------------------------------------------------------------------------

def test_load_is_idempotent_auto_is_int8_and_warmup_runs(tiny_ct2_path):
    s = make(tiny_ct2_path, warmup=True)
    s.load()
    model = s._model
    s.load()
    assert s._model is model and (s.device, s.compute_type) == ("cpu", "int8")


def test_unsupported_compute_type_falls_back(tiny_ct2_path, caplog):
    import ctranslate2

    if "float16" in ctranslate2.get_supported_compute_types("cpu"):
        pytest.skip("this CPU runs float16")
    s = make(tiny_ct2_path, compute_type="float16")
    s.load()
    assert s.compute_type == "float32" and "not supported" in caplog.text


def test_missing_directory_names_it(tmp_path):
    missing = tmp_path / "nope" / "model-ct2"
    with pytest.raises(ModelNotFoundError) as e:
        make(missing).load()
    assert str(missing) in str(e.value)


def test_directory_without_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model.bin"):
        make(tmp_path).load()


def test_corrupt_model_is_a_clear_error(tiny_ct2_path, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_ct2_path, bad)
    (bad / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelNotFoundError, match="cannot load faster-whisper model"):
        make(bad).load()


def test_named_model_with_hf_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError) as e:
        FasterWhisperSTT(FasterWhisperOptions(model="tiny", device="cpu", download_root=str(tmp_path))).load()
    assert time.monotonic() - start < 10
    message = str(e.value)
    assert "'tiny'" in message and "Systran/faster-whisper-tiny" in message and str(tmp_path) in message
    assert "HF_HUB_OFFLINE" in message and "hf download" in message


def test_named_model_without_network_fails_fast(tmp_path, monkeypatch):
    from huggingface_hub import constants

    # Not marked offline, but every request goes to a proxy on a closed local port.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError, match="unreachable") as e:
        FasterWhisperSTT(FasterWhisperOptions(model="base", device="cpu", download_root=str(tmp_path))).load()
    assert time.monotonic() - start < 30
    assert "Systran/faster-whisper-base" in str(e.value)


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
    assert math.isclose(t.duration, jfk.duration) and 10 < t.duration < 12
    assert 0 <= t.no_speech_probability <= 1
    assert isinstance(t.segments, tuple) and t.text == t.text.strip()
    for s in t.segments:
        assert 0 <= s.start <= s.end <= 30 and s.text and s.text in t.text
        assert s.avg_logprob <= 0 and 0 <= s.no_speech_probability <= 1
    assert t.avg_logprob is None if not t.segments else t.avg_logprob <= 0
    assert stt.transcribe(jfk) == t  # temperature 0: deterministic


def test_fixed_language_translate_and_other_rates(stt, jfk, tiny_ct2_path):
    t = stt.transcribe(jfk, language="de")
    assert (t.language, t.language_probability, t.language_probabilities) == ("de", None, {})
    s = make(tiny_ct2_path, task="translate", beam_size=None, language="fr")
    audio48 = load_audio(shared_audio("jfk.flac"), 48000)
    t = s.transcribe(audio48)
    assert (t.task, t.language) == ("translate", "fr") and math.isclose(t.duration, audio48.duration, rel_tol=1e-3)


def test_initial_prompt_and_options_reach_faster_whisper(tiny_ct2_path, jfk, monkeypatch):
    from faster_whisper import WhisperModel

    calls = []
    real = WhisperModel.transcribe

    def spy(self, audio, **kwargs):
        calls.append(kwargs)
        return real(self, audio, **kwargs)

    monkeypatch.setattr(WhisperModel, "transcribe", spy)
    s = make(tiny_ct2_path, initial_prompt={"de": "Guten Tag.", "*": "Hello."}, vad_filter=True,
             beam_size=2, temperature=[0.0, 0.4], audio_ctx="full")  # (utterance: test_audio_ctx)
    s.transcribe(jfk, language="de")
    s.transcribe(jfk, language="fr")
    s.transcribe(jfk, language="de", initial_prompt="Override.")
    assert [c["initial_prompt"] for c in calls] == ["Guten Tag.", "Hello.", "Override."]
    c = calls[0]
    assert (c["max_new_tokens"], c["beam_size"], c["temperature"], c["vad_filter"], c["task"]) == \
        (8, 2, [0.0, 0.4], True, "transcribe")
    assert c["condition_on_previous_text"] is False


def test_no_speech_probability_survives_a_dropped_window(tiny_ct2_path, jfk):
    kept = make(tiny_ct2_path).transcribe(jfk, language="en")
    dropped = make(tiny_ct2_path, no_speech_threshold=0.0, logprob_threshold=0.0).transcribe(jfk, language="en")
    assert kept.segments and not dropped.segments and dropped.text == ""
    assert dropped.no_speech_probability == pytest.approx(kept.no_speech_probability, rel=1e-3)
    assert dropped.no_speech_probability < 1.0


def test_empty_and_tiny_audio(stt):
    empty = AudioChunk(np.zeros(0, np.float32), 16000)
    t = stt.transcribe(empty)
    assert (t.text, t.segments, t.no_speech_probability, t.duration) == ("", (), 1.0, 0.0)
    assert stt.transcribe(empty, language="de").language == "de"
    assert len(stt.detect_language(empty)) == 99
    short = stt.transcribe(AudioChunk(np.zeros(800, np.float32), 8000))
    assert math.isclose(short.duration, 0.1) and 0 <= short.no_speech_probability <= 1


def test_language_the_model_lacks_is_a_stage_error(stt, jfk):
    with pytest.raises(StageError, match="yue"):
        stt.transcribe(jfk, language="yue")


def test_failure_is_a_stage_error(stt, jfk, monkeypatch):
    from faster_whisper import WhisperModel

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(WhisperModel, "transcribe", boom)
    with pytest.raises(StageError, match="kaboom") as e:
        stt.transcribe(jfk, language="en")
    assert e.value.stage == "stt"


def test_max_new_tokens_decodes_exactly_that_many(stt, jfk):
    # CTranslate2 alone would stop at (prompt + 20) / 2 = 12 tokens (its half-context cap).
    segments, probe = stt.run(jfk.samples, language="en", beam_size=1, temperature=[0.0], max_new_tokens=20,
                              without_timestamps=True, suppress_tokens=[-1, EOT], no_speech_threshold=None)
    assert isinstance(segments, list)  # materialised, not faster-whisper's lazy generator
    assert [len(s) for s in probe.sequences] == [20]


def test_english_only_model(tmp_path, jfk):
    from assistant.bench.models.convert import convert_whisper_checkpoint
    from assistant.bench.models.whisper import build_whisper_checkpoint

    ct2 = convert_whisper_checkpoint(build_whisper_checkpoint(tmp_path / "test.en.pt", size="test.en"),
                                     tmp_path / "test.en-ct2")
    s = make(ct2)
    assert s.detect_language(jfk) == {"en": 1.0}
    assert s.transcribe(jfk, language="de").language == "en"


# -- interchangeability with the whisper backend -------------------------------------------------

SHARED_YAML = """\
stt:
  backend: {backend}
  model: {model}
  device: cpu
  language: auto
  sample_len: 8
  temperature: 0.0
  beam_size: null
"""


def _from_yaml(tmp_path: Path, backend: str, model: Path, overrides: list[str] = ()) -> object:
    """The same YAML, only the backend line (and its model's path: the formats differ) swapped."""
    config = tmp_path / f"{backend}.yaml"
    config.write_text(SHARED_YAML.format(backend=backend, model=model))
    cfg = load_config(config, list(overrides))
    stt = registry.get("stt", cfg.stt.backend).create(cfg.stt)
    stt.load()
    return stt


@pytest.mark.parametrize("compute_type, exact", [("float32", True), ("int8", False)])
def test_same_yaml_either_backend_same_transcript(tmp_path, tiny_whisper_path, tiny_ct2_path, jfk,
                                                  compute_type, exact):
    reference = _from_yaml(tmp_path, "whisper", tiny_whisper_path).transcribe(jfk)
    fast_stt = _from_yaml(tmp_path, "faster-whisper", tiny_ct2_path,
                          [f"stt.compute_type={compute_type}", f"stt.exact_detection={exact}"])
    assert isinstance(fast_stt, FasterWhisperSTT)
    fast = fast_stt.transcribe(jfk)
    assert isinstance(fast, Transcript) and isinstance(reference, Transcript)
    for name in ("language", "language_probability", "no_speech_probability", "avg_logprob", "task", "duration"):
        assert type(getattr(fast, name)) is type(getattr(reference, name)), name
    assert len(fast.language_probabilities) == len(reference.language_probabilities) == 5
    assert len(fast.segments) == len(reference.segments)
    if compute_type == "float32":
        # Same weights, same mel, greedy: the same transcript, and the numbers to float precision.
        assert (fast.text, fast.language, fast.task) == (reference.text, reference.language, reference.task)
        spans = lambda t: [(s.start, s.end, s.text) for s in t.segments]  # noqa: E731
        assert spans(fast) == spans(reference)
        assert fast.language_probability == pytest.approx(reference.language_probability, abs=1e-4)
        assert fast.no_speech_probability == pytest.approx(reference.no_speech_probability, rel=1e-2, abs=1e-6)
        assert fast.avg_logprob == pytest.approx(reference.avg_logprob, abs=1e-3)
        for code, p in reference.language_probabilities.items():
            assert fast.language_probabilities[code] == pytest.approx(p, abs=1e-4)


def test_exact_detection_matches_whisper_backend(tiny_ct2_path, tiny_whisper_path, jfk):
    from assistant.stt.whisper import WhisperOptions, WhisperSTT

    reference = WhisperSTT(WhisperOptions(model=str(tiny_whisper_path), device="cpu")).detect_language(jfk)
    fast = make(tiny_ct2_path, compute_type="float32", exact_detection=True).detect_language(jfk)
    assert list(fast)[:5] == list(reference)[:5]
    assert max(abs(fast[k] - reference[k]) for k in reference) < 1e-4


class _CountingModel:
    def __init__(self, model):
        self.model, self.encodes = model, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def encode(self, *args, **kwargs):
        self.encodes += 1
        return self.model.encode(*args, **kwargs)


@pytest.mark.parametrize("exact, encodes", [(False, 1), (True, 2)])
def test_default_detection_reuses_the_encoder_pass(tiny_ct2_path, jfk, exact, encodes):
    s = make(tiny_ct2_path, compute_type="float32", exact_detection=exact, audio_ctx="full")
    s.load()
    counter = s._model.model = _CountingModel(s._model.model)
    t = s.transcribe(jfk)
    assert counter.encodes == encodes and t.language_probability is not None
    if not exact:  # faster-whisper's own detection (which also keeps the window's last mel frame)
        _, _, theirs = s._model.detect_language(jfk.samples)
        ours = s.detect_language(jfk)
        assert max(abs(ours[code] - p) for code, p in theirs) < 1e-3
        assert s.transcribe(jfk) == t


def _cuda_gpus() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


@pytest.mark.skipif(_cuda_gpus() == 0, reason="needs a CUDA GPU that CTranslate2 can use")
def test_cuda_auto_uses_float16(tiny_ct2_path, jfk):
    s = make(tiny_ct2_path, device="auto")
    t = s.transcribe(jfk)
    assert (s.device, s.compute_type) == ("cuda", "float16")
    assert t.language in WHISPER_LANGUAGES and 0 <= t.no_speech_probability <= 1


def test_cuda_without_gpu_is_a_clear_error(tiny_ct2_path):
    if _cuda_gpus():
        pytest.skip("a GPU is present")
    with pytest.raises(AssistantError, match="no CUDA GPU"):
        make(tiny_ct2_path, device="cuda").load()
