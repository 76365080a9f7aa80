"""Streaming style-tag removal for the speaking node: model deltas in, styled sentences out.

The model streams a reply in arbitrary deltas, and a tag may be split across them
(`"(高"`, `"兴1)Hel"`, `"lo."`). `StyledSentenceSplitter` holds back text from an opening
bracket until it knows whether a tag is there, removes every tag from the text, and hands out
whole sentences each with the `Style` it must be spoken in. The decoder therefore never sees
tag text, and neither do captions or history.

Rules:
- A known tag anywhere is removed and applies from its sentence on (a tag holds until a later
  tag of the same kind changes it; `(neutral)` clears the emotion). Paralinguistic sounds
  (`[Laughter]`) apply only to the sentence they are in.
- An unknown tag-shaped group (`(excited)`) is dropped where a tag may stand: at the start of
  the reply, of a sentence, or right after another tag. Elsewhere bracketed text is prose
  ("the fee (in euros) is...") and is kept.
- Each sentence's style is the tags so far laid over the persona's default style.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from speech.sentences import SentenceSplitter
from speech.style import NEUTRAL, Style
from speech.style_tags import (
    CLOSERS, MAX_TAG_CHARS, OPENERS, allowed_tag_keys, combine, looks_like_tag, tag_key,
    tag_style,
)

# Tags ride through the sentence splitter as private-use characters, so sentence boundaries
# are found exactly as without tags, and each sentence knows which tags it contained.
_PLACEHOLDER_BASE = 0xE000
_PLACEHOLDER_SPAN = 6400
_SENTENCE_END = ".!?…。！？；\n"


@dataclass(frozen=True, slots=True)
class StyledSentence:
    text: str
    style: Style


class StyledSentenceSplitter:
    """`SentenceSplitter` that also strips style tags.

    `feed(delta)` returns `(clean, sentences)`: `clean` is the delta with tags removed (for
    captions; the concatenation of all `clean` pieces is the reply without tags) and the
    sentences the delta completed. `dropped` lists the tags that were thrown away.
    """

    def __init__(self, default_style: Style = NEUTRAL, *,
                 allowed: Collection[str] | None = None, min_chars: int = 2,
                 first_clause_words: int | None = None) -> None:
        self._default = default_style
        self._allowed = allowed_tag_keys(allowed)
        self._splitter = SentenceSplitter(min_chars, first_clause_words=first_clause_words)
        self._held = ""  # text from an opening bracket whose tag is not yet decided
        self._tags: dict[str, Style] = {}
        self._count = 0
        self._current = Style()  # the tags in force, before the default is laid under them
        self._tag_position = True  # a tag may stand here (reply/sentence start, after a tag)
        self._last_clean = ""
        self._tag_since_clean = False
        self.dropped: list[str] = []
        # Tags with no word between them: a small model can loop on "(laugh) (laugh) ..."
        # to its token limit, a loop `speech.repetition` never sees in the tag-free text.
        self.tags_in_a_row = 0

    def feed(self, delta: str) -> tuple[str, list[StyledSentence]]:
        return self._process(self._held + delta, final=False)

    def flush(self) -> tuple[str, list[StyledSentence]]:
        """End of the reply: undecided text is released as prose; the splitter is reset."""
        clean, sentences = self._process(self._held, final=True)
        sentences += self._styled(self._splitter.flush())
        return clean, sentences

    def _process(self, text: str, *, final: bool) -> tuple[str, list[StyledSentence]]:
        self._held = ""
        split_text: list[str] = []
        clean: list[str] = []
        i = 0
        while i < len(text):
            char = text[i]
            if char in OPENERS:
                close = text.find(CLOSERS[char], i + 1)
                if close < 0:
                    tail = text[i + 1:]
                    if len(tail) < MAX_TAG_CHARS and looks_like_tag(tail or "x"):
                        if not final:
                            self._held = text[i:]  # may still become a tag: wait for more text
                            break
                        if self._tag_position:
                            # A tag the reply's end cut off ("Puppy! (laugh) (" at the token
                            # limit): a lone bracket is not prose to speak.
                            self.dropped.append(text[i:])
                            break
                else:
                    content = text[i + 1:close]
                    if looks_like_tag(content) and self._take_tag(content, text[i:close + 1],
                                                                  split_text):
                        i = close + 1
                        continue
            # Plain text. A space right after a removed tag is swallowed when the text before
            # it already ends in a space (or nothing), so no double spaces are left behind.
            if char.isspace():
                if self._tag_since_clean and (not self._last_clean or self._last_clean.isspace()):
                    i += 1
                    continue
                if self._last_clean and self._last_clean in _SENTENCE_END:
                    self._tag_position = True
            else:
                self._tag_position = char in _SENTENCE_END
            split_text.append(char)
            clean.append(char)
            if not char.isspace():
                self.tags_in_a_row = 0
            self._last_clean = char
            self._tag_since_clean = False
            i += 1
        sentences = self._styled(self._splitter.feed("".join(split_text)))
        return "".join(clean), sentences

    def _take_tag(self, content: str, raw: str, split_text: list[str]) -> bool:
        """Handle a tag-shaped group; False means it is prose and stays in the text."""
        style = tag_style(content)
        allowed = style is not None and (self._allowed is None or tag_key(content) in self._allowed)
        if not allowed:
            if not self._tag_position and style is None:
                return False
            self.dropped.append(raw)
            self._tag_since_clean = True
            self.tags_in_a_row += 1
            return True
        placeholder = chr(_PLACEHOLDER_BASE + self._count % _PLACEHOLDER_SPAN)
        self._count += 1
        self._tags[placeholder] = style
        # The leading space keeps "Hi.(sad)Oh" a sentence boundary for the splitter.
        split_text.append(" " + placeholder)
        self._tag_position = self._tag_since_clean = True
        self.tags_in_a_row += 1
        return True

    def _styled(self, sentences: list[str]) -> list[StyledSentence]:
        out = []
        for sentence in sentences:
            sounds = Style()
            words = []
            for char in sentence:
                style = self._tags.pop(char, None)
                if style is None:
                    words.append(char)
                elif style.paralinguistics:
                    sounds = combine(sounds, style)
                else:
                    self._current = combine(self._current, style)
            text = "".join(words)
            if len(words) != len(sentence):
                text = " ".join(text.split())  # the spaces the placeholders came with
            if not text:
                # Tags alone (e.g. "(高兴1)\n"): their style carries to the next sentence, and
                # one-shot sounds are lost, since there is nothing to attach them to.
                continue
            style = combine(self._current, sounds).over(self._default)
            out.append(StyledSentence(text, style))
        return out
