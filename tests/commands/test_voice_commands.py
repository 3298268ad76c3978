"""Voice commands: a table of real phrasings per language (positive and negative), the phrase
table's consistency, and the session effects."""

import numpy as np
import pytest

from assistant.commands import KINDS, LANGUAGES, key, parse
from assistant.commands.phrases import PHRASES
from assistant.commands.replies import REPLIES
from assistant.commands.session import SessionState, apply_gain, change_tempo
from assistant.commands.settings import CommandSettings
from assistant.core.types import AudioChunk

# (transcript as Whisper writes it, detected language, expected kind)
POSITIVE = [
    # English
    ("Stop.", "en", "stop"), ("Stop!", "en", "stop"), ("Stop, stop, stop!", "en", "stop"),
    ("OK, stop talking.", "en", "stop"), ("Please be quiet.", "en", "stop"), ("Shut up!", "en", "stop"),
    ("That's enough, thank you.", "en", "stop"), ("Hey assistant, stop.", "en", "stop"),
    ("Could you repeat that?", "en", "repeat"), ("Say that again, please.", "en", "repeat"),
    ("Sorry, what?", "en", "repeat"), ("Can you say it again?", "en", "repeat"), ("Pardon?", "en", "repeat"),
    ("I didn't catch that.", "en", "repeat"), ("One more time, please.", "en", "repeat"),
    ("Could you please speak a bit slower?", "en", "slower"), ("Slow down.", "en", "slower"),
    ("You're talking too fast.", "en", "slower"), ("Slower, please.", "en", "slower"),
    ("Speak faster.", "en", "faster"), ("A bit faster please", "en", "faster"), ("Speed up!", "en", "faster"),
    ("Louder.", "en", "louder"), ("Speak up, please.", "en", "louder"), ("I can't hear you.", "en", "louder"),
    ("Turn it up.", "en", "louder"), ("Quieter please.", "en", "quieter"), ("Too loud!", "en", "quieter"),
    ("Not so loud.", "en", "quieter"), ("Turn the volume down", "en", "quieter"),
    ("New conversation.", "en", "new_conversation"), ("Let's start over.", "en", "new_conversation"),
    ("Forget everything.", "en", "new_conversation"), ("Forget that.", "en", "forget_last"),
    ("Scratch that.", "en", "forget_last"), ("What can I say?", "en", "help"), ("Help!", "en", "help"),
    ("What are the commands?", "en", "help"), ("Take your time.", "en", "patient"),
    ("Patient mode, please.", "en", "patient"), ("Normal speed.", "en", "normal"),
    ("Back to normal, please.", "en", "normal"), ("Pause listening.", "en", "pause"),
    ("Stop listening.", "en", "pause"), ("Go to sleep.", "en", "pause"), ("I'm back.", "en", "resume"),
    ("Okay, I'm back!", "en", "resume"), ("Wake up.", "en", "resume"), ("Speak German.", "en", "language"),
    # German
    ("Stopp!", "de", "stop"), ("Hör auf.", "de", "stop"), ("Sei bitte still.", "de", "stop"),
    ("Das reicht jetzt.", "de", "stop"), ("Kannst du das wiederholen?", "de", "repeat"),
    ("Wiederhole das bitte.", "de", "repeat"), ("Noch mal, bitte.", "de", "repeat"),
    ("Nochmal.", "de", "repeat"), ("Wie bitte?", "de", "repeat"), ("Sag das noch mal.", "de", "repeat"),
    ("Sprich bitte etwas langsamer.", "de", "slower"), ("Langsamer, bitte!", "de", "slower"),
    ("Nicht so schnell!", "de", "slower"), ("Schneller.", "de", "faster"), ("Sprich mal schneller.", "de", "faster"),
    ("Lauter bitte.", "de", "louder"), ("Mach mal lauter.", "de", "louder"),
    ("Ich kann dich nicht hören.", "de", "louder"),
    ("Leiser!", "de", "quieter"), ("Nicht so laut.", "de", "quieter"), ("Neues Gespräch.", "de", "new_conversation"),
    ("Fang von vorne an.", "de", "new_conversation"), ("Vergiss das.", "de", "forget_last"),
    ("Hilfe.", "de", "help"), ("Was kann ich sagen?", "de", "help"), ("Lass dir Zeit.", "de", "patient"),
    ("Normale Geschwindigkeit.", "de", "normal"), ("Hör auf zuzuhören.", "de", "pause"),
    ("Ich bin wieder da.", "de", "resume"), ("Ich bin zurück.", "de", "resume"),
    ("Antworte auf Spanisch.", "de", "language"),
    # Spanish
    ("¡Para!", "es", "stop"), ("Cállate, por favor.", "es", "stop"), ("Ya basta.", "es", "stop"),
    ("¿Puedes repetir?", "es", "repeat"), ("Repítelo, por favor.", "es", "repeat"), ("Otra vez.", "es", "repeat"),
    ("¿Cómo?", "es", "repeat"), ("Más despacio, por favor.", "es", "slower"),
    ("Habla un poco más lento.", "es", "slower"),
    ("Más rápido.", "es", "faster"), ("Más alto, por favor.", "es", "louder"), ("No te oigo.", "es", "louder"),
    ("Más bajo.", "es", "quieter"), ("Baja el volumen.", "es", "quieter"),
    ("Nueva conversación.", "es", "new_conversation"),
    ("Empecemos de nuevo.", "es", "new_conversation"), ("Olvida eso.", "es", "forget_last"), ("Ayuda.", "es", "help"),
    ("¿Qué puedo decir?", "es", "help"), ("Tómate tu tiempo.", "es", "patient"), ("Velocidad normal.", "es", "normal"),
    ("Deja de escuchar.", "es", "pause"), ("Ya volví.", "es", "resume"), ("Habla alemán.", "es", "language"),
    # French
    ("Arrête !", "fr", "stop"), ("Tais-toi.", "fr", "stop"), ("Ça suffit.", "fr", "stop"), ("Stop.", "fr", "stop"),
    ("Répète, s'il te plaît.", "fr", "repeat"), ("Tu peux répéter ?", "fr", "repeat"), ("Pardon ?", "fr", "repeat"),
    ("Encore une fois.", "fr", "repeat"), ("Plus lentement, s'il vous plaît.", "fr", "slower"),
    ("Parle un peu plus lentement.", "fr", "slower"), ("Tu parles trop vite.", "fr", "slower"),
    ("Plus vite !", "fr", "faster"), ("Plus fort, s'il te plaît.", "fr", "louder"),
    ("Je ne t'entends pas.", "fr", "louder"),
    ("Moins fort.", "fr", "quieter"), ("Baisse le volume.", "fr", "quieter"),
    ("Nouvelle conversation.", "fr", "new_conversation"), ("On recommence.", "fr", "new_conversation"),
    ("Oublie ça.", "fr", "forget_last"), ("Aide.", "fr", "help"), ("Qu'est-ce que je peux dire ?", "fr", "help"),
    ("Prends ton temps.", "fr", "patient"), ("Vitesse normale.", "fr", "normal"), ("Arrête d'écouter.", "fr", "pause"),
    ("Je suis de retour !", "fr", "resume"), ("Parle anglais.", "fr", "language"),
    # Portuguese
    ("Para!", "pt", "stop"), ("Pare, por favor.", "pt", "stop"), ("Chega.", "pt", "stop"),
    ("Cala a boca.", "pt", "stop"),
    ("Repete, por favor.", "pt", "repeat"), ("Pode repetir?", "pt", "repeat"), ("De novo.", "pt", "repeat"),
    ("Fala mais devagar, por favor.", "pt", "slower"), ("Mais devagar.", "pt", "slower"),
    ("Mais rápido.", "pt", "faster"), ("Fala mais alto.", "pt", "louder"), ("Não te ouço.", "pt", "louder"),
    ("Mais baixo, por favor.", "pt", "quieter"), ("Nova conversa.", "pt", "new_conversation"),
    ("Vamos recomeçar.", "pt", "new_conversation"), ("Esquece isso.", "pt", "forget_last"), ("Ajuda.", "pt", "help"),
    ("O que eu posso dizer?", "pt", "help"), ("Não tenha pressa.", "pt", "patient"),
    ("Velocidade normal.", "pt", "normal"),
    ("Para de ouvir.", "pt", "pause"), ("Voltei!", "pt", "resume"), ("Estou de volta.", "pt", "resume"),
    ("Fala português.", "pt", "language"),
    # Whisper mislabels short clips: the phrase is still found in its own language
    ("Lauter.", "en", "louder"), ("Plus fort.", "de", "louder"), ("Más despacio.", "pt", "slower"),
    ("Wiederhole.", "fr", "repeat"), ("STOP", "it", "stop"),
]

