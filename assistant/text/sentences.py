"""Cut a streamed LLM reply into sentences for TTS, as the tokens arrive.

``SentenceSplitter.push(token)`` returns the sentences the token completed; ``flush()`` returns
the rest at the end of the reply. The result does not depend on how the text was cut into
tokens: a boundary is only decided once the text it depends on has arrived (usually the next
token), so the first sentence goes to TTS as soon as it is certain.

Boundaries:
- ``. ! ? … ;`` followed by whitespace, with closing quotes/brackets kept on the sentence
  (``He said "Stop." Then`` -> ``He said "Stop."``; French ``« Oui. »`` and ``Bonjour !``);
- CJK ``。！？；`` (no space needed; closing 」』）” kept);
- a line break (lists, paragraphs); leading bullet markers (``-``, ``*``, ``•``, ``#``) are dropped.
Not boundaries: decimals and versions (``3.14``, ``v1.2``), abbreviations (``Dr.``, ``Mr.``,
``e.g.``, ``z.B.``, ``etc.`` when the next word is lower case, ``Sr.``, ``M.``, initials), a period
or ellipsis followed by a lower-case word, ``No. 5`` / ``Nr. 5``, German ordinals (``am 3. Mai``)
when ``language="de"``, Spanish ``¡ ¿`` openers (they start the next sentence).

Tiny pieces (under ``min_chars``; CJK characters count double) are merged into the next
sentence, except the reply's first sentence, which goes out once it has ``first_min_chars``, so
"Sure!" is spoken while the model writes on. A sentence longer than ``max_chars`` with no
boundary is cut at its last comma or space.

Speak sooner: the reply's first chunk may be a clause. Once it has ``first_clause_chars`` without
a sentence end, it ends at the next clause mark (``, :`` followed by a space; CJK ``，：``) that is
not inside quotes or brackets and not between digits ("1, 2"): the voice starts on the clause
while the model finishes the sentence. 0 turns this off. Pure Python, no state beyond one reply.
"""

from __future__ import annotations

import re

TERMINALS = ".!?;…"
CJK_TERMINALS = "。！？；｡"
CLAUSE_MARKS = ",:"
CJK_CLAUSE_MARKS = "，："
CLOSERS = "\"'”’»)]}」』）】〉》〕＂"
OPENERS = "\"'“‘«([{「『（【〈《¿¡"
BULLET = re.compile(r"^(?:[-*•·‣▪–—]+|#{1,6}|>)(?:\s+|$)")

# Period-final words that do not end a sentence (lower case, without the final period).
ABBREVIATIONS = frozenset("""
mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf approx incl esp dept est fig inc ltd corp co
jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
z.b bzw usw ca ggf evtl d.h u.a vgl inkl hr fr frl str nr abs abt bd
sra srta dra ud uds vd vds p.ej aprox pág av avda dña
mme mlle mm me p.ex env ex
exma exmo dª
""".split())
# Abbreviations that often end a sentence: a boundary when a capital follows.
CAN_END_SENTENCE = frozenset("etc usw inc ltd corp co".split())
# Abbreviations that stand before a number: "No. 5", "Nr. 3", "p. 12".
NUMBER_ABBREVIATIONS = frozenset("no nr nº n p pp s art vol ch chap sec tel op fig".split())
ORDINAL_LANGUAGES = frozenset("de da no nb nn fi et is hu cs sk sl hr sr lv lt tr".split())
_INNER_DOTS = re.compile(r"^(?:[^\W\d_]{1,3}\.)+[^\W\d_]{1,3}$")  # e.g, z.B, p.ex, U.S


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0xAC00 <= o <= 0xD7AF or 0xFF66 <= o <= 0xFF9F)


def weight(text: str) -> int:
    """Length for the min/max rules: a CJK character counts as two."""
    return sum(2 if is_cjk(c) else 1 for c in text)


def _join_text(texts: list[str]) -> str:
    """Join with spaces, except next to CJK text, which has none."""
    out = ""
    for t in texts:
        t = t.strip()
        if not t:
            continue
        if out and not (is_cjk(out[-1]) or out[-1] in CJK_TERMINALS + "」』）】》、，" or is_cjk(t[0])):
            out += " "
        out += t
    return out


def _speakable(text: str) -> bool:
    return any(c.isalpha() or is_cjk(c) for c in text)


