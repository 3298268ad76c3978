"""The reply-language check (lingua) and the language instructions in the target language."""

from __future__ import annotations

import pytest

from assistant.language.identify import ReplyLanguageChecker
from assistant.language.instructions import INSTRUCTIONS, insist_instruction, language_instruction
from assistant.llm.history import Conversation, History


@pytest.fixture(scope="module")
def checker():
    c = ReplyLanguageChecker()
    c.load()
    return c


# Short, correct replies that lingua's low-accuracy mode over 75 languages took for another language
RIGHT = [("The capital of France is Paris.", "en"), ("The sky is blue.", "en"),
         ("The capital of Spain is Madrid.", "en"), ("La capitale d'Italia è Roma.", "it"),
         ("La capital de Francia es París.", "es"), ("A capital de Portugal é Lisboa.", "pt"),
         ("Der Himmel ist heute blau.", "de"), ("Une semaine a sept jours.", "fr")]
WRONG = [("Sure, I can help you with that today.", "de", "en"),
         ("The user's statement is about the weather.", "es", "en"),
         ("Die Hauptstadt von Frankreich ist Paris.", "fr", "de"),
         ("La capitale de la France est Paris.", "de", "fr")]


@pytest.mark.parametrize("text,lang", RIGHT)
def test_short_right_replies_are_accepted(checker, text, lang):
    check = checker.check(text, lang)
    assert check.ok, check


@pytest.mark.parametrize("text,expected,written", WRONG)
def test_wrong_replies_are_caught_and_their_language_named(checker, text, expected, written):
    check = checker.check(text, expected)
    assert not check.ok and check.detected == written


def test_every_instruction_is_written_in_its_own_language(checker):
    assert {"en", "de", "es", "fr", "pt", "it", "nl", "pl", "ru", "zh", "ja"} <= set(INSTRUCTIONS)
    for code, (first, retry) in INSTRUCTIONS.items():
        for text in (first, retry):
            check = checker.check(text, code)
            assert check.ok and check.skipped in (None, "too short to judge"), (code, text, check)
    # a language without a line: the English sentence, naming it
    assert "Swahili" in language_instruction("sw") and "Swahili" in insist_instruction("sw")


def test_the_language_line_and_the_retry_line_come_after_the_users_words():
    history = History(Conversation())
    history.add("Hallo", "Hallo! Wie kann ich helfen?")
    msgs = history.messages("Wie spät ist es?", "de", lambda _t: 1, insist_instruction("de"))
    assert msgs[0].content == Conversation().system_prompt  # the same every turn (the KV cache keeps it)
    assert msgs[-1].content == "Wie spät ist es?\n\n(Antworte ausschließlich auf Deutsch.)"
    assert history.turns == [("Hallo", "Hallo! Wie kann ich helfen?")]  # the history keeps the user's words
    assert history.messages("Wie spät ist es?", "de", lambda _t: 1)[-1].content == \
        "Wie spät ist es?\n\nAntworte immer auf Deutsch."
    assert history.messages("Wie spät ist es?", None, lambda _t: 1)[-1].content == "Wie spät ist es?"


def test_each_past_question_is_sent_again_with_the_line_it_was_sent_with():
    """The prompt of turn N+1 starts with the whole prompt of turn N and its reply, whatever the
    languages (the engine that keeps the KV cache then prefills only the new question)."""
    history = History(Conversation(max_turns=8))
    prompts = []
    for question, language, retry in [("Hello!", "en", None), ("Wie spät ist es?", "de", insist_instruction("de")),
                                      ("¿Qué tal?", "es", None), ("Merci !", "fr", None)]:
        msgs = history.messages(question, language, len, retry)
        prompts.append(msgs)
        history.add(question, f"reply to {question}")
    for before, after in zip(prompts, prompts[1:]):
        assert after[:len(before)] == before
    assert prompts[-1][3].content == "Wie spät ist es?\n\n(Antworte ausschließlich auf Deutsch.)"  # as it was sent
    assert prompts[-1][5].content == "¿Qué tal?\n\nResponde siempre en español."
    assert history.turns[1] == ("Wie spät ist es?", "reply to Wie spät ist es?")
