"""Chinese numbers, dates and times read the Chinese way; the character error rate that the
Mandarin benchmark and the acceptance test use."""

from __future__ import annotations

import pytest

from speech.mandarin.numbers import integer_reading, read_numbers_chinese


@pytest.mark.parametrize(("n", "reading"), [
    (0, "零"), (10, "十"), (12, "十二"), (20, "二十"), (105, "一百零五"), (128, "一百二十八"),
    (1000, "一千"), (1005, "一千零五"), (10000, "一万"), (20005, "两万零五"),
    (1000000, "一百万"), (-3, "负三"),
])
def test_integers(n, reading):
    assert integer_reading(n) == reading


@pytest.mark.parametrize(("text", "spoken"), [
    ("今天是2026年12月4日。", "今天是二零二六年十二月四日。"),
    ("2026-12-04", "二零二六年十二月四日"),
    ("航班在15:30起飞", "航班在下午三点半起飞"),
    ("上午9:00开会", "上午九点开会"),
    ("火车晚上7:45到站", "火车晚上七点四十五分到站"),
    ("现在是凌晨2点", "现在是凌晨两点"),
    ("价格是128元", "价格是一百二十八元"),
    ("增长了12.5%", "增长了百分之十二点五"),
    ("我有2个苹果", "我有两个苹果"),
    ("第2名", "第二名"),
    ("气温-5℃", "气温零下五度"),
    ("电话13812345678", "电话幺三八幺二三四五六七八"),
    ("房间号是702", "房间号是七零二"),
    ("3/4的时间", "四分之三的时间"),
    ("没有数字。", "没有数字。"),
])
def test_numbers_dates_and_times(text, spoken):
    assert read_numbers_chinese(text) == spoken


def test_character_error_rate_ignores_script_digits_and_punctuation():
    pytest.importorskip("opencc", reason="needs OpenCC: pip install 'stepvox[eval]'")
    from speech.scoring.character_error_rate import character_error_rate

    assert character_error_rate("你好，我是小跃，很高兴认识你。", "你好我是小跃很高興認識你") == 0.0
    assert character_error_rate("今天是2026年12月4日。", "今天是二零二六年十二月四日") == 0.0
    assert character_error_rate("你有没有 WeChat？", "你有没有We chat") == 0.0
    # 跃 heard as its homophone 月: one of 12 characters.
    assert character_error_rate("你好，我是小跃，很高兴认识你。",
                                "你好,我是小月,很高兴认识你。") == pytest.approx(1 / 12)
    assert character_error_rate("，。", "") == 0.0
    assert character_error_rate("", "多余") == 1.0
