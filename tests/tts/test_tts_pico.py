"""SVOX Pico backend (py-nanotts): real synthesis (the voices are inside the wheel, each sentence
takes milliseconds), options, the registry row, and a round trip through the starter Whisper."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.core import registry
from assistant.core.errors import ConfigError, NoVoiceError
from assistant.tts.pico import MAX_PIECE_CHARS, PicoOptions, PicoTTS, clean_text, pico_voice, pieces
from tests.support.shared import starter_model

pytest.importorskip("py_nanotts", reason="py-nanotts is not installed (pip install py-nanotts)")


@pytest.fixture(scope="module")
def pico() -> PicoTTS:
    tts = PicoTTS(PicoOptions())
    tts.load()
    return tts


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def speech(samples: np.ndarray) -> np.ndarray:
    """``samples`` without the silence before and after."""
    loud = np.nonzero(np.abs(samples) > 0.01)[0]
    return samples[loud[0]:loud[-1] + 1] if loud.size else samples[:0]


def audio(tts: PicoTTS, text: str, language: str) -> np.ndarray:
    chunks = list(tts.synthesize(text, language))
    assert all(c.sample_rate == 16000 and c.samples.dtype == np.float32 for c in chunks)
    return np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, np.float32)


@pytest.mark.parametrize("language, text", [
    ("de", "Grüß Gott, die Straße ist schön."),
    ("en", "Hello, how are you today?"),
    ("es", "¿Qué tal? Mañana vamos al mar."),
    ("fr", "Ça va très bien, merci beaucoup."),
    ("it", "Buongiorno, come stai oggi?"),
])
def test_speaks_each_language(pico, language, text):
    samples = audio(pico, text, language)
    assert 0.8 < len(samples) / 16000 < 6.0
    assert rms(samples) > 0.01 and np.abs(samples).max() <= 1.0


@pytest.mark.parametrize("language, voice", [
    ("de", "de-DE"), ("de-AT", "de-DE"), ("es", "es-ES"), ("fr", "fr-FR"), ("it", "it-IT"), ("en", "en-US"),
    ("EN_gb", "en-US"), ("pt", None), ("zh", None), ("nl", None),
])
def test_language_to_voice(language, voice):
    assert pico_voice(language) == voice
    assert PicoTTS().supports(language) is (voice is not None)


def test_english_voice_can_be_british(pico):
    british = PicoTTS(PicoOptions(english="en-GB"))
    assert british.voice_for("en") == "en-GB" and british.voice_for("de") == "de-DE"
    text = "The weather is nice today."
    assert not np.array_equal(audio(british, text, "en"), audio(pico, text, "en"))


def test_a_pinned_voice_speaks_any_language_sent_to_it():
    tts = PicoTTS(PicoOptions(voice="it-IT"))
    assert tts.supports("pt") is None and tts.voice_for("pt") == "it-IT"
    assert rms(audio(tts, "Ciao a tutti.", "pt")) > 0.01


def test_language_pico_lacks_is_a_no_voice_error(pico):
    with pytest.raises(NoVoiceError, match="'pt'"):
        list(pico.synthesize("Olá, tudo bem?", "pt"))


def test_empty_and_unspeakable_text_yields_nothing(pico):
    assert list(pico.synthesize(" \n\t", "en")) == []
    assert list(pico.synthesize("<>", "en")) == []
    assert list(pico.synthesize("", "pt")) == []  # empty text needs no voice


def test_characters_pico_cannot_say_are_skipped_not_fatal(pico):
    plain = audio(pico, "Bonjour tout le monde.", "fr")
    mixed = audio(pico, "Bonjour 😀 tout le 日本語 monde.\x00\x07", "fr")
    assert rms(mixed) > 0.01 and abs(len(mixed) - len(plain)) < 0.5 * len(plain)


def test_markup_in_the_text_is_read_not_obeyed(monkeypatch):
    """Rate and pitch go to Pico as markup tags, so tags in a reply must not reach it (a reply
    with ``<speed level="20">`` would slow the voice to a crawl)."""
    tts = PicoTTS(PicoOptions(speed=1.5))
    tts.load()
    real, sent = tts._engine, []

    class Spy:
        def speak(self, text, **kw):
            sent.append((text, kw))
            return real.speak(text, **kw)

    monkeypatch.setattr(tts, "_engine", Spy())
    samples = audio(tts, 'Hello <speed level="20">world</speed>.\x00 Bye.', "en")
    assert rms(samples) > 0.01
    assert sent == [('Hello speed level="20" world /speed . Bye.', {"voice": "en-US", "speed": 1.5})]
    assert clean_text("a <b> c") == "a b c"


def test_rate_changes_the_length(pico):
    text = "Wir brauchen Brot, Milch und ein paar Äpfel."
    normal = len(audio(pico, text, "de"))
    fast = len(audio(PicoTTS(PicoOptions(speed=2.0)), text, "de"))
    slow = len(audio(PicoTTS(PicoOptions(speed=0.5)), text, "de"))
    assert fast < 0.75 * normal < normal < 0.75 * slow


def test_long_text_comes_in_pieces_and_is_all_spoken(pico):
    sentence = "Das ist ein ganz normaler Satz mit einigen Wörtern. "
    chunks = list(pico.synthesize(sentence * 40, "de"))
    assert len(chunks) > 1
    one = audio(pico, sentence, "de")
    total = sum(len(c.samples) for c in chunks)
    assert 30 * len(one) < total < 50 * len(one)
    # an endless "word" is cut, not spelled for minutes
    word = audio(pico, "a" * 5000, "en")
    assert len(word) / 16000 < len("a" * 5000) / 5


def test_pieces():
    text = "One. Two! " + "x " * 300 + "End."
    out = pieces(text)
    assert all(len(p) <= MAX_PIECE_CHARS for p in out)
    assert " ".join(out).split() == text.split()
    assert pieces("A short one. And another.") == ["A short one. And another."]
    assert pieces("") == []


def test_threads_get_the_same_audio_as_one_thread(pico):
    texts = [("de", "Guten Morgen."), ("fr", "Bonsoir à tous."), ("es", "Hasta mañana."), ("it", "Grazie mille.")]
    expected = {lang: audio(pico, text, lang) for lang, text in texts}
    results: dict[str, list[np.ndarray]] = {lang: [] for lang, _ in texts}
    errors: list[BaseException] = []

    def work(lang: str, text: str) -> None:
        try:
            for _ in range(5):
                results[lang].append(audio(pico, text, lang))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=t) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for lang, runs in results.items():
        # Pico is not bit-exact from call to call: a few LSB of noise, and the pause after the
        # sentence depends on what was said before (it keeps some state between calls). So: the
        # speech itself (silence trimmed) of about the same length, never a failure or garbage.
        want = len(speech(expected[lang]))
        assert len(runs) == 5 and all(abs(len(speech(r)) - want) < 0.1 * want for r in runs), (lang, want)
        assert all(rms(r) > 0.01 and np.abs(r).max() <= 1.0 for r in runs)


def test_options_are_checked():
    with pytest.raises(ValidationError):
        PicoOptions(voice="pt-BR")
    with pytest.raises(ValidationError):
        PicoOptions(speed=10)
    with pytest.raises(ValidationError):
        PicoOptions(model="x")  # unknown keys are refused
    assert PicoOptions().voice is None


def test_registry_row_and_config():
    from assistant.config import load_config

    backend = registry.get("tts", "pico")
    assert "pico" in registry.names("tts") and backend.requires == ("py_nanotts",)
    assert isinstance(backend.create(PicoOptions()), PicoTTS)
    config = load_config(None, ["tts.voices={de: {backend: pico}, es: {backend: pico}, fr: {backend: pico}, "
                                "it: {backend: pico}, en: {backend: pico, english: en-GB}}"])
    assert {lang: v.backend for lang, v in config.tts.voices.items()} == dict.fromkeys(
        ["de", "es", "fr", "it", "en"], "pico")
    assert config.tts.voices["en"].english == "en-GB"
    with pytest.raises(ConfigError, match="voice"):
        load_config(None, ["tts.voices={pt: {backend: pico, voice: pt-PT}}"])


def test_round_trip_through_the_starter_whisper():
    """Pico's voices heard back by the starter Whisper base (the language fixed): each language
    well under espeak-ng's 40-73 % on the same sentences (README, Voices)."""
    from tests.cli.test_cli import run_cli

    model = starter_model("whisper-base-ct2")
    languages = ["de", "es", "fr", "it", "en"]
    voices = ", ".join(f"{lang}: {{backend: pico}}" for lang in languages)
    proc = run_cli("eval", "voices", "--languages", ",".join(languages), "--json",
                   "--set", f"tts.voices={{{voices}}}", "--set", "stt.backend=faster-whisper",
                   "--set", f"stt.model={model}", "--set", "stt.beam_size=null", "--set", "stt.device=cpu",
                   "--set", "stt.compute_type=int8")
    assert proc.returncode == 0, proc.stderr
    results = {r["language"]: r for r in json.loads(proc.stdout)["voices"]}
    for lang in languages:
        assert results[lang]["voice"].startswith("pico"), results[lang]
        assert results[lang]["wer"] is not None and results[lang]["wer"] <= 0.30, results[lang]
    assert sum(r["wer"] for r in results.values()) / len(results) <= 0.15, results


def test_quality_table_marks_poor_voices():
    from assistant.tts import quality

    assert quality.verdict("espeak", "de").poor and "py-nanotts" in quality.verdict("espeak", "de").fix
    assert quality.verdict("espeak", "sw").poor  # not measured: espeak-ng outside English is assumed poor
    assert "pt_BR-faber-medium" in quality.verdict("espeak", "pt").fix
    assert not quality.verdict("pico", "de").poor and not quality.verdict("piper", "en").poor
    assert not quality.verdict("coqui", "de").poor  # not measured here: not called poor
    for (backend, language), wer in {**quality.SENTENCES_WER, **quality.FLEURS_WER}.items():
        assert backend in quality.RANKING and 0 <= wer < 2
        assert quality.verdict(backend, language).poor == (quality.measured(backend, language) > quality.POOR_WER)
