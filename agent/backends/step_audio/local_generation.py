"""`LocalStepAudioModel`: a Step-Audio-family LLM checkpoint run in this process (transformers,
static KV cache, CUDA graphs on a GPU) as a `ChatModel`, for text turns.

    stepvox chat --model local:/models/Step-Audio-2-mini

The prompt is the Step-Audio chat template (`agent.backends.step_audio.prompt.render_prompt`: roles
`system`, `tool_json_schemas`, `human`, `assistant`, `input`), the reply is decoded with
`speech.step_audio.fast_decode.StaticCacheGenerator` and read for `<tool_call>` blocks as the
server backends do. Audio input and speech output stay with the server backends.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.chat_model import ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCallEvent, ToolChoice
from agent.errors import ModelBackendError
from agent.backends.step_audio.prompt import EOT, render_prompt
from agent.backends.step_audio.tool_text import CallPiece, ToolCallSplitter
from speech.step_audio.tts import missing_checkpoint_files


class LocalCheckpointMissingError(ModelBackendError, FileNotFoundError):
    """Files of the local checkpoint directory are missing; `missing` names each one."""

    def __init__(self, directory: Path, missing: list[str]) -> None:
        self.missing = missing
        listed = "\n".join(f"  {directory / name}" for name in missing)
        super().__init__(f"The checkpoint directory {directory} lacks {len(missing)} "
                         f"file(s):\n{listed}")


class LocalGenerationSettings(BaseModel):
    """Sampling as the Step-Audio repositories default to (temperature 0.7, top-p 0.9)."""

    temperature: float = Field(0.7, ge=0.0, description="0 = greedy")
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(2048, gt=0)


class LocalStepAudioModel:
    """A `ChatModel` over a causal LM and its tokenizer, decoded with a static KV cache."""

    accepts_audio = False

    def __init__(self, model: Any, tokenizer: Any, *, name: str = "local",
                 settings: LocalGenerationSettings | None = None,
                 compile: bool | None = None) -> None:
        from speech.step_audio.fast_decode import StaticCacheGenerator

        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.settings = settings or LocalGenerationSettings()
        self.generator = StaticCacheGenerator(model, compile=compile)
        stops = {tokenizer.convert_tokens_to_ids(EOT), tokenizer.eos_token_id}
        self.stop_ids = sorted(i for i in stops
                               if isinstance(i, int) and i != tokenizer.unk_token_id)
        self._lock = threading.Lock()  # one reply at a time: the KV cache is shared

    @classmethod
    def from_dir(cls, directory: str | Path, *, device: str | None = None,
                 trust_remote_code: bool = True, **kwargs: Any) -> LocalStepAudioModel:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        root = Path(directory).expanduser()
        if missing := missing_checkpoint_files(root):
            raise LocalCheckpointMissingError(root, missing)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = AutoModelForCausalLM.from_pretrained(
            root, dtype=dtype, trust_remote_code=trust_remote_code).to(device)
        tokenizer = AutoTokenizer.from_pretrained(root, trust_remote_code=trust_remote_code)
        return cls(model, tokenizer, name=f"local:{root}", **kwargs)

    def prompt_ids(self, messages: Sequence[ChatMessage],
                   tools: Sequence[dict[str, Any]] = ()) -> list[int]:
        return list(self.tokenizer.encode(render_prompt(messages, tools)))

    def _text_pieces(self, ids: list[int], stop: threading.Event,
                     outcome: dict[str, Any]) -> Iterator[str]:
        """Reply text as it is decoded; `outcome` gets the finish reason and token count."""
        s = self.settings
        reply: list[int] = []
        shown = ""
        outcome["finish_reason"] = "length"
        with self._lock:
            for step in self.generator.stream(ids, max_new_tokens=s.max_tokens,
                                              stop_ids=self.stop_ids, temperature=s.temperature,
                                              top_p=s.top_p):
                token = int(step[0])
                if token in self.stop_ids:
                    outcome["finish_reason"] = "stop"
                    break
                if stop.is_set():
                    outcome["finish_reason"] = "cancelled"
                    break
                reply.append(token)
                text = self.tokenizer.decode(reply, skip_special_tokens=False)
                if text.endswith("\ufffd"):  # half of a multi-byte character: wait for more
                    continue
                if len(text) > len(shown) and text.startswith(shown):
                    yield text[len(shown):]
                    shown = text
        outcome["completion_tokens"] = len(reply)

    async def stream(self, messages: Sequence[ChatMessage],
                     tools: Sequence[dict[str, Any]] = (), *, tool_choice: ToolChoice = "auto",
                     ) -> AsyncIterator[ChatEvent]:
        from speech.step_audio.fast_decode import iterate_in_thread

        ids = self.prompt_ids(messages, tools)
        splitter = ToolCallSplitter()
        outcome: dict[str, Any] = {"prompt_tokens": len(ids)}
        calls = 0
        ignored: list[dict[str, Any]] = []

        def events(pieces) -> list[ChatEvent]:
            nonlocal calls
            out: list[ChatEvent] = []
            for piece in pieces:
                if isinstance(piece, CallPiece):
                    if tool_choice == "none":
                        ignored.append(piece.call.model_dump())  # reported, never run
                    else:
                        calls += 1
                        out.append(ToolCallEvent(piece.call))
                elif piece.text:
                    out.append(TextDelta(piece.text))
            return out

        async with aclosing(iterate_in_thread(
                lambda stop: self._text_pieces(ids, stop, outcome))) as pieces:
            async for text in pieces:
                for event in events(splitter.feed(text)):
                    yield event
        for event in events(splitter.finish()):
            yield event
        raw = {"usage": outcome} | ({"ignored_tool_calls": ignored} if ignored else {})
        yield ModelDone(finish_reason="tool_calls" if calls else outcome["finish_reason"],
                        raw=raw)
