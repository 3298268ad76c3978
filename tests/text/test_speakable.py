"""Replies made for listening: markdown, emoji, URLs, e-mail, symbols and numbers, per language."""

import pytest

from assistant.text.sentences import SentenceSplitter
from assistant.text.speakable import Speakable, speakable

CASES = [
    # markdown
    ("en", "**Sure!** Here are the steps:\n1. Open the *settings*.\n2. Click `Save`",
     "Sure! Here are the steps: Open the settings. Click Save."),
    ("en", "## Summary\n- fast\n- cheap", "Summary. fast. cheap."),
    ("en", "See [the docs](https://docs.python.org/3/) and ![a cat](cat.png).", "See the docs and a cat."),
    ("en", "```python\nprint('hi')\n```\nThat's it.", "I've put the code on screen. That's it."),
    ("de", "```\nx = 1\n```", "Den Code habe ich auf den Bildschirm gestellt."),
    ("en", "| Name | Age |\n|---|---|\n| Ann | 30 |", "Name, Age. Ann, 30."),
    ("en", "> Quoted __wisdom__.\n---\nDone.", "Quoted wisdom. Done."),
    ("en", "Use snake_case names.", "Use snake case names."),
    # emoji, URLs, e-mail, symbols
    ("en", "Great idea! 🎉👍🏽", "Great idea!"),
    ("en", "Visit https://www.wikipedia.org/wiki/Rome for more 😀.", "Visit wikipedia dot org for more."),
    ("de", "Mehr auf www.tagesschau.de/inland.", "Mehr auf tagesschau Punkt de."),
    ("fr", "Voir lemonde.fr, rubrique sport.", "Voir lemonde point fr, rubrique sport."),
    ("en", "Write to anna.smith@example.com & I'll reply.",
     "Write to anna dot smith at example dot com and I'll reply."),
    ("es", "Escribe a info@correo.es.", "Escribe a info arroba correo punto es."),
    ("en", "It's 25°C → warm.", "It's 25 degrees Celsius to warm."),
    ("de", "Heute 18 °C, morgen 20 °C.", "Heute 18 Grad Celsius, morgen 20 Grad Celsius."),
    ("en", "Well… maybe…", "Well, maybe."),
    ("en", "2 + 2 = 4", "2 plus 2 equals 4"),
    # numbers: the voice reads plain integers itself
    ("en", "I have 3 cats and 1995 was a good year.", "I have 3 cats and 1995 was a good year."),
    ("de", "Ich habe 3 Katzen.", "Ich habe 3 Katzen."),
    # currency
    ("en", "It costs $5.99 or €12.", "It costs five dollars and ninety-nine cents or twelve euros."),
    ("en", "Only $1.", "Only one dollar."),
    ("de", "Das kostet 12,50 €.", "Das kostet zwölf Euro und fünfzig Cent."),
    ("es", "Cuesta 1 €.", "Cuesta un euro."),
    ("es", "Son 20 dólares.", "Son veinte dólares."),
    ("fr", "Ça coûte 3,50 €.", "Ça coûte trois euros et cinquante centimes."),
    ("pt", "Custa R$ 10.", "Custa dez reais."),
    ("pt", "Custa £1.", "Custa uma libra."),
    ("en", "A £2 coin.", "A two pounds coin."),
    # percentages and decimals
    ("en", "About 3.5% more.", "About three point five percent more."),
    ("de", "Es sind 3,5 % mehr.", "Es sind drei Komma fünf Prozent mehr."),
    ("de", "Berlin hat 3.755.251 Einwohner.",
     "Berlin hat drei Millionen siebenhundertfünfundfünfzigtausendzweihunderteinundfünfzig Einwohner."),
    ("en", "Pi is 3.14159.", "Pi is three point one four one five nine."),
    ("en", "Berlin has 3,755,251 people.",
     "Berlin has three million, seven hundred and fifty-five thousand, two hundred and fifty-one people."),
    ("fr", "La moyenne est de 12,5.", "La moyenne est de douze virgule cinq."),
    ("es", "Mide 1,80 metros.", "Mide uno punto ocho metros."),
    # ordinals and dates
    ("en", "She came 2nd on May 3rd.", "She came second on May third."),
    ("en", "The meeting is on 2024-05-03.", "The meeting is on May third, twenty twenty-four."),
    ("en", "Born on 4 July 1990.", "Born on the fourth of July 1990."),
    ("de", "Am 3. Mai ist Feiertag.", "Am dritten Mai ist Feiertag."),
    ("de", "Heute ist der 1. Januar.", "Heute ist der erste Januar."),
    ("es", "El 1 de mayo es fiesta.", "El primero de mayo es fiesta."),
    ("es", "Vivo en el 2º piso, la 3ª puerta.", "Vivo en el segundo piso, la tercera puerta."),
    ("fr", "C'est le 1er mai, il est 2e.", "C'est le premier mai, il est deuxième."),
    ("pt", "Moro no 1º andar.", "Moro no primeiro andar."),
    ("fr", "Le 2024-12-25.", "Le vingt-cinq décembre deux mille vingt-quatre."),
    # times
    ("en", "At 14:30 or at 2 pm.", "At fourteen thirty or at two p m."),
    ("en", "Wake up at 7:05 am.", "Wake up at seven oh five a m."),
    ("en", "It starts at 9:00.", "It starts at nine o'clock."),
    ("de", "Um 14:30 Uhr.", "Um vierzehn Uhr dreißig."),
    ("de", "Um 1:00 Uhr.", "Um ein Uhr."),
    ("es", "A las 9:00.", "A las nueve en punto."),
    ("fr", "À 14h30.", "À quatorze heures trente."),
    ("pt", "Às 15:45.", "Às quinze e quarenta e cinco."),
    # languages num2words lacks keep digits; symbols still go
    ("ga", "Tá 3,5 % ann 😀.", "Tá 3,5 % ann."),
]


@pytest.mark.parametrize("language,text,spoken", CASES)
def test_replies_become_speech(language, text, spoken):
    assert speakable(text, language) == spoken


def test_nothing_left_to_read_aloud():
    assert speakable("😀🎉", "en") == ""
    assert speakable("---", "en") == ""
    assert speakable("", "en") == ""


def test_per_sentence_as_the_engine_streams_it():
    """The engine converts each sentence the splitter emits; a code block spanning many
    sentences is announced once and never read."""
    reply = ("Here is a function:\n```python\ndef add(a, b):\n    return a + b. # Sum.\n```\n"
             "Call it with **two** numbers. It costs $2.")
    splitter = SentenceSplitter("en")
    conv = Speakable("en")
    spoken = []
    for i in range(0, len(reply), 3):  # token by token
        spoken += [conv.push(s) for s in splitter.push(reply[i:i + 3])]
    rest = splitter.flush()
    if rest:
        spoken.append(conv.push(rest))
    text = " ".join(s for s in spoken if s)
    assert text == ("Here is a function: I've put the code on screen. Call it with two numbers. "
                    "It costs two dollars.")
    assert "return" not in text and "def" not in text
