"""Words that replace symbols when a reply is spoken (see speakable.py), per language; English
where a language has none."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "code": {"en": "I've put the code on screen.", "de": "Den Code habe ich auf den Bildschirm gestellt.",
             "es": "He puesto el código en la pantalla.", "fr": "J'ai mis le code à l'écran.",
             "pt": "Coloquei o código na tela.", "it": "Ho messo il codice sullo schermo.",
             "nl": "Ik heb de code op het scherm gezet.", "pl": "Kod jest na ekranie."},
    "dot": {"en": "dot", "de": "Punkt", "es": "punto", "fr": "point", "pt": "ponto", "it": "punto",
            "nl": "punt", "pl": "kropka"},
    "at": {"en": "at", "de": "at", "es": "arroba", "fr": "arobase", "pt": "arroba", "it": "chiocciola",
           "nl": "apenstaartje", "pl": "małpa"},
    "and": {"en": "and", "de": "und", "es": "y", "fr": "et", "pt": "e", "it": "e", "nl": "en", "pl": "i"},
    "and_money": {"en": "and", "de": "und", "es": "con", "fr": "et", "pt": "e", "it": "e", "nl": "en", "pl": "i"},
    "percent": {"en": "percent", "de": "Prozent", "es": "por ciento", "fr": "pour cent", "pt": "por cento",
                "it": "per cento", "nl": "procent", "pl": "procent"},
    "degrees": {"en": "degrees", "de": "Grad", "es": "grados", "fr": "degrés", "pt": "graus", "it": "gradi",
                "nl": "graden", "pl": "stopni"},
    "to": {"en": "to", "de": "nach", "es": "a", "fr": "vers", "pt": "para", "it": "a", "nl": "naar", "pl": "do"},
    "plus": {"en": "plus", "de": "plus", "es": "más", "fr": "plus", "pt": "mais", "it": "più", "nl": "plus",
             "pl": "plus"},
    "times": {"en": "times", "de": "mal", "es": "por", "fr": "fois", "pt": "vezes", "it": "per", "nl": "keer",
              "pl": "razy"},
    "equals": {"en": "equals", "de": "gleich", "es": "igual a", "fr": "égale", "pt": "igual a", "it": "uguale a",
               "nl": "is gelijk aan", "pl": "równa się"},
    "about": {"en": "about", "de": "etwa", "es": "unos", "fr": "environ", "pt": "cerca de", "it": "circa",
              "nl": "ongeveer", "pl": "około"},
    "number": {"en": "number", "de": "Nummer", "es": "número", "fr": "numéro", "pt": "número", "it": "numero",
               "nl": "nummer", "pl": "numer"},
    "one_m": {"en": "one", "de": "ein", "es": "un", "fr": "un", "pt": "um", "it": "un", "nl": "één", "pl": "jeden"},
    "one_f": {"en": "one", "de": "ein", "es": "una", "fr": "une", "pt": "uma", "it": "una", "nl": "één", "pl": "jedna"},
}

MONTHS: dict[str, list[str]] = {
    "en": "January February March April May June July August September October November December".split(),
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split(),
}

# code -> language -> (one, many, cent, cents, feminine)
CURRENCIES: dict[str, dict[str, tuple[str, str, str, str, bool]]] = {
    "EUR": {"en": ("euro", "euros", "cent", "cents", False), "de": ("Euro", "Euro", "Cent", "Cent", False),
            "es": ("euro", "euros", "céntimo", "céntimos", False),
            "fr": ("euro", "euros", "centime", "centimes", False),
            "pt": ("euro", "euros", "cêntimo", "cêntimos", False),
            "it": ("euro", "euro", "centesimo", "centesimi", False),
            "nl": ("euro", "euro", "cent", "cent", False)},
    "USD": {"en": ("dollar", "dollars", "cent", "cents", False), "de": ("Dollar", "Dollar", "Cent", "Cent", False),
            "es": ("dólar", "dólares", "centavo", "centavos", False),
            "fr": ("dollar", "dollars", "cent", "cents", False),
            "pt": ("dólar", "dólares", "centavo", "centavos", False),
            "it": ("dollaro", "dollari", "centesimo", "centesimi", False),
            "nl": ("dollar", "dollar", "cent", "cent", False)},
    "GBP": {"en": ("pound", "pounds", "penny", "pence", False), "de": ("Pfund", "Pfund", "Penny", "Pence", False),
            "es": ("libra", "libras", "penique", "peniques", True), "fr": ("livre", "livres", "penny", "pence", True),
            "pt": ("libra", "libras", "pêni", "pence", True), "it": ("sterlina", "sterline", "penny", "pence", True),
            "nl": ("pond", "pond", "penny", "pence", False)},
    "BRL": {"en": ("real", "reais", "centavo", "centavos", False),
            "pt": ("real", "reais", "centavo", "centavos", False),
            "es": ("real", "reales", "centavo", "centavos", False),
            "de": ("Real", "Real", "Centavo", "Centavos", False),
            "fr": ("réal", "réaux", "centavo", "centavos", False)},
    "CHF": {"en": ("Swiss franc", "Swiss francs", "centime", "centimes", False),
            "de": ("Franken", "Franken", "Rappen", "Rappen", False),
            "es": ("franco suizo", "francos suizos", "céntimo", "céntimos", False),
            "fr": ("franc suisse", "francs suisses", "centime", "centimes", False),
            "pt": ("franco suíço", "francos suíços", "cêntimo", "cêntimos", False)},
}


def word(key: str, language: str) -> str:
    table = WORDS[key]
    return table.get(language, table["en"])
