"""Languages Whisper knows (code → English name), and helpers.

A static copy of ``whisper.tokenizer.LANGUAGES`` so that validating a config does not import
torch; ``tests/test_language_names.py`` checks it still matches the installed openai-whisper.
"""

from __future__ import annotations

from assistant.core.errors import ConfigError

WHISPER_LANGUAGES: dict[str, str] = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}


#: Other English names Whisper's tokenizer accepts (``whisper.tokenizer.TO_LANGUAGE_CODE``).
NAME_ALIASES: dict[str, str] = {
    "burmese": "my", "valencian": "ca", "flemish": "nl", "haitian": "ht", "letzeburgesch": "lb",
    "pushto": "ps", "panjabi": "pa", "moldavian": "ro", "moldovan": "ro", "sinhalese": "si",
    "castilian": "es", "mandarin": "zh",
}


def code_of(value: str) -> str | None:
    """A Whisper code for a code or an English language name as servers report them ('english',
    'English', 'en', 'en-US' → 'en'); None when it is neither."""
    text = value.strip().lower().replace("_", "-")
    if text in WHISPER_LANGUAGES:
        return text
    by_name = {name: code for code, name in WHISPER_LANGUAGES.items()}
    if text in by_name or text in NAME_ALIASES:
        return by_name.get(text) or NAME_ALIASES[text]
    primary = text.split("-")[0]
    return primary if primary in WHISPER_LANGUAGES else None


def is_code(code: str) -> bool:
    return code in WHISPER_LANGUAGES


def check_code(code: str) -> str:
    if code not in WHISPER_LANGUAGES:
        by_name = {v: k for k, v in WHISPER_LANGUAGES.items()}
        if code.lower() in by_name:
            raise ConfigError([f"'{code}' is a language name; use its code '{by_name[code.lower()]}'"])
        raise ConfigError([f"unknown language code '{code}' (use a code Whisper knows, e.g. en, de, es, fr, zh; "
                           f"`assistant languages` lists them)"])
    return code


def name_of(code: str) -> str:
    """English name of a language ('de' → 'German'), for prompts and captions."""
    return WHISPER_LANGUAGES.get(code, code).title()
