"""Whether a request written in Chinese needs something the model cannot know by itself, by
its words.

`agent.honesty.knowledge_gaps` embeds a request with the packaged MiniLM, which was trained on
English: a Chinese sentence comes out as noise, and the detector then took plain questions
("三角形有几条边？", "蜜蜂酿造的是什么？") for live-data requests and answered them with
the honest "I can't check that" sentence (bench/zh_spoken_qa.py --text-in, 4 of 52). For a
request in Han script the verdict is taken from these words instead: each topic of
`agent.honesty.knowledge_gap_examples.GAP_TOPICS` with the words that ask for it in Chinese. A
request holding none of them is answerable. Coarser than the classifier (it cannot tell
"今天天气怎么样" from "为什么会下雨"), but it errs on the side of answering, and a
weather or clock tool, when offered, is still called by the model's own decision.
"""

from __future__ import annotations

import re

# topic -> words that, in a request, ask for it. Written for stepvox; not from any test set.
CHINESE_GAP_WORDS: dict[str, tuple[str, ...]] = {
    "weather": ("天气", "气温", "外面多少度", "今天多少度", "现在多少度", "明天多少度", "下雨", "下雪", "刮风", "预报", "冷不冷", "热不热",
                "带伞", "雾霾", "空气质量"),
    "clock": ("几点", "现在时间", "现在的时间", "今天几号", "今天是几号", "星期几", "礼拜几",
              "今天的日期", "今天日期"),
    "markets": ("股价", "汇率", "比特币", "行情", "股票", "金价", "油价"),
    "news": ("新闻", "头条", "最新消息"),
    "sports": ("比分", "比赛结果", "谁赢了", "赢了吗", "输了吗"),
    "traffic": ("堵车", "路况", "交通", "要开多久"),
    "availability": ("营业", "开门", "关门", "有没有空位", "还有座位", "有货", "库存"),
    "bookings": ("我的预订", "我的订票", "我的航班", "我的酒店", "我的座位", "订单号", "预订号"),
    "orders": ("我的订单", "我的快递", "我的包裹", "发货", "物流"),
    "accounts": ("余额", "我的账户", "我的账号", "我的信用卡", "我的银行卡"),
    "calendar": ("我的日程", "我的会议", "日程安排", "行程安排", "明天有什么安排", "我的安排"),
    "messages": ("邮件", "短信", "消息了吗", "给我发了", "未读"),
    "records": ("我的体检", "检查结果", "我的保单", "我的病历"),
    "future": ("明年谁会", "会赢吗", "将来会", "下一届", "彩票号码", "明天会涨"),
}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def is_han_request(text: str) -> bool:
    """Written mostly in Chinese: more Han characters than Latin words ("我们去 Starbucks
    吧" is; "what is 你好 in English" is not)."""
    return len(_HAN.findall(text)) > len(_LATIN_WORD.findall(text))


def chinese_gap_topic(text: str) -> str | None:
    """The topic a Chinese request asks for that the model cannot know, or None when it
    asks for none (the model may answer it)."""
    for topic, words in CHINESE_GAP_WORDS.items():
        if any(word in text for word in words):
            return topic
    return None
