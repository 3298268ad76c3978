"""Piper backend: phonemes and ids as piper-tts makes them, a tiny generated ONNX voice for the
options, and the real starter voice (en_US-joe-medium) for the sound itself."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import load_config
from assistant.core.errors import AssistantError, ConfigError, ModelNotFoundError
from assistant.tts.piper import (
    EspeakPhonemizer,
    PiperOptions,
    PiperTTS,
    clause_symbols,
    group_sentences,
    merge_vowel_clusters,
    phonemes_to_ids,
    repo_path,
    split_clauses,
    starter_dir,
)
from assistant.tts.voices import VoiceRouter

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
JOE = starter_dir() / "piper" / "en_US-joe-medium.onnx"
WHISPER_BASE = starter_dir() / "whisper-base-ct2"


def joe_path() -> Path:
    if not (JOE.is_file() and Path(f"{JOE}.json").is_file()):
        pytest.skip(f"starter Piper voice not found: {JOE} (assistant models install starter)")
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return JOE


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


# -- text → clauses → symbols → ids -----------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Hello, world. How are you?", [("Hello", ","), ("world", "."), ("How are you", "?")]),
    ("It costs 3.5 euros, or 1,000 cents", [("It costs 3.5 euros", ","), ("or 1,000 cents", "")]),
    ("Wait... what?! Fine;  ok:\nyes", [("Wait", ","), ("what", "?"), ("Fine", ";"), ("ok", ":"), ("yes", "")]),
    ('He said "stop." Then left…', [('He said "stop', "."), ("Then left", "")]),
    ("¿Qué tal? ¡Muy bien!", [("¿Qué tal", "?"), ("¡Muy bien", "!")]),
    ("words — and dashes – work-ing", [("words", ";"), ("and dashes", ";"), ("work-ing", "")]),
    ("... !", []),
    ("", []),
])
def test_split_clauses_where_espeak_ng_ends_them(text, expected):
    assert split_clauses(text) == expected


@pytest.mark.parametrize("ipa, mark, expected", [
    ("həlˈoʊ", ",", ["h", "ə", "l", "ˈ", "o", "ʊ", ",", " "]),  # a space after , : ;
    ("wˈɜːld", ".", ["w", "ˈ", "ɜ", "ː", "l", "d", "."]),
    ("mˈɐ̃ʊ̃", "", ["m", "ˈ", "ɐ", "\u0303", "ʊ", "\u0303"]),  # combining tildes are symbols of their own
    ("ç", "", ["c", "\u0327"]),  # NFD splits precomposed letters as piper does
    ("(en)wˈiːkˌɛnd(de) ʊnt", ";", ["w", "ˈ", "i", "ː", "k", "ˌ", "ɛ", "n", "d", " ", "ʊ", "n", "t", ";", " "]),
])
def test_clause_symbols(ipa, mark, expected):
    assert clause_symbols(ipa, mark) == expected


def test_group_sentences_ends_at_full_stops_only():
    clauses = [(",", ["a", ",", " "]), (".", ["b", "."]), ("?", ["c", "?"]), ("", ["d"])]
    assert group_sentences(clauses) == [["a", ",", " ", "b", "."], ["c", "?"], ["d"]]


def test_vowel_clusters_merge_into_one_symbol():
    assert merge_vowel_clusters(list("haɪaʊ"), (("a", "ɪ"), ("a", "ʊ"))) == ["h", "aɪ", "aʊ"]
    assert merge_vowel_clusters(list("ab"), ()) == ["a", "b"]


ID_MAP = {"_": [0], "^": [1], "$": [2], " ": [3], ",": [8], ".": [10], "?": [13], "a": [14], "ɐ": [50],
          "ˈ": [120], "\u0303": [141], "aɪ": [161]}


@pytest.mark.parametrize("symbols, ids, missing", [
    ([], [1, 0, 2], []),
    (["ˈ", "a", "."], [1, 0, 120, 0, 14, 0, 10, 0, 2], []),
    (["ɐ", "\u0303", ",", " ", "aɪ", "?"], [1, 0, 50, 0, 141, 0, 8, 0, 3, 0, 161, 0, 13, 0, 2], []),
    (["a", "☃", "q", "a"], [1, 0, 14, 0, 14, 0, 2], ["☃", "q"]),  # unknown symbols are dropped
])
def test_phonemes_to_ids_bos_pad_eos(symbols, ids, missing):
    assert phonemes_to_ids(symbols, ID_MAP) == (ids, missing)


# What piper-tts 1.8.0's own phonemizer (its bundled espeak-ng) gives for these texts; the
# espeak-ng program here gives the same.
PIPER_OUTPUT = [
    ("en-us", "Hello, world. How are you? I'm fine!", ["həlˈoʊ, wˈɜːld.", "hˈaʊ ɑːɹ juː?", "aɪm fˈaɪn!"]),
    ("de", "Guten Tag, wie geht's? Schön, dich zu sehen.", ["ɡˈuːtən tˈɑːk, viː ɡˈeːts?", "ʃˈøːn, dɪç tsuː zˈeːən."]),
    ("fr", "Bonjour le monde ! Ça va très bien, merci beaucoup. Où est-il ?",
     ["bɔ̃ʒˈuʁ lə- mˈɔ̃d!", "sa vˈa tʁɛ bjˈɛ̃, mɛʁsˈi bokˈu.", "u ɛtˈil?"]),
    ("es", "¿Qué tal? Mañana vamos al mar, ¡qué bien!", ["kˈe tˈal?", "maɲˈana βˈamos al mˈaɾ, kˈe βjˈen!"]),
    ("en-us", "Mr. Brown arrived (late) at 10:30, didn't he?",
     ["mˈɪstɚ.", "bɹˈaʊn ɚɹˈaɪvd lˈeɪt æt tˈɛn θˈɜːɾi, dˈɪdnt hiː?"]),
    ("en-us", "Line one\nline two.  Spaces   here!", ["lˈaɪn wˈʌn lˈaɪn tˈuː.", "spˈeɪsᵻz hˈɪɹ!"]),
    ("en-us", "\"Quoted,\" she said. 'Single' too.", ["kwˈoʊɾᵻd, ʃiː sˈɛd.", "sˈɪŋɡəl tˈuː."]),
    ("en-us", "Hyphen-ated words — and dashes - work?", ["hˈaɪfənˈeɪɾᵻd wˈɜːdz; ænd dˈæʃᵻz wˈɜːk?"]),
    ("nl", "Hoe gaat het? Goed, dank je.", ["hˈu ɣˈaːt hət?", "ɣˈut, dˈɑŋk jə."]),
    ("pl", "Dzień dobry, jak się masz? Dobrze.", ["dʑˈɛɲ dˈɔbrɨ, jˈak ɕɛ mˈaʃ?", "dˈɔbʒɛ."]),
]


@needs_espeak
@pytest.mark.parametrize("voice, text, expected", PIPER_OUTPUT)
def test_espeak_program_phonemizes_as_piper_does(voice, text, expected):
    sentences = EspeakPhonemizer(ESPEAK, voice).phonemize(text)
    assert ["".join(s) for s in sentences] == [unicodedata_nfd(e) for e in expected]


def unicodedata_nfd(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFD", text)


class ScriptedEspeak(EspeakPhonemizer):
    """espeak-ng's lines scripted: it joins two clauses when given the whole text."""

    def __init__(self):
        super().__init__("espeak-ng", "en-us")
        self.calls: list[str] = []

    def _ipa_lines(self, text):
        self.calls.append(text)
        if text == "Dr. Who, hi.":
            return ["dˈɑːktɚ hˈuː", "hˈaɪ"]  # "Dr." was no clause end for espeak-ng
        return {"Dr": ["dˈɑːktɚ"], "Who": ["hˈuː"], "hi": ["hˈaɪ"]}[text]


