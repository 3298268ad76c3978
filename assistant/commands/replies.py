"""What the assistant says back to a voice command, in the user's language (English where no
translation exists). ``help`` is the spoken list of commands."""

from __future__ import annotations

REPLIES: dict[str, dict[str, str]] = {
    "stop": {"en": "Okay.", "de": "Okay.", "es": "Vale.", "fr": "D'accord.", "pt": "Certo."},
    "repeat": {"en": "", "de": "", "es": "", "fr": "", "pt": ""},  # the last reply itself is said again
    "nothing_to_repeat": {
        "en": "I haven't said anything yet.", "de": "Ich habe noch nichts gesagt.",
        "es": "Todavía no he dicho nada.", "fr": "Je n'ai encore rien dit.", "pt": "Eu ainda não disse nada.",
    },
    "slower": {
        "en": "Okay, I'll speak more slowly.", "de": "Gut, ich spreche langsamer.",
        "es": "Vale, hablaré más despacio.", "fr": "D'accord, je vais parler plus lentement.",
        "pt": "Certo, vou falar mais devagar.",
    },
    "faster": {
        "en": "Okay, I'll speak faster.", "de": "Gut, ich spreche schneller.", "es": "Vale, hablaré más rápido.",
        "fr": "D'accord, je vais parler plus vite.", "pt": "Certo, vou falar mais rápido.",
    },
    "louder": {
        "en": "Okay, louder.", "de": "Gut, lauter.", "es": "Vale, más alto.", "fr": "D'accord, plus fort.",
        "pt": "Certo, mais alto.",
    },
    "quieter": {
        "en": "Okay, quieter.", "de": "Gut, leiser.", "es": "Vale, más bajo.", "fr": "D'accord, moins fort.",
        "pt": "Certo, mais baixo.",
    },
    "at_limit": {
        "en": "That's as far as I can go.", "de": "Weiter geht es nicht.", "es": "No puedo ir más allá.",
        "fr": "Je ne peux pas aller plus loin.", "pt": "Não consigo ir além disso.",
    },
    "new_conversation": {
        "en": "Okay, let's start a new conversation.", "de": "Gut, wir fangen ein neues Gespräch an.",
        "es": "Vale, empecemos una conversación nueva.", "fr": "D'accord, on commence une nouvelle conversation.",
        "pt": "Certo, vamos começar uma nova conversa.",
    },
    "forget_last": {
        "en": "Okay, I've forgotten that.", "de": "Gut, das habe ich vergessen.", "es": "Vale, lo he olvidado.",
        "fr": "D'accord, j'ai oublié ça.", "pt": "Certo, esqueci isso.",
    },
    "help": {
        "en": "You can say: stop, repeat, slower or faster, louder or quieter, new conversation, "
              "forget that, take your time, normal speed, pause listening and I'm back, "
              "or speak German, for example.",
        "de": "Du kannst sagen: stopp, wiederhole, langsamer oder schneller, lauter oder leiser, "
              "neues Gespräch, vergiss das, lass dir Zeit, normale Geschwindigkeit, Pause und "
              "ich bin zurück, oder zum Beispiel sprich Englisch.",
        "es": "Puedes decir: para, repite, más despacio o más rápido, más alto o más bajo, "
              "nueva conversación, olvida eso, tómate tu tiempo, velocidad normal, pausa y ya volví, "
              "o por ejemplo habla inglés.",
        "fr": "Vous pouvez dire : stop, répète, plus lentement ou plus vite, plus fort ou moins fort, "
              "nouvelle conversation, oublie ça, prends ton temps, vitesse normale, pause et je suis "
              "de retour, ou par exemple parle anglais.",
        "pt": "Você pode dizer: para, repete, mais devagar ou mais rápido, mais alto ou mais baixo, "
              "nova conversa, esquece isso, não tenha pressa, velocidade normal, pausa e voltei, "
              "ou por exemplo fala inglês.",
    },
    "patient": {
        "en": "Take your time, I'll wait until you've finished.", "de": "Lass dir Zeit, ich warte, bis du fertig bist.",
        "es": "Tómate tu tiempo, esperaré a que termines.", "fr": "Prenez votre temps, j'attends que vous ayez fini.",
        "pt": "Não tenha pressa, vou esperar você terminar.",
    },
    "normal": {
        "en": "Okay, back to normal speed.", "de": "Gut, wieder normale Geschwindigkeit.",
        "es": "Vale, volvemos a la velocidad normal.", "fr": "D'accord, retour à la vitesse normale.",
        "pt": "Certo, de volta à velocidade normal.",
    },
    "pause": {
        "en": "Okay, I'll stop listening. Say I'm back when you need me.",
        "de": "Gut, ich höre nicht mehr zu. Sag ich bin zurück, wenn du mich brauchst.",
        "es": "Vale, dejo de escuchar. Di ya volví cuando me necesites.",
        "fr": "D'accord, je n'écoute plus. Dites je suis de retour quand vous aurez besoin de moi.",
        "pt": "Certo, vou parar de ouvir. Diga voltei quando precisar de mim.",
    },
    "resume": {
        "en": "Welcome back, I'm listening.", "de": "Willkommen zurück, ich höre zu.",
        "es": "Bienvenido de nuevo, te escucho.", "fr": "Bon retour, je vous écoute.",
        "pt": "Bem-vindo de volta, estou ouvindo.",
    },
}