NEGATIVE = [
    # ordinary questions and statements that merely contain a command word
    ("How do I stop a leak?", "en"), ("Can you repeat the history of Rome for me in detail?", "en"),
    ("Why does my car get louder when it's cold?", "en"), ("What's the help desk's phone number?", "en"),
    ("I'm back from Paris and I need a hotel.", "en"), ("Stop me if you've heard this one.", "en"),
    ("Is it normal to feel tired after lunch?", "en"), ("Tell me about the new conversation app.", "en"),
    ("How fast can a cheetah run?", "en"), ("Please tell me a joke.", "en"), ("Thank you.", "en"),
    ("Okay.", "en"), ("Can you help me with my homework?", "en"), ("Don't stop.", "en"),
    ("What can I say to my boss about the delay?", "en"), ("Pause the movie at ten.", "en"),
    ("Wie stoppe ich ein tropfendes Wasser?", "de"), ("Warum ist die Musik so laut?", "de"),
    ("Kannst du mir helfen, eine E-Mail zu schreiben?", "de"),
    ("Ich bin zurück aus dem Urlaub, was gibt es Neues?", "de"),
    ("Wie spät ist es?", "de"), ("Danke schön.", "de"),
    ("¿Para qué sirve el hierro?", "es"), ("¿Cómo se dice hola en alemán?", "es"),
    ("Necesito ayuda con mi contraseña.", "es"), ("Repite conmigo: uno, dos, tres.", "es"),
    ("Comment arrêter de fumer ?", "fr"), ("Pourquoi le ciel est bleu ?", "fr"),
    ("J'ai besoin d'aide pour ma déclaration d'impôts.", "fr"), ("Répète après moi : bonjour.", "fr"),
    ("Para onde vai este comboio?", "pt"), ("Como faço para falar mais alto em público?", "pt"),
    ("Preciso de ajuda com o meu computador.", "pt"), ("", "en"), ("   ", "en"), ("...", "en"),
]


