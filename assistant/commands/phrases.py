"""What people say for each voice command, per language, and what is ignored around it.

Phrases are written as Whisper might transcribe them, accents included: matching compares the
``normalize``d forms (lower case, accents and punctuation removed), after dropping FILLERS
(politeness, hesitation, "can you", "a bit") from both the phrase and the utterance, and
ignoring word order. A command must be the *whole* utterance apart from those fillers, so
"how do I stop a leak?" or "can you repeat the history of Rome" are never commands.
"""

from __future__ import annotations

# Kinds of command (the language commands of assistant/commands/language.py are kind "language").
KINDS = ("stop", "repeat", "slower", "faster", "louder", "quieter", "new_conversation", "forget_last",
         "help", "patient", "normal", "pause", "resume", "language")

# Dropped wherever they occur (as whole words or word sequences), in every language: a short
# command is often transcribed in the wrong language, so fillers must not depend on it. None of
# them is a command word in any language listed here.
# Politeness, hesitation and address: always dropped.
STRONG_FILLERS = (
    "please", "pls", "thanks", "thank you", "bitte", "bitte schon", "danke", "danke schon", "por favor",
    "gracias", "s il te plait", "s il vous plait", "merci", "obrigado", "obrigada", "por gentileza",
    "um", "uh", "uhm", "umm", "erm", "ah", "eh", "ahm", "ehm", "hm", "hmm", "oh", "euh", "hein",
    "ok", "okay", "okey", "alright", "all right", "hey", "hi",
    "assistant", "assistent", "assistentin", "asistente", "assistente", "computer", "computador",
)
# Particles, request frames ("can you") and degree ("a bit"): dropped unless nothing would be
# left ("noch mal" is itself a command).
WEAK_FILLERS = (
    "well", "so", "right", "just", "now", "also", "na", "naja", "jetzt", "mal", "doch", "einfach", "nun",
    "bueno", "pues", "oye", "vale", "ahora", "ya", "bon", "alors", "maintenant", "bah", "agora", "entao",
    "olha", "ei",
    "can you", "could you", "would you", "will you", "can u", "you can", "i want you to", "i d like you to",
    "kannst du", "konntest du", "konnen sie", "konnten sie", "wurdest du", "wurden sie", "du kannst",
    "puedes", "podrias", "puede", "podria", "puede usted", "peux tu", "pourrais tu", "pouvez vous",
    "pourriez vous", "tu peux", "vous pouvez", "voce pode", "voce poderia", "pode", "podes", "poderia",
    "let s", "lets", "let us", "can we", "could we", "shall we", "we can", "i want to", "i d like to",
    "i would like to", "sorry", "lass uns", "vamos a", "vamos",
    "a bit", "a little", "a little bit", "a tad", "a lot", "much", "bit", "ein bisschen", "ein bischen",
    "bisschen", "etwas", "ein wenig", "ein klein wenig", "noch", "un poco", "un poquito", "un peu",
    "un petit peu", "um pouco", "um pouquinho",
)

# Words that make an utterance a question: a fuzzy match (not an exact phrase) is refused when
# the utterance opens with one the phrase has not ("how do i stop" is never a near miss of
# "stop"; "o que e isso" not of "esquece isso"). Question words count among the first two words,
# verbs that open a yes/no question ("is it ...") as the first.
QUESTION_WORDS = (
    "how", "why", "when", "where", "who", "which", "what", "whats",
    "wie", "warum", "wieso", "weshalb", "wann", "wo", "wer", "welche", "welcher", "was",
    "como", "porque", "cuando", "donde", "quien", "cual", "cuanto", "que",
    "comment", "pourquoi", "quand", "ou", "qui", "quel", "quelle", "quoi", "combien",
    "quando", "onde", "quem", "qual", "quanto",
)
QUESTION_VERBS = ("does", "is", "are", "do", "ist", "es", "est", "e")
# Answers to "Did you want me to ...?" (normalised: no accents), in every language.
YES_WORDS = frozenset((
    "yes", "yeah", "yep", "yup", "sure", "correct", "right", "exactly", "indeed", "ok", "okay", "okey",
    "alright", "ja", "jawohl", "genau", "richtig", "klar", "gerne", "jep", "si", "claro", "exacto", "vale",
    "eso", "oui", "ouais", "exactement", "voila", "sim", "isso", "certo", "exato", "pois",
))
NO_WORDS = frozenset(("no", "nope", "nah", "not", "nein", "nee", "ne", "non", "nao", "cancel"))
POLITE_WORDS = frozenset(("please", "bitte", "por", "favor", "s", "il", "te", "vous", "plait", "thanks", "thank",
                          "you", "danke", "gracias", "merci", "obrigado", "obrigada", "do", "it", "that"))

