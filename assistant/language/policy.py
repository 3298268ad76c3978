"""Choosing a turn's language from Whisper's probabilities.

Whisper's argmax is unreliable on short clips and between close languages. The policy restricts
the choice to the languages a household speaks, weighs the previous turn's language as a prior
(its probability multiplied by ``prior``, by ``short_prior`` on a short clip: a two-word German
utterance in a German session stays German unless the evidence is strong: a short clip switches
only with ``short_min_probability`` after the prior), never lets the prior overrule a detection of
``strong_probability`` or more, and, when the result is still unsure,
names the next candidates for the STT to try when a decode in the chosen language fails
Whisper's checks. It skips detection when a language is fixed.
The per-session state (previous language, a language the user asked for by voice) lives in
``LanguageState`` so a turn can change language without reloading any model.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from assistant.core.options import Section
from assistant.core.types import LanguageDecision


class LanguagePolicy(Section):
    """How the turn's language is chosen from Whisper's probabilities (see assistant/language/)."""

    languages: tuple[str, ...] = Field(
        (), description="Restrict detection to these language codes (empty: any language Whisper knows).")
    min_probability: float = Field(0.5, ge=0, le=1, description=(
        "Below this probability (after the prior) the choice is unsure: detection is repeated on "
        "Whisper's full 30 s window and the next `candidates` are tried when the decode fails "
        "Whisper's checks."))
    min_duration_s: float = Field(
        1.0, ge=0, description="Clips shorter than this keep the previous turn's language.")
    prior: float = Field(3.0, ge=1, description=(
        "The previous turn's language counts this many times its detected probability (1: no "
        "prior; a switch wins when detection gives the new language this many times the old one's)."))
    short_prior: float = Field(5.0, ge=1, description=(
        "The prior on clips shorter than `short_s` (one to three words), where detection is a coin toss."))
    short_s: float = Field(1.5, ge=0, description="Clips shorter than this are short (see `short_prior`).")
    short_min_probability: float = Field(0.6, ge=0, le=1, description=(
        "On a short clip another language than the previous one is chosen only with at least "
        "this probability after the prior."))
    strong_probability: float = Field(0.9, ge=0, le=1, description=(
        "A detection at least this sure is never overruled by the prior."))
    candidates: int = Field(2, ge=1, le=5, description=(
        "Languages an unsure turn may be decoded in, best first, when a decode fails Whisper's checks."))
    default: str = Field("en", description="Language used before any turn has set one.")
    reply_language: str = Field(
        "same", description="`same`: reply in the user's language; or a code to always reply in that language.")
    check_reply: bool = Field(
        True, description="Check the reply's language and regenerate once when it is wrong.")


@dataclass
class LanguageState:
    """One conversation's language, and the one place its rules are written: the language a turn
    is heard in comes from ``decide`` (speech) or ``user_language`` (typed text, no speech); the
    reply's from ``reply_language``; what the assistant says outside a reply from ``speaking``.
    ``Stages.hear`` sets ``previous``; a "speak German" command sets ``requested``."""

    previous: str | None = None  # the last turn's language
    requested: str | None = None  # set by "speak German" until told otherwise

    def current(self) -> str | None:
        """The conversation's language before this turn: asked for by voice, else the last heard."""
        return self.requested or self.previous

    def user_language(self, policy: LanguagePolicy, given: str | None = None) -> str:
        """The user's language where no speech says it (typed text, a short clip): the given one,
        else the last heard, else ``language.default``."""
        return given or self.previous or policy.default

    def reply_language(self, user_language: str, policy: LanguagePolicy) -> str:
        """A language the user asked for by voice, else the configured one, else theirs."""
        if self.requested:
            return self.requested
        return user_language if policy.reply_language == "same" else policy.reply_language

    def speaking(self, policy: LanguagePolicy) -> str:
        """The language of what the assistant says outside a reply (a hint, a message)."""
        return self.current() or policy.default


def top_n(probs: dict[str, float], n: int = 3) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(probs.items(), key=lambda kv: kv[1], reverse=True)[:n])



def decide(probs: dict[str, float] | None, duration: float, policy: LanguagePolicy,
           state: LanguageState, fixed: str | None = None) -> LanguageDecision:
    """The language to transcribe with. ``probs`` is None only when ``fixed`` is set.

    The detected probabilities (restricted to ``policy.languages`` and renormalised among them
    when set) are weighted by the prior on the previous language and renormalised: the chosen
    language is the most probable after that, its ``probability`` the share it gets. A
    detection of ``strong_probability`` or more wins whatever the prior says. When the share is
    below ``min_probability`` the decision names ``candidates``, the next most probable
    languages, for a decode that fails Whisper's checks. On a short clip a switch also needs
    ``short_min_probability`` after the prior."""
    if fixed is not None:
        return LanguageDecision(fixed, "fixed", None, ())
    assert probs is not None, "detection is needed when no language is fixed"
    top = top_n(probs)
    fallback = state.user_language(policy)
    if duration < policy.min_duration_s:
        kept = "kept-previous" if state.previous else "default"
        return LanguageDecision(fallback, kept, probs.get(fallback), top)
    allowed = [c for c in policy.languages if c in probs]
    pool = {c: probs[c] for c in allowed} if allowed else dict(probs)
    total = sum(pool.values())
    if total <= 0:
        kept = "kept-previous" if state.previous else "default"
        return LanguageDecision(fallback, kept, None, top)
    shares = {c: p / total for c, p in pool.items()}
    detected = max(shares, key=lambda c: shares[c])
    posterior = weigh(shares, state.previous, policy.short_prior if duration < policy.short_s else policy.prior)
    ranked = sorted(posterior, key=lambda c: posterior[c], reverse=True)
    short = duration < policy.short_s
    if (short and state.previous in posterior and ranked[0] != state.previous
            and posterior[ranked[0]] < policy.short_min_probability):
        ranked.remove(state.previous)  # an unsure switch on one to three words: stay
        ranked.insert(0, state.previous)
    if shares[detected] >= policy.strong_probability and ranked[0] != detected:
        ranked.remove(detected)  # strong evidence is never overruled
        ranked.insert(0, detected)
    best = ranked[0]
    if best != detected:
        reason = "kept-previous"
    else:
        reason = "detected" if best == top[0][0] else "restricted"
    probability = posterior[best]
    candidates: tuple[str, ...] = ()
    if probability < policy.min_probability:
        candidates = tuple(c for c in ranked[1:policy.candidates] if posterior[c] > 0)
    return LanguageDecision(best, reason, probability, top, candidates)


def weigh(shares: dict[str, float], previous: str | None, prior: float) -> dict[str, float]:
    """``shares`` with ``previous``'s multiplied by ``prior``, renormalised (Bayes' rule with a
    prior that favours the language the conversation is in)."""
    weighted = {c: p * (prior if c == previous else 1.0) for c, p in shares.items()}
    total = sum(weighted.values())
    return {c: p / total for c, p in weighted.items()} if total > 0 else dict(shares)


def combine(short: dict[str, float], full: dict[str, float]) -> dict[str, float]:
    """One distribution from detection on the utterance's window and on the full 30 s window:
    their product, renormalised (two looks at the same audio; a language both find likely wins)."""
    product = {c: p * full.get(c, 0.0) for c, p in short.items()}
    total = sum(product.values())
    if total <= 0:
        return dict(full)
    return dict(sorted(((c, p / total) for c, p in product.items()), key=lambda kv: kv[1], reverse=True))
