"""`LocalStepAudioModel` (`--model local:DIR`) on a tiny random-weight checkpoint: the Step-Audio
chat template in, the greedy reply of plain `generate()` out as streamed text."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from agent.chat_model import ChatMessage, ChatModel, ModelDone, TextDelta
from agent.cli.main import app
from agent.backends.step_audio.local_generation import (
    LocalCheckpointMissingError, LocalGenerationSettings, LocalStepAudioModel,
)
from agent.backends.step_audio.backends import make_step_audio_model
from agent.backends.step_audio.prompt import render_prompt
from tiny_step_audio_lm import save_tiny_checkpoint, tiny_model, tiny_tokenizer

MESSAGES = [ChatMessage(role="system", content="You are a helpful assistant."),
            ChatMessage(role="user", content="Hello there, how are you today?")]
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}}}}


def greedy_model(max_tokens: int = 24) -> LocalStepAudioModel:
    tokenizer = tiny_tokenizer()
    # Vocabulary = the tokenizer's, so every generated id is text.
    model = tiny_model(seed=2, vocab_size=len(tokenizer))
    return LocalStepAudioModel(model, tokenizer, settings=LocalGenerationSettings(
        temperature=0.0, max_tokens=max_tokens))


async def collect(model, messages=MESSAGES, tools=(), **kw):
    return [e async for e in model.stream(messages, tools, **kw)]


async def test_streams_the_same_reply_as_plain_generate_from_the_step_audio_template():
    local = greedy_model()
    assert isinstance(local, ChatModel)
    ids = local.prompt_ids(MESSAGES, [WEATHER])
    assert local.tokenizer.decode(ids) == render_prompt(MESSAGES, [WEATHER])
    assert "<|BOT|>tool_json_schemas\n" in local.tokenizer.decode(ids)
    events = await collect(local, tools=[WEATHER])
    assert isinstance(events[-1], ModelDone)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    reference = local.model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False,
                                     eos_token_id=local.stop_ids, pad_token_id=0)[0, len(ids):]
    reference = [t for t in reference.tolist() if t not in local.stop_ids]
    assert "".join(deltas) == local.tokenizer.decode(reference, skip_special_tokens=False)
    assert len(deltas) > 1  # streamed in pieces, not as one block at the end
    usage = events[-1].raw["usage"]
    assert usage["prompt_tokens"] == len(ids) and usage["completion_tokens"] == len(reference)


async def test_closing_the_stream_early_stops_decoding():
    local = greedy_model(max_tokens=500)
    steps = []
    local.model.register_forward_hook(lambda *_: steps.append(1))
    stream = local.stream(MESSAGES)
    first = await anext(stream)
    await stream.aclose()
    assert isinstance(first, TextDelta) and len(steps) < 500


def test_local_models_by_name_and_their_missing_files(tmp_path):
    save_tiny_checkpoint(tmp_path / "ckpt")
    model = make_step_audio_model(f"local:{tmp_path / 'ckpt'}")
    assert isinstance(model, LocalStepAudioModel)
    assert model.stop_ids == [2, 3]  # the tokenizer's eos (</s>) and <|EOT|>
    with pytest.raises(LocalCheckpointMissingError, match="config.json"):
        make_step_audio_model(f"local:{tmp_path / 'nothing-here'}")


def test_doctor_checks_a_local_checkpoints_files(tmp_path):
    runner = CliRunner()
    save_tiny_checkpoint(tmp_path / "ckpt")
    ok = runner.invoke(app, ["doctor", "--model", f"local:{tmp_path / 'ckpt'}"])
    assert ok.exit_code == 0, ok.output
    assert "ok local checkpoint at" in ok.output
    (tmp_path / "ckpt" / "tokenizer.json").unlink()
    bad = runner.invoke(app, ["doctor", "--model", f"local:{tmp_path / 'ckpt'}"])
    assert bad.exit_code == 1
    assert "no tokenizer.model or tokenizer.json" in " ".join(bad.output.split())  # unwrapped