def test_when_espeak_ng_splits_clauses_differently_each_clause_is_phonemized_alone():
    phonemizer = ScriptedEspeak()
    sentences = phonemizer.phonemize("Dr. Who, hi.")
    assert phonemizer.calls == ["Dr. Who, hi.", "Dr", "Who", "hi"]
    assert ["".join(s) for s in sentences] == ["dˈɑːktɚ.", "hˈuː, hˈaɪ."]


@needs_espeak
def test_unknown_symbols_from_espeak_are_dropped_without_a_crash(tmp_path):
    voice = tiny_voice(tmp_path, phoneme_type="espeak", id_map={"_": [0], "^": [1], "$": [2], "a": [3], " ": [4]})
    chunks = list(voice.synthesize("Bonjour le monde ! Ça va, merci.", "fr"))  # almost every symbol is unknown
    assert chunks and all(c.sample_rate == 16000 for c in chunks)


# -- a tiny generated voice: loading, speakers, speed -------------------------------------------------


def write_tiny_onnx(path: Path, speakers: int) -> None:
    """An ONNX graph with a Piper voice's inputs and output: each id becomes ceil(256 * length_scale)
    samples of value ``id + 100 * sid``, so the audio tells which ids, speaker and speed it got."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    h = helper
    inputs = [h.make_tensor_value_info("input", TensorProto.INT64, ["batch_size", "phonemes"]),
              h.make_tensor_value_info("input_lengths", TensorProto.INT64, ["batch_size"]),
              h.make_tensor_value_info("scales", TensorProto.FLOAT, [3])]
    nodes = [
        h.make_node("Cast", ["input"], ["ids_f"], to=TensorProto.FLOAT),
        h.make_node("Constant", [], ["one"], value=h.make_tensor("one", TensorProto.INT64, [1], [1])),
        h.make_node("Constant", [], ["two"], value=h.make_tensor("two", TensorProto.INT64, [1], [2])),
        h.make_node("Slice", ["scales", "one", "two"], ["length_scale"]),
        h.make_node("Constant", [], ["hop"], value=h.make_tensor("hop", TensorProto.FLOAT, [1], [256.0])),
        h.make_node("Mul", ["length_scale", "hop"], ["frames_f"]),
        h.make_node("Ceil", ["frames_f"], ["frames_c"]),
        h.make_node("Cast", ["frames_c"], ["frames"], to=TensorProto.INT64),
        h.make_node("Concat", ["one", "frames"], ["repeats"], axis=0),
    ]
    if speakers > 1:
        inputs.append(h.make_tensor_value_info("sid", TensorProto.INT64, ["batch_size"]))
        nodes += [h.make_node("Cast", ["sid"], ["sid_f"], to=TensorProto.FLOAT),
                  h.make_node("Constant", [], ["hundred"], value=h.make_tensor("h", TensorProto.FLOAT, [1], [100.0])),
                  h.make_node("Mul", ["sid_f", "hundred"], ["offset"]),
                  h.make_node("Add", ["ids_f", "offset"], ["values"])]
    else:
        nodes.append(h.make_node("Identity", ["ids_f"], ["values"]))
    nodes += [
        h.make_node("Unsqueeze", ["values", "two"], ["column"]),  # [1, N, 1]
        h.make_node("Concat", ["one", "one", "frames"], ["tile3"], axis=0),
        h.make_node("Tile", ["column", "tile3"], ["tiled"]),  # [1, N, frames]
        h.make_node("Constant", [], ["shape"], value=h.make_tensor("s", TensorProto.INT64, [4], [1, 1, 1, -1])),
        h.make_node("Reshape", ["tiled", "shape"], ["output"]),
    ]
    output = h.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 1, 1, "time"])
    graph = h.make_graph(nodes, "tiny_piper", inputs, [output])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


TEXT_ID_MAP = {"_": [0], "^": [1], "$": [2], " ": [3], "a": [4], "b": [5], "c": [6], ".": [7]}


def tiny_voice(tmp_path: Path, speakers: int = 1, phoneme_type: str = "text", id_map=None, **options) -> PiperTTS:
    path = tmp_path / f"tiny-{speakers}.onnx"
    write_tiny_onnx(path, speakers)
    config = {"audio": {"sample_rate": 16000}, "espeak": {"voice": "fr"}, "phoneme_type": phoneme_type,
              "num_symbols": 8, "num_speakers": speakers, "phoneme_id_map": id_map or TEXT_ID_MAP,
              "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
              "speaker_id_map": {"alice": 0, "bob": 2, "carol": 1} if speakers > 1 else {}}
    Path(f"{path}.json").write_text(json.dumps(config))
    voice = PiperTTS(PiperOptions(model=str(path), threads=1, **options))
    voice.load()
    return voice


def decode(samples: np.ndarray, hop: int) -> np.ndarray:
    """The tiny model's values, one per id, back from the normalised audio."""
    values = samples[::hop]
    return values / values.max()


