"""Real weights on real speech: the starter Whisper base (faster-whisper, int8, greedy) must hear
jfk.flac right and identify the language of every shared FLEURS clip. These catch what random
weights can't: a broken mel pipeline, a wrong resampler, a language-policy bug. They skip when
the starter pack (`assistant models install starter`) or ../shared/audio is absent.
Measured on a 2-core machine shared with several other busy processes: 21 s for jfk, 11 min for
the 50 clips (one encoder pass each; a small fraction of that on an idle machine)."""

from __future__ import annotations

import pytest

from assistant.audio.io import load_audio
from assistant.eval import stt as eval_stt
from assistant.eval.wer import word_errors
from tests.support.shared import shared_audio, starter_model

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
LID_MIN = 48  # measured 50/50 (docs/quality.md); a small margin for other CPUs' int8 kernels


@pytest.fixture(scope="module")
def starter_stt():
    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    stt = FasterWhisperSTT(FasterWhisperOptions(model=str(starter_model("whisper-base-ct2")), device="cpu",
                                                compute_type="int8", beam_size=None))
    stt.load()
    return stt


def test_jfk_is_heard_right(starter_stt):
    transcript = starter_stt.transcribe(load_audio(shared_audio("jfk.flac"), 16000))
    assert transcript.language == "en" and transcript.language_probability > 0.8
    assert word_errors(JFK, transcript.text).wer <= 0.1, transcript.text


def test_language_id_on_the_fleurs_clips(starter_stt):
    clips = eval_stt.find_clips(shared_audio("fleurs"))
    assert len(clips) == 50 and all(c.language for c in clips)
    wrong = []
    for clip in clips:
        probs = starter_stt.detect_language(load_audio(clip.audio, 16000))
        detected = next(iter(probs))
        if detected != clip.language:
            wrong.append(f"{clip.audio.name}: {detected} p={probs[detected]:.2f}")
    assert len(clips) - len(wrong) >= LID_MIN, wrong
