"""`Style`: how a sentence should be spoken, as set by Step-Audio's instruction tags.

Step-Audio writes style as tags opening the text (`(高兴1)(粤语)(快速1)text`, reference section 4);
Step-Audio-EditX adds paralinguistic tags in square brackets (`[Laughter]`). `Style` is the
decoder-neutral form of those tags: the parser (`speech.style_tags`) reads tags into it, the
renderers write it back in each decoder's format, and embedded decoders map it onto their own
controls (`speech.piper.style`).

Speed, pitch and volume are *levels* (-5..5), like Step-Audio's comparative tags (快速1, 快速2):
each decoder decides what one level means physically.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Emotion(StrEnum):
    HAPPY = "happy"
    ANGRY = "angry"
    SAD = "sad"
    COQUETTISH = "coquettish"


class Language(StrEnum):
    """Language or dialect tags; Step-Audio switches accent/dialect on these."""

    CHINESE = "chinese"
    ENGLISH = "english"
    KOREAN = "korean"
    JAPANESE = "japanese"
    SICHUANESE = "sichuanese"
    CANTONESE = "cantonese"


class Paralinguistic(StrEnum):
    """Step-Audio-EditX paralinguistic sounds; the value is the tag as EditX writes it."""

    BREATHING = "Breathing"
    LAUGHTER = "Laughter"
    SURPRISE_OH = "Surprise-oh"
    CONFIRMATION_EN = "Confirmation-en"
    UHM = "Uhm"
    SURPRISE_AH = "Surprise-ah"
    SURPRISE_WA = "Surprise-wa"
    SIGH = "Sigh"
    QUESTION_EI = "Question-ei"
    DISSATISFACTION_HNN = "Dissatisfaction-hnn"


class Style(BaseModel):
    """A speaking style. Fields a tag did not set stay *unset* (pydantic `model_fields_set`),
    which is what lets a sentence's tags be laid over a persona's default style (`over`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    emotion: Emotion | None = None
    emotion_level: int = Field(1, ge=1, le=5)
    language: Language | None = None
    speed: int = Field(0, ge=-5, le=5)  # 慢速2 = -2, 快速1 = +1
    pitch: int = Field(0, ge=-5, le=5)  # stepvox extension (高音1 / 低音1): no Step-Audio tag
    volume: int = Field(0, ge=-5, le=5)  # stepvox extension (大声1 / 小声1)
    rap: bool = False
    singing: bool = False  # 哼唱: humming / singing
    whisper: bool = False  # 低语1
    # One-shot sounds: they belong to the sentence they were written in and never carry over.
    paralinguistics: tuple[Paralinguistic, ...] = ()

    def over(self, base: Style) -> Style:
        """This style's explicitly set fields laid over `base` (e.g. a persona's default)."""
        update = {name: getattr(self, name) for name in self.model_fields_set}
        merged = base.model_dump(exclude_unset=True) | update
        return Style(**merged)

    @property
    def is_neutral(self) -> bool:
        """True when no field differs from the defaults, i.e. a decoder has nothing to do."""
        return self == NEUTRAL

    def without_paralinguistics(self) -> Style:
        data = self.model_dump(exclude_unset=True)
        data.pop("paralinguistics", None)
        return Style(**data)


NEUTRAL = Style()
