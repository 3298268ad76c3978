"""File-mode turns per FLEURS language with tiny real models. Only the language decision is a
test double (random-weight Whisper can't detect languages): detection returns the clip's known
language; transcription, the LLM and the voice the map chooses all run for real."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import load_audio
from assistant.modes.file import Assistant

FLEURS = Path(__file__).resolve().parents[3] / "shared" / "audio" / "fleurs"
EXPECTED_VOICE = {  # what the map below must choose
    "en": "coqui:{model}", "fr": "coqui:{model}", "de": "espeak:de", "es": "espeak", "pt": "espeak",
}


@pytest.fixture(scope="module")
def bot(tmp_path_factory, tiny_whisper_path, tiny_llm_path, tiny_vits):
    if not FLEURS.exists():
        pytest.skip("../shared/audio is not present")
    model, config = tiny_vits
    d = tmp_path_factory.mktemp("multi")
    cfg = d / "multi.yaml"
    cfg.write_text(f"""
stt: {{backend: whisper, model: {tiny_whisper_path}, sample_len: 8, beam_size: null, temperature: 0.0,
      initial_prompt: {{de: "Guten Tag", "*": "Hello"}}}}
llm: {{backend: transformers, model: {tiny_llm_path}, max_new_tokens: 16, temperature: 0}}
tts:
  voices:
    en: {{backend: coqui, model: {model}, config: {config}}}
    fr: {{backend: coqui, model: {model}, config: {config}}}
    de: {{backend: espeak, voice: de}}
  fallback: {{backend: espeak}}
guard: {{no_speech_threshold: 1.0}}
language: {{check_reply: false, languages: [de, en, es, fr, pt]}}
log: {{path: {d / 'turns.jsonl'}}}
""")
    b = Assistant.from_config(cfg)
    b.load(("stt", "llm"))
    return b


@pytest.mark.parametrize("lang", ["de", "en", "es", "fr", "pt"])
def test_turn_in_each_language_uses_the_mapped_voice(bot, lang, tmp_path, monkeypatch, tiny_vits):
    clip = FLEURS / f"fleurs-{lang}-001.ogg"
    monkeypatch.setattr(bot.stt, "detect_language", lambda audio: {lang: 0.97, "it": 0.03})
    out = tmp_path / "reply.wav"
    turn = bot.respond(clip, output=out)
    assert turn.status == "ok", turn.notice or turn.error
    assert turn.language == lang and turn.decision.reason == "detected" and turn.reply_language == lang
    assert turn.transcript.language == lang
    assert turn.voice == EXPECTED_VOICE[lang].format(model=tiny_vits[0])
    audio = load_audio(out, 16000).samples
    assert len(audio) > 1600 and float(np.sqrt(np.mean(audio ** 2))) > 1e-3
    # the LLM was told the language by name
    rec = json.loads(bot.turn_log.path.read_text().splitlines()[-1])
    assert rec["language"] == lang and rec["voice"] == turn.voice and rec["language_decision"]["top"]


def test_restricted_detection_overrides_a_wrong_argmax(bot, monkeypatch):
    clip = FLEURS / "fleurs-pt-002.ogg"
    monkeypatch.setattr(bot.stt, "detect_language", lambda audio: {"gl": 0.6, "pt": 0.3, "es": 0.1})
    turn = bot.respond(clip)
    assert turn.language == "pt" and turn.decision.reason == "restricted"
    assert turn.decision.top[0] == ("gl", 0.6)