@pytest.mark.parametrize("text,language,kind", POSITIVE)
def test_real_phrasings(text, language, kind):
    cmd = parse(text, language)
    assert cmd is not None, f"{text!r} was not recognised"
    assert cmd.kind == kind
    if kind != "repeat":
        assert cmd.confirmation


@pytest.mark.parametrize("text,language", NEGATIVE)
def test_ordinary_utterances_are_not_commands(text, language):
    assert parse(text, language) is None


def test_confirmation_is_in_the_language_of_the_phrase_or_the_one_asked_for():
    assert parse("Lauter.", "en").language == "de"  # not an English word: German it is
    assert parse("Stop.", "fr").language == "fr"  # also French: the detected language wins
    cmd = parse("Slower, please.", "en", reply_language="pt")
    assert cmd.language == "pt" and cmd.confirmation == REPLIES["slower"]["pt"]
    cmd = parse("Stop.", "en", reply_language="ja")  # no Japanese text: English, and says so
    assert cmd.language == "en" and cmd.confirmation == REPLIES["stop"]["en"]


def test_extra_phrases_from_the_config():
    assert parse("Hold on.", "en") is None
    assert parse("Hold on!", "en", extra_phrases={"stop": {"en": ("hold on",)}}).kind == "stop"


def test_every_kind_has_phrases_and_replies_in_every_language():
    for kind in KINDS:
        if kind == "language":
            continue
        assert set(PHRASES[kind]) >= set(LANGUAGES), kind
        assert set(REPLIES[kind]) >= set(LANGUAGES), kind


def test_no_phrase_means_two_commands():
    seen: dict[tuple, str] = {}
    for kind, by_language in PHRASES.items():
        for lang, phrases in by_language.items():
            for phrase in phrases:
                k = key(phrase)
                assert k, f"{phrase!r} ({lang}) is nothing but fillers"
                assert seen.setdefault(k, kind) == kind, f"{phrase!r} ({lang}) is both {seen[k]} and {kind}"


def test_word_order_and_case_do_not_matter():
    assert parse("LOUDER, PLEASE!", "en").kind == "louder"
    assert parse("please, louder", "en").kind == "louder"
    assert parse("Langsamer sprich.", "de").kind == "slower"


# ------------------------------------------------------------------ session effects

def cmd(text, language="en"):
    c = parse(text, language)
    assert c is not None, text
    return c


