"""Word error rate with one normalisation for every language: lower case, no punctuation.

The alignment is jiwer's (the de-facto standard WER library, backed by RapidFuzz's C++ edit
distance): corpus-level WER over many pairs (total edits / total reference words, not a mean of
per-clip rates), with substitutions, deletions and insertions counted as everyone counts them.
Whisper's own ``EnglishTextNormalizer`` also rewrites numbers and spellings, but only for
English; here every language is treated alike so the figures are comparable across languages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case; every punctuation mark or symbol (any script) becomes a space; spaces collapsed.
    ``l'homme`` → ``l homme`` and ``twenty-one`` → ``twenty one`` on both sides alike."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class WordErrors:
    """Edit counts against the reference; ``wer`` is their sum over the reference word count."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_words: int = 0

    @property
    def wer(self) -> float | None:
        if not self.reference_words:
            return None
        return (self.substitutions + self.deletions + self.insertions) / self.reference_words

    def __add__(self, other: "WordErrors") -> "WordErrors":
        return WordErrors(self.substitutions + other.substitutions, self.deletions + other.deletions,
                          self.insertions + other.insertions, self.reference_words + other.reference_words)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Edits turning normalised ``hypothesis`` into normalised ``reference``."""
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return WordErrors(insertions=len(hyp.split()))
    if not hyp:
        return WordErrors(deletions=len(ref.split()), reference_words=len(ref.split()))
    out = jiwer.process_words(ref, hyp)
    return WordErrors(out.substitutions, out.deletions, out.insertions, out.hits + out.substitutions + out.deletions)
