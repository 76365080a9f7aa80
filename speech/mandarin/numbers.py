"""Digits inside Chinese text, written out the way a Mandarin speaker reads them.

The Mandarin voice's front end turns characters into pinyin; digits have no pinyin, so they
must become characters first, and which characters depends on what the digits are: a year is
read digit by digit (二〇二六年 -> 二零二六年), a count as a number (128 -> 一百二十八), a
time with 点/分 (15:30 -> 下午三点三十分), a percentage as 百分之…, a phone number digit by
digit with 幺 for 1. Only digits and the signs around them change; other text is left as is.
"""

from __future__ import annotations

import re

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _below_10000(n: int) -> str:
    """0 < n < 10000: 一千零五, 三百二十, 十二 (a leading 一十 is said 十 only at the start)."""
    digits = f"{n:04d}"
    out: list[str] = []
    zero_pending = False
    for i, ch in enumerate(digits):
        d = int(ch)
        unit = _SMALL_UNITS[3 - i]
        if d == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS[d] + unit)
    return "".join(out)


def integer_reading(n: int) -> str:
    """An integer as a Chinese number: 128 -> 一百二十八, 10 -> 十, 20005 -> 两万零五."""
    if n < 0:
        return "负" + integer_reading(-n)
    if n == 0:
        return "零"
    groups: list[int] = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_BIG_UNITS):
        return digit_reading(str(sum(g * 10000 ** i for i, g in enumerate(groups))))
    out = ""
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or group < 1000):
            out += "零"
        out += _below_10000(group) + _BIG_UNITS[index]
        need_zero = False
    if out.startswith("一十"):
        out = out[1:]
    # 两 before a big unit reads as a speaker says it (两万, 两亿), not 二万.
    return re.sub(r"^二(?=[千万亿])", "两", out)


def digit_reading(digits: str, *, phone: bool = False) -> str:
    """Digit by digit: 2026 -> 二零二六; a phone number says 1 as 幺 so it is not heard as 七."""
    table = _DIGITS.replace("一", "幺") if phone else _DIGITS
    return "".join(table[int(d)] for d in digits if d.isdigit())


def decimal_reading(text: str) -> str:
    whole, _, fraction = text.partition(".")
    reading = integer_reading(int(whole or "0"))
    return reading + ("点" + digit_reading(fraction) if fraction else "")


def _time_reading(hour: int, minute: int, *, with_period: bool) -> str:
    period = ""
    if with_period:
        period = ("凌晨" if hour < 6 else "上午" if hour < 12 else "中午" if hour < 13
                  else "下午" if hour < 18 else "晚上")
    spoken_hour = hour if hour <= 12 or not with_period else hour - 12
    hour_text = "两" if spoken_hour == 2 else integer_reading(spoken_hour)
    if minute == 0:
        return f"{period}{hour_text}点"
    if minute == 30:
        return f"{period}{hour_text}点半"
    minute_text = ("零" if minute < 10 else "") + integer_reading(minute)
    return f"{period}{hour_text}点{minute_text}分"


def _count_reading(number: str) -> str:
    """A number before a measure word: 2个 -> 两个 (二 only in 第二, dates and digits)."""
    reading = decimal_reading(number)
    return "两" if reading == "二" else reading


_RULES: list[tuple[re.Pattern[str], object]] = [
    # Dates: 2026年12月4日, 2026-12-04, 2026/12/4.
    (re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"),
     lambda m: f"{digit_reading(m[1])}年{integer_reading(int(m[2]))}月{integer_reading(int(m[3]))}日"),
    (re.compile(r"(\d{2,4})\s*年"), lambda m: digit_reading(m[1]) + "年"),
    (re.compile(r"(\d{1,2})\s*(月|日|号)"), lambda m: integer_reading(int(m[1])) + m[2]),
    # Times: 15:30 (a 24-hour clock gets its part of the day unless the text says it: 上午9:00).
    (re.compile(r"(?<=凌晨|上午|中午|下午|晚上|早上|傍晚)([01]?\d|2[0-3])[:：]([0-5]\d)(?![\d:])"),
     lambda m: _time_reading(int(m[1]), int(m[2]), with_period=False)),
    (re.compile(r"(?<![\d:])([01]?\d|2[0-3])[:：]([0-5]\d)(?![\d:])"),
     lambda m: _time_reading(int(m[1]), int(m[2]), with_period=True)),
    (re.compile(r"(\d{1,2})\s*点(?!\d)"),
     lambda m: ("两" if m[1] in ("2", "02") else integer_reading(int(m[1]))) + "点"),
    # Room, order and phone numbers, and other long digit strings: digit by digit.
    (re.compile(r"(?<![\d.])1\d{10}(?![\d.])"), lambda m: digit_reading(m[0], phone=True)),
    (re.compile(r"(号码?[是为]?|编号|房间)\s*(\d+)"), lambda m: m[1] + digit_reading(m[2])),
    (re.compile(r"(?<![\d.])\d{7,}(?![\d.])"), lambda m: digit_reading(m[0])),
    # Percentages, money, temperatures, fractions.
    (re.compile(r"(-?\d+(?:\.\d+)?)\s*[%％]"),
     lambda m: ("负" if m[1].startswith("-") else "") + "百分之" + decimal_reading(m[1].lstrip("-"))),
    (re.compile(r"[¥￥](\d+(?:\.\d+)?)"), lambda m: decimal_reading(m[1]) + "元"),
    (re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:°C|℃|度)"),
     lambda m: ("零下" if m[1].startswith("-") else "") + decimal_reading(m[1].lstrip("-")) + "度"),
    (re.compile(r"(\d+)/(\d+)"), lambda m: f"{integer_reading(int(m[2]))}分之{integer_reading(int(m[1]))}"),
    # A count before a measure word reads 两 for 2.
    (re.compile(r"(?<![\d.第])(\d+(?:\.\d+)?)(?=[个位只本件条次天年岁台辆张双种名家所份杯碗])"),
     lambda m: _count_reading(m[1])),
    (re.compile(r"\d+(?:\.\d+)?"), lambda m: decimal_reading(m[0])),
]


def read_numbers_chinese(text: str) -> str:
    """`text` with every digit string replaced by its Mandarin reading (see the module doc)."""
    for pattern, reading in _RULES:
        text = pattern.sub(reading, text)  # type: ignore[arg-type]
    return text.replace("〇", "零")
