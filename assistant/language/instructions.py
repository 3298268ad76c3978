"""The reply-language instruction, written in the language the reply must be in.

Small multilingual models follow an instruction in the target language far more often than the
same instruction in English (an English sentence in the prompt pulls the reply towards English:
scripts/compare_starter_llms.py, README "Multilingual"). Languages without a line here get the
English sentence, which names the language.
"""

from __future__ import annotations

from assistant.language.names import name_of

#: code -> (the instruction, the stronger one used when a reply came back in another language)
INSTRUCTIONS: dict[str, tuple[str, str]] = {
    "en": ("The user speaks English. Reply only in English.",
           "Answer in English only."),
    "de": ("Der Nutzer spricht Deutsch. Antworte nur auf Deutsch.",
           "Antworte ausschließlich auf Deutsch."),
    "es": ("El usuario habla español. Responde solo en español.",
           "Responde únicamente en español."),
    "fr": ("L'utilisateur parle français. Réponds uniquement en français.",
           "Réponds seulement en français."),
    "pt": ("O usuário fala português. Responda apenas em português.",
           "Responda somente em português."),
    "it": ("L'utente parla italiano. Rispondi solo in italiano.",
           "Rispondi esclusivamente in italiano."),
    "nl": ("De gebruiker spreekt Nederlands. Antwoord alleen in het Nederlands.",
           "Antwoord uitsluitend in het Nederlands."),
    "pl": ("Użytkownik mówi po polsku. Odpowiadaj tylko po polsku.",
           "Odpowiedz wyłącznie po polsku."),
    "ru": ("Пользователь говорит по-русски. Отвечай только по-русски.",
           "Ответь только на русском языке."),
    "zh": ("用户说中文。请只用中文回答。",
           "请只用中文回答。"),
    "ja": ("ユーザーは日本語を話します。日本語だけで答えてください。",
           "日本語だけで答えてください。"),
}


def language_instruction(code: str) -> str:
    """The system prompt's line that asks for a reply in ``code``'s language."""
    if code in INSTRUCTIONS:
        return INSTRUCTIONS[code][0]
    name = name_of(code)
    return f"The user speaks {name}. Reply only in {name} (language code '{code}')."


def insist_instruction(code: str) -> str:
    """The retry's line, put after the user's words (the last thing the model reads)."""
    if code in INSTRUCTIONS:
        return INSTRUCTIONS[code][1]
    return f"Answer in {name_of(code)} only."
