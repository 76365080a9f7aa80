"""Incremental sentence splitting, so speech synthesis can start before the reply is fully written.

A language model streams text in arbitrary deltas; `SentenceSplitter` hands out each sentence
the moment its end is certain. A boundary is only decided once the text after it is known, so
the result never depends on where the deltas were cut.
"""

from __future__ import annotations

import re
import unicodedata

_WESTERN_ENDS = ".!?…"
_CJK_ENDS = "。！？；"
_ENDS = _WESTERN_ENDS + _CJK_ENDS
# Clause ends where the first chunk of a reply may be cut early (see `first_clause_words`).
_CLAUSE_ENDS = ",;:，、："
# Full-width clause marks need no space after them (Chinese has none) and are never a
# thousands separator, so they end a first clause as soon as they are written.
_WIDE_CLAUSE_ENDS = "，、："
# Chinese is not written in space-separated words: a first clause counts its Han characters,
# this many to a word (a Mandarin word is one to three characters, two on average).
HAN_CHARS_PER_WORD = 2
# Words that open a new clause: the first chunk may also end just before one (English only;
# whole words, so "so" never matches "some").
_CLAUSE_OPENER = re.compile(
    r"\s(?=(?:because|and|but|so|which|who|when|while|whereas|if|since|although|though|"
    r"where|until|unless)\s)", re.IGNORECASE)
# Words that open a phrase (a preposition, a relative "that"): a long first chunk with no
# clause boundary yet may end just before one, two words later than before a clause opener
# ("The moon is the only planet" | "in our solar system that ...").
_PHRASE_OPENER = re.compile(
    r"\s(?=(?:in|on|at|for|with|from|about|into|during|through|after|before|that|than|"
    r"around|across|between|without)\s)", re.IGNORECASE)
_PHRASE_EXTRA_WORDS = 2
# Closing quotes and brackets after the punctuation belong to the sentence they close.
_CLOSERS = "\"')]}”’»」』）》】〕〉"
# Compared lower-cased, without the final dot; a `.` after these does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m", "u.s",
     "u.k", "jr", "sr", "mt", "cf", "approx"}
)


