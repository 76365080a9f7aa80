"""Text that repeats itself: the loops a greedy decoder falls into.

Whisper on a too-short window and a small LLM decoding greedily both can write one phrase
over and over ("the captain is in charge of keeping the ships safe, and the captain is in
charge of keeping the ships safe, and ..."). `repeats_itself` says whether a finished text
holds such a loop; `loop_cut` reads a reply while it streams and, once a loop has formed at
its end, gives the text to keep: everything before the loop's second copy, closed as a
sentence. `held_from` says where a caption must stop while the newest words may be the start
of a loop's next copy.

A loop is a phrase said back to back: a phrase of eight or more words twice, of two to
seven words three times, one word five times. Han characters count one each, since Chinese
has no spaces between words. A song's chorus sung twice is under eight words a line or
sung with other lines between, so it is not cut.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W\u3400-\u9fff]+(?:'[^\W\u3400-\u9fff]+)*")
_LONGEST = 40  # the longest phrase looked for, in tokens (a Chinese sentence: ~30)
# Words a cut may leave dangling at the end ("keeping the ships safe, and").
_DANGLING = re.compile(r"[\s,;:\-–—]*(?:\b(?:and|or|but|so|then|because|while|the|a|an|of)\b"
                       r"[\s,;:\-–—]*)*$", re.I)
# A sentence end, and the tags after it ("Puppy! (laugh)" needs no full stop of its own).
_END = re.compile(r"[.!?…。！？](?:\s*[(\[（【][^)\]）】]{0,24}[)\]）】])*$")
_CLOSING = re.compile(r"[)\]）】」』\"'”’.!?…。！？]*")


def _copies_needed(n: int) -> int:
    return 5 if n == 1 else 3 if n < 8 else 2


def _tokens(text: str) -> list[re.Match]:
    return list(_TOKEN.finditer(text))


def _repeats(words: list[str], start: int, n: int, copies: int) -> bool:
    phrase = words[start:start + n]
    return all(words[start + k * n:start + (k + 1) * n] == phrase for k in range(1, copies))


def repeats_itself(text: str) -> bool:
    """Whether `text` holds a loop anywhere (Whisper's check before trusting a transcript)."""
    words = [m.group().lower() for m in _tokens(text)]
    for n in range(1, min(_LONGEST, len(words)) + 1):
        copies = _copies_needed(n)
        if any(_repeats(words, i, n, copies) for i in range(len(words) - n * copies + 1)):
            return True
    return False


def loop_cut(text: str) -> str | None:
    """The part of a streaming reply to keep when a loop has just formed at its end, or None.

    Only loops ending at the newest word, or the one before it (the newest may still be
    growing), are looked for, so the check costs a few comparisons per streamed piece."""
    found = _tokens(text)
    words = [m.group().lower() for m in found]
    for end in (len(words), len(words) - 1):
        for n in range(1, _LONGEST + 1):
            copies = _copies_needed(n)
            start = end - n * copies
            if start < 0 or not _repeats(words, start, n, copies):
                continue
            # Walk back to where the loop began, so the copy kept is its first one.
            while start > 0 and words[start - 1] == words[start - 1 + n]:
                start -= 1
            # The first copy ends with its last word and what closes it ("(laugh)" keeps its
            # ")"); what opens the second copy (its "(") goes with the copies cut away.
            end_at = found[start + n - 1].end()
            end_at += len(_CLOSING.match(text, end_at).group())
            kept = _DANGLING.sub("", text[:end_at].rstrip())
            if not kept:
                return ""
            return kept if _END.search(kept) else kept + (
                "。" if "\u3400" <= kept[-1] <= "\u9fff" else ".")
    return None


def held_from(text: str) -> int:
    """Where to stop showing a streaming reply for now: before its newest words when they
    say again the words just before them (two or more words, a phrase of up to `_LONGEST`),
    as a loop's next copy begins; else at its end. The words held are shown once they go
    their own way, and never when `loop_cut` ends the reply at the first copy."""
    found = _tokens(text)
    words = [m.group().lower() for m in found]
    end, held = len(words), 0
    for n in range(1, min(_LONGEST, end - 2) + 1):
        k = 0
        while k < end - n and words[end - 1 - k] == words[end - 1 - k - n]:
            k += 1
        held = max(held, k)
    return found[end - held].start() if held >= 2 else len(text)