def test_tiny_voice_gets_bos_pad_ids_eos_at_the_voices_rate(tmp_path):
    voice = tiny_voice(tmp_path)
    (chunk,) = voice.synthesize("ab c", "fr")
    assert chunk.sample_rate == 16000 and chunk.samples.dtype == np.float32
    ids = [1, 0, 4, 0, 5, 0, 3, 0, 6, 0, 2]
    assert len(chunk.samples) == 256 * len(ids)
    assert np.allclose(decode(chunk.samples, 256), np.array(ids) / 6, atol=1e-6)
    assert np.abs(chunk.samples).max() == pytest.approx(0.95, abs=1e-6)


def test_tiny_voice_speed_divides_length_scale(tmp_path):
    normal = next(tiny_voice(tmp_path).synthesize("abc", "fr"))
    fast = next(tiny_voice(tmp_path, speed=2.0).synthesize("abc", "fr"))
    slow = next(tiny_voice(tmp_path, speed=0.5).synthesize("abc", "fr"))
    assert len(fast.samples) * 2 == len(normal.samples) and len(slow.samples) == 2 * len(normal.samples)


@pytest.mark.parametrize("speaker, sid", [(None, 0), ("bob", 2), ("carol", 1), (2, 2), ("1", 1)])
def test_multi_speaker_voice_speaker_by_name_or_number(tmp_path, speaker, sid):
    voice = tiny_voice(tmp_path, speakers=3, speaker=speaker)
    (chunk,) = voice.synthesize("a", "fr")
    ids = np.array([1, 0, 4, 0, 2]) + 100 * sid
    assert np.allclose(decode(chunk.samples, 256), ids / ids.max(), atol=1e-6)