def test_rate_steps_and_limits():
    s = SessionState(CommandSettings(rate_step=0.25, min_rate=0.5, max_rate=1.5))
    assert s.apply(cmd("Slower.")).say == REPLIES["slower"]["en"] and s.rate == 0.75
    s.apply(cmd("Slower.")) and s.rate == 0.5
    e = s.apply(cmd("Slower."))
    assert s.rate == 0.5 and e.say == REPLIES["at_limit"]["en"]
    s.apply(cmd("Faster."))
    s.apply(cmd("Faster."))
    assert s.rate == 1.0
    s.apply(cmd("Normal speed."))
    assert s.rate == 1.0 and not s.patient


def test_volume_steps_in_db():
    s = SessionState(CommandSettings(volume_step_db=6, max_volume_db=6))
    s.apply(cmd("Louder."))
    assert s.volume == pytest.approx(10 ** (6 / 20), rel=1e-3)
    assert s.apply(cmd("Louder.")).say == REPLIES["at_limit"]["en"]
    s.apply(cmd("Quieter."))
    s.apply(cmd("Quieter."))
    assert s.volume == pytest.approx(10 ** (-6 / 20), rel=1e-3)


def test_repeat_says_the_last_reply_in_its_language():
    s = SessionState()
    e = s.apply(cmd("Say that again."))
    assert e.say == REPLIES["nothing_to_repeat"]["en"]
    s.remember("Berlin ist die Hauptstadt.", "de")
    e = s.apply(cmd("Say that again."))
    assert (e.say, e.language, e.stop_speaking) == ("Berlin ist die Hauptstadt.", "de", True)


def test_history_effects():
    s = SessionState()
    s.remember("Hello.", "en")
    e = s.apply(cmd("New conversation."))
    assert e.clear_history and not e.forget_last and s.last_reply == ""
    e = s.apply(cmd("Forget that."))
    assert e.forget_last and not e.clear_history


def test_patient_mode_lengthens_the_end_of_turn_silence():
    s = SessionState(CommandSettings(patient_silence_ms=2000))
    assert s.end_of_turn_silence_ms(500) == 500
    s.apply(cmd("Take your time."))
    assert s.end_of_turn_silence_ms(500) == 2000 and s.end_of_turn_silence_ms(2500) == 2500
    s.apply(cmd("Normale Geschwindigkeit.", "de"))
    assert s.end_of_turn_silence_ms(500) == 500


def test_pause_ignores_everything_but_resume_and_help():
    s = SessionState()
    e = s.apply(cmd("Pause listening."))
    assert s.paused and e.stop_speaking and e.say
    assert not s.accepts(None) and not s.accepts(cmd("Louder."))
    assert s.accepts(cmd("What can I say?"))
    assert s.accepts(cmd("Ich bin wieder da.", "de"))
    e = s.apply(cmd("Ich bin wieder da.", "de"))
    assert not s.paused and e.say == REPLIES["resume"]["de"] and e.language == "de"
    assert s.apply(cmd("I'm back.")).say == ""  # not asleep: nothing to confirm


def test_language_command_effect():
    s = SessionState()
    e = s.apply(cmd("Speak French."))
    assert e.changes_language and e.reply_language == "fr" and e.language == "fr"
    e = s.apply(cmd("Answer in my language."))
    assert e.changes_language and e.reply_language is None
    assert not s.apply(cmd("Stop.")).changes_language


def test_shape_applies_rate_and_volume():
    sr = 16000
    t = np.arange(sr) / sr
    tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    s = SessionState()
    chunk = AudioChunk(tone, sr)
    assert s.shape(chunk) is chunk  # defaults: untouched
    s.rate, s.volume = 1.25, 2.0
    out = s.shape(chunk)
    assert out.sample_rate == sr and abs(len(out.samples) - sr / 1.25) < 0.02 * sr
    spectrum = np.abs(np.fft.rfft(out.samples))
    assert abs(np.argmax(spectrum) * sr / len(out.samples) - 220) < 5  # pitch unchanged
    assert 0.3 < np.max(np.abs(out.samples)) <= 0.99


def test_gain_never_clips():
    x = np.array([0.0, 0.6, -0.8], np.float32)
    assert np.max(np.abs(apply_gain(x, 4.0))) == pytest.approx(0.99)
    assert np.allclose(apply_gain(x, 0.5), x * 0.5)
    assert len(change_tempo(np.zeros(16000, np.float32), 16000, 0.8)) == pytest.approx(20000, rel=0.02)


