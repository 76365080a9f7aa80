"""Pick a Step-Audio backend by model name, and check that its server answers (`doctor`).

    make_step_audio_model("step-audio-2-mini", base_url="http://gpu:8000/v1")

Names: `step-audio-chat` (vLLM, client-side audio tokens), `step-audio-2-mini`,
`step-audio-2-mini-think`, `step-audio-r1`, `step-audio-r1.1` (StepFun's vLLM fork),
`stepfun-realtime` (the hosted websocket; `base_url` is its wss URL, the model defaults to
step-audio-2-mini), and `local:DIR` (a checkpoint run here, `agent.backends.step_audio.local_generation`).
`openai` is not Step-Audio but takes the same options: any OpenAI-compatible chat server
(vLLM, SGLang, llama.cpp, Ollama) as a text LLM, `agent.backends.openai.chat`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.errors import ModelBackendError
from agent.backends.openai.sse import OpenAIStreamClient
from agent.backends.step_audio.step_audio2 import StepAudio2Model
from agent.backends.step_audio.chat import StepAudioChatModel
from agent.backends.step_audio.files import load_turn_tokenizer
from agent.backends.step_audio.stepfun_realtime import StepFunRealtimeModel

STEP_AUDIO_CHAT = ("step-audio-chat",)
STEP_AUDIO_2 = ("step-audio-2-mini", "step-audio-2-mini-think", "step-audio-r1",
                "step-audio-r1.1")
REALTIME = ("stepfun-realtime",)
OPENAI = ("openai",)
LOCAL_PREFIX = "local:"
KNOWN_MODELS = STEP_AUDIO_CHAT + STEP_AUDIO_2 + REALTIME + OPENAI + (LOCAL_PREFIX + "DIR",)


class UnknownStepAudioModelError(ModelBackendError, ValueError):
    """`--model` names no Step-Audio backend."""


def make_step_audio_model(model: str, *, base_url: str | None = None,
                          served_name: str | None = None, **options: Any):
    """The backend for `model`; `served_name` is the name the server knows it by (vLLM's
    `--served-model-name`), `model` by default. `options` go to the backend's settings.
    Step-Audio-Chat gets the tokenizer of STEPVOX_TOKENIZER_DIR unless `tokenizer=` is given
    (None: no audio tokens)."""
    key = model.lower()
    if key.startswith(LOCAL_PREFIX):  # a checkpoint directory, run in this process
        from agent.backends.step_audio.local_generation import LocalStepAudioModel

        return LocalStepAudioModel.from_dir(model[len(LOCAL_PREFIX):], **options)
    if key in REALTIME:
        extra = {"url": base_url} if base_url else {}
        return StepFunRealtimeModel(**extra, model=served_name or "step-audio-2-mini", **options)
    if base_url is None:
        raise UnknownStepAudioModelError(
            f"--model {model} is served over HTTP: also pass --base-url"
            + (" (or set STEPVOX_LLM_URL)" if key in OPENAI else "")
            + ", e.g. http://localhost:8000/v1")
    if key in OPENAI:  # no served_name: STEPVOX_OPENAI_MODEL, else the model the server lists
        from agent.backends.openai.chat import OpenAIChatModel

        named = {"model": served_name} if served_name else {}
        return OpenAIChatModel(base_url=base_url, **named, **options)
    if key in STEP_AUDIO_CHAT:
        if "tokenizer" not in options:  # the configured Step-Audio-Tokenizer, if any
            options["tokenizer"] = load_turn_tokenizer()
        return StepAudioChatModel(base_url=base_url, model=served_name or model, **options)
    if key in STEP_AUDIO_2:
        return StepAudio2Model(base_url=base_url, model=served_name or model, **options)
    raise UnknownStepAudioModelError(
        f"--model {model} is not a Step-Audio backend; choose one of {', '.join(KNOWN_MODELS)}.")


class ServerCheck(BaseModel):
    """What `stepvox doctor` reports for a Step-Audio server."""

    base_url: str
    model: str
    served_models: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_server(model: StepAudioChatModel | StepAudio2Model) -> ServerCheck:
    """Does the server answer, serve this model name, and (Step-Audio 2) parse tool calls?

    The tool-parser probe asks for one token with a tool and `tool_choice: auto`: vLLM refuses
    that with HTTP 400 unless it was started with `--enable-auto-tool-choice
    --tool-call-parser step_audio_2`.
    """
    s = model.settings
    check = ServerCheck(base_url=s.base_url, model=s.model or "(the server's first model)")
    client: OpenAIStreamClient = model.client
    try:
        listing = await client.get_json("/models")
    except ModelBackendError as exc:
        check.problems.append(str(exc))
        return check
    check.served_models = [m.get("id", "") for m in listing.get("data", [])
                           if isinstance(m, dict)]
    if s.model is None:  # `openai` without --served-name takes the first model listed
        if not check.served_models:
            check.problems.append("the server lists no models; pass --served-name.")
        return check
    if s.model not in check.served_models:
        check.problems.append(
            f"the server serves {check.served_models or 'no models'}, not {s.model!r}; pass "
            "--model with one of those names (or start vLLM with --served-model-name).")
        return check
    if isinstance(model, StepAudio2Model):
        probe = {"model": s.model, "max_tokens": 1, "messages": [
            {"role": "human", "content": "ping"}], "tool_choice": "auto", "tools": [
            {"type": "function", "function": {"name": "noop", "parameters": {
                "type": "object", "properties": {}}}}]}
        try:
            async for _ in client.stream("/chat/completions", probe):
                pass
        except ModelBackendError as exc:
            check.problems.append(
                f"tool calling is not enabled on the server ({exc}); start vLLM with "
                "--enable-auto-tool-choice --tool-call-parser step_audio_2.")
    return check


async def check_realtime(model: StepFunRealtimeModel) -> ServerCheck:
    """Is the API key set, and does the Realtime endpoint accept a websocket with it?"""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    s = model.settings
    check = ServerCheck(base_url=s.url, model=s.model)
    try:
        key = model._api_key()
    except ModelBackendError as exc:
        check.problems.append(str(exc))
        return check
    try:
        async with connect(f"{s.url}?model={s.model}", open_timeout=s.open_timeout_s,
                           additional_headers={"Authorization": f"Bearer {key}"}):
            pass
    except InvalidStatus as exc:
        status = exc.response.status_code
        hint = " Check STEPFUN_API_KEY." if status in (401, 403) else ""
        check.problems.append(f"the server refused the websocket with HTTP {status}.{hint}")
    except (OSError, TimeoutError) as exc:
        check.problems.append(f"could not connect ({type(exc).__name__}: {exc}).")
    return check