@pytest.mark.parametrize("speaker", ["dave", 3, "-1"])
def test_unknown_speaker_is_a_config_error_listing_them(tmp_path, speaker):
    with pytest.raises(ConfigError, match=r"not a speaker .*0-2.*alice, bob, carol"):
        tiny_voice(tmp_path, speakers=3, speaker=speaker)


def test_speaker_on_a_single_speaker_voice_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="only one speaker"):
        tiny_voice(tmp_path, speaker="bob")


def test_nothing_to_say_yields_nothing(tmp_path):
    voice = tiny_voice(tmp_path)
    assert list(voice.synthesize("  \n", "fr")) == [] and list(voice.synthesize("☃☃", "fr")) == []


def test_supports_the_language_of_its_config_or_name(tmp_path):
    assert tiny_voice(tmp_path).supports("fr") is True and tiny_voice(tmp_path).supports("de") is False
    assert PiperTTS(PiperOptions(model="de_DE-thorsten-medium")).supports("de") is True
    assert PiperTTS(PiperOptions(model="pt_BR-faber-medium")).supports("en") is False
    assert PiperTTS(PiperOptions(model="/voices/custom.onnx")).supports("en") is None


def test_cuda_without_onnxruntimes_cuda_provider_says_so(tmp_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        voice = tiny_voice(tmp_path, device="cuda")
        assert voice._session.get_providers()[0] == "CUDAExecutionProvider"
        return
    with pytest.raises(AssistantError, match="no CUDA provider.*onnxruntime-gpu"):
        tiny_voice(tmp_path, device="cuda")
    assert tiny_voice(tmp_path, device="auto")._session.get_providers() == ["CPUExecutionProvider"]


def test_unsupported_phoneme_type_is_refused_at_load(tmp_path):
    with pytest.raises(ConfigError, match="phoneme_type 'pinyin'"):
        tiny_voice(tmp_path, phoneme_type="pinyin")


# -- missing or broken files ---------------------------------------------------------------------------


def test_missing_onnx_names_the_file(tmp_path):
    missing = tmp_path / "voices" / "en_US-nobody-medium.onnx"
    with pytest.raises(ModelNotFoundError, match=re.escape(str(missing))) as error:
        PiperTTS(PiperOptions(model=str(missing))).load()
    assert "models install starter" in str(error.value)


def test_missing_config_beside_the_onnx(tmp_path):
    onnx = tmp_path / "v.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match=re.escape(f"{onnx}.json")):
        PiperTTS(PiperOptions(model=str(onnx))).load()


def test_damaged_onnx_is_a_clear_error(tmp_path):
    onnx = tmp_path / "v.onnx"
    onnx.write_bytes(b"not a model")
    Path(f"{onnx}.json").write_text(json.dumps({"audio": {"sample_rate": 22050}, "phoneme_type": "text",
                                                "phoneme_id_map": TEXT_ID_MAP}))
    with pytest.raises(ModelNotFoundError, match="download the voice again"):
        PiperTTS(PiperOptions(model=str(onnx))).load()


def test_named_voice_offline_and_not_cached_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="de_DE-thorsten-medium.*HF_HUB_OFFLINE") as error:
        PiperTTS(PiperOptions(model="de_DE-thorsten-medium")).load()
    assert "hf download rhasspy/piper-voices de/de_DE/thorsten/medium/de_DE-thorsten-medium.onnx" in str(error.value)


