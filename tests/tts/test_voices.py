"""Voice resolution: mapped → fallback → espeak-ng's own voice → none, with lazy, cached loading."""

from importlib.util import find_spec

import pytest

from assistant.config import load_config
from assistant.core.errors import ModelNotFoundError, NoVoiceError
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeTTS


class Engines:
    """Factory that builds fake engines per backend and counts loads."""

    def __init__(self, espeak_languages=("en", "de", "es", "fr", "pt", "sw"), broken=()):
        self.loads: list[str] = []
        self.espeak_languages = set(espeak_languages)
        self.broken = set(broken)

    def __call__(self, options):
        engines = self
        label = getattr(options, "model", None) or options.backend

        class Engine(FakeTTS):
            def load(self):
                engines.loads.append(label)
                if label in engines.broken:
                    raise ModelNotFoundError(f"{label} is not downloaded")

            def supports(self, language):
                if options.backend == "espeak":
                    return language in engines.espeak_languages
                if label.startswith("tts_models/"):  # single-language Coqui model names
                    return label.split("/")[1] == language
                return None

        return Engine()


def router(overrides=(), **kw):
    cfg = load_config(None, list(overrides))
    return VoiceRouter(cfg.tts, factory=Engines(**kw))


def test_mapped_voice():
    r = router()
    voice, _ = r.resolve("de")
    assert voice.source == "mapped" and voice.label == "coqui:tts_models/de/thorsten/vits"


def test_fallback_voice_for_unmapped_language():
    r = router()
    voice, _ = r.resolve("sw")  # Swahili: not in the map, the fallback (espeak) speaks it
    assert voice.source == "fallback" and voice.label == "espeak"


def test_espeak_only_when_the_fallback_cannot_speak_it():
    r = router(["tts.voices={}", "tts.fallback={backend: coqui, model: tts_models/en/ljspeech/vits}"])
    assert r.resolve("en")[0].source == "fallback"
    # an English Coqui fallback can't speak Swahili; espeak-ng's own Swahili voice steps in
    assert r.resolve("sw")[0].source == "espeak"


def test_voiceless_language_raises_no_voice():
    r = router(["tts.voices={}", "tts.fallback=null"], espeak_languages=("en",))
    assert r.resolve("yo") is None
    with pytest.raises(NoVoiceError, match="'yo'"):
        r.synthesize("Bawo ni", "yo")


def test_broken_voice_falls_back_and_is_not_retried():
    engines = Engines(broken={"tts_models/de/thorsten/vits"})
    cfg = load_config(None)
    r = VoiceRouter(cfg.tts, factory=engines)
    voice, _ = r.resolve("de")
    # Pico stands in for a broken model voice where it speaks the language, else the fallback
    assert (voice.source, voice.label) == (("stand-in", "pico") if find_spec("py_nanotts") else ("fallback", "espeak"))
    r.resolve("de")
    assert engines.loads.count("tts_models/de/thorsten/vits") == 1  # remembered as broken
    assert "unavailable" in r.warnings[0]
    engines.broken.add("tts_models/pt/cv/vits")
    assert r.resolve("pt")[0].source == "fallback"  # no Pico voice for Portuguese


def test_pico_stands_in_only_for_model_voices():
    pytest.importorskip("py_nanotts")
    r = router(["tts.voices={de: {backend: espeak, voice: de}, fr: {backend: coqui, model: tts_models/fr/css10/vits}}"])
    assert [v.source for v in r.candidates("de")] == ["mapped", "fallback", "espeak"]  # espeak asked for by name
    assert [v.source for v in r.candidates("fr")] == ["mapped", "stand-in", "fallback", "espeak"]
    assert [v.source for v in r.candidates("sw")] == ["fallback", "espeak"]


def test_voices_load_lazily_and_once():
    engines = Engines()
    r = VoiceRouter(load_config(None).tts, factory=engines)
    assert engines.loads == []
    for _ in range(3):
        r.synthesize("Hallo", "de")
    assert engines.loads == ["tts_models/de/thorsten/vits"]


def test_describe_for_languages_command():
    r = router(["tts.voices={}", "tts.fallback=null"], espeak_languages=("en",))
    assert r.describe("en").startswith("espeak")
    assert r.describe("yo").startswith("none")
