"""Coqui TTS backend: real loading and inference code on a tiny random-weight VITS, the
model-name checks that must fail fast offline, and the torchaudio/torchcodec stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.core.errors import ConfigError, MissingDependencyError, ModelNotFoundError, NoVoiceError
from assistant.tts import torchaudio_compat
from assistant.tts.coqui import CoquiOptions, CoquiTTS, normalise_language

ROOT = Path(__file__).resolve().parents[2]


def voice(model: str | Path, **options) -> CoquiTTS:
    return CoquiTTS(CoquiOptions(model=str(model), device="cpu", **options))


@pytest.fixture(scope="module")
def loaded(tiny_vits) -> CoquiTTS:
    model_path, config_path = tiny_vits
    tts = voice(model_path, config=str(config_path))
    tts.load()
    return tts


# -- loading and speaking ------------------------------------------------------------------------


@pytest.mark.parametrize("language, text", [
    ("de", "Grüß Gott! Die Straße ist schön, und Öl ist teuer."),
    ("es", "¿Qué tal? Mañana habrá más canción."),
    ("fr", "Ça va très bien, merci. Où est la forêt ?"),
    ("pt", "Olá, tudo bem? A informação está à mão."),
])
def test_tiny_vits_speaks_accented_text(loaded, language, text):
    chunks = list(loaded.synthesize(text, language))
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.sample_rate == 22050 == loaded.sample_rate  # the rate in the model's config
    assert chunk.samples.dtype == np.float32 and chunk.samples.size > 1000
    assert np.isfinite(chunk.samples).all() and np.abs(chunk.samples).max() <= 1.0


def test_empty_text_yields_nothing(loaded):
    assert list(loaded.synthesize("  ", "en")) == []


def test_model_directory_finds_its_checkpoint_and_config(tiny_vits):
    tts = voice(tiny_vits[0].parent)
    tts.load()
    assert list(tts.synthesize("Hallo.", "de"))[0].sample_rate == 22050


def test_local_single_language_model_leaves_the_choice_to_the_voice_map(loaded):
    assert loaded.supports("de") is None and loaded.model_languages is None


def test_speed_scales_vits_durations(tiny_vits):
    tts = voice(tiny_vits[0], config=str(tiny_vits[1]), speed=2.0)
    tts.load()
    assert tts._tts.synthesizer.tts_model.length_scale == pytest.approx(0.5)


def test_speaker_on_single_speaker_model_is_a_config_error(tiny_vits):
    with pytest.raises(ConfigError, match="one speaker"):
        voice(tiny_vits[0], config=str(tiny_vits[1]), speaker="p225").load()


def test_multilingual_model_maps_whisper_codes_to_its_language_ids(tmp_path):
    from assistant.bench.models.tts import build_vits

    model_path, config_path = build_vits(tmp_path, languages=["en", "fr-fr", "pt-br"])
    tts = voice(model_path, config=str(config_path))
    assert tts.supports("fr") is None  # can't tell before loading
    tts.load()
    assert tts.model_languages == ["en", "fr-fr", "pt-br"]
    assert tts.supports("fr") and tts.supports("pt") and not tts.supports("de")
    assert list(tts.synthesize("Olá, tudo bem?", "pt"))[0].samples.size > 0
    with pytest.raises(NoVoiceError):
        list(tts.synthesize("Hallo.", "de"))


# -- missing models ------------------------------------------------------------------------------


def test_missing_local_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="neither a local file"):
        voice(tmp_path / "nope.pth").load()


def test_local_model_without_config(tmp_path, tiny_vits):
    lonely = tmp_path / "model.pth"
    lonely.write_bytes(tiny_vits[0].read_bytes())
    with pytest.raises(ModelNotFoundError, match="config"):
        voice(lonely).load()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Coqui cache, and every HTTP(S) request sent to a closed local port: offline, on
    any machine, through the same proxy settings requests honours."""
    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts_home"))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "tts_home"


def test_model_name_offline_fails_fast_naming_model_cache_and_fix(offline):
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError) as caught:
        voice("tts_models/en/ljspeech/vits").load()
    assert time.monotonic() - start < 15
    message = str(caught.value)
    assert "tts_models/en/ljspeech/vits" in message
    assert str(offline) in message  # where it looked
    assert "tts --model_name tts_models/en/ljspeech/vits" in message  # how to fetch it


