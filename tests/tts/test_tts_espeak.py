"""eSpeak NG backend, against the real espeak-ng program."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.core.errors import ConfigError, MissingDependencyError, NoVoiceError
from assistant.tts.espeak import EspeakOptions, EspeakTTS, parse_voices, parse_wav

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


@pytest.fixture(scope="module")
def espeak() -> EspeakTTS:
    tts = EspeakTTS(EspeakOptions())
    tts.load()
    return tts


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@needs_espeak
@pytest.mark.parametrize("language, text", [
    ("de", "Grüß Gott, die Straße ist schön."),
    ("en", "Hello, how are you today?"),
    ("es", "¿Qué tal? Mañana vamos al mar."),
    ("fr", "Ça va très bien, merci beaucoup."),
    ("pt", "Olá, a informação está à mão."),
    ("zh", "你好，今天天气很好。"),
])
def test_speaks_each_language_at_its_native_rate(espeak, language, text):
    chunks = list(espeak.synthesize(text, language))
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.sample_rate == 22050 and chunk.samples.dtype == np.float32
    assert chunk.duration > 0.3 and rms(chunk.samples) > 0.01
    assert np.abs(chunk.samples).max() <= 1.0


@needs_espeak
def test_text_starting_with_a_dash_is_spoken_not_parsed_as_an_option(espeak):
    chunk = next(espeak.synthesize("--help -5 Grad", "de"))
    assert rms(chunk.samples) > 0.01


@needs_espeak
def test_empty_text_yields_nothing(espeak):
    assert list(espeak.synthesize(" \n", "en")) == []


@needs_espeak
@pytest.mark.parametrize("language, expected", [
    ("de", True), ("en", True), ("zh", True), ("yue", True), ("no", True), ("nn", True),
    ("pt-BR", True), ("haw", True), ("xx", False), ("jw", False),
])
def test_supports(espeak, language, expected):
    assert espeak.supports(language) is expected


@needs_espeak
def test_whisper_codes_map_to_espeak_codes(espeak):
    assert espeak.espeak_language("zh") == "cmn"
    assert espeak.espeak_language("no") == "nb"


@needs_espeak
def test_unknown_language_without_a_voice_is_no_voice(espeak):
    with pytest.raises(NoVoiceError) as caught:
        list(espeak.synthesize("hello", "xx"))
    assert caught.value.language == "xx"


@needs_espeak
def test_pinned_voice_speaks_any_language_and_defers_to_the_voice_map():
    tts = EspeakTTS(EspeakOptions(voice="en-us", rate=220, pitch=30))
    tts.load()
    assert tts.supports("xx") is None
    assert rms(next(tts.synthesize("hello", "xx")).samples) > 0.01


@needs_espeak
def test_unknown_voice_fails_at_load():
    with pytest.raises(ConfigError, match="tts.voice"):
        EspeakTTS(EspeakOptions(voice="xx")).load()


def test_missing_executable_says_how_to_install(tmp_path):
    with pytest.raises(MissingDependencyError, match="apt-get install espeak-ng"):
        EspeakTTS(EspeakOptions(executable=str(tmp_path / "espeak-ng"))).load()


def test_options_are_validated():
    with pytest.raises(ValidationError):
        EspeakOptions(rate=5)
    with pytest.raises(ValidationError):
        EspeakOptions(pitch=100)


def test_voice_listing_is_parsed():
    listing = (
        "Pty Language       Age/Gender VoiceName          File                 Other Languages\n"
        " 5  cmn             --/M      Chinese_(Mandarin) sit/cmn              (zh-cmn 5)(zh 5)\n"
        " 2  en-gb           --/M      English_(GB)       gmw/en               (en 2)\n"
    )
    assert parse_voices(listing) == {"cmn", "zh-cmn", "zh", "en-gb", "en"}


def test_streamed_wav_with_bogus_sizes_is_read_to_the_end():
    pcm = (np.array([0, 16384, -16384, 32767], dtype="<i2")).tobytes()
    header = (b"RIFF" + (0x7FFFF000).to_bytes(4, "little") + b"WAVE"
              + b"fmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
              + (22050).to_bytes(4, "little") + (44100).to_bytes(4, "little") + (2).to_bytes(2, "little")
              + (16).to_bytes(2, "little") + b"data" + (0x7FFFF000).to_bytes(4, "little"))
    chunk = parse_wav(header + pcm)
    assert chunk.sample_rate == 22050
    assert np.allclose(chunk.samples, [0, 0.5, -0.5, 32767 / 32768])
