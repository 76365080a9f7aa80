"""The offline default stack, built from models that ship inside PyPI packages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.chat_model import ChatModel
from agent.errors import EmptyTurnError
from agent.backends.llama_cpp.chat import LlamaCppChatModel
from agent.models.store import model_store
from agent.settings import StepvoxSettings

# Short names for the packaged Whisper models; anything else is a path or a remote id.


@dataclass
class EmbeddedStack:
    """The four loaded models and how long each took to load."""

    settings: StepvoxSettings
    vad: object
    tokenizer: object
    chat_model: ChatModel | None  # None when a remote backend replaces the packaged LLM
    decoder: object
    load_s: dict[str, float] = field(default_factory=dict)
    persistent_history: bool = False  # agents get a SQL history store (the CLI's default)

    def agent_options(self, chat_model: ChatModel | None = None, **kwargs) -> dict:
        """`VoiceAgent`'s arguments for this stack's models and settings; `kwargs` win.
        `VoiceAgent.from_stack` builds the agent (this module does not import it)."""
        chat_model = chat_model or self.chat_model
        if chat_model is None:
            raise EmptyTurnError("this stack was loaded without an LLM: pass chat_model=...")
        s = self.settings
        kwargs.setdefault("max_tool_rounds", s.max_tool_rounds)
        kwargs.setdefault("history_turns", s.history_turns)
        kwargs.setdefault("filler_after_s", s.filler_after_s)
        kwargs.setdefault("max_audio_s", s.max_audio_s)
        kwargs.setdefault("history_token_budget", s.history_token_budget)
        kwargs.setdefault("audio_dir", s.audio_dir)
        kwargs.setdefault("learn_facts", s.learn_facts)
        if "memory" not in kwargs and self.persistent_history:
            from memory import BufferedDialogueStore, SqlDialogueStore

            # History on disk (SQLite by default); the buffer keeps a turn the database could
            # not take and writes it when the database is back.
            kwargs["memory"] = BufferedDialogueStore(SqlDialogueStore(s.database_url))
        return dict(chat_model=chat_model, decoder=self.decoder, tokenizer=self.tokenizer,
                    vad=self.vad, **kwargs)


def load_embedded_stack(settings: StepvoxSettings | None = None, *,
                        progress: bool = True, with_llm: bool = True,
                        language: str = "en") -> EmbeddedStack:
    """Resolve (join + verify once) and load every model. Raises a `ModelError` naming the
    package to install when a part is missing. `language` is the persona's: "zh" listens for
    Chinese and speaks with the Mandarin voice (`agent.setup.language_voices`)."""
    from agent.setup.language_voices import check_asr_language, decoder_for_language, speech_language
    from speech.piper.decoder import PiperDecoder
    from speech.silero.vad import SileroVoiceActivityDetector
    from speech.whisper.asr import WhisperSpeechTokenizer

    settings = settings or StepvoxSettings()
    store = model_store(settings, progress=progress)
    language = speech_language(language)
    check_asr_language(settings.asr_model, language)
    roles = ("vad", "asr", "llm", "tts") if with_llm else ("vad", "asr", "tts")
    paths = {role: store.resolve_for_role(role) for role in roles}
    load_s: dict[str, float] = {}

    def timed(role: str, build):
        start = time.perf_counter()
        obj = build()
        load_s[role] = time.perf_counter() - start
        return obj

    vad = timed("vad", lambda: SileroVoiceActivityDetector(str(paths["vad"])))
    tokenizer = timed("asr", lambda: WhisperSpeechTokenizer(paths["asr"], language=language,
                                                            cpu_threads=settings.threads))
    chat = timed("llm", lambda: LlamaCppChatModel(
        paths["llm"], n_threads=settings.threads, temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens)) if with_llm else None
    decoder = timed("tts", lambda: decoder_for_language(store, language,
                                                        PiperDecoder(Path(paths["tts"]))))
    return EmbeddedStack(settings, vad, tokenizer, chat, decoder, load_s)
