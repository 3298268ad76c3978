import numpy as np
import pytest

from assistant.audio.guard import is_silent, no_speech_reason
from assistant.config import SpeechGuard
from assistant.core.types import AudioChunk, Transcript

G = SpeechGuard()


def t(text, no_speech=0.05, logprob=-0.3):
    return Transcript(text=text, language="en", language_probability=0.9, no_speech_probability=no_speech,
                      avg_logprob=logprob)


def test_silence_and_empty_audio_are_silent():
    assert is_silent(AudioChunk(np.zeros(16000, np.float32), 16000), G)
    assert is_silent(AudioChunk(np.zeros(0, np.float32), 16000), G)
    dither = AudioChunk((np.random.default_rng(0).standard_normal(16000) * 1e-5).astype(np.float32), 16000)
    assert is_silent(dither, G)
    quiet_speech_level = AudioChunk((0.003 * np.sin(np.arange(16000) / 3)).astype(np.float32), 16000)
    assert not is_silent(quiet_speech_level, G)  # some microphones really are this quiet


def test_real_speech_passes():
    assert no_speech_reason(t("What is the weather like in Berlin?"), G) is None
    assert no_speech_reason(t("Thank you."), G) is None  # a confident, real "thank you"


@pytest.mark.parametrize("text", ["Subtitles by the Amara.org community", "Untertitel im Auftrag des ZDF, 2021",
                                  "Sous-titres réalisés par la communauté d'Amara.org"])
def test_subtitle_credits_are_refused(text):
    assert no_speech_reason(t(text), G)


def test_whisper_no_speech_rule():
    assert no_speech_reason(t("Hmm", no_speech=0.8, logprob=-1.5), G)
    assert no_speech_reason(t("Real words here", no_speech=0.8, logprob=-0.2), G) is None


def test_short_phantoms_refused_only_on_weak_evidence():
    assert no_speech_reason(t("Thank you.", no_speech=0.3), G)
    assert no_speech_reason(t("Thanks for watching!", logprob=-0.9), G)
    assert no_speech_reason(t("Thank you.", no_speech=0.01), G, speech_ratio=0.2)


def test_empty_text_and_custom_phrases():
    assert no_speech_reason(t("  "), G)
    g = SpeechGuard(phantom_phrases=("ding dong",))
    assert no_speech_reason(t("Ding dong!"), g)
