"""SentenceSplitter: language tables, streaming token by token, early first sentence."""

from __future__ import annotations

import random

import pytest

from assistant.text.sentences import SentenceSplitter, weight


def split(text: str, language: str | None = None, step: int | None = None, **options) -> list[str]:
    """Feed ``text`` in pieces of ``step`` characters (None: all at once) and collect everything."""
    sp = SentenceSplitter(language, **options)
    out: list[str] = []
    pieces = [text] if step is None else [text[i:i + step] for i in range(0, len(text), step)]
    for piece in pieces:
        out += sp.push(piece)
    rest = sp.flush()
    return out + ([rest] if rest else [])


CASES = [
    # English
    ("en", "Sure! Dr. Smith arrived at 3.14 p.m. today. He said \"Stop.\" Then he left.",
     ["Sure!", "Dr. Smith arrived at 3.14 p.m. today.", "He said \"Stop.\"", "Then he left."]),
    ("en", "He said \"Stop.\" then he left. (It ended.) and that was it.",
     ["He said \"Stop.\" then he left.", "(It ended.) and that was it."]),
    ("en", "It is, e.g. a test. Mr. J. F. Kennedy spoke to Mrs. Jones. Really?! Yes.",
     ["It is, e.g. a test.", "Mr. J. F. Kennedy spoke to Mrs. Jones.", "Really?! Yes."]),
    ("en", "Well... I think so. Wait... maybe not. Apples, pears, etc. and more. See No. 5 please.",
     ["Well...", "I think so.", "Wait... maybe not.", "Apples, pears, etc. and more.", "See No. 5 please."]),
    ("en", "Version 2.1 is out (see example.com). It works; mostly it does.",
     ["Version 2.1 is out (see example.com).", "It works; mostly it does."]),
    ("en", "I bought apples, etc. The rest (the pears.) went bad.",
     ["I bought apples, etc.", "The rest (the pears.) went bad."]),
    # German
    ("de", "Das ist z.B. ein Haus. Er kam am 3. Mai nach Berlin. Das kostet ca. 5 Euro usw. Danke schön!",
     ["Das ist z.B. ein Haus.", "Er kam am 3. Mai nach Berlin.", "Das kostet ca. 5 Euro usw.", "Danke schön!"]),
    ("de", "Hallo! Wie geht es Ihnen, Herr Dr. Müller? Gut, d.h. sehr gut.",
     ["Hallo!", "Wie geht es Ihnen, Herr Dr. Müller?", "Gut, d.h. sehr gut."]),
    # Spanish: ¡ ¿ open the next sentence
    ("es", "¡Hola! ¿Cómo estás? El Sr. García llegó a las 3.30. Muy bien, gracias.",
     ["¡Hola!", "¿Cómo estás?", "El Sr. García llegó a las 3.30.", "Muy bien, gracias."]),
    ("es", "La Sra. López vive aquí. ¿De verdad? ¡Qué bien!",
     ["La Sra. López vive aquí.", "¿De verdad?", "¡Qué bien!"]),
    ("es", "¿Sí? ¡Claro! Vamos ya.", ["¿Sí?", "¡Claro! Vamos ya."]),
    # French: space before ! ? ; and guillemets
    ("fr", "Bonjour ! Comment ça va ? M. Dupont est arrivé. « Oui. » Il est parti.",
     ["Bonjour !", "Comment ça va ?", "M. Dupont est arrivé.", "« Oui. » Il est parti."]),
    ("fr", "Mme Martin a dit : « C'est fini. » Nous partons demain matin.",
     ["Mme Martin a dit : « C'est fini. »", "Nous partons demain matin."]),
    # Portuguese
    ("pt", "Olá! O Sr. Silva chegou às 14h. Tudo bem? Sim, obrigado.",
     ["Olá!", "O Sr. Silva chegou às 14h.", "Tudo bem? Sim, obrigado."]),
    ("pt", "A Dra. Costa custa 3,50 euros. Pois é.", ["A Dra. Costa custa 3,50 euros.", "Pois é."]),
    # Chinese and Japanese: no spaces, full-width punctuation, CJK counts double
    ("zh", "你好！今天天气很好。我们去公园散步吧？好的。",
     ["你好！", "今天天气很好。", "我们去公园散步吧？", "好的。"]),
    ("zh", "圆周率是3.14。对；没错。", ["圆周率是3.14。", "对；没错。"]),
    ("ja", "こんにちは。今日はいい天気ですね！「そうですね。」散歩に行きましょう。",
     ["こんにちは。", "今日はいい天気ですね！", "「そうですね。」", "散歩に行きましょう。"]),
    ("ja", "はい。わかりました！", ["はい。", "わかりました！"]),
    # line breaks and bullets
    ("en", "Here is the list:\n- Eggs\n- Milk\n- Butter and cheese for the cake\n\n"
           "1. First step is this.\n2. Then the second.",
     ["Here is the list:", "Eggs, Milk", "Butter and cheese for the cake", "1. First step is this.",
      "2. Then the second."]),
]


