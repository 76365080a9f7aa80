"""The offline default stack, built from models that ship inside PyPI packages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.chat_model import ChatModel
from agent.errors import EmptyTurnError
from agent.llama_chat import LlamaCppChatModel
from agent.model_cache import ModelStore
from agent.model_catalog import DEFAULT_MODELS, llm_for_profile
from agent.settings import StepvoxSettings
from agent.voice_agent import VoiceAgent

# Short names for the packaged Whisper models; anything else is a path or a remote id.
_ASR_ALIASES = {"base": "whisper-base", "tiny.en": "whisper-tiny.en", "tiny": "whisper-tiny.en"}


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

    def agent(self, chat_model: ChatModel | None = None, **kwargs) -> VoiceAgent:
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
        return VoiceAgent(chat_model, decoder=self.decoder, tokenizer=self.tokenizer,
                          vad=self.vad, **kwargs)


def model_store(settings: StepvoxSettings, *, progress: bool = True) -> ModelStore:
    asr = _ASR_ALIASES.get(settings.asr_model, settings.asr_model)
    overrides = {
        "asr": "" if asr == DEFAULT_MODELS["asr"] else asr,
        "llm": settings.llm_model or "",
        "tts": settings.tts_voice or "",
        "vad": settings.vad_model or "",
    }
    # The profile moves the LLM's default, not its override: an explicit llm_model still wins,
    # and `stepvox models` lists no "override" row for a profile's own catalog model.
    defaults = {**DEFAULT_MODELS, "llm": llm_for_profile(settings.profile)}
    return ModelStore(settings.cache_dir, overrides=overrides, progress=progress,
                      requantize=settings.llm_requantize, defaults=defaults)


def load_embedded_stack(settings: StepvoxSettings | None = None, *,
                        progress: bool = True, with_llm: bool = True,
                        language: str = "en") -> EmbeddedStack:
    """Resolve (join + verify once) and load every model. Raises a `ModelError` naming the
    package to install when a part is missing. `language` is the persona's: "zh" listens for
    Chinese and speaks with the Mandarin voice (`agent.language_voices`)."""
    from agent.language_voices import check_asr_language, decoder_for_language, speech_language
    from speech.piper_decoder import PiperDecoder
    from speech.silero_vad import SileroVoiceActivityDetector
    from speech.whisper_asr import WhisperSpeechTokenizer

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
