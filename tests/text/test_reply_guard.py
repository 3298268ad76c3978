"""The reply guard (assistant/text/reply_guard.py) on tables of token streams: loops are stopped,
a sentence cut off by the token limit is never passed on, and how the text was cut into tokens
does not change the result."""

from __future__ import annotations

import pytest

from assistant.text.reply_guard import GuardReport, guard_reply, repeated_run


def run(text: str, cut_off: bool = False, step: int = 3) -> tuple[str, GuardReport]:
    pieces = [text[i:i + step] for i in range(0, len(text), step)]
    report = GuardReport()
    return "".join(guard_reply(pieces, lambda: cut_off, report)).strip(), report


CASES = [
    # (stream, cut by the token limit, what passes, loop)
    ("Hello there. How are you?", False, "Hello there. How are you?", None),
    ("Hello there. How are you?", True, "Hello there. How are you?", None),  # ended exactly at a sentence
    ("Hello there. How are you today, my", True, "Hello there.", None),
    ("I am glad to hear", True, "I am glad to hear.", None),  # nothing complete: kept, ended cleanly
    ("It depends on the", True, "It depends on the.", None),
    ("Well, let me think,", True, "Well, let me think.", None),
    ("No end but natural stop", False, "No end but natural stop", None),
    ("I'm glad to hear that. I'm glad to hear that. I'm glad to hear that.", False,
     "I'm glad to hear that.", "sentence"),
    ("Sure. I'm glad to hear that! How can I help? I'm glad to hear that!", False,
     "Sure. I'm glad to hear that! How can I help?", "sentence"),
    ("Le texte de la fin de la fin de la fin de la fin de la fin de la fin", False,
     "Le texte de la fin.", "words"),
    ("no no no no no no no no no no", False, "no.", "words"),
    ("Yes. Yes. Sure thing!", False, "Yes. Yes. Sure thing!", None),  # short repeats are speech
    ("It is very very good.", False, "It is very very good.", None),
    ("Zeile eins\nZeile zwei\nZeile", True, "Zeile eins\nZeile zwei", None),
    ("今天天气很好。我们去公园", True, "今天天气很好。", None),
]


@pytest.mark.parametrize("text, cut, expected, loop", CASES)
@pytest.mark.parametrize("step", [1, 3, 1000])
def test_guard_table(text, cut, expected, loop, step):
    out, report = run(text, cut, step)
    assert out == expected
    assert report.loop == loop
    assert report.cut_off == cut


@pytest.mark.parametrize("words, start", [
    ("a b c a b c a b c".split(), None),  # 9 words but blocks of 3: 3 copies, 9 >= 8 → loop
    ("x y".split(), None),
    ("de la fin de la fin de la fin".split(), 3),
    ("one two three four five six seven eight".split(), None),
    (["no"] * 8, 1),
    (["no"] * 7, None),
])
def test_repeated_run(words, start):
    if words == "a b c a b c a b c".split():
        assert repeated_run(words) == 3
    else:
        assert repeated_run(words) == start


def test_releases_whole_sentences_as_they_complete():
    out = []
    gen = guard_reply(iter(["Hi", " there.", " More", " text", " here.", " Tail"]), lambda: True)
    for piece in gen:
        out.append(piece)
    assert out == ["Hi there. ", "More text here. "]


def test_loop_closes_the_model_stream():
    closed = []

    def model():
        try:
            while True:
                yield "I'm glad to hear that. "
        finally:
            closed.append(True)

    text = "".join(guard_reply(model()))
    assert text.strip() == "I'm glad to hear that."
    assert closed == [True]


def test_closing_the_guard_closes_the_model_stream():
    closed = []

    def model():
        try:
            yield "One sentence. "
            yield "Two sentences. "
        finally:
            closed.append(True)

    gen = guard_reply(model())
    assert next(gen) == "One sentence. "
    gen.close()  # barge-in
    assert closed == [True]


def test_run_on_text_is_released_at_a_comma():
    text = "".join(f"word{i}, " for i in range(100))
    out, _ = run(text, step=5)
    assert out.startswith("word0, word1,") and len(out) > 300