@pytest.mark.parametrize("language,text,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_split_table(language: str, text: str, expected: list[str]) -> None:
    assert split(text, language) == expected


@pytest.mark.parametrize("language,text,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_streaming_gives_the_same_sentences(language: str, text: str, expected: list[str]) -> None:
    assert split(text, language, step=1) == expected
    rng = random.Random(len(text))
    sp = SentenceSplitter(language)
    out: list[str] = []
    i = 0
    while i < len(text):  # random token sizes, as an LLM's tokenizer would cut
        n = rng.randint(1, 6)
        out += sp.push(text[i:i + n])
        i += n
    rest = sp.flush()
    assert out + ([rest] if rest else []) == expected


def test_first_sentence_leaves_with_the_next_token() -> None:
    sp = SentenceSplitter("en")
    tokens = ["Sure", "!", " Here", " is", " how", " it", " works", ".", " First", ","]
    got = [sp.push(t) for t in tokens]
    assert got[:2] == [[], []]
    assert got[2] == ["Sure!"]  # decided by the space after "!", before the rest arrives
    assert got[7] == []
    assert got[8] == ["Here is how it works."]
    assert sp.flush() == "First,"


def test_plain_period_is_decided_by_the_space() -> None:
    sp = SentenceSplitter("en")
    assert sp.push("The weather is fine today.") == []
    assert sp.push(" ") == ["The weather is fine today."]


def test_abbreviation_waits_for_the_next_word() -> None:
    sp = SentenceSplitter("en")
    assert sp.push("I met Dr. ") == []
    assert sp.push("Smith there. ") == ["I met Dr. Smith there."]


def test_short_pieces_merge_after_the_first() -> None:
    assert split("Okay. Yes. No. That is all for today. Bye.", "en") == \
        ["Okay.", "Yes. No. That is all for today.", "Bye."]
    assert split("Yes. No. Maybe so.", "en", first_min_chars=10) == ["Yes. No. Maybe so."]
    assert split("Ab. Cd. Ef.", "en", min_chars=1) == ["Ab.", "Cd.", "Ef."]


def test_cjk_characters_count_double() -> None:
    assert weight("你好") == 4 and weight("ab") == 2
    # "好的。" (6) is under 10 and merges into the next sentence; "今天天气很好。" (14) does not
    assert split("你好！好的。今天天气很好。", "zh") == ["你好！", "好的。今天天气很好。"]


def test_long_sentence_is_cut_at_a_comma() -> None:
    text = "This sentence goes on, and on, and on without any end in sight " * 8
    out = split(text, "en", max_chars=120)
    assert len(out) > 3
    assert all(weight(s) <= 120 for s in out)
    assert " ".join(out).split() == text.split()


def test_flush_returns_the_rest_and_resets() -> None:
    sp = SentenceSplitter("en")
    assert sp.push("No punctuation at all") == []
    assert sp.flush() == "No punctuation at all"
    assert sp.flush() is None
    assert sp.push("   \n") == []
    assert sp.flush() is None
    assert sp.push("Next reply. ") == ["Next reply."]  # the first-sentence rule applies again


def test_list_lines_get_a_pause_only_between_them() -> None:
    assert split("Ok\n- Eggs\n- Milk\n", "en") == ["Ok", "Eggs, Milk"]
    assert split("Title\nA long first line of text\n", "en", first_min_chars=10) == \
        ["Title, A long first line of text"]


def test_text_is_preserved() -> None:
    text = ("Dr. Who met Mr. Smith, etc. and they talked for 2.5 hours! Then? Nothing… "
            "¿Verdad? ¡Sí! 你好。再见！")
    out = split(text, None, step=2)
    assert "".join("".join(out).split()) == "".join(text.split())


# -- speak sooner: the first chunk may be a clause (first_clause_chars, 30 by default) ---------------

CLAUSE_CASES = [
    ("en", "The weather in Berlin is sunny and warm today, with a light breeze from the west. Enjoy!",
     ["The weather in Berlin is sunny and warm today,", "with a light breeze from the west.", "Enjoy!"]),
    # only the first chunk: later commas stay inside their sentences
    ("en", "Sure. The weather in Berlin is sunny and warm today, with a light breeze.",
     ["Sure.", "The weather in Berlin is sunny and warm today, with a light breeze."]),
    # a short clause is not cut off
    ("en", "Yes, I can tell you the weather for Berlin tomorrow morning.",
     ["Yes, I can tell you the weather for Berlin tomorrow morning."]),
    # never inside numbers, quotes or brackets
    ("en", "The numbers you asked for are 1, 2, 3 and 4, in that order.",
     ["The numbers you asked for are 1, 2, 3 and 4,", "in that order."]),
    ("en", "The total comes to 1,250 euros and 30 cents, paid in full.",
     ["The total comes to 1,250 euros and 30 cents,", "paid in full."]),
    ("en", "He told me \"wait here, I will be back soon, really\" and then he left.",
     ["He told me \"wait here, I will be back soon, really\" and then he left."]),
    ("en", "The meeting (with Dr. Smith, Mr. Jones, and others) starts at nine, sharp.",
     ["The meeting (with Dr. Smith, Mr. Jones, and others) starts at nine,", "sharp."]),
    ("fr", "Le train pour Paris part à 14 h 30 de la gare centrale : soyez à l'heure.",
     ["Le train pour Paris part à 14 h 30 de la gare centrale :", "soyez à l'heure."]),
    ("zh", "今天北京的天气非常好，阳光明媚，适合出去散步。",
     ["今天北京的天气非常好，阳光明媚，", "适合出去散步。"]),  # CJK counts double: 30 at the 2nd
]


@pytest.mark.parametrize("language,text,expected", CLAUSE_CASES, ids=[f"clause-{i}" for i in range(len(CLAUSE_CASES))])
@pytest.mark.parametrize("step", [None, 1, 3])
def test_first_chunk_may_be_a_clause(language: str, text: str, expected: list[str], step) -> None:
    assert split(text, language, step=step) == expected


def test_first_clause_can_be_turned_off() -> None:
    text = CLAUSE_CASES[0][1]
    assert split(text, "en", first_clause_chars=0)[0] == text.split(". ")[0] + "."
