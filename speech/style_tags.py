"""Style tags <-> `Style`: the tag catalogue, the parser and the per-decoder renderers.

A tag is a name in brackets: full-width `（高兴1）`, ASCII `(happy)` or EditX square `[Laughter]`.
Names are Chinese or English, case-insensitive, with an optional level 1-5 (`高兴2`, `happy 2`,
`fast-2`). Several tags may be stacked: `(高兴1)(粤语)(快速1)`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from speech.style import Emotion, Language, Paralinguistic, Style

OPENERS = "(（["
CLOSERS = {"(": ")", "（": "）", "[": "]"}
# Tag names are short; anything longer in brackets is prose, not a tag.
MAX_TAG_CHARS = 24


@dataclass(frozen=True, slots=True)
class _TagKind:
    """One catalogue entry: its canonical key and how a level turns into Style fields."""

    key: str
    chinese: str  # the Step-Audio spelling (without level)
    fields: Any  # callable(level) -> dict of Style fields
    leveled: bool = False


def _kinds() -> list[_TagKind]:
    kinds = [
        _TagKind(e.value, cn, lambda n, e=e: {"emotion": e, "emotion_level": n}, leveled=True)
        for e, cn in [(Emotion.HAPPY, "高兴"), (Emotion.ANGRY, "生气"), (Emotion.SAD, "悲伤"),
                      (Emotion.COQUETTISH, "撒娇")]
    ]
    kinds += [_TagKind(lang.value, cn, lambda n, lang=lang: {"language": lang})
              for lang, cn in [(Language.CHINESE, "中文"), (Language.ENGLISH, "英文"),
                               (Language.KOREAN, "韩语"), (Language.JAPANESE, "日语"),
                               (Language.SICHUANESE, "四川话"), (Language.CANTONESE, "粤语")]]
    kinds += [
        _TagKind("whisper", "低语", lambda n: {"whisper": True}, leveled=True),
        _TagKind("rap", "RAP", lambda n: {"rap": True}),
        _TagKind("singing", "哼唱", lambda n: {"singing": True}),
        _TagKind("slow", "慢速", lambda n: {"speed": -n}, leveled=True),
        _TagKind("fast", "快速", lambda n: {"speed": n}, leveled=True),
        _TagKind("high pitch", "高音", lambda n: {"pitch": n}, leveled=True),
        _TagKind("low pitch", "低音", lambda n: {"pitch": -n}, leveled=True),
        _TagKind("loud", "大声", lambda n: {"volume": n}, leveled=True),
        _TagKind("quiet", "小声", lambda n: {"volume": -n}, leveled=True),
        _TagKind("neutral", "平静", lambda n: {"emotion": None, "whisper": False}),
    ]
    kinds += [_TagKind(p.value.lower(), p.value, lambda n, p=p: {"paralinguistics": (p,)})
              for p in Paralinguistic]
    return kinds


_KINDS = {kind.key: kind for kind in _kinds()}
# Every spelling a model (or a user) may write, lower-cased, -> canonical key.
_ALIASES: dict[str, str] = {key: key for key in _KINDS} | {
    kind.chinese.lower(): kind.key for kind in _KINDS.values()
} | {
    "广东话": "cantonese", "mandarin": "chinese", "普通话": "chinese", "hum": "singing",
    "悄悄话": "whisper", "耳语": "whisper", "轻声": "quiet",
    "humming": "singing", "sing": "singing", "singing": "singing", "whispering": "whisper",
    "soft": "quiet", "calm": "neutral", "laugh": "laughter", "laughs": "laughter",
    "laughing": "laughter", "笑声": "laughter", "sighs": "sigh", "叹气": "sigh",
    "breath": "breathing", "breathes": "breathing", "呼吸": "breathing", "uhm": "uhm",
    "um": "uhm", "high": "high pitch", "low": "low pitch", "flirty": "coquettish",
}
_NAME_LEVEL = re.compile(r"^(?P<name>.*?)[\s\-_]*(?P<level>[1-5])?$")


def tag_key(name: str) -> str | None:
    """The canonical key of a tag name (`高兴2` -> `happy`), or None when it is no known tag."""
    match = _NAME_LEVEL.match(name.strip().lower())
    if match is None:
        return None
    base = " ".join(match["name"].split())
    key = _ALIASES.get(base)
    if key is None and match["level"] is not None:
        key = _ALIASES.get(name.strip().lower())  # a name that ends in a digit itself
    return key


def tag_style(name: str) -> Style | None:
    """One tag's content (without brackets) as a partial `Style`, or None if unknown."""
    match = _NAME_LEVEL.match(name.strip().lower())
    key = tag_key(name)
    if key is None or match is None:
        return None
    kind = _KINDS[key]
    level = int(match["level"]) if kind.leveled and match["level"] else 1
    return Style(**kind.fields(level))


def looks_like_tag(content: str) -> bool:
    """Whether bracketed text has the shape of a tag (short, a word or two, no punctuation),
    so an *unknown* one at a tag position is dropped instead of read aloud."""
    return (0 < len(content) <= MAX_TAG_CHARS
            and re.fullmatch(r"[\w\- ]+", content) is not None and len(content.split()) <= 3)