class SentenceSplitter:
    """Turns streamed text deltas into whole sentences, as early as each one is certain.

    A sentence ends at `.`, `!`, `?`, `…` (or a run such as `?!`, `...`) plus any closing quotes
    or brackets, when whitespace follows; at `。！？；` whatever follows; and at every newline.
    A `.` after an abbreviation (Mr., e.g., U.S.) or a single capital initial (J. R. R.) does not
    end one. Sentences with fewer than `min_chars` characters, punctuation and spaces not
    counted, are joined to the next one.

    `first_clause_words=N` lets the *first* chunk end early at a clause boundary (a comma,
    semicolon or colon followed by a space, or a Chinese ，、： with nothing needed after it)
    once it holds at least N words (Chinese: 2N Han characters, `HAN_CHARS_PER_WORD`): the speech decoder
    then starts on "Sure, here is what I found," while the model is still writing the rest of
    the sentence, which cuts the time to the first audio of long opening sentences. The first
    chunk may also end just before a word that opens a new clause ("The sky looks blue" |
    "because ..."), for opening sentences without a comma, or, from two words more on, just
    before a preposition or a relative "that" ("The moon is the only planet" | "in our solar
    system ..."): a long opening sentence otherwise keeps the first audio waiting ~20 tokens
    (~0.5 s on two cores), and a phrase boundary is where a speaker could pause anyway.
    """

    def __init__(self, min_chars: int = 2, *, first_clause_words: int | None = None) -> None:
        if min_chars < 0:
            raise ValueError(f"min_chars must be >= 0, got {min_chars}")
        self._min_chars = min_chars
        self._first_clause_words = first_clause_words
        self._emitted = False
        self._buffer = ""  # text not yet handed out
        self._scanned = 0  # boundaries before this index of `_buffer` are already decided

    def feed(self, delta: str) -> list[str]:
        """Add the next piece of text; returns the sentences it completed (stripped, non-empty)."""
        if not isinstance(delta, str):
            raise TypeError(f"feed takes str deltas, got a {type(delta).__name__}")
        self._buffer += delta
        return self._drain()

    def flush(self) -> list[str]:
        """End of stream: returns whatever is left as a last sentence, and resets the splitter."""
        rest = self._buffer.strip()
        self._buffer, self._scanned, self._emitted = "", 0, False
        return [rest] if rest else []

    def _drain(self) -> list[str]:
        buf, n = self._buffer, len(self._buffer)
        sentences: list[str] = []
        start, i = 0, self._scanned
        while i < n:
            char = buf[i]
            if char == "\n":
                end = i + 1
            elif char in _CLAUSE_ENDS and self._first_clause_words and not (
                    self._emitted or sentences):
                end = i + 1
                if char in _WIDE_CLAUSE_ENDS:
                    if _clause_words(buf[start:i]) < self._first_clause_words:
                        i = end
                        continue
                else:
                    if end == n:
                        break  # a space must follow ("1,000" is not a clause end)
                    if not (buf[end].isspace() and
                            _clause_words(buf[start:i]) >= self._first_clause_words):
                        i = end
                        continue
            elif char in _ENDS:
                run_end = i
                while run_end < n and buf[run_end] in _ENDS:
                    run_end += 1
                end = run_end
                while end < n and buf[end] in _CLOSERS:
                    end += 1
                if end == n:
                    break  # what follows decides it: a digit, more punctuation, a space...
                if not self._ends_sentence(buf, i, run_end, end):
                    i = end
                    continue
            else:
                i += 1
                continue
            if (cut := self._opener_cut(buf, start, i, sentences)) is not None:
                start = i = cut  # an earlier place to end the first chunk
                continue
            # Too short to say on its own: keep `start` so it runs on into the next sentence.
            if _content_length(buf[start:end]) >= self._min_chars:
                if sentence := buf[start:end].strip():
                    sentences.append(sentence)
                start = end
            i = end
        if (cut := self._opener_cut(buf, start, i, sentences)) is not None:
            start = cut
        self._buffer, self._scanned = buf[start:], i - start
        self._emitted = self._emitted or bool(sentences)
        return sentences

    def _opener_cut(self, buf: str, start: int, end: int, sentences: list[str]) -> int | None:
        """While the first chunk is open: end it before a clause-opening word in
        `buf[start:end]` (appended to `sentences`); returns where the rest starts."""
        if not self._first_clause_words or self._emitted or sentences:
            return None
        text = buf[start:end]
        cuts = [m.start() for m in _CLAUSE_OPENER.finditer(text)
                if len(text[:m.start()].split()) >= self._first_clause_words]
        cuts += [m.start() for m in _PHRASE_OPENER.finditer(text)
                 if len(text[:m.start()].split()) >= self._first_clause_words
                 + _PHRASE_EXTRA_WORDS]
        if not cuts:
            return None
        cut = min(cuts)
        sentences.append(text[:cut].strip())
        return start + cut

    @staticmethod
    def _ends_sentence(buf: str, run_start: int, run_end: int, after: int) -> bool:
        """Whether the punctuation run `buf[run_start:run_end]` ends a sentence at `after`."""
        run = buf[run_start:run_end]
        if any(c in _CJK_ENDS for c in run):
            return True
        if not buf[after].isspace():
            return False  # 3.14, e.g.x, "Hi.There": no break without a space
        if run != ".":
            return True
        word_start = run_start
        while word_start > 0 and (buf[word_start - 1].isalpha() or buf[word_start - 1] == "."):
            word_start -= 1
        word = buf[word_start:run_start].strip(".")
        if len(word) == 1 and word.isupper():
            return False  # an initial, as in J. R. R. Tolkien
        return word.lower() not in _ABBREVIATIONS


def split_sentences(text: str, min_chars: int = 2) -> list[str]:
    """All sentences of a complete text, split the same way as streamed text."""
    splitter = SentenceSplitter(min_chars)
    return splitter.feed(text) + splitter.flush()


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _clause_words(text: str) -> int:
    """Words in a first clause: space-separated words, a run of Han characters counting one
    word per `HAN_CHARS_PER_WORD` characters ("我们去 Starbucks" is 1 + 1)."""
    words = 0
    for token in text.split():
        han = sum(1 for c in token if _is_han(c))
        words += han // HAN_CHARS_PER_WORD if han else 1
        if han and len(token) > han and any(c.isalnum() and not _is_han(c) for c in token):
            words += 1  # Latin letters or digits inside the token: a word of their own
    return words


def _content_length(text: str) -> int:
    """Characters that are neither whitespace nor punctuation."""
    return sum(1 for c in text if not c.isspace() and not unicodedata.category(c).startswith("P"))
