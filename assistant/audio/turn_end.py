"""``audio.end_of_turn: combined``: one end-of-turn decision from every signal the endpointer has.

Plain silence waits the same for everyone; Smart Turn alone ends a read sentence at its commas (on
FLEURS it says 0.95+ at most pauses inside a sentence). This decision asks how long the current
pause must last, given:

- **Smart Turn's probability** at the pause (asked at ``ask_ms`` of silence and again at
  ``mid_ms``): at least ``sure`` -> ``short_ms`` is enough; at least ``likely`` -> ``mid_ms``;
  below -> ``long_ms``.
- **The speaker's own pauses** in this session: every pause they went on speaking after (inside an
  utterance, or right after a turn we ended, within ``resume_ms``: we cut them off) is remembered
  (the last ``memory`` of them); the wait is at least their ``habit_quantile`` (1: the longest)
  plus ``habit_margin_ms`` (never above ``long_ms``). A speaker who pauses long mid-sentence is waited for longer.
- **The early transcript's last words**, when the caller has one (``hint``): a sentence that ends
  in a conjunction, article or preposition of its language, or in a comma, waits ``long_ms``;
  one that ends in '.', '?' or '!' with Smart Turn at least ``likely`` may end at ``short_ms``.

Without a model (``probability=None``) the wait is ``mid_ms`` raised by the speaker's habits.
Plain blocking class, one per stream (sessions do not share habits); the endpointer calls it.
"""

from __future__ import annotations

import collections
import re
from typing import Callable

import numpy as np

# Words after which a sentence cannot end (conjunctions, articles, prepositions, a few
# auxiliaries), per language: a transcript that stops on one of them is mid-sentence.
CONTINUATION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("""and or but because if when while although though that which who whose whom
        than as the a an of to in on at for with from by about into over under between through
        after before during without my your his her its our their this these those is are was were
        be been am will would can could should must do does did has have had not very""".split()),
    "de": frozenset("""und oder aber denn weil wenn als ob dass obwohl während sondern der die das den dem
        des ein eine einen einem einer eines in im an am auf aus bei mit nach von vom zu zum zur für
        über unter vor hinter zwischen durch gegen ohne um mein dein sein ihr unser euer ist sind war
        waren wird werden hat haben kann können muss nicht sehr""".split()),
    "es": frozenset("""y e o u pero porque si cuando mientras aunque que quien cual como el la los las
        un una unos unas lo al del de a en con por para sin sobre entre hacia desde hasta mi tu su
        nuestro es son fue era está están ha han muy no se""".split()),
    "fr": frozenset("""et ou mais donc car parce si quand lorsque comme que qui dont le la les un une des
        du de d' l' au aux à en dans sur sous avec pour par sans entre vers chez mon ton son ma ta sa
        mes tes ses notre votre leur est sont était a ont très ne pas se""".split()),
    "pt": frozenset("""e ou mas porque se quando enquanto embora que quem qual como o a os as um uma uns
        umas ao aos do da dos das de em no na nos nas num numa com por pelo pela para sem sobre entre
        até desde meu minha seu sua nosso é são foi era está estão há tem muito não""".split()),
    "it": frozenset("""e o ma perché se quando mentre anche che chi cui come il lo la i gli le un uno una
        del della dei delle di a al alla in nel nella con per su tra fra da mio tuo suo è sono era
        ha hanno molto non""".split()),
}
_WORD = re.compile(r"[^\W\d_]+'?", re.UNICODE)


def transcript_hint(text: str, language: str | None) -> str | None:
    """``"wait"`` when ``text`` stops mid-sentence (a comma, a dash, or a continuation word of its
    language), ``"end"`` when it ends a sentence ('.', '?', '!', not '...'), else ``None``."""
    t = text.strip()
    if not t:
        return None
    if t.endswith(("...", "…", ",", ";", ":", "-", "–")):
        return "wait"
    words = _WORD.findall(t.lower())
    lang = (language or "").split("-")[0].lower()
    if words and words[-1] in CONTINUATION_WORDS.get(lang, ()):
        return "wait"
    if t.endswith((".", "?", "!", "¿", "。", "？", "！")):
        return "end"
    return None


