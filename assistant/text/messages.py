"""Short things the assistant says itself (not the LLM): readiness and errors, so a user who
can't see the screen hears what happened. Translated for the languages with default voices;
other languages get English."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "ready": {
        "en": "I'm listening.", "de": "Ich höre zu.", "es": "Te escucho.", "fr": "Je vous écoute.",
        "pt": "Estou ouvindo.", "it": "Ti ascolto.", "nl": "Ik luister.", "pl": "Słucham.",
    },
    "starter": {  # spoken once at start-up when starter models replace missing ones
        "en": "I'm using the small starter models, because the configured ones are not on this "
              "machine. For better ones, run assistant models pull on a connected machine.",
    },
    "still_thinking": {  # the reply's first audio is still seconds away
        "en": "Still thinking.", "de": "Ich denke noch nach.", "es": "Sigo pensando.", "fr": "Je réfléchis encore.",
        "pt": "Ainda estou pensando.", "it": "Ci sto ancora pensando.", "nl": "Ik denk nog even na.",
        "pl": "Jeszcze myślę.",
    },
    "noise_hint": {  # several turns in a row held no speech
        "en": "I'm hearing noise, but no words. Say help to hear what I understand.",
        "de": "Ich höre Geräusche, aber keine Worte. Sag Hilfe, um zu hören, was ich verstehe.",
        "es": "Oigo ruido, pero no palabras. Di ayuda para saber qué entiendo.",
        "fr": "J'entends du bruit, mais pas de mots. Dites aide pour savoir ce que je comprends.",
        "pt": "Estou ouvindo ruído, mas não palavras. Diga ajuda para saber o que eu entendo.",
    },
    "llm_error": {
        "en": "Sorry, I can't reach the language model right now.",
        "de": "Entschuldigung, ich erreiche das Sprachmodell gerade nicht.",
        "es": "Lo siento, ahora no puedo acceder al modelo de lenguaje.",
        "fr": "Désolé, je n'arrive pas à joindre le modèle de langage.",
        "pt": "Desculpe, não consigo acessar o modelo de linguagem agora.",
        "it": "Mi dispiace, ora non riesco a raggiungere il modello linguistico.",
        "nl": "Sorry, ik kan het taalmodel nu niet bereiken.",
        "pl": "Przepraszam, nie mogę teraz połączyć się z modelem językowym.",
    },
    "no_voice": {
        "en": "I have no voice for {name}. The answer is on the screen.",
        "de": "Für {name} habe ich keine Stimme. Die Antwort steht auf dem Bildschirm.",
        "es": "No tengo voz para {name}. La respuesta está en la pantalla.",
        "fr": "Je n'ai pas de voix pour {name}. La réponse est à l'écran.",
        "pt": "Não tenho voz para {name}. A resposta está na tela.",
        "it": "Non ho una voce per {name}. La risposta è sullo schermo.",
        "nl": "Ik heb geen stem voor {name}. Het antwoord staat op het scherm.",
        "pl": "Nie mam głosu dla języka {name}. Odpowiedź jest na ekranie.",
    },
    "error": {
        "en": "Sorry, something went wrong. Please try again.",
        "de": "Entschuldigung, da ist etwas schiefgegangen. Bitte versuche es noch einmal.",
        "es": "Lo siento, algo salió mal. Inténtalo de nuevo.",
        "fr": "Désolé, une erreur s'est produite. Veuillez réessayer.",
        "pt": "Desculpe, algo deu errado. Tente novamente.",
        "it": "Mi dispiace, qualcosa è andato storto. Riprova.",
        "nl": "Sorry, er ging iets mis. Probeer het opnieuw.",
        "pl": "Przepraszam, coś poszło nie tak. Spróbuj ponownie.",
    },
}


def message(key: str, language: str, **values: str) -> tuple[str, str]:
    """(text, language it is in): the translation, or English when there is none."""
    table = MESSAGES[key]
    lang = language if language in table else "en"
    return table[lang].format(**values), lang