def test_patient_mode_reaches_the_endpointer():
    """The engine applies end_of_turn_silence_ms through Endpointer.set_min_silence_ms: a 1 s
    pause then no longer ends the utterance."""
    from assistant.audio.endpointing import FRAME, Endpointer
    from assistant.audio.vad import make_vad
    from assistant.core.types import Utterance

    sr = 16000
    t = np.arange(sr) / sr
    voiced = (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    signal = np.concatenate([voiced, np.zeros(sr, np.float32), voiced, np.zeros(3 * sr, np.float32)])

    def utterances(ep):
        return [e for i in range(0, len(signal), FRAME) for e in ep.feed(signal[i:i + FRAME])
                if isinstance(e, Utterance)]

    state = SessionState(CommandSettings(patient_silence_ms=1500))
    ep = Endpointer(make_vad("energy"), min_silence_ms=state.end_of_turn_silence_ms(500))
    assert len(utterances(ep)) == 2
    state.apply(cmd("Take your time."))
    ep = Endpointer(make_vad("energy"), min_silence_ms=500)
    ep.set_min_silence_ms(state.end_of_turn_silence_ms(500))
    assert len(utterances(ep)) == 1


# ------------------------------------------------------------------ intents: paraphrases, near misses

@pytest.mark.parametrize("text,language,kind", [
    ("Let's start a new conversation.", "en", "new_conversation"), ("Can we begin again?", "en", "new_conversation"),
    ("Let's start over.", "en", "new_conversation"), ("Start a new conversation.", "en", "new_conversation"),
    ("Sorry, I didn't catch that.", "en", "repeat"), ("Lass uns neu anfangen.", "de", "new_conversation"),
    ("Vamos a empezar de cero.", "es", "new_conversation"), ("Vamos começar de novo.", "pt", "new_conversation"),
    # as Whisper misheard them (the spoken command set)
    ("habla más de espacio por favor", "es", "slower"), ("Witte wiederhöhle das.", "de", "repeat"),
    ("Lasst ums Neuanfangen.", "de", "new_conversation"), ("sagt es nochmal.", "de", "repeat"),
    ("Normal es tiempo.", "de", "normal"), ("Witte sprich spanisch.", "de", "language"),
    ("What commands are there?", "en", "help"), ("répond en allemand", "fr", "language"),
])
def test_paraphrases_and_near_misses_are_acted_on(text, language, kind):
    cmd = parse(text, language)
    assert cmd is not None and cmd.kind == kind and cmd.certain, (text, cmd)


@pytest.mark.parametrize("text,language,kind", [
    ("Stand on your conversation.", "en", "new_conversation"), ("Neues Geschäft.", "de", "new_conversation"),
    ("Nouvelle comparaison.", "fr", "new_conversation"), ("Nova comparsa.", "pt", "new_conversation"),
])
def test_unsure_matches_are_only_offered_for_a_question(text, language, kind):
    assert parse(text, language) is None  # never acted on without asking
    cmd = parse(text, language, ask=True)
    assert cmd is not None and cmd.kind == kind and not cmd.certain and cmd.confidence >= 0.7


@pytest.mark.parametrize("text,language", NEGATIVE + [
    ("Don't stop.", "en"), ("What does 'repeat after me' mean?", "en"), ("How do I stop a leak?", "en"),
    ("Is it normal to speak slowly?", "en"), ("Wie spät ist es?", "de"), ("Comment arrêter de fumer ?", "fr"),
    ("O que é isso?", "pt"), ("Qué es eso?", "es"),
])
def test_questions_are_not_even_asked_about(text, language):
    assert parse(text, language, ask=True) is None


def test_yes_and_no_in_every_language():
    from assistant.commands.matcher import yes_or_no

    for text in ("Yes.", "Yes, please.", "Yeah.", "Ja.", "Ja, bitte.", "Genau.", "Sí.", "Sí, por favor.", "Oui.",
                 "Oui, s'il vous plaît.", "Sim.", "Okay.", "Yes, do it."):
        assert yes_or_no(text) is True, text
    for text in ("No.", "No, thanks.", "Nein.", "Nein, danke.", "Non.", "Não.", "Nope."):
        assert yes_or_no(text) is False, text
    for text in ("Yes, but what about Paris?", "What?", "", "No idea what you mean, tell me about Rome."):
        assert yes_or_no(text) is None, text


def test_the_session_language_comes_first():
    """"Para" is stop in es and pt; "normal" is a command in all five: the session decides."""
    assert parse("Para.", "es", session_language="pt").language == "pt"
    assert parse("Para.", "pt", session_language="es").language == "es"
    assert parse("Normal.", "en", session_language="fr").language == "fr"
    assert parse("Para.", "es").language == "es"  # no session language yet: the detected one
    # a German command Whisper labelled English, in a German session: still found, confirmed in German
    cmd = parse("Lauter, bitte.", "en", session_language="de")
    assert cmd.kind == "louder" and cmd.language == "de"


@pytest.mark.parametrize("text,language,code", [
    ("und Worte auf Französisch.", "de", "fr"), ("Twitch to Spanish.", "en", "es"), ("Respondin alemán", "es", "de"),
    ("par l'espagnol s'il te plaît.", "fr", "es"), ("Áblame en mí idioma", "es", None),
])
def test_language_commands_with_the_verb_misheard(text, language, code):
    cmd = parse(text, language)
    assert cmd is not None and cmd.kind == "language" and cmd.argument == code and cmd.certain


@pytest.mark.parametrize("text", ["I speak German.", "How do you say hello in German?", "Teach me German.",
                                  "Learn French.", "Ich lerne Deutsch.", "Speak Germany.", "Spanish."])
def test_a_language_name_alone_is_not_a_language_command(text):
    assert parse(text, "en", ask=True) is None


@pytest.mark.parametrize("text,kind", [
    ("Wake up. Wake up.", "resume"), ("Speak my language. Speak my language.", "language"),
    ("stop. stop.", "stop"), ("Neues Gespräch. Neues Gespräch.", "new_conversation"),
])
def test_a_command_whisper_decoded_twice_is_one_command(text, kind):
    cmd = parse(text, "en", session_language="en")
    assert cmd is not None and cmd.kind == kind and cmd.certain


@pytest.mark.parametrize("text", ["How do I stop a leak? How do I stop a leak?", "Stop and go. Stop and go. Stop."])
def test_a_repeated_question_is_still_a_question(text):
    assert parse(text, "en", session_language="en", ask=True) is None


@pytest.mark.parametrize("heard,language,kind", [  # Whisper base on SVOX Pico's German (tests/data/commands)
    ("Lizer-bit", "de", "quieter"), ("Sprichlotta", "de", "louder"), ("Lasst ihr Zeit.", "de", "patient"),
])
def test_a_command_misspelt_as_it_sounds_is_acted_on(heard, language, kind):
    cmd = parse(heard, language, session_language=language, ask=True)
    assert cmd is not None and cmd.kind == kind and cmd.certain


@pytest.mark.parametrize("text,language", [  # sound alike, but only near: never acted on
    ("Wasser", "de"), ("auf der", "de"), ("weitere", "de"), ("worden", "de"), ("notas de", "pt"), ("duas", "pt"),
])
def test_words_that_only_sound_near_a_command_are_not_acted_on(text, language):
    cmd = parse(text, language, session_language=language, ask=True)
    assert cmd is None or not cmd.certain


def test_the_sound_key_folds_spellings_of_one_sound():
    from assistant.commands.matcher import sound

    assert sound("lizer") == sound("leiser") and sound("sprichlotta") == sound("sprichlauter")
    assert sound("stop") != sound("step") and sound("wasser") != sound("faster")


@pytest.mark.parametrize("text,language,kind", [
    ("Speak up, I can't hear you.", "en", "louder"),
    ("Bitte sprich lauter. Ich kann dich nicht hören.", "de", "louder"),
    ("Stop. Stop talking!", "en", "stop"), ("Para, cállate.", "es", "stop"),
])
def test_several_clauses_that_are_each_the_same_command(text, language, kind):
    cmd = parse(text, language, session_language=language, ask=True)
    assert cmd is not None and cmd.kind == kind and cmd.certain and cmd.text == text


@pytest.mark.parametrize("text,language", [
    ("Stop. How do I stop a leak?", "en"), ("Stop, go faster.", "en"), ("Pause. Pause the movie at ten.", "en"),
    ("Repite conmigo: uno, dos, tres.", "es"), ("Louder, then quieter, then louder.", "en"),
])
def test_clauses_that_are_not_all_the_same_command_are_no_command(text, language):
    assert parse(text, language, session_language=language, ask=True) is None
