"""One settings object for the whole agent: environment variables (STEPVOX_*) or arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.models.catalog import DEFAULT_PROFILE, llm_for_profile


# A turn that called a tool says a filler ("Let me check the time.") if its answer has not
# started this many seconds after the call was decided (the default of VoiceAgent too).
FILLER_AFTER_S = 0.5


class StepvoxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEPVOX_", extra="ignore")

    cache_dir: Path | None = Field(
        None, description="where split model packages are joined (default: the user cache dir)")
    asr_model: str = Field(
        "base", description="'base' or 'tiny.en' (packaged), a local CTranslate2 Whisper "
        "directory, or (with internet) a faster-whisper size / Hugging Face id")
    llm_model: str | None = Field(
        None, description="None = the profile's packaged LLM (see `profile`); a catalog "
        "key, a local .gguf path, or 'hf:org/repo/file.gguf' (needs internet)")
    profile: str = Field(
        DEFAULT_PROFILE, description="which packaged LLM to load when llm_model is not set: "
        "'default' (Qwen2.5-Coder 0.5B) or 'quality' (Qwen2.5-Coder 1.5B, extra llm-1-5b)")

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        # UnknownProfileError is not a ValueError, so pydantic lets it through as itself: the
        # CLI prints it as one line naming the profiles instead of a validation dump.
        llm_for_profile(value)
        return value

    llm_requantize: bool = Field(
        True, description="load the packaged 0.5B model requantized to IQ4_NL (made once in "
        "the model cache; about twice as fast on a CPU, +8 % perplexity); false = the packaged "
        "Q4_K_M file as it is")
    model: str = Field(
        "embedded", description="'embedded' (the packaged LLM), 'openai' (any "
        "OpenAI-compatible server: vLLM, SGLang, llama.cpp, Ollama) or a Step-Audio backend: "
        "step-audio-chat, step-audio-2-mini, step-audio-2-mini-think, step-audio-r1, "
        "step-audio-r1.1, stepfun-realtime")
    llm_url: str | None = Field(
        None, description="an OpenAI-compatible LLM server's URL, ending in /v1: setting it "
        "alone selects model 'openai' at that URL (base_url wins when both are set)")
    base_url: str | None = Field(
        None, description="the Step-Audio server's OpenAI-compatible URL, ending in /v1")
    served_name: str | None = Field(
        None, description="the name the server serves the model as (vLLM --served-model-name)")
    tts_voice: str | None = Field(None, description="None = packaged Piper voice; a .onnx path")
    vad_model: str | None = Field(None, description="None = packaged Silero; a .onnx path")
    threads: int | None = Field(None, description="CPU threads for the models (default: all)")
    max_audio_s: float = Field(120.0, gt=0, description="longest accepted input utterance")
    max_tool_rounds: int = Field(3, ge=0, description="think/act rounds per turn")
    history_turns: int = Field(20, ge=0, description="stored turns put into the prompt")
    filler_after_s: float = Field(
        FILLER_AFTER_S, ge=0, description="after a tool call, say a filler ('Let me check the time.') "
        "if the answer has not started this many seconds after the call was decided")
    llm_temperature: float = Field(
        0.0, ge=0, description="the embedded LLM's sampling temperature; 0 = greedy (measured: "
        "more right answers than 0.3 with the packaged models, bench/README.md)")
    llm_max_tokens: int = Field(160, gt=0, description="longest reply, in tokens")
    database_url: str | None = Field(
        None, description="dialogue history database: None = a SQLite file in the user data "
        "dir; a file path; 'sqlite:///path.db'; or 'postgresql://user@host/db' (needs the "
        "`postgres` extra)")
    history_token_budget: int | None = Field(
        None, gt=0, description="tokens for each prompt's messages (persona prompt, caller "
        "facts, running summary, history, the user's turn; tool schemas not counted); older "
        "turns are folded into a summary the model writes. None = the newest `history_turns` "
        "turns, no summary")
    audio_dir: Path | None = Field(
        None, description="keep each turn's user and reply audio as WAV files in this folder "
        "(paths stored with the turns); None = text only")
    learn_facts: bool = Field(
        True, description="with a history database: learn facts about each caller when a "
        "conversation ends and recall them in later ones")

    @model_validator(mode="after")
    def _llm_url_selects_openai(self) -> "StepvoxSettings":
        # STEPVOX_LLM_URL alone is enough to move the LLM to a server ("no code change").
        if self.llm_url and self.model == "embedded":
            self.model = "openai"
        if self.model == "openai" and self.base_url is None:
            self.base_url = self.llm_url
        return self