@dataclass(slots=True)
class LeadingTags:
    """What `parse_leading_tags` found: the merged style, the text after the tags, and the
    tags it dropped (unknown, or not in the allowed set)."""

    style: Style
    text: str
    dropped: list[str] = field(default_factory=list)


def parse_leading_tags(text: str, *, allowed: Collection[str] | None = None) -> LeadingTags:
    """Read the stacked tags that open `text`: `"(高兴1)(快速1)Hello"` -> happy, fast, `"Hello"`.

    Later tags override earlier ones field by field; paralinguistic sounds accumulate.
    `allowed` (tag names in any spelling) restricts which known tags take effect.
    """
    allowed_keys = allowed_tag_keys(allowed)
    style, dropped, rest = Style(), [], text.lstrip()
    while rest and rest[0] in OPENERS:
        close = rest.find(CLOSERS[rest[0]], 1)
        content = rest[1:close] if close > 0 else ""
        if close < 0 or not looks_like_tag(content):
            break
        one = tag_style(content)
        if one is None or (allowed_keys is not None and tag_key(content) not in allowed_keys):
            dropped.append(rest[: close + 1])
        else:
            style = combine(style, one)
        rest = rest[close + 1:].lstrip()
    return LeadingTags(style, rest, dropped)


def allowed_tag_keys(allowed: Collection[str] | None) -> set[str] | None:
    if allowed is None:
        return None
    keys = {tag_key(name) for name in allowed}
    unknown = [name for name in allowed if tag_key(name) is None]
    if unknown:
        raise ValueError(f"unknown style tag names {unknown}; known: {', '.join(_KINDS)}")
    return {k for k in keys if k}


def combine(earlier: Style, later: Style) -> Style:
    """`later` over `earlier`, with paralinguistic sounds of both kept in order."""
    merged = later.over(earlier)
    sounds = earlier.paralinguistics + later.paralinguistics
    return merged.model_copy(update={"paralinguistics": sounds}) if sounds else merged


# --------------------------------------------------------------------------- renderers


def render_step_audio(style: Style) -> str:
    """Step-Audio TTS tag string (ASCII brackets, as in the demo): `(高兴1)(粤语)(快速1)`.
    Pitch and volume have no Step-Audio tag and are left out."""
    tags = []
    if style.rap:
        tags.append("RAP")
    if style.singing:
        tags.append("哼唱")
    if style.emotion is not None:
        tags.append(f"{_KINDS[style.emotion.value].chinese}{style.emotion_level}")
    if style.whisper:
        tags.append("低语1")
    if style.language is not None:
        tags.append(_KINDS[style.language.value].chinese)
    if style.speed:
        tags.append(f"{'快速' if style.speed > 0 else '慢速'}{min(abs(style.speed), 2)}")
    return "".join(f"({t})" for t in tags)


def render_console_tag(style: Style) -> str:
    """The StepFun realtime console's rule: exactly one tag, priority
    RAP > dialect/language > emotion > speed (singing ranks with RAP, whisper with emotion)."""
    for candidate in (
        "(RAP)" if style.rap else "", "(哼唱)" if style.singing else "",
        f"({_KINDS[style.language.value].chinese})" if style.language else "",
        f"({_KINDS[style.emotion.value].chinese}{style.emotion_level})" if style.emotion else "",
        "(低语1)" if style.whisper else "",
        render_step_audio(Style(speed=style.speed)) if style.speed else "",
    ):
        if candidate:
            return candidate
    return ""


_EDITX_DIALECTS = {Language.SICHUANESE: "Sichuanese", Language.CANTONESE: "Cantonese",
                   Language.JAPANESE: "Japanese", Language.KOREAN: "Korean"}


def render_editx(style: Style) -> str:
    """Step-Audio-EditX tags: the dialect tag (if EditX has one) and the paralinguistic sounds."""
    tags = [_EDITX_DIALECTS[style.language]] if style.language in _EDITX_DIALECTS else []
    tags += [p.value for p in style.paralinguistics]
    return "".join(f"[{t}]" for t in tags)


def tag_protocol_text(allowed: Collection[str]) -> str:
    """The instruction that tells a model which tags it may open a reply or sentence with."""
    keys = allowed_tag_keys(allowed) or set()
    if not keys:
        return ""
    names = []
    for key in sorted(keys, key=list(_KINDS).index):
        kind = _KINDS[key]
        sample = f"{kind.chinese}1" if kind.leveled else kind.chinese
        bracket = "[{}]" if key in _SOUND_KEYS else "({})"
        names.append((bracket.format(sample), key))
    listed = ", ".join(f"{tag} {key}" for tag, key in names)
    # The example is an exclamation, never a sentence that could stand as a whole reply: with
    # "(高兴1)Sure, here it is." the 0.5B model answered "Sure, here it is." to 4 of 8
    # emotional remarks as Captain Bram and 6 of 8 as Veyra; with this one, to none
    # (the persona prompts alone, greedy, 2026-12-07; QA through the framework:
    # docs/benchmarks.md#persona-qa).
    return (
        "You may start a reply or a sentence with style tags that say how to speak it; they "
        f"are never read aloud. Allowed tags: {listed}. Levels go from 1 (slight) to 2 "
        f"(strong). For example, {names[0][0]}What wonderful news! Use a tag only when the "
        "tone changes; never write any other bracketed tag."
    )


_SOUND_KEYS = frozenset(p.value.lower() for p in Paralinguistic)
