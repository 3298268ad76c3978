"""Language switching by voice: "speak German", "antworte auf Spanisch", "parle anglais"...

Recognised before the LLM sees the turn. A request sets the reply language until the user asks
for another one, or for "my language" / "automatic" to go back to replying in the language
they speak. The confirmation is spoken in the newly requested language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.audio.guard import normalize
from assistant.language.names import WHISPER_LANGUAGES

# Names of common languages as users say them in de/es/fr/pt/it/nl (English names come from
# Whisper's table). Accents are stripped by normalize(), so write them without.
NATIVE_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("englisch", "ingles", "anglais", "inglese", "engels", "angielsku"),
    "de": ("deutsch", "aleman", "allemand", "alemao", "tedesco", "duits", "niemiecku"),
    "es": ("spanisch", "espanol", "castellano", "espagnol", "espanhol", "spagnolo", "spaans", "hiszpansku"),
    "fr": ("franzosisch", "frances", "francais", "francese", "frans", "francusku"),
    "pt": ("portugiesisch", "portugues", "portugais", "portoghese", "portugees", "portugalsku"),
    "it": ("italienisch", "italiano", "italien", "italiaans", "wlosku"),
    "nl": ("niederlandisch", "hollandisch", "neerlandes", "neerlandais", "olandese", "nederlands"),
    "pl": ("polnisch", "polaco", "polonais", "polones", "polacco", "pools", "polsku"),
    "ru": ("russisch", "ruso", "russe", "russo", "russisch"),
    "zh": ("chinesisch", "chino", "chinois", "chines", "cinese", "chinees", "mandarin"),
    "ja": ("japanisch", "japones", "japonais", "giapponese", "japans"),
    "tr": ("turkisch", "turco", "turc", "turks"),
    "uk": ("ukrainisch", "ucraniano", "ukrainien", "ucraino", "oekraiens"),
}
# "speak / answer / reply / talk (in)" in en, de, es, fr, pt, it, nl, pl
VERBS = (r"speak|talk|answer|reply|respond|switch to|use|"
         r"sprich|sprechen|rede|antworte|antworten|wechsle zu|"
         r"habla|hablame|responde|contesta|cambia a|"
         r"parle|parlez|reponds|repond|repondez|passe en|passe a|"
         r"fala|fale|responda|mude para|"
         r"parla|rispondi|"
         r"spreek|antwoord|"
         r"mow|odpowiadaj")
FILLER = r"(?:(?:please|bitte|por favor|s il te plait|s il vous plait|per favore|alsjeblieft|prosze)\s+)?"
PREP = r"(?:(?:in|auf|en|em|na|no|dans|op|po|to|a|al)\s+)?"
AUTO_WORDS = ("my language", "the language i speak", "automatic", "automatically", "meine sprache", "automatisch",
              "meiner sprache", "mi idioma", "automatico", "ma langue", "minha lingua", "la mia lingua", "mijn taal")

CONFIRMATIONS = {
    "en": "OK, I will speak English.", "de": "Okay, ich spreche jetzt Deutsch.",
    "es": "De acuerdo, hablaré español.", "fr": "D'accord, je vais parler français.",
    "pt": "Certo, vou falar português.", "it": "Va bene, parlerò italiano.",
    "nl": "Oké, ik spreek nu Nederlands.", "pl": "Dobrze, będę mówić po polsku.",
}
AUTO_CONFIRMATION = "OK, I will answer in the language you speak."


@dataclass(frozen=True)
class LanguageCommand:
    language: str | None  # None: back to "reply in the language the user speaks"
    confirmation: str


def _names() -> dict[str, str]:
    table = {normalize(name): code for code, name in WHISPER_LANGUAGES.items()}
    for code, names in NATIVE_NAMES.items():
        for n in names:
            table[n] = code
    return table


_NAME_TO_CODE = _names()
_END = r"(?:\s+please|\s+bitte|\s+por favor|\s+s il te plait|\s+s il vous plait)?"
_PATTERN = re.compile(rf"^{FILLER}(?:{VERBS})\s+{FILLER}{PREP}(?P<what>.+?){_END}$")


def parse(text: str) -> LanguageCommand | None:
    """A language request in ``text``, or None. Only short, whole-utterance commands count,
    so "how do you say hello in German" still goes to the LLM."""
    norm = normalize(text)
    if not norm or len(norm.split()) > 7:
        return None
    m = _PATTERN.match(norm)
    if not m:
        return None
    what = m.group("what").strip()
    if what in AUTO_WORDS:
        return LanguageCommand(None, AUTO_CONFIRMATION)
    what = re.sub(r"^(?:the|la|le|el|o|il|het|de|der)\s+", "", what)
    what = re.sub(r"\s+(?:language|sprache|idioma|langue|lingua|taal)$", "", what)
    code = _NAME_TO_CODE.get(what)
    if code is None:
        return None
    name = WHISPER_LANGUAGES[code].title()
    return LanguageCommand(code, CONFIRMATIONS.get(code, f"OK, I will speak {name}."))
