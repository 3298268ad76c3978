"""``audio.end_of_turn: combined``: the decision with scripted probabilities through the endpointer,
the transcript's last words per language, the speaker's habits, settings; then real speech."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.audio.endpointing import FRAME_S, Endpointer, make_endpointer
from assistant.audio.settings import AudioSettings
from assistant.audio.turn_end import CombinedEndOfTurn, transcript_hint
from assistant.audio.vad import FRAME
from assistant.core.types import Utterance
from tests.audio.test_endpointing import ScriptedVAD, indexed_frames, run, script


class Model:
    """Smart Turn stand-in: answers[i] for the i-th question; remembers how much audio it saw."""

    def __init__(self, *answers: float) -> None:
        self.answers = list(answers)
        self.seen: list[int] = []

    def __call__(self, audio: np.ndarray) -> float:
        self.seen.append(len(audio))
        return self.answers[min(len(self.seen), len(self.answers)) - 1]


def ends(events):
    return [t for t, e in events if isinstance(e, Utterance)]


def endpointer(model, probs, **kw) -> tuple[Endpointer, CombinedEndOfTurn]:
    decision = CombinedEndOfTurn(model, **({"short_ms": 300, "mid_ms": 500, "long_ms": 1200} | kw))
    return Endpointer(ScriptedVAD(probs), min_silence_ms=1300, end_of_turn=decision, clock=lambda: 0.0), decision


def frames(ms: float) -> int:
    """Frames of silence until ``ms`` is reached (the decision needs silence >= ms)."""
    return math.ceil(ms / 1000 / FRAME_S - 1e-9)


@pytest.mark.parametrize("p, wait_ms", [(0.97, 300), (0.7, 500), (0.2, 1200)])
def test_the_pause_needed_follows_the_probability(p, wait_ms) -> None:
    probs = script((0.0, 10), (0.9, 40), (0.0, 60))
    model = Model(p)
    ep, _ = endpointer(model, probs)
    (t,) = ends(run(ep, indexed_frames(len(probs))))
    assert t == pytest.approx((50 + frames(wait_ms)) * FRAME_S)
    assert 1 <= len(model.seen) <= 2  # asked at 200 ms, and again at 500 ms when it was not sure


def test_the_model_is_asked_again_at_mid_pause_and_can_change_its_mind() -> None:
    probs = script((0.0, 10), (0.9, 40), (0.0, 60))
    model = Model(0.3, 0.95)  # unsure at 200 ms, sure at 500 ms
    ep, _ = endpointer(model, probs)
    (t,) = ends(run(ep, indexed_frames(len(probs))))
    assert t == pytest.approx((50 + frames(500)) * FRAME_S)
    assert len(model.seen) == 2 and model.seen[1] > model.seen[0]


def test_a_pause_the_speaker_went_on_after_raises_the_next_wait() -> None:
    # speech, a 640 ms pause (the model unsure: it waits), speech, then the end (the model sure)
    probs = script((0.0, 10), (0.9, 30), (0.0, 20), (0.9, 30), (0.0, 80))
    model = Model(0.2, 0.2, 0.99)
    ep, decision = endpointer(model, probs, habit_margin_ms=150)
    (t,) = ends(run(ep, indexed_frames(len(probs))))  # the pause did not split it
    assert decision.pauses[-1] == pytest.approx(20 * FRAME_S * 1000)
    # sure, but this speaker pauses 640 ms: 640 + 150 ms instead of 300
    assert t == pytest.approx((90 + frames(640 + 150)) * FRAME_S, abs=FRAME_S)


def test_speech_soon_after_an_ended_turn_counts_as_a_pause_of_the_speaker() -> None:
    # ended at 300 ms (sure), but the speaker goes on 384 ms after (softly at first: 0.4 keeps
    # speech going, as inside an utterance): next time it waits 384 + 150 ms
    probs = script((0.0, 10), (0.9, 30), (0.0, 12), (0.4, 3), (0.9, 27), (0.0, 60))
    ep, decision = endpointer(Model(0.99), probs, habit_margin_ms=150)
    t1, t2 = ends(run(ep, indexed_frames(len(probs))))
    assert t1 == pytest.approx((40 + frames(300)) * FRAME_S)
    assert decision.habit_ms() == pytest.approx(12 * FRAME_S * 1000 + 150)
    assert t2 == pytest.approx((82 + frames(12 * FRAME_S * 1000 + 150)) * FRAME_S, abs=FRAME_S)


def test_habits_never_wait_past_the_longest_silence() -> None:
    d = CombinedEndOfTurn(None, long_ms=1000)
    d.speech_resumed(5000)
    assert d.habit_ms() == 1000
    d.resumed_after_end(3000)  # beyond resume_ms: a new turn, not a cut-off one
    assert list(d.pauses) == [5000]


def test_without_a_model_it_waits_mid_ms_raised_by_habits() -> None:
    probs = script((0.0, 10), (0.9, 40), (0.0, 60))
    ep, _ = endpointer(None, probs, mid_ms=480)
    (t,) = ends(run(ep, indexed_frames(len(probs))))
    assert t == pytest.approx((50 + frames(480)) * FRAME_S)


def test_the_early_transcript_can_hold_the_turn_or_let_it_end() -> None:
    d = CombinedEndOfTurn(lambda a: 0.7, short_ms=300, mid_ms=500, long_ms=1200)
    d.pause_started()
    assert not d.ended(200, lambda: np.zeros(1))
    assert d.required_ms() == 500  # likely, no transcript
    d.hint("Ich möchte wissen, ob", "de")
    assert d.required_ms() == 1200  # stops on a conjunction
    d.hint("What time is it?", "en")
    assert d.required_ms() == 300  # a question, and the model finds it likely
    d.pause_started()  # a new pause forgets the transcript
    assert d.required_ms() == 1200  # not asked yet at this pause


@pytest.mark.parametrize("text, language, hint", [
    ("I would like to go to the", "en", "wait"),
    ("I went home and", "en", "wait"),
    ("Where is the station?", "en", "end"),
    ("Ich fahre morgen nach", "de", "wait"),
    ("Wie spät ist es?", "de", "end"),
    ("Quiero saber si", "es", "wait"),
    ("¿Dónde está la estación?", "es", "end"),
    ("Je voudrais aller à", "fr", "wait"),
    ("Il fait beau.", "fr", "end"),
    ("Eu gostaria de ir para a", "pt", "wait"),
    ("Onde fica a estação?", "pt", "end"),
    ("well, I think,", "en", "wait"),
    ("and then...", "en", "wait"),
    ("I think so", "en", None),
    ("", "en", None),
    ("nach", "xx", None),  # an unknown language: no word list, no guess
])
def test_transcript_hint(text, language, hint) -> None:
    assert transcript_hint(text, language) == hint


def test_patient_mode_overrides_the_decision() -> None:
    probs = script((0.0, 10), (0.9, 40), (0.0, 100))
    ep, _ = endpointer(Model(0.99), probs)
    ep.set_min_silence_ms(2000)
    (t,) = ends(run(ep, indexed_frames(len(probs))))
    assert t == pytest.approx((50 + round(2000 / 1000 / FRAME_S)) * FRAME_S)


def test_settings_build_it_and_check_the_order() -> None:
    ep = make_endpointer(AudioSettings(vad="energy", end_of_turn="combined", combined_smart_turn=False,
                                       combined_short_ms=300, combined_mid_ms=450, combined_long_ms=1000))
    d = ep.end_of_turn
    assert isinstance(d, CombinedEndOfTurn) and d.probability is None
    assert (d.short_ms, d.mid_ms, d.long_ms) == (300, 450, 1000)
    assert ep.min_silence_frames > frames(1000)  # the decision ends first; this is the backstop
    with pytest.raises(ValidationError, match="combined_short_ms <= combined_mid_ms"):
        AudioSettings(end_of_turn="combined", combined_short_ms=600, combined_mid_ms=500)
    AudioSettings(end_of_turn="silence", combined_short_ms=600, combined_mid_ms=500)  # not used: fine


# -- the real model on real speech ---------------------------------------------------------------

@pytest.fixture(scope="module")
def combined_settings() -> AudioSettings:
    from assistant.audio.smart_turn import model_path
    from assistant.core.errors import ModelNotFoundError

    try:
        model_path()
    except ModelNotFoundError as e:
        pytest.skip(f"Smart Turn model not installed: {e}")
    return AudioSettings(end_of_turn="combined", combined_short_ms=300, combined_mid_ms=500,
                         combined_sure=0.9, combined_long_ms=1000)


# Cases with a margin (measured): fleurs-en-006 and fleurs-es-000 have no pause of 200 ms inside
# (the longest 128 ms); after the last word Smart Turn says 0.986-0.988 / 0.985-0.988 at 192, 320
# and 512 ms of silence (sure is 0.9), for the same sentence cut mid-word at 60 % 0.021-0.122 /
# 0.012-0.030 (likely is 0.5). Waits seen: 364 / 332 ms complete, 1100 / 1036 ms cut.
@pytest.mark.parametrize("clip", ["fleurs-en-006", "fleurs-es-000"])
def test_real_speech_sure_ends_before_plain_silence_cut_waits(combined_settings, clip) -> None:
    from assistant.audio.io import load_audio
    from tests.audio.test_smart_turn import _speech_span
    from tests.support.shared import shared_audio

    audio = load_audio(shared_audio("fleurs", f"{clip}.ogg"), 16000).samples
    start, end, flags = _speech_span(audio)
    k = int(np.nonzero(flags)[0][int(flags.sum() * 0.6)])
    while not flags[k - 3:k + 4].all():  # inside a word, 60 % of the way through
        k += 1
    waits = []
    for speech in (audio[start:end], audio[start:k * FRAME]):
        ep = make_endpointer(combined_settings)
        x = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(40000, np.float32)])
        (t,) = ends(run(ep, x))
        waits.append(t - (8000 + len(speech)) / 16000)
    print(f"{clip}: complete ends {waits[0] * 1000:.0f} ms after speech, cut {waits[1] * 1000:.0f} ms")
    assert waits[0] < 0.45  # 300 ms + the VAD's tail: sooner than plain silence's 500 ms
    assert waits[1] > 0.9  # unsure: waited for combined_long_ms
