"""Step-Audio's dual-codebook speech tokens, as numbers, as `<audio_N>` text and as LLM ids.

The Step-Audio tokenizer emits two code streams for the same speech: linguistic codes
(Paraformer + k-means, 1024 codes, 16.7 Hz) and semantic codes (CosyVoice, 4096 codes, 25 Hz).
Both run at a 2:3 ratio, so the LLM sees them interleaved in groups of 2 linguistic + 3
semantic tokens. A *token* here is the number N in `<audio_N>`: linguistic code x is N = x,
semantic code y is N = 1024 + y; the LLM vocabulary id is 65536 + N. (Spec: step-audio.md
section 2; the upstream `tokenizer.py` drops a trailing partial group, and so do we.)

Step-Audio 2 writes its reply audio as `<audio_N>` too, but from a single CosyVoice 2 codebook;
`parse_audio_token_ids` reads those without the dual-codebook range rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from speech.errors import SpeechError

LINGUISTIC_CODES = 1024
SEMANTIC_CODES = 4096
SEMANTIC_OFFSET = LINGUISTIC_CODES  # semantic code y is rendered as <audio_{1024 + y}>
AUDIO_TOKEN_COUNT = LINGUISTIC_CODES + SEMANTIC_CODES  # 5120 tokens added to the vocabulary
LLM_AUDIO_ID_OFFSET = 65536
LINGUISTIC_PER_GROUP = 2
SEMANTIC_PER_GROUP = 3
GROUP_SIZE = LINGUISTIC_PER_GROUP + SEMANTIC_PER_GROUP
LINGUISTIC_HZ = 50 / 3  # 16.7 Hz: 2 codes per 120 ms group
SEMANTIC_HZ = 25.0  # 3 codes per 120 ms group
GROUP_SECONDS = SEMANTIC_PER_GROUP / SEMANTIC_HZ  # 0.12 s of speech per group

_TOKEN = re.compile(r"<audio_(\d+)>")
# Something that starts like a token but is not one (e.g. "<audio_x>", "<audio_12", "<audio_>").
_BROKEN = re.compile(r"<audio_(?!\d+>)")


class AudioTokenError(SpeechError, ValueError):
    """Base of the errors about Step-Audio speech tokens."""


class AudioTokenRangeError(AudioTokenError):
    """A code or token lies outside its codebook (or outside the 5120 audio tokens)."""


class MalformedAudioTokensError(AudioTokenError):
    """Text that should hold `<audio_N>` tokens holds something else, or the groups are out of
    order."""


def _check_codes(codes: Sequence[int], size: int, name: str) -> list[int]:
    out = []
    for i, code in enumerate(codes):
        try:
            value = int(code)
        except (TypeError, ValueError, OverflowError):
            raise MalformedAudioTokensError(
                f"{name} code #{i} is {code!r}, not a whole number.") from None
        if value != code or not 0 <= value < size:
            raise AudioTokenRangeError(
                f"{name} code #{i} is {code!r}, outside 0..{size - 1}. The codes must come from "
                f"the Step-Audio {name} codebook ({size} codes)."
            )
        out.append(value)
    return out


def interleave_codebooks(linguistic: Sequence[int], semantic: Sequence[int]) -> list[int]:
    """Merge the two code streams 2:3 into tokens N (semantic codes shifted by 1024).

    Only whole groups are kept: trailing codes that do not fill a group (at most 120 ms of
    speech) are dropped, as the upstream tokenizer does, because the LLM was trained on whole
    groups only. Use `StreamingInterleaver` to keep the remainder for later audio.
    """
    ling = _check_codes(linguistic, LINGUISTIC_CODES, "linguistic")
    sem = _check_codes(semantic, SEMANTIC_CODES, "semantic")
    groups = min(len(ling) // LINGUISTIC_PER_GROUP, len(sem) // SEMANTIC_PER_GROUP)
    tokens: list[int] = []
    for g in range(groups):
        tokens += ling[g * 2:g * 2 + 2]
        tokens += [SEMANTIC_OFFSET + y for y in sem[g * 3:g * 3 + 3]]
    return tokens


def split_codebooks(tokens: Sequence[int]) -> tuple[list[int], list[int]]:
    """The inverse of `interleave_codebooks`: tokens N -> (linguistic codes, semantic codes).

    Checks the group layout, so a reply or a prompt with tokens in the wrong order fails here
    rather than as garbled speech.
    """
    check_tokens(tokens)
    if len(tokens) % GROUP_SIZE:
        raise MalformedAudioTokensError(
            f"{len(tokens)} audio tokens are not whole groups of {GROUP_SIZE} "
            f"(2 linguistic + 3 semantic); the last group is cut after "
            f"{len(tokens) % GROUP_SIZE} token(s)."
        )
    linguistic: list[int] = []
    semantic: list[int] = []
    for i, token in enumerate(tokens):
        want_linguistic = i % GROUP_SIZE < LINGUISTIC_PER_GROUP
        if want_linguistic != (token < SEMANTIC_OFFSET):
            kind = "linguistic (0..1023)" if want_linguistic else "semantic (1024..5119)"
            raise MalformedAudioTokensError(
                f"audio token #{i} is <audio_{token}>, but position {i % GROUP_SIZE} of a group "
                f"must be {kind}; groups are 2 linguistic then 3 semantic tokens."
            )
        (linguistic if want_linguistic else semantic).append(
            token if want_linguistic else token - SEMANTIC_OFFSET)
    return linguistic, semantic


def check_tokens(tokens: Iterable[int]) -> list[int]:
    """Tokens as a list of ints, each within the 5120 Step-Audio audio tokens."""
    return _check_codes(list(tokens), AUDIO_TOKEN_COUNT, "audio token")


def render_audio_tokens(tokens: Sequence[int]) -> str:
    """Tokens N -> `<audio_N><audio_M>...` (no separators, as the models were trained)."""
    return "".join(f"<audio_{n}>" for n in check_tokens(tokens))


def parse_audio_token_ids(text: str) -> list[int]:
    """Every `<audio_N>` in `text`, in order, without range checks; other text is ignored.

    For Step-Audio 2 replies, whose `tts_audio` uses a different (single) codebook.
    """
    return [int(m) for m in _TOKEN.findall(text)]


def parse_audio_tokens(text: str) -> list[int]:
    """`<audio_N>...` text -> tokens N; the text must hold nothing else but whitespace."""
    tokens: list[int] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        _check_gap(text, pos, match.start())
        tokens.append(int(match.group(1)))
        pos = match.end()
    _check_gap(text, pos, len(text))
    return check_tokens(tokens)


def _check_gap(text: str, start: int, end: int) -> None:
    gap = text[start:end]
    if gap.strip():
        raise MalformedAudioTokensError(
            f"expected only <audio_N> tokens, found {gap.strip()[:40]!r} at character {start}. "
            "Audio token text must look like <audio_12><audio_1500>..."
        )


def contains_audio_tokens(text: str) -> bool:
    """Whether `text` holds anything that looks like an audio token (well formed or not)."""
    return "<audio_" in text


def strip_audio_tokens(text: str) -> str:
    """`text` without its `<audio_N>` tokens, for turns whose speech is kept as text only."""
    return _TOKEN.sub("", text).strip()


def find_broken_token(text: str) -> str | None:
    """The first thing in `text` that starts like an audio token but is not one, if any."""
    match = _BROKEN.search(text)
    return None if match is None else text[match.start():match.start() + 16]


def to_llm_ids(tokens: Sequence[int]) -> list[int]:
    """Tokens N -> LLM vocabulary ids (65536 + N)."""
    return [LLM_AUDIO_ID_OFFSET + n for n in check_tokens(tokens)]


def from_llm_ids(ids: Sequence[int]) -> list[int]:
    """LLM vocabulary ids -> tokens N; an id outside the audio range is an error."""
    out = []
    for i, value in enumerate(ids):
        n = int(value) - LLM_AUDIO_ID_OFFSET
        if not 0 <= n < AUDIO_TOKEN_COUNT:
            raise AudioTokenRangeError(
                f"LLM id #{i} is {value}, not an audio token id "
                f"({LLM_AUDIO_ID_OFFSET}..{LLM_AUDIO_ID_OFFSET + AUDIO_TOKEN_COUNT - 1})."
            )
        out.append(n)
    return out


class StreamingInterleaver:
    """Merges the two code streams as they arrive, emitting whole groups only.

    The two tokenizer pipelines run in parallel and finish segments at different times, so one
    stream is usually ahead; codes wait here until the other stream fills their group.
    """

    def __init__(self) -> None:
        self._linguistic: list[int] = []
        self._semantic: list[int] = []
        self.emitted_groups = 0

    def push(self, linguistic: Sequence[int] = (), semantic: Sequence[int] = ()) -> list[int]:
        """Add codes from either pipeline; returns the tokens of the groups now complete."""
        self._linguistic += _check_codes(linguistic, LINGUISTIC_CODES, "linguistic")
        self._semantic += _check_codes(semantic, SEMANTIC_CODES, "semantic")
        groups = min(len(self._linguistic) // 2, len(self._semantic) // 3)
        if not groups:
            return []
        tokens = interleave_codebooks(self._linguistic[:groups * 2], self._semantic[:groups * 3])
        del self._linguistic[:groups * 2], self._semantic[:groups * 3]
        self.emitted_groups += groups
        return tokens

    @property
    def pending(self) -> tuple[int, int]:
        """(linguistic, semantic) codes waiting for their group to fill."""
        return len(self._linguistic), len(self._semantic)

    def finish(self) -> tuple[int, int]:
        """End of speech: drop the codes of the unfinished group; returns how many were dropped."""
        dropped = self.pending
        self._linguistic.clear()
        self._semantic.clear()
        return dropped


class AudioTokenTextBuffer:
    """Finds `<audio_N>` tokens in text that arrives in pieces (an SSE stream splits tokens
    anywhere, e.g. "<aud" + "io_12>"); keeps an unfinished token for the next piece."""

    def __init__(self) -> None:
        self._tail = ""

    def feed(self, piece: str) -> list[int]:
        text = self._tail + piece
        cut = text.rfind("<")
        if cut != -1 and ">" not in text[cut:]:
            text, self._tail = text[:cut], text[cut:]
        else:
            self._tail = ""
        return parse_audio_token_ids(text)

    @property
    def leftover(self) -> str:
        """Text of a token still unfinished (non-empty at the end of a stream means it was cut)."""
        return self._tail
