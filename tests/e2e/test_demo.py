"""`stepvox demo` on the real embedded models: every answer it shows a new user is checked.

The demo's questions are spoken by the packaged voice and heard by Whisper, as in `make
demo`; the checks are on what the agent then said and did.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from embedded_gate import require_embedded

require_embedded()
pytestmark = pytest.mark.embedded

# Words that would state the weather: none may appear when no tool returned any.
WEATHER_FACTS = re.compile(r"\b(sunny|rain\w*|cloud\w*|snow\w*|clear sk\w*|storm\w*|fog\w*|"
                           r"wind\w*|\d+\s*(degrees|°))", re.I)
CANNOT = re.compile(r"\b(can't|cannot|can not|don't have|do not have|unable|no access|"
                    r"not able|no way to|isn't available|not available)\b", re.I)


@pytest.fixture(scope="module")
def demo_replies(tmp_path_factory):
    import asyncio

    from agent.cli.demo import CHINESE_LABEL, SCRIPT, run_demo
    from agent.settings import StepvoxSettings

    out = tmp_path_factory.mktemp("demo-out")
    console = Console(record=True, width=160)
    replies = asyncio.run(run_demo(StepvoxSettings(), console, out))
    assert len(replies) >= len(SCRIPT)
    by_question = {question: reply for question, (_, reply) in zip(SCRIPT, replies)}
    by_question.update({label: reply for label, reply in replies if label == CHINESE_LABEL})
    return by_question, out


HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_turn_is_heard_and_spoken(demo_replies):
    replies, out = demo_replies
    for question, reply in replies.items():
        assert reply.text.strip(), question
        assert reply.audio_duration_s > 0.3, question
    assert sorted(p.name for p in out.glob("reply-*.wav"))[:4] == [
        "reply-01.wav", "reply-02.wav", "reply-03.wav", "reply-04.wav"]


def test_the_agent_says_its_name(demo_replies):
    replies, _ = demo_replies
    assert "joe" in replies["Hi there! What's your name?"].text.lower()


def test_a_fact_is_right(demo_replies):
    replies, _ = demo_replies
    assert "tokyo" in replies["What is the capital of Japan?"].text.lower()


def test_the_weekday_comes_from_a_grounded_tool_call(demo_replies):
    replies, _ = demo_replies
    reply = replies["What day of the week is it in Tokyo?"]
    calls = [r for r in reply.tool_results if r.name == "get_date_time"]
    assert calls, f"no get_date_time call; said {reply.text!r}"
    assert calls[0].arguments.get("timezone") == "Asia/Tokyo", calls[0].arguments
    tokyo_day = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%A")
    assert tokyo_day.lower() in reply.text.lower(), (tokyo_day, reply.text)


def test_live_weather_without_a_source_is_declined_honestly(demo_replies):
    replies, _ = demo_replies
    reply = replies["What's the weather in Paris right now?"]
    assert not reply.tool_results, "no weather tool is offered by default"
    assert CANNOT.search(reply.text), reply.text
    assert not WEATHER_FACTS.search(reply.text), reply.text


def test_the_chinese_exchange_is_heard_and_answered_in_mandarin(demo_replies):
    """小跃 is asked, by the Mandarin voice, "法国的首都是哪里？" (where is France's capital):
    Whisper must hear the question, the reply must name 巴黎 (Paris) and be spoken by the
    Mandarin voice, which Whisper listening for Chinese hears as Chinese naming 巴黎 again."""
    from agent.cli.demo import CHINESE_LABEL, CHINESE_QUESTION
    from agent.models.store import model_store
    from agent.settings import StepvoxSettings
    from speech.audio import AudioClip
    from speech.scoring.character_error_rate import character_error_rate
    from speech.whisper.asr import WhisperSpeechTokenizer

    replies, out = demo_replies
    assert CHINESE_LABEL in replies, "the demo ran no Chinese exchange"
    reply = replies[CHINESE_LABEL]
    assert character_error_rate(CHINESE_QUESTION, reply.transcript) <= 0.3, reply.transcript
    assert "巴黎" in reply.text, reply.text
    assert reply.sample_rate == 24000 and reply.audio_duration_s > 0.5
    whisper_zh = WhisperSpeechTokenizer(
        model_store(StepvoxSettings(), progress=False).resolve("whisper-base"), language="zh")
    heard = whisper_zh.transcribe_sync(AudioClip(reply.audio, reply.sample_rate)).text
    assert len(HAN.findall(heard)) >= 2 and "巴黎" in heard, heard
