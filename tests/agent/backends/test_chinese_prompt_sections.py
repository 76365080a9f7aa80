"""A persona whose prompt is written in Chinese gets the tool preamble, the per-turn note and
the words after a tool result in Chinese; an English persona's prompt is byte-identical to
before (its KV-cached prefix and the fitted call decision depend on it)."""

from __future__ import annotations

from agent import ChatMessage
from agent.backends.llama_cpp.chatml_prompt import (
    TURN_NOTE, TURN_NOTE_ZH, prompt_language, render_prompt, render_turn_prompt, system_block,
    turn_head, turn_note,
)
from personas import PersonaLibrary
from tools import get_date_time

XIAOYUE = PersonaLibrary().get("xiaoyue").full_system_prompt()
ENGLISH = "You are Mia, a friendly assistant. You have been to 北京 twice."
SCHEMAS = [get_date_time.openai_schema()]


def test_the_prompt_language_follows_the_persona_text():
    # 小跃's prompt holds an English style-tag line; an English prompt may name a Chinese city.
    assert prompt_language(XIAOYUE) == "zh"
    assert prompt_language(ENGLISH) == "en"
    assert prompt_language("") == "en"
    assert turn_note(XIAOYUE) == TURN_NOTE_ZH and turn_note(ENGLISH) == TURN_NOTE


def test_a_chinese_persona_gets_the_tool_preamble_in_chinese():
    block = system_block(XIAOYUE, SCHEMAS)
    assert "# 工具" in block and "只有用户的请求确实需要时才调用函数" in block
    assert "You can call functions" not in block
    assert '"name": "get_date_time"' in block  # the schemas themselves are unchanged


def test_an_english_persona_keeps_the_english_sections():
    block = system_block(ENGLISH, SCHEMAS)
    assert "# Tools\n\nYou can call functions to help answer." in block and "工具" not in block
    prompt = render_turn_prompt([ChatMessage(role="system", content=ENGLISH),
                                 ChatMessage(role="user", content="What time is it?")], SCHEMAS)
    assert prompt.endswith(f"<|im_start|>user\n{TURN_NOTE}\nWhat time is it?<|im_end|>\n"
                           "<|im_start|>assistant\n")


def test_each_chinese_user_turn_opens_with_the_chinese_note():
    messages = [ChatMessage(role="system", content=XIAOYUE),
                ChatMessage(role="user", content="大熊猫最爱吃什么？")]
    prompt = render_turn_prompt(messages, SCHEMAS)
    assert f"<|im_start|>user\n{TURN_NOTE_ZH}\n大熊猫最爱吃什么？<|im_end|>" in prompt
    assert "Answer me in plain spoken words" not in prompt
    # The head evaluated while the user speaks is the same prompt cut before the words.
    assert prompt.startswith(turn_head(messages[:1], SCHEMAS))
    # Without tools there is no note at all, as in English.
    assert TURN_NOTE_ZH not in render_turn_prompt(messages, [])


def test_a_tool_result_is_followed_by_the_chinese_request_to_answer():
    messages = [ChatMessage(role="system", content=XIAOYUE),
                ChatMessage(role="user", content="现在几点？"),
                ChatMessage(role="tool", content="15:30", name="get_date_time",
                            tool_call_id="1")]
    prompt = render_prompt(messages, SCHEMAS)
    assert "</tool_response>\n请根据上面的结果，用简短的口语回答我的问题。<|im_end|>" in prompt
    english = render_prompt([ChatMessage(role="system", content=ENGLISH), *messages[1:]],
                            SCHEMAS)
    assert "Now answer my question in plain spoken words, using the result above." in english
