import pytest

from assistant.commands.language import parse
from assistant.language.names import WHISPER_LANGUAGES


@pytest.mark.parametrize("text,code", [
    ("Speak German.", "de"), ("Answer in Spanish, please.", "es"), ("please reply in japanese", "ja"),
    ("Antworte bitte auf Englisch!", "en"), ("Sprich Französisch.", "fr"), ("Habla alemán.", "de"),
    ("Responde en portugués", "pt"), ("Parle anglais.", "en"), ("Fala português.", "pt"),
    ("Switch to the Italian language", "it"), ("Spreek Nederlands", "nl"), ("Speak Swahili", "sw"),
])
def test_requests_in_many_languages(text, code):
    cmd = parse(text)
    assert cmd is not None and cmd.language == code and cmd.confirmation


@pytest.mark.parametrize("text", ["Speak my language.", "Antworte automatisch", "answer in the language I speak"])
def test_back_to_automatic(text):
    cmd = parse(text)
    assert cmd is not None and cmd.language is None


@pytest.mark.parametrize("text", ["How do you say hello in German?", "Speak slowly.", "I speak German at home",
                                  "Can you answer a question about Spanish history for me please?", ""])
def test_ordinary_sentences_are_not_commands(text):
    assert parse(text) is None


def test_names_table_matches_whisper():
    import whisper.tokenizer

    assert WHISPER_LANGUAGES == whisper.tokenizer.LANGUAGES