class CombinedEndOfTurn:
    """Decides, frame by frame of a pause, whether the user's turn has ended (see the module)."""

    def __init__(self, probability: Callable[[np.ndarray], float] | None = None, *, ask_ms: float = 200,
                 short_ms: float = 300, mid_ms: float = 500, long_ms: float = 1200, sure: float = 0.9,
                 likely: float = 0.5, habit_margin_ms: float = 0, habit_quantile: float = 1.0,
                 memory: int = 8, resume_ms: float = 1500) -> None:
        if not 0 < ask_ms <= short_ms <= mid_ms <= long_ms:
            raise ValueError("need 0 < ask_ms <= short_ms <= mid_ms <= long_ms")
        if not 0 < likely <= sure < 1:
            raise ValueError("need 0 < likely <= sure < 1")
        self.probability = probability
        self.ask_ms, self.short_ms, self.mid_ms, self.long_ms = ask_ms, short_ms, mid_ms, long_ms
        self.sure, self.likely = sure, likely
        self.habit_margin_ms = habit_margin_ms
        self.habit_quantile = habit_quantile
        self.resume_ms = resume_ms
        self.pauses: collections.deque[float] = collections.deque(maxlen=max(1, memory))
        self.last_probability: float | None = None
        self.pause_id = 0  # counts pauses, so a late transcript is not taken for a newer pause
        self.asks = 0  # how many times the model was asked (benchmarks and the endpointer read it)
        self._hint: str | None = None
        self._asked: set[float] = set()

    # -- what the endpointer tells it ---------------------------------------------------------
    def pause_started(self) -> None:
        """A new pause: forget the previous pause's probability and transcript."""
        self.pause_id += 1
        self.last_probability = None
        self._hint = None
        self._asked = set()

    def speech_resumed(self, pause_ms: float) -> None:
        """The user went on after ``pause_ms`` of silence inside an utterance: a pause of theirs
        (gaps between words, shorter than ``ask_ms``, say nothing of their habits)."""
        if pause_ms >= self.ask_ms:
            self.pauses.append(pause_ms)

    def resumed_after_end(self, gap_ms: float) -> None:
        """Speech began ``gap_ms`` after the speech of a turn we ended: if soon, we cut them off."""
        if self.ask_ms <= gap_ms <= self.resume_ms:
            self.pauses.append(gap_ms)

    def hint(self, text: str, language: str | None, pause_id: int | None = None) -> None:
        """The early transcript of the utterance up to this pause (``pause_id``: the pause it was
        taken at; ignored when the speaker has paused again since). May come from another thread."""
        if pause_id is None or pause_id == self.pause_id:
            self._hint = transcript_hint(text, language)

    # -- the decision ---------------------------------------------------------------------------
    def habit_ms(self) -> float:
        """The least wait this speaker's own pauses call for (0 when none is known)."""
        if not self.pauses:
            return 0.0
        typical = float(np.quantile(list(self.pauses), self.habit_quantile))
        return min(self.long_ms, typical + self.habit_margin_ms)

    def required_ms(self) -> float:
        """How long the current pause must last to end the turn, with what is known now."""
        p = self.last_probability
        if self._hint == "wait":
            need = self.long_ms
        elif p is None:
            need = self.mid_ms if self.probability is None else self.long_ms
        elif p >= self.sure or (self._hint == "end" and p >= self.likely):
            need = self.short_ms
        elif p >= self.likely:
            need = self.mid_ms
        else:
            need = self.long_ms
        return max(need, self.habit_ms())

    def ended(self, silence_ms: float, audio: Callable[[], np.ndarray]) -> bool:
        """After ``silence_ms`` of pause, is the turn over? ``audio()`` gives the utterance so far
        (called only when the model is asked: at ``ask_ms`` and ``mid_ms``)."""
        if self.probability is not None:
            for at in (self.ask_ms, self.mid_ms):
                if silence_ms >= at and at not in self._asked:
                    self._asked.add(at)
                    if self.required_ms() > silence_ms:  # only when its answer can matter
                        self.last_probability = float(self.probability(audio()))
                        self.asks += 1
        return silence_ms >= self.required_ms()
