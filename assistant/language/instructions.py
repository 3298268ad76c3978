"""The reply-language instruction, written in the language the reply must be in.

Small multilingual models follow an instruction in the target language far more often than the
same instruction in English (an English sentence in the prompt pulls the reply towards English:
scripts/compare_starter_llms.py, README "Languages"). It is a short imperative addressed to the
assistant: a third-person line ("Der Nutzer spricht Deutsch. ...") was read back as the reply,
or turned into "Der Nutzer ..." replies, on most FLEURS statements with the 0.5B starter model.
Languages without a line here get the English sentence, which names the language.
"""

from __future__ import annotations

from assistant.language.names import name_of

#: code -> (the instruction, the stronger one used when a reply came back in another language)
INSTRUCTIONS: dict[str, tuple[str, str]] = {
    "en": ("Always answer in English.", "Answer in English only."),
    "de": ("Antworte immer auf Deutsch.", "Antworte ausschließlich auf Deutsch."),
    "es": ("Responde siempre en español.", "Responde únicamente en español."),
    "fr": ("Réponds toujours en français.", "Réponds seulement en français."),
    "pt": ("Responda sempre em português.", "Responda somente em português."),
    "it": ("Rispondi sempre in italiano.", "Rispondi esclusivamente in italiano."),
    "nl": ("Antwoord altijd in het Nederlands.", "Antwoord uitsluitend in het Nederlands."),
    "pl": ("Odpowiadaj zawsze po polsku.", "Odpowiedz wyłącznie po polsku."),
    "ru": ("Всегда отвечай по-русски.", "Ответь только на русском языке."),
    "zh": ("请始终用中文回答。", "请只用中文回答。"),
    "ja": ("いつも日本語で答えてください。", "日本語だけで答えてください。"),
}


def language_instruction(code: str) -> str:
    """The system prompt's line that asks for a reply in ``code``'s language."""
    if code in INSTRUCTIONS:
        return INSTRUCTIONS[code][0]
    return f"Always answer in {name_of(code)}."


def insist_instruction(code: str) -> str:
    """The retry's line, put after the user's words (the last thing the model reads)."""
    if code in INSTRUCTIONS:
        return INSTRUCTIONS[code][1]
    return f"Answer in {name_of(code)} only."
