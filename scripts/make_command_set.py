"""Regenerate the spoken command set in tests/data/commands/ (test data for voice-command matching).

15 commands x 5 languages x 3 phrasings, plus near-miss questions that must stay questions,
spoken by voices that are not the assistant's: SVOX Pico (``py-nanotts``: en-US, en-GB, de-DE,
es-ES, fr-FR), the starter pack's Piper voice en_US-joe for a third of the English ones, and
espeak-ng (pt, pt-br) for Portuguese (Pico has no Portuguese). Each clip is 16 kHz mono Ogg/Opus
with 0.3 s of silence around the speech; ``manifest.tsv`` lists file, language, voice, the
expected intent ("none" for a question) and the text.

    python3 scripts/make_command_set.py [--out tests/data/commands]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

RATE = 16000

# intent -> language -> three phrasings (as people say them, paraphrases included)
COMMANDS: dict[str, dict[str, tuple[str, str, str]]] = {
    "stop": {
        "en": ("Stop.", "Please stop talking.", "Okay, that's enough."),
        "de": ("Stopp!", "Hör bitte auf.", "Das reicht jetzt."),
        "es": ("¡Para!", "Deja de hablar, por favor.", "Ya basta."),
        "fr": ("Arrête !", "Tais-toi, s'il te plaît.", "Ça suffit."),
        "pt": ("Para!", "Pare de falar, por favor.", "Chega."),
    },
    "repeat": {
        "en": ("Could you repeat that?", "Say that again, please.", "Sorry, I didn't catch that."),
        "de": ("Kannst du das wiederholen?", "Bitte wiederhole das.", "Sag das noch mal."),
        "es": ("¿Puedes repetir?", "Repítelo, por favor.", "Dilo otra vez."),
        "fr": ("Tu peux répéter ?", "Répète, s'il te plaît.", "Encore une fois."),
        "pt": ("Pode repetir?", "Repete, por favor.", "Diz de novo."),
    },
    "slower": {
        "en": ("Speak a bit slower, please.", "Slow down, please.", "You're talking too fast."),
        "de": ("Sprich langsamer.", "Bitte etwas langsamer.", "Nicht so schnell."),
        "es": ("Habla más despacio, por favor.", "Más despacio.", "Hablas muy rápido."),
        "fr": ("Parle plus lentement.", "Plus lentement, s'il vous plaît.", "Tu parles trop vite."),
        "pt": ("Fala mais devagar, por favor.", "Mais devagar.", "Você fala rápido demais."),
    },
    "faster": {
        "en": ("Speak faster.", "Could you speed up a little?", "A bit faster, please."),
        "de": ("Sprich schneller.", "Schneller, bitte.", "Du sprichst zu langsam."),
        "es": ("Habla más rápido.", "Más rápido, por favor.", "Hablas muy lento."),
        "fr": ("Parle plus vite.", "Plus vite, s'il te plaît.", "Tu parles trop lentement."),
        "pt": ("Fala mais rápido.", "Mais rápido, por favor.", "Mais depressa."),
    },
    "louder": {
        "en": ("Louder, please.", "Speak up, I can't hear you.", "Turn up the volume."),
        "de": ("Lauter, bitte.", "Sprich lauter.", "Ich kann dich nicht hören."),
        "es": ("Más alto, por favor.", "Habla más fuerte.", "Sube el volumen."),
        "fr": ("Plus fort, s'il te plaît.", "Parle plus fort.", "Je ne t'entends pas."),
        "pt": ("Fala mais alto.", "Mais alto, por favor.", "Aumenta o volume."),
    },
    "quieter": {
        "en": ("Quieter, please.", "That's too loud.", "Turn the volume down."),
        "de": ("Leiser, bitte.", "Sprich leiser.", "Nicht so laut."),
        "es": ("Más bajo, por favor.", "Baja el volumen.", "No tan fuerte."),
        "fr": ("Moins fort, s'il te plaît.", "Baisse le volume.", "Parle moins fort."),
        "pt": ("Mais baixo, por favor.", "Abaixa o volume.", "Fala mais baixo."),
    },
    "new_conversation": {
        "en": ("Let's start a new conversation.", "Let's start over.", "Can we begin again?"),
        "de": ("Neues Gespräch.", "Lass uns neu anfangen.", "Fang von vorne an."),
        "es": ("Nueva conversación.", "Empecemos de nuevo.", "Vamos a empezar de cero."),
        "fr": ("Nouvelle conversation.", "On recommence.", "Recommençons à zéro."),
        "pt": ("Nova conversa.", "Vamos recomeçar.", "Vamos começar de novo."),
    },
    "forget_last": {
        "en": ("Forget that.", "Scratch that.", "Never mind that."),
        "de": ("Vergiss das.", "Vergiss, was ich gesagt habe.", "Streich das."),
        "es": ("Olvida eso.", "Olvida lo que dije.", "Ignora eso."),
        "fr": ("Oublie ça.", "Oublie ce que j'ai dit.", "Efface ça."),
        "pt": ("Esquece isso.", "Esquece o que eu disse.", "Ignora isso."),
    },
    "help": {
        "en": ("What can I say?", "Help.", "What commands are there?"),
        "de": ("Hilfe.", "Was kann ich sagen?", "Welche Befehle gibt es?"),
        "es": ("Ayuda.", "¿Qué puedo decir?", "¿Qué comandos hay?"),
        "fr": ("Aide.", "Qu'est-ce que je peux dire ?", "Quelles sont les commandes ?"),
        "pt": ("Ajuda.", "O que eu posso dizer?", "Quais são os comandos?"),
    },
    "patient": {
        "en": ("Take your time.", "Please be patient.", "Give me more time."),
        "de": ("Lass dir Zeit.", "Sei geduldig.", "Lass mich ausreden."),
        "es": ("Tómate tu tiempo.", "Ten paciencia.", "Déjame terminar."),
        "fr": ("Prends ton temps.", "Laisse-moi finir.", "Sois patient."),
        "pt": ("Não tenha pressa.", "Tenha paciência.", "Me deixa terminar."),
    },
    "normal": {
        "en": ("Normal speed, please.", "Back to normal.", "Normal mode."),
        "de": ("Normale Geschwindigkeit.", "Wieder normal, bitte.", "Normales Tempo."),
        "es": ("Velocidad normal.", "Modo normal.", "Ritmo normal, por favor."),
        "fr": ("Vitesse normale.", "Mode normal.", "Rythme normal, s'il te plaît."),
        "pt": ("Velocidade normal.", "Modo normal.", "Volta ao normal."),
    },
    "pause": {
        "en": ("Pause listening.", "Stop listening.", "Go to sleep."),
        "de": ("Hör auf zuzuhören.", "Mach eine Pause.", "Schlafmodus."),
        "es": ("Deja de escuchar.", "Haz una pausa.", "Modo reposo."),
        "fr": ("Arrête d'écouter.", "Fais une pause.", "Mode veille."),
        "pt": ("Para de ouvir.", "Faz uma pausa.", "Vai dormir."),
    },
    "resume": {
        "en": ("I'm back.", "Wake up.", "Start listening again."),
        "de": ("Ich bin zurück.", "Ich bin wieder da.", "Wach auf."),
        "es": ("Ya volví.", "Estoy de vuelta.", "Despierta."),
        "fr": ("Je suis de retour.", "Réveille-toi.", "Me revoilà."),
        "pt": ("Voltei.", "Estou de volta.", "Acorda."),
    },
    "language": {
        "en": ("Speak German.", "Please answer in French.", "Switch to Spanish."),
        "de": ("Sprich Englisch.", "Antworte auf Französisch.", "Bitte sprich Spanisch."),
        "es": ("Habla inglés.", "Responde en alemán.", "Háblame en francés."),
        "fr": ("Parle anglais.", "Réponds en allemand.", "Parle espagnol, s'il te plaît."),
        "pt": ("Fala inglês.", "Responda em alemão.", "Fala espanhol, por favor."),
    },
    "language_auto": {
        "en": ("Answer in my language.", "Speak my language.", "Reply in my language, please."),
        "de": ("Antworte in meiner Sprache.", "Sprich meine Sprache.", "Antworte automatisch."),
        "es": ("Responde en mi idioma.", "Habla mi idioma.", "Háblame en mi idioma."),
        "fr": ("Réponds dans ma langue.", "Parle ma langue.", "Parle dans ma langue."),
        "pt": ("Responda na minha língua.", "Fala a minha língua.", "Fala na minha língua."),
    },
}

# Questions and statements close to a command (a command word inside): must never trigger.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "en": ("How do I stop a leak?", "What does repeat after me mean?", "Can you repeat the history of Rome?",
           "Why is my music so loud?", "How fast can a cheetah run?", "I'm back from Paris and need a hotel.",
           "Is it normal to feel tired after lunch?", "Tell me about the new conversation app.",
           "What can I say to my boss about the delay?", "Pause the movie at ten."),
    "de": ("Wie stoppe ich ein tropfendes Wasser?", "Warum ist die Musik so laut?",
           "Kannst du mir helfen, eine E-Mail zu schreiben?", "Ich bin zurück aus dem Urlaub, was gibt es Neues?",
           "Wie schnell fährt ein ICE?", "Was bedeutet das Wort Pause?", "Wie spät ist es?",
           "Ist es normal, dass mein Hund viel schläft?", "Wie kann ich lauter singen?",
           "Was heißt langsamer auf Englisch?"),
    "es": ("¿Para qué sirve el hierro?", "¿Cómo se dice hola en alemán?", "Necesito ayuda con mi contraseña.",
           "Repite conmigo: uno, dos, tres.", "¿Por qué la música está tan alta?", "¿Qué significa la palabra pausa?",
           "¿Es normal dormir tanto?", "¿Cómo puedo hablar más despacio en público?",
           "¿Cuál es la velocidad de la luz?", "Háblame de la historia de Roma."),
    "fr": ("Comment arrêter de fumer ?", "Pourquoi le ciel est bleu ?",
           "J'ai besoin d'aide pour ma déclaration d'impôts.", "Répète après moi : bonjour.",
           "Comment parler plus fort en public ?", "Qu'est-ce que le mode veille d'un ordinateur ?",
           "Est-ce normal d'être fatigué le matin ?", "Quelle est la vitesse du son ?",
           "Raconte-moi une nouvelle histoire.", "Comment dit-on merci en anglais ?"),
    "pt": ("Para onde vai este comboio?", "Como faço para falar mais alto em público?",
           "Preciso de ajuda com o meu computador.", "O que significa a palavra pausa?",
           "É normal dormir tanto?", "Qual é a velocidade da luz?", "Como se diz obrigado em inglês?",
           "Conta-me uma história sobre Lisboa.", "Por que a música está tão alta?",
           "Como posso falar mais devagar?"),
}

PICO = {"en": ("en-US", "en-GB"), "de": ("de-DE",), "es": ("es-ES",), "fr": ("fr-FR",)}
ESPEAK_PT = ("pt", "pt-br")
JOE = "piper/en_US-joe-medium.onnx"


def _pico(text: str, voice: str) -> np.ndarray:
    from py_nanotts import NanoTTS

    raw = NanoTTS().speak(text, voice=voice)
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0


def _espeak(text: str, voice: str) -> np.ndarray:
    import io

    import soundfile as sf

    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "--stdout", text], check=True,
                         capture_output=True).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return _resample(samples, rate)


_piper = None


def _joe(text: str) -> np.ndarray:
    global _piper
    from assistant.core.types import AudioChunk
    from assistant.models import starter_dir
    from assistant.tts.piper import PiperOptions, PiperTTS

    if _piper is None:
        _piper = PiperTTS(PiperOptions(backend="piper", model=str(starter_dir() / JOE)))
        _piper.load()
    speech = AudioChunk.concat(list(_piper.synthesize(text, "en")))
    return _resample(speech.samples, speech.sample_rate)


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    from assistant.core.types import AudioChunk

    return AudioChunk(np.asarray(samples, np.float32).reshape(-1), rate).resampled(RATE).samples


def voice_for(language: str, index: int) -> str:
    """Voices take turns: en Pico en-US / Pico en-GB / Piper joe; pt espeak-ng pt / pt-br."""
    if language == "en":
        return ("pico:en-US", "pico:en-GB", "piper:en_US-joe")[index % 3]
    if language == "pt":
        return f"espeak:{ESPEAK_PT[index % 2]}"
    return f"pico:{PICO[language][0]}"


def speak(text: str, voice: str) -> np.ndarray:
    engine, name = voice.split(":", 1)
    if engine == "pico":
        return _pico(text, name)
    if engine == "espeak":
        return _espeak(text, name)
    return _joe(text)


def main(argv: list[str] | None = None) -> int:
    import soundfile as sf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests/data/commands")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    items = [(lang, intent, i, text) for intent, by_lang in COMMANDS.items() for lang, texts in by_lang.items()
             for i, text in enumerate(texts)]
    items += [(lang, "none", i, text) for lang, texts in QUESTIONS.items() for i, text in enumerate(texts)]
    for lang, intent, i, text in items:
        voice = voice_for(lang, i)
        pad = np.zeros(int(0.3 * RATE), np.float32)
        audio = np.concatenate([pad, speak(text, voice), pad])
        audio *= 0.5 / max(1e-6, float(np.max(np.abs(audio))))
        name = f"{lang}-{intent}-{i + 1}.ogg"
        sf.write(args.out / name, audio, RATE, format="OGG", subtype="OPUS")
        rows.append("\t".join((name, lang, voice, intent, text)))
    (args.out / "manifest.tsv").write_text("file\tlanguage\tvoice\tintent\ttext\n" + "\n".join(rows) + "\n",
                                           encoding="utf-8")
    print(f"{len(rows)} clips in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