def test_model_name_loads_from_coquis_cache_offline(offline, tiny_vits):
    cached = offline / "tts" / "tts_models--en--ljspeech--vits"  # where Coqui keeps this name
    cached.mkdir(parents=True)
    (cached / "model_file.pth").write_bytes(tiny_vits[0].read_bytes())
    (cached / "config.json").write_bytes(tiny_vits[1].read_bytes())
    tts = voice("tts_models/en/ljspeech/vits")
    tts.load()
    assert tts.supports("en") is True
    assert list(tts.synthesize("Hello there.", "en"))[0].sample_rate == 22050


def test_incomplete_cache_entry_says_so(offline):
    cached = offline / "tts" / "tts_models--en--ljspeech--vits"
    cached.mkdir(parents=True)
    (cached / "readme.txt").write_text("an interrupted download")
    with pytest.raises(ModelNotFoundError, match="incomplete"):
        voice("tts_models/en/ljspeech/vits").load()


def test_unknown_model_name(offline):
    with pytest.raises(ModelNotFoundError, match="not a Coqui model name"):
        voice("tts_models/en/nobody/nothing").load()


def test_licensed_model_asks_for_agreement_instead_of_prompting(offline, monkeypatch):
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    with pytest.raises(ModelNotFoundError, match="COQUI_TOS_AGREED"):
        voice("tts_models/multilingual/multi-dataset/xtts_v2").load()


@pytest.mark.parametrize("model, language, expected", [
    ("tts_models/de/thorsten/vits", "de", True),
    ("tts_models/de/thorsten/vits", "en", False),
    ("tts_models/zh-CN/baker/tacotron2-DDC-GST", "zh", True),
    ("tts_models/deu/fairseq/vits", "de", True),
    ("tts_models/multilingual/multi-dataset/your_tts", "fr", None),
])
def test_supports_by_model_name(model, language, expected):
    assert voice(model).supports(language) is expected


def test_language_codes_are_normalised_to_whisper_codes():
    assert [normalise_language(c) for c in ("zh-CN", "fr-fr", "pt_BR", "deu", "jav", "nb", "EN")] == \
        ["zh", "fr", "pt", "de", "jw", "no", "en"]


# -- torchaudio / torchcodec stand-ins -----------------------------------------------------------


def test_standin_resampler_matches_a_polyphase_resampler():
    import torch
    from scipy.signal import resample_poly

    t = np.arange(22050) / 22050
    sine = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    resampler = torchaudio_compat._resample_module_class()(22050, 16000)
    ours = resampler(torch.from_numpy(sine)[None]).numpy()[0]
    reference = resample_poly(sine, 320, 441)
    assert ours.shape == (16000,)
    assert np.abs(ours[200:-200] - reference[200:-200]).max() < 0.01
    assert list(resampler.state_dict()) == ["kernel"]  # the keys torchaudio's Resample saves


def test_standins_only_while_coqui_loads(loaded):
    if torchaudio_compat.real_torchaudio_error() is None:
        pytest.skip("real torchaudio works here: no stand-in is used")
    import TTS.tts.models.vits as vits

    assert "torchaudio" not in sys.modules  # taken out again once coqui had it
    assert torchaudio_compat.is_standin(vits.torchaudio)
    assert vits.torchaudio.transforms.Resample is not None
    assert not hasattr(vits.torchaudio, "load")
    with pytest.raises(MissingDependencyError, match="torchaudio.load is not available") as caught:
        vits.torchaudio.load("speech.wav")
    assert "pip install torchaudio" in str(caught.value)


def _run_with_fake_torchaudio(tmp_path: Path, init_source: str) -> str:
    package = tmp_path / "torchaudio"
    package.mkdir()
    (package / "__init__.py").write_text(init_source)
    script = textwrap.dedent("""
        import sys
        from assistant.tts.torchaudio_compat import import_tts, is_standin
        import_tts()
        import TTS.tts.models.vits as vits
        print("STANDIN" if is_standin(vits.torchaudio) else "REAL:" + vits.torchaudio.MARK)
        print("LEFT" if "torchaudio" in sys.modules and is_standin(sys.modules["torchaudio"]) else "CLEAN")
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_working_real_torchaudio_is_never_shadowed(tmp_path):
    assert _run_with_fake_torchaudio(tmp_path, "MARK = 'working'\n") == ["REAL:working", "CLEAN"]


def test_a_torchaudio_that_fails_to_load_gets_the_standin(tmp_path):
    broken = "raise OSError('Could not load this library: libtorchaudio.so')\n"
    assert _run_with_fake_torchaudio(tmp_path, broken) == ["STANDIN", "CLEAN"]