def test_not_a_name_nor_an_onnx_is_a_config_error_at_start_up(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tts:\n  voices:\n    de: {backend: piper, model: thorsten}\n")
    with pytest.raises(ConfigError, match=r"c.yaml:3: tts.voices.de.model.*neither a Piper voice name"):
        load_config(cfg)


def test_repo_path_scheme():
    assert repo_path("en_US-joe-medium") == "en/en_US/joe/medium/en_US-joe-medium.onnx"
    assert repo_path("it_IT-riccardo-x_low") == "it/it_IT/riccardo/x_low/it_IT-riccardo-x_low.onnx"


# -- the default voice map and the router ------------------------------------------------------------


def test_default_map_prefers_the_starter_piper_voice_for_english(monkeypatch):
    joe_path()
    cfg = load_config(None)
    assert cfg.tts.voices["en"].backend == "piper" and cfg.tts.voices["en"].model == "en_US-joe-medium"
    assert cfg.tts.voices["de"].backend == "coqui"  # no German Piper voice here: today's Coqui voice


def test_default_map_without_piper_voices_is_todays(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MODELS", str(tmp_path / "none"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    cfg = load_config(None)
    assert {v.backend for v in cfg.tts.voices.values()} == {"coqui"}


def test_default_map_uses_a_piper_voice_in_the_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MODELS", str(tmp_path / "none"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    snapshot = tmp_path / "hf" / "models--rhasspy--piper-voices" / "snapshots" / "abc123"
    onnx = snapshot / repo_path("de_DE-thorsten-medium")
    onnx.parent.mkdir(parents=True)
    onnx.write_bytes(b"x")
    Path(f"{onnx}.json").write_text("{}")
    cfg = load_config(None)
    assert cfg.tts.voices["de"].model == "de_DE-thorsten-medium" and cfg.tts.voices["en"].backend == "coqui"


def test_router_speaks_english_with_piper():
    joe_path()
    router = VoiceRouter(load_config(None).tts)
    voice, engine = router.resolve("en")
    assert voice.label == "piper:en_US-joe-medium" and voice.source == "mapped" and engine.sample_rate == 22050


@needs_espeak
def test_router_falls_back_to_espeak_when_the_piper_file_is_absent(tmp_path):
    missing = tmp_path / "en_US-gone-medium.onnx"
    cfg = load_config(None, [f"tts.voices={{en: {{backend: piper, model: {missing}}}}}"])  # loads: checked at load
    router = VoiceRouter(cfg.tts)
    voice, engine = router.resolve("en")
    # Pico stands in for a mapped voice that can't load, where it is installed; else espeak-ng
    from importlib.util import find_spec

    want = ("stand-in", "pico") if find_spec("py_nanotts") else ("fallback", "espeak")
    assert (voice.source, voice.label) == want
    assert any(str(missing) in w for w in router.warnings)
    assert next(engine.synthesize("Hello.", "en")).duration > 0.2


# -- the real starter voice ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def joe() -> PiperTTS:
    voice = PiperTTS(PiperOptions(model=str(joe_path())))
    voice.load()
    return voice


def test_joe_speaks_each_sentence_at_22050_hz(joe):
    chunks = list(joe.synthesize("The weather is lovely today. Shall we go for a walk?", "en"))
    assert len(chunks) == 2  # one chunk per sentence, as soon as it is ready
    for chunk, words in zip(chunks, (5, 6)):
        assert chunk.sample_rate == 22050 and chunk.samples.dtype == np.float32
        assert 0.15 * words < chunk.duration < 0.7 * words + 0.8  # about 2-4 words a second
        assert rms(chunk.samples) > 0.03 and np.abs(chunk.samples).max() <= 1.0


def test_joe_speed_changes_duration():
    path = joe_path()
    text = "Please remember to buy some bread and milk."

    def duration(speed: float) -> float:
        voice = PiperTTS(PiperOptions(model=str(path), speed=speed, noise_w=0.0))
        voice.load()
        return sum(c.duration for c in voice.synthesize(text, "en"))

    normal, fast = duration(1.0), duration(1.6)
    assert 0.5 * normal < fast < 0.75 * normal  # length_scale 1/1.6 = 0.625


def test_joe_by_name_is_found_in_the_starter_pack():
    joe_path()
    voice = PiperTTS(PiperOptions(model="en_US-joe-medium"))
    voice.load()
    assert voice.model_path == JOE


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref = re.sub(r"[^\w\s']", " ", reference.lower()).split()
    hyp = re.sub(r"[^\w\s']", " ", hypothesis.lower()).split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / len(ref)


@pytest.mark.slow
def test_joe_round_trip_through_whisper_base(joe):
    """Intelligibility: what the voice says, Whisper base (starter pack) must hear back."""
    if not (WHISPER_BASE / "model.bin").is_file():
        pytest.skip(f"starter Whisper model not found: {WHISPER_BASE}")
    faster_whisper = pytest.importorskip("faster_whisper")
    from assistant.core.types import AudioChunk

    # No numbers: Whisper writes them as digits, which would count as errors of the voice.
    text = "The library opens early in the morning. Children can borrow several books each week."
    audio = AudioChunk.concat(list(joe.synthesize(text, "en"))).resampled(16000)
    model = faster_whisper.WhisperModel(str(WHISPER_BASE), device="cpu", compute_type="int8", cpu_threads=2)
    started = time.monotonic()
    segments, _ = model.transcribe(audio.samples, language="en", beam_size=1)
    heard = " ".join(s.text for s in segments)
    assert word_error_rate(text, heard) <= 0.2, (heard, time.monotonic() - started)