# kind -> language -> phrases (more can come from the ``commands.extra_phrases`` setting).
PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "stop": {
        "en": ("stop", "stop it", "stop talking", "stop speaking", "be quiet", "quiet", "silence", "shut up",
               "enough", "that's enough", "hush", "cancel", "stop that", "quiet please", "stop now"),
        "de": ("stopp", "stop", "halt", "hör auf", "aufhören", "hör auf zu reden", "sei still", "sei ruhig",
               "ruhe", "still", "schweig", "genug", "das reicht", "es reicht", "abbrechen", "halt stopp"),
        "es": ("para", "basta", "detente", "cállate", "silencio", "ya basta", "deja de hablar", "stop",
               "cancela", "para ya", "es suficiente", "suficiente"),
        "fr": ("arrête", "arrêtez", "arrête toi", "stop", "tais toi", "taisez vous", "silence", "ça suffit",
               "assez", "chut", "arrête de parler", "annule"),
        "pt": ("para", "pare", "parar", "chega", "cala a boca", "cale se", "silêncio", "basta", "stop",
               "pare de falar", "para de falar", "cancela"),
    },
    "repeat": {
        "en": ("repeat", "repeat that", "repeat it", "say that again", "say it again", "again", "come again",
               "what did you say", "pardon", "pardon me", "sorry what", "what", "i didn't catch that",
               "i didn't get that", "one more time", "repeat the last answer", "repeat please"),
        "de": ("wiederhole", "wiederhol das", "wiederholen", "wiederhole das", "das wiederholen", "noch mal", "nochmal",
               "noch einmal",
               "sag das noch mal", "sag das nochmal", "sag es noch mal", "wie bitte", "was hast du gesagt",
               "wie war das", "was"),
        "es": ("repite", "repítelo", "repetir", "repite eso", "otra vez", "dilo otra vez", "dilo de nuevo",
               "puedes repetir", "cómo", "qué dijiste", "qué has dicho", "perdona qué", "qué"),
        "fr": ("répète", "répétez", "répète ça", "répète s'il te plaît", "redis le", "redis ça", "encore une fois",
               "pardon", "quoi", "comment", "qu'est ce que tu as dit", "tu peux répéter"),
        "pt": ("repete", "repita", "repetir", "repete isso", "de novo", "outra vez", "fala de novo", "diz de novo",
               "diga de novo", "o que você disse", "como", "o quê", "quê"),
    },
    "slower": {
        "en": ("slower", "slow down", "speak slower", "speak more slowly", "talk slower", "talk more slowly",
               "more slowly", "too fast", "you're too fast", "you're talking too fast", "not so fast",
               "slower please", "speak slowly", "that's too fast", "it's too fast"),
        "de": ("langsamer", "sprich langsamer", "sprechen sie langsamer", "rede langsamer", "langsamer sprechen",
               "nicht so schnell", "zu schnell", "du sprichst zu schnell", "sprich langsam", "langsam"),
        "es": ("más despacio", "más lento", "habla más despacio", "habla más lento", "despacio",
               "más lentamente", "demasiado rápido", "hablas muy rápido", "habla despacio", "no tan rápido"),
        "fr": ("plus lentement", "moins vite", "parle plus lentement", "parlez plus lentement", "ralentis",
               "ralentissez", "doucement", "trop vite", "tu parles trop vite", "pas si vite", "parle lentement"),
        "pt": ("mais devagar", "fala mais devagar", "fale mais devagar", "devagar", "mais lento",
               "rápido demais", "você fala rápido demais", "fala devagar", "não tão rápido"),
    },
    "faster": {
        "en": ("faster", "speed up", "speak faster", "talk faster", "quicker", "more quickly", "too slow",
               "you're too slow", "speak more quickly", "faster please", "hurry up", "that's too slow",
               "it's too slow"),
        "de": ("schneller", "sprich schneller", "rede schneller", "zu langsam", "schneller sprechen",
               "du sprichst zu langsam", "sprechen sie schneller"),
        "es": ("más rápido", "habla más rápido", "más deprisa", "demasiado lento", "hablas muy lento",
               "acelera", "más rápido por favor"),
        "fr": ("plus vite", "parle plus vite", "parlez plus vite", "accélère", "trop lent", "plus rapidement",
               "tu parles trop lentement"),
        "pt": ("mais rápido", "fala mais rápido", "fale mais rápido", "devagar demais", "mais depressa",
               "acelera", "você fala devagar demais"),
    },
    "louder": {
        "en": ("louder", "speak up", "speak louder", "volume up", "turn it up", "turn up the volume",
               "i can't hear you", "more volume", "increase the volume", "turn the volume up", "talk louder",
               "louder please"),
        "de": ("lauter", "sprich lauter", "mach lauter", "lauter machen", "ich kann dich nicht hören",
               "ich höre dich nicht", "lautstärke hoch", "mach lauter bitte", "sprechen sie lauter"),
        "es": ("más alto", "más fuerte", "habla más alto", "habla más fuerte", "sube el volumen",
               "subir volumen", "no te oigo", "no te escucho", "sube la voz"),
        "fr": ("plus fort", "parle plus fort", "parlez plus fort", "monte le son", "augmente le volume",
               "je ne t'entends pas", "je t'entends pas", "je ne vous entends pas", "monte le volume"),
        "pt": ("mais alto", "fala mais alto", "fale mais alto", "aumenta o volume", "aumente o volume",
               "não te ouço", "não estou te ouvindo", "não consigo te ouvir"),
    },
    "quieter": {
        "en": ("quieter", "softer", "speak softer", "not so loud", "too loud", "volume down", "turn it down",
               "turn down the volume", "turn the volume down", "lower your voice", "speak more quietly", "less loud",
               "speak quieter", "it's too loud", "that's too loud", "way too loud"),
        "de": ("leiser", "sprich leiser", "mach leiser", "nicht so laut", "zu laut", "lautstärke runter",
               "leiser machen", "sprechen sie leiser"),
        "es": ("más bajo", "más bajito", "habla más bajo", "baja el volumen", "demasiado alto", "no tan alto",
               "no tan fuerte", "baja la voz", "bajar volumen"),
        "fr": ("moins fort", "plus bas", "parle moins fort", "parlez moins fort", "baisse le son",
               "baisse le volume", "trop fort", "pas si fort", "parle plus bas"),
        "pt": ("mais baixo", "fala mais baixo", "fale mais baixo", "abaixa o volume", "abaixe o volume",
               "diminui o volume", "diminua o volume", "alto demais", "não tão alto"),
    },
    "new_conversation": {
        "en": ("new conversation", "start over", "start a new conversation", "let's start over", "reset",
               "new chat", "new topic", "clear the conversation", "forget everything", "start again",
               "begin again", "let's start again", "clear history", "start from scratch"),
        "de": ("neues gespräch", "neue unterhaltung", "von vorne", "fang von vorne an", "neu anfangen",
               "vergiss alles", "zurücksetzen", "neues thema", "lass uns neu anfangen", "fang neu an",
               "neues gespräch starten"),
        "es": ("nueva conversación", "empecemos de nuevo", "empezar de nuevo", "olvida todo", "olvídalo todo",
               "reinicia", "nuevo tema", "empieza de nuevo", "borra todo", "empezar de cero"),
        "fr": ("nouvelle conversation", "on recommence", "recommence", "recommençons", "oublie tout",
               "réinitialise", "nouveau sujet", "recommencer à zéro", "on repart à zéro"),
        "pt": ("nova conversa", "começar de novo", "vamos recomeçar", "recomeçar", "recomeça", "esquece tudo",
               "esqueça tudo", "novo assunto", "reiniciar", "começar do zero"),
    },
    "forget_last": {
        "en": ("forget that", "forget it", "forget what i said", "scratch that", "never mind that",
               "delete that", "ignore that", "forget the last thing"),
        "de": ("vergiss das", "vergiss es", "vergiss was ich gesagt habe", "ignorier das", "streich das",
               "vergiss das letzte"),
        "es": ("olvida eso", "olvídalo", "olvida lo que dije", "ignora eso", "borra eso", "olvida lo último"),
        "fr": ("oublie ça", "oubliez ça", "oublie ce que j'ai dit", "ignore ça", "efface ça", "oublie"),
        "pt": ("esquece isso", "esqueça isso", "esquece o que eu disse", "ignora isso", "apaga isso", "esquece"),
    },
    "help": {
        "en": ("help", "what can i say", "what can you do", "what are the commands", "list commands",
               "commands", "which commands are there", "how does this work", "voice commands", "help me"),
        "de": ("hilfe", "was kann ich sagen", "welche befehle gibt es", "befehle",
               "sprachbefehle", "wie funktioniert das", "was kannst du alles"),
        "es": ("ayuda", "qué puedo decir", "qué puedes hacer", "qué comandos hay", "comandos",
               "cómo funciona esto", "ayúdame"),
        "fr": ("aide", "à l'aide", "qu'est ce que je peux dire", "que puis je dire", "quelles sont les commandes",
               "commandes", "qu'est ce que tu sais faire", "comment ça marche", "aide moi"),
        "pt": ("ajuda", "o que eu posso dizer", "o que posso dizer", "o que você pode fazer",
               "quais são os comandos", "comandos", "como funciona", "me ajuda"),
    },
    "patient": {
        "en": ("take your time", "patient mode", "be patient", "wait for me", "give me more time",
               "i speak slowly", "let me finish", "don't interrupt me", "give me time"),
        "de": ("lass dir zeit", "lass mir zeit", "geduldiger modus", "geduldsmodus", "sei geduldig",
               "warte auf mich", "lass mich ausreden", "unterbrich mich nicht", "gib mir mehr zeit"),
        "es": ("tómate tu tiempo", "modo paciente", "ten paciencia", "dame tiempo", "dame más tiempo",
               "déjame terminar", "no me interrumpas", "espérame"),
        "fr": ("prends ton temps", "prenez votre temps", "mode patient", "sois patient", "laisse moi finir",
               "laisse moi le temps", "ne me coupe pas", "attends moi", "donne moi du temps"),
        "pt": ("não tenha pressa", "leve o tempo que precisar", "modo paciente", "tenha paciência",
               "me dá tempo", "me deixa terminar", "deixa eu terminar", "não me interrompa", "me espera"),
    },
    "normal": {
        "en": ("normal speed", "normal mode", "normal pace", "back to normal", "normal", "normal speed again"),
        "de": ("normale geschwindigkeit", "normales tempo", "normaler modus", "zurück zu normal", "wieder normal",
               "normal"),
        "es": ("velocidad normal", "modo normal", "ritmo normal", "vuelve a la normalidad", "normal"),
        "fr": ("vitesse normale", "mode normal", "rythme normal", "retour à la normale", "normal"),
        "pt": ("velocidade normal", "modo normal", "ritmo normal", "volta ao normal", "normal"),
    },
    "pause": {
        "en": ("pause listening", "stop listening", "pause", "go to sleep", "sleep", "sleep mode",
               "don't listen", "take a break", "pause the assistant"),
        "de": ("hör auf zuzuhören", "nicht mehr zuhören", "pause", "pausieren", "schlaf", "schlafmodus",
               "geh schlafen", "hör nicht zu", "mach eine pause", "zuhören pausieren"),
        "es": ("deja de escuchar", "pausa", "duerme", "modo reposo", "a dormir", "no escuches", "haz una pausa"),
        "fr": ("arrête d'écouter", "pause", "mets toi en pause", "dors", "mode veille", "va dormir",
               "n'écoute plus", "fais une pause"),
        "pt": ("para de ouvir", "pare de ouvir", "pausa", "dorme", "vai dormir", "modo de espera",
               "não escuta", "faz uma pausa"),
    },
    "resume": {
        "en": ("i'm back", "i am back", "resume", "wake up", "start listening", "listen again",
               "continue listening", "hello again", "resume listening"),
        "de": ("ich bin zurück", "ich bin wieder da", "wach auf", "hör wieder zu", "weiter zuhören",
               "aufwachen", "hallo wieder"),
        "es": ("ya volví", "he vuelto", "estoy de vuelta", "despierta", "escucha de nuevo", "sigue escuchando",
               "volví"),
        "fr": ("je suis de retour", "je suis revenu", "je suis revenue", "réveille toi", "me revoilà",
               "écoute à nouveau", "reprends l'écoute", "me voilà"),
        "pt": ("voltei", "estou de volta", "acorda", "volta a ouvir", "pode ouvir de novo", "já voltei"),
    },
}
