"""Synthesized audio of fixed phrases (fillers, approval questions), kept per decoder.

A filler exists to fill silence, so it must not wait on the speech decoder itself: "Let me
check the time." is the same audio every time, rendered once per voice and replayed. Only
text that is not model output goes through here; each decoder keeps its newest phrases.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator

import numpy as np

from speech.protocols import AudioChunk, SpeechDecoder

MAX_PHRASES = 64  # per decoder: fillers with a city or a name in them vary


class PhraseCache:
    def __init__(self, max_phrases: int = MAX_PHRASES) -> None:
        self.max_phrases = max_phrases
        self._by_decoder: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.hits = 0

    async def synthesize(self, decoder: SpeechDecoder, text: str) -> AsyncIterator[AudioChunk]:
        try:
            phrases = self._by_decoder.setdefault(decoder, OrderedDict())
        except TypeError:  # a decoder that cannot be weakly referenced: no cache
            async for chunk in decoder.synthesize(text):
                yield chunk
            return
        if text in phrases:
            phrases.move_to_end(text)
            self.hits += 1
            for chunk in phrases[text]:
                yield _copy(chunk)
            return
        rendered: list[AudioChunk] = []
        async for chunk in decoder.synthesize(text):
            rendered.append(_copy(chunk))
            yield chunk
        # Stored only when whole: a filler cut off by a barge-in is rendered again next time.
        phrases[text] = rendered
        while len(phrases) > self.max_phrases:
            phrases.popitem(last=False)


def _copy(chunk: AudioChunk) -> AudioChunk:
    # The cache and each turn hold their own samples: a consumer may scale or resample a
    # chunk in place.
    return dataclasses.replace(chunk, samples=np.array(chunk.samples), extra=dict(chunk.extra))


FIXED_PHRASES = PhraseCache()