# "Did you want me to ...?": asked when a command was heard but not clearly (see matcher.ASK).
QUESTIONS: dict[str, dict[str, str]] = {
    "stop": {"en": "Did you want me to stop?", "de": "Soll ich aufhören?", "es": "¿Quieres que pare?",
             "fr": "Voulez-vous que j'arrête ?", "pt": "Você quer que eu pare?"},
    "repeat": {"en": "Did you want me to repeat that?", "de": "Soll ich das wiederholen?",
               "es": "¿Quieres que lo repita?", "fr": "Voulez-vous que je répète ?", "pt": "Você quer que eu repita?"},
    "slower": {"en": "Did you want me to speak more slowly?", "de": "Soll ich langsamer sprechen?",
               "es": "¿Quieres que hable más despacio?", "fr": "Voulez-vous que je parle plus lentement ?",
               "pt": "Você quer que eu fale mais devagar?"},
    "faster": {"en": "Did you want me to speak faster?", "de": "Soll ich schneller sprechen?",
               "es": "¿Quieres que hable más rápido?", "fr": "Voulez-vous que je parle plus vite ?",
               "pt": "Você quer que eu fale mais rápido?"},
    "louder": {"en": "Did you want me to speak louder?", "de": "Soll ich lauter sprechen?",
               "es": "¿Quieres que hable más alto?", "fr": "Voulez-vous que je parle plus fort ?",
               "pt": "Você quer que eu fale mais alto?"},
    "quieter": {"en": "Did you want me to speak more quietly?", "de": "Soll ich leiser sprechen?",
                "es": "¿Quieres que hable más bajo?", "fr": "Voulez-vous que je parle moins fort ?",
                "pt": "Você quer que eu fale mais baixo?"},
    "new_conversation": {"en": "Did you want me to start a new conversation?",
                         "de": "Soll ich ein neues Gespräch anfangen?",
                         "es": "¿Quieres empezar una conversación nueva?",
                         "fr": "Voulez-vous commencer une nouvelle conversation ?",
                         "pt": "Você quer começar uma nova conversa?"},
    "forget_last": {"en": "Did you want me to forget what you just said?", "de": "Soll ich das Letzte vergessen?",
                    "es": "¿Quieres que olvide lo último?", "fr": "Voulez-vous que j'oublie la dernière question ?",
                    "pt": "Você quer que eu esqueça a última pergunta?"},
    "help": {"en": "Did you want to hear the commands?", "de": "Möchtest du die Befehle hören?",
             "es": "¿Quieres oír los comandos?", "fr": "Voulez-vous entendre les commandes ?",
             "pt": "Você quer ouvir os comandos?"},
    "patient": {"en": "Did you want me to wait longer before I answer?",
                "de": "Soll ich länger warten, bevor ich antworte?",
                "es": "¿Quieres que espere más antes de responder?",
                "fr": "Voulez-vous que j'attende plus longtemps avant de répondre ?",
                "pt": "Você quer que eu espere mais antes de responder?"},
    "normal": {"en": "Did you want me to go back to normal speed?", "de": "Soll ich wieder normal sprechen?",
               "es": "¿Quieres que vuelva a la velocidad normal?", "fr": "Voulez-vous revenir à la vitesse normale ?",
               "pt": "Você quer voltar à velocidade normal?"},
    "pause": {"en": "Did you want me to stop listening?", "de": "Soll ich aufhören zuzuhören?",
              "es": "¿Quieres que deje de escuchar?", "fr": "Voulez-vous que j'arrête d'écouter ?",
              "pt": "Você quer que eu pare de ouvir?"},
    "resume": {"en": "Did you want me to start listening again?", "de": "Soll ich wieder zuhören?",
               "es": "¿Quieres que vuelva a escuchar?", "fr": "Voulez-vous que je recommence à écouter ?",
               "pt": "Você quer que eu volte a ouvir?"},
}
CANCELLED = {"en": "Okay, I won't.", "de": "Gut, dann nicht.", "es": "Vale, no lo hago.",
             "fr": "D'accord, je ne le fais pas.", "pt": "Certo, não faço."}


def question(kind: str, language: str) -> tuple[str, str]:
    """"Did you want me to ...?" for ``kind``: (text, its language; English where none)."""
    table = QUESTIONS[kind]
    return (table[language], language) if language in table else (table["en"], "en")


def confirmation(key: str, language: str) -> str:
    """The reply for ``key`` in ``language``, or in English when it has no translation."""
    table = REPLIES[key]
    return table.get(language, table["en"])


def reply_language(key: str, language: str) -> str:
    return language if language in REPLIES[key] else "en"
