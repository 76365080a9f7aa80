"""The model store a set of settings asks for: which ASR, LLM, voice and VAD, from the
profile and the overrides."""

from __future__ import annotations

from agent.models.cache import ModelStore
from agent.models.catalog import DEFAULT_MODELS, llm_for_profile
from agent.settings import StepvoxSettings

_ASR_ALIASES = {"base": "whisper-base", "tiny.en": "whisper-tiny.en", "tiny": "whisper-tiny.en"}


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