class SentenceSplitter:
    """Streamed text in, sentences out. One instance per reply (``flush()`` also resets it)."""

    def __init__(self, language: str | None = None, min_chars: int = 10, first_min_chars: int = 2,
                 max_chars: int = 300, first_clause_chars: int = 30) -> None:
        if max_chars <= min_chars:
            raise ValueError("max_chars must be larger than min_chars")
        self.language = (language or "").lower().split("-")[0] or None
        self.min_chars, self.first_min_chars, self.max_chars = min_chars, first_min_chars, max_chars
        self.first_clause_chars = first_clause_chars
        self.reset()

    def reset(self) -> None:
        self._buf = ""
        self._scan = 0  # where the boundary search resumes in _buf
        # cut pieces too short to speak alone, waiting for more; True: it ended at a line break
        self._pieces: list[tuple[str, bool]] = []
        self._emitted = 0

    def push(self, token: str) -> list[str]:
        """Add streamed text; return the sentences it completed (often none)."""
        self._buf += token
        return self._drain(final=False)

    def flush(self) -> str | None:
        """End of the reply: all text not yet returned, as one string (None if there is nothing
        to say), then reset for the next reply."""
        out = self._drain(final=True)
        rest = self._clean(self._buf)
        tail = _join_text(out + [self._merge(self._pieces + ([(rest, False)] if rest else []))])
        self.reset()
        return tail if tail and (_speakable(tail) or any(c.isdigit() for c in tail)) else None

    # -- internals -----------------------------------------------------------------------------
    def _drain(self, final: bool) -> list[str]:
        out: list[str] = []
        while True:
            found = self._find_boundary(final)
            if found is None:
                return out
            end, nxt, line_break = found
            piece = self._clean(self._buf[:end])
            self._buf = self._buf[nxt:]
            self._scan = 0
            if not piece:
                continue
            # a list line or heading without its own punctuation: a comma keeps a pause if it is
            # merged with the next line ("Eggs, Milk"); dropped again when it stands alone
            self._pieces.append((piece, line_break))
            candidate = self._merge(self._pieces)
            need = self.first_min_chars if self._emitted == 0 else self.min_chars
            if _speakable(candidate) and weight(candidate) >= need:
                out.append(candidate)
                self._pieces = []
                self._emitted += 1

    @staticmethod
    def _merge(pieces: list[tuple[str, bool]]) -> str:
        """Join pieces; a list line or heading without its own punctuation gets a comma when
        something follows it, so the voice pauses ("Eggs, Milk")."""
        pieces = [p for p in pieces if p[0]]
        texts = [t + ("," if line_break and t[-1].isalnum() and i < len(pieces) - 1 else "")
                 for i, (t, line_break) in enumerate(pieces)]
        return _join_text(texts)

    @staticmethod
    def _clean(text: str) -> str:
        return BULLET.sub("", text.strip()).strip()

    def _find_boundary(self, final: bool) -> tuple[int, int, bool] | None:
        """(end of the sentence, start of the rest, ended by a line break), or None: no boundary
        in the text so far (or one that needs more text to decide)."""
        text = self._buf
        n = len(text)
        i = self._scan
        w = weight(text[:i])
        while i < n:
            c = text[i]
            w += 2 if is_cjk(c) else 1
            if w > self.max_chars:
                return self._force_cut(i)
            if c == "\n":
                return i, self._skip_space(text, i), True
            if c in CJK_TERMINALS:
                j = self._absorb(text, i + 1, ".!?…" + CJK_TERMINALS, final)
                if j < 0 or (j == n and not final):  # closing quotes may follow
                    self._scan = i
                    return None
                return j, self._skip_space(text, j), False
            if c in TERMINALS:
                decision = self._latin(text, i, final)
                if decision is None:
                    self._scan = i
                    return None
                if decision is not False:
                    return decision
                nxt = self._absorb(text, i + 1, TERMINALS, final) if c in ".…" else i + 1
                if nxt < 0:
                    self._scan = i
                    return None
                w += weight(text[i + 1:nxt])
                i = nxt
                continue
            clause = (c in CLAUSE_MARKS or c in CJK_CLAUSE_MARKS) and self._first_clause(text, i, w, final)
            if clause is None:
                self._scan = i
                return None
            if clause:
                if c in CJK_CLAUSE_MARKS:
                    return i + 1, self._skip_space(text, i + 1), False
                if i + 1 == n and not final:  # a space must follow: wait for the next token
                    self._scan = i
                    return None
                if i + 1 < n and text[i + 1] in " \u00a0\u202f":
                    return i + 1, self._skip_space(text, i + 1), False
            i += 1
        self._scan = n
        return None

    def _first_clause(self, text: str, i: int, w: int, final: bool) -> bool | None:
        """May the reply's first chunk end at the clause mark ``text[i]``? None: the text that
        decides has not arrived."""
        if not self.first_clause_chars or self._emitted or self._pieces or w < self.first_clause_chars:
            return False
        head = text[:i]
        if (head.count('"') % 2 or head.count("“") > head.count("”") or head.count("«") > head.count("»")
                or head.count("(") > head.count(")") or head.count("「") > head.count("」")):
            return False  # inside a quote or a bracket
        after = text[i + 1:].lstrip(" \u00a0\u202f")
        if head[-1:].isdigit():
            if not after:
                return False if final else None
            if after[0].isdigit():
                return False  # 1, 2, 3
        return True

    def _latin(self, text: str, i: int, final: bool):
        """Decide at the Latin terminal ``text[i]``: (end, next, False) for a boundary, False for
        none, None when the text that decides has not arrived yet."""
        n = len(text)
        c = text[i]
        j = self._absorb(text, i + 1, TERMINALS if c in ".…" else "!?…", final)
        if j < 0:
            return None
        marks = text[i:j]
        if j == n:
            return (j, j, False) if final else None
        if not text[j].isspace():
            if c in "!?" and is_cjk(text[j]):
                return j, j, False
            return False  # 3.14, example.com, z.B. in mid-token, Yahoo!Mail
        k = j
        while k < n and text[k].isspace() and text[k] != "\n":
            k += 1
        if k < n and text[k] == "\n":
            return j, k, False
        ellipsis = "…" in marks or marks.count(".") >= 2
        if c in "!?;" and not ellipsis:
            return j, k, False
        single_period = marks.rstrip(CLOSERS + " \u00a0\u202f") == "."
        word = self._word_before(text, i)
        lw = word.lower()
        # a plain word and a bare period: certain without the next word. After a closing quote
        # or bracket wait for it: 'He said "Stop." then left' goes on.
        if (marks == "." and len(word) >= 2 and word.isalpha() and lw not in ABBREVIATIONS
                and lw not in NUMBER_ABBREVIATIONS):
            return j, k, False
        if k == n:
            return (j, k, False) if final else None
        nxt = text[k]
        if nxt.islower():
            return False  # etc. and, Well... maybe
        if single_period:
            if nxt.isdigit():  # No. 5, ca. 5 Euro; but "in 1990. 2000 was" ends one
                known = lw in NUMBER_ABBREVIATIONS or lw in ABBREVIATIONS or _INNER_DOTS.match(word)
                return False if known else (j, k, False)
            if lw in CAN_END_SENTENCE:
                return j, k, False
            if lw in ABBREVIATIONS or _INNER_DOTS.match(word) or (len(word) == 1 and word.isalpha()):
                return False  # Dr. Smith, z.B. Häuser, J. F. Kennedy, M. Dupont
            if word.isdigit() and len(word) <= 2 and self.language in ORDINAL_LANGUAGES:
                return False  # am 3. Mai
        return j, k, False

    @staticmethod
    def _absorb(text: str, j: int, more: str, final: bool) -> int:
        """Skip further terminals in ``more`` and closing quotes/brackets (also French ``. »``).
        -1: a space ends the text inside an open « or “, and whether the closing mark follows
        is not known yet."""
        n = len(text)
        while j < n:
            if text[j] in more or text[j] in CLOSERS:
                j += 1
                continue
            if text[j] in " \u00a0\u202f":
                head = text[:j]
                if not (head.count("«") > head.count("»") or head.count("“") > head.count("”")):
                    break  # no quote open: the space ends the sentence
                if j + 1 == n:
                    return j if final else -1
                if text[j + 1] in "»”":
                    j += 2
                    continue
            break
        return j

    @staticmethod
    def _skip_space(text: str, j: int) -> int:
        while j < len(text) and text[j].isspace():
            j += 1
        return j

    @staticmethod
    def _word_before(text: str, i: int) -> str:
        k = i
        while k > 0 and not text[k - 1].isspace():
            k -= 1
        return text[k:i].lstrip(OPENERS)

    def _force_cut(self, i: int) -> tuple[int, int, bool]:
        """No boundary within max_chars: cut at the last comma-like mark, else the last space."""
        text = self._buf[:i]
        for marks in (",，、:：", " "):
            cut = max(text.rfind(m) for m in marks)
            if cut > 0:
                end = cut + 1 if text[cut] != " " else cut
                return end, self._skip_space(self._buf, cut + 1), False
        return i, i, False
