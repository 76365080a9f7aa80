"""The Step-Audio-Chat prompt: `<|BOT|>{role}\\n{content}<|EOT|>` turns (spec section 3).

Roles: `system`, `human` (our `user`), `assistant`, `tool_json_schemas` (the tools, right after
the system turn) and `input` (a tool result). Only the newest user turn may carry `<audio_N>`
speech tokens: audio costs ~14x the tokens of its transcript, so older turns are text (the
agent replaces them with transcripts; any tokens left there are removed here).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.chat_model import ChatMessage
from agent.backends.step_audio.tool_text import render_tool_call
from speech.step_audio.tokens import (
    MalformedAudioTokensError, check_tokens, find_broken_token, parse_audio_token_ids,
    strip_audio_tokens,
)

BOT, EOT = "<|BOT|>", "<|EOT|>"
DEFAULT_SYSTEM = "You are a helpful assistant."
AFTER_TOOL_RESULT = "Summarise this result for the user briefly and conversationally."
SPEECH_PLACEHOLDER = "(spoken turn)"

# Control sequences that would let untrusted text close a turn, forge a role or a tool call.
_CONTROL = (BOT, EOT, "<tool_call>", "</tool_call>")


def neutralize(text: str, *, keep_audio: bool = False) -> str:
    """Defuse template control sequences (and audio tokens, unless allowed) in untrusted text."""
    for token in _CONTROL:
        text = text.replace(token, token.replace("<", "‹").replace(">", "›"))
    return text if keep_audio else text.replace("<audio_", "‹audio_")


def _audio_turn(content: str) -> str:
    """The newest user turn: its audio tokens must be well formed and within the 5120."""
    broken = find_broken_token(content)
    if broken is not None:
        raise MalformedAudioTokensError(
            f"the user turn holds a broken audio token {broken!r}; tokens look like <audio_12>")
    check_tokens(parse_audio_token_ids(content))
    return neutralize(content, keep_audio=True)


def _text_turn(content: str) -> str:
    if "<audio_" in content:
        content = strip_audio_tokens(content) or SPEECH_PLACEHOLDER
    return neutralize(content)


def prompt_turns(messages: Sequence[ChatMessage],
                 tools: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, content) turns in Step-Audio roles, ready for either API path."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    system = [m.content.strip() for m in messages if m.role == "system"]
    turns = [("system", "\n\n".join(system) if system else DEFAULT_SYSTEM)]
    if tools:
        turns.append(("tool_json_schemas", json.dumps(list(tools), ensure_ascii=False)))
    for i, m in enumerate(messages):
        if m.role == "system":
            continue
        if m.role == "user":
            turns.append(("human", _audio_turn(m.content) if i == last_user
                          else _text_turn(m.content)))
        elif m.role == "assistant":
            body = _text_turn(m.content) if m.content else ""
            body += "".join(render_tool_call(c) for c in m.tool_calls)
            turns.append(("assistant", body))
        else:  # tool result: data, never instructions, so it is neutralized like user text
            turns.append(("input", f"{_text_turn(m.content)}\n\n{AFTER_TOOL_RESULT}"))
    return turns


def render_prompt(messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]] = ()) -> str:
    """The whole prompt as one string, ending with an open assistant turn (completions API)."""
    turns = prompt_turns(messages, tools)
    body = "".join(f"{BOT}{role}\n{content}{EOT}" for role, content in turns)
    return body + f"{BOT}assistant\n"


def chat_messages(messages: Sequence[ChatMessage],
                  tools: Sequence[dict[str, Any]] = ()) -> list[dict[str, str]]:
    """The same turns as OpenAI-style messages, for a server that applies the HF chat template
    itself (the chat-completions API)."""
    return [{"role": role, "content": content} for role, content in prompt_turns(messages, tools)]
