"""Logits rules for Step-Audio-TTS-3B decoding, as transformers `LogitsProcessor`s.

* `RepetitionAwareLogitsProcessor` (spec section 5): look at the last `window` ids; if the
  newest id fills more than `threshold` of that window, it may not come next. Audio LLMs fall
  into loops of one token (a held buzz or silence); this breaks them without the global
  penalty of `repetition_penalty`, which would also punish a voice's normal recurring codes.
* `AudioOnlyLogitsProcessor`: a TTS turn is audio tokens and then `<|EOT|>`. The vocabulary is
  text + audio, so a random or lightly trained model can wander into text ids; masking them
  makes every generated id decodable (65536 + N, N < 5120) or the stop.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers import LogitsProcessor

from speech.step_audio.tokens import AUDIO_TOKEN_COUNT, LLM_AUDIO_ID_OFFSET

REPETITION_WINDOW = 10
REPETITION_THRESHOLD = 0.1


class RepetitionAwareLogitsProcessor(LogitsProcessor):
    """Bans the newest id for the next step when it makes up more than `threshold` of the
    last `window` ids (with 10 and 0.1: when it occurs twice or more in the last 10)."""

    def __init__(self, window: int = REPETITION_WINDOW,
                 threshold: float = REPETITION_THRESHOLD) -> None:
        if window < 1 or not 0 <= threshold < 1:
            raise ValueError(f"window must be >= 1 and threshold in [0, 1), got {window}, "
                             f"{threshold}")
        self.window = window
        self.threshold = threshold

    def __call__(self, input_ids: torch.LongTensor,
                 scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[1] < self.window:
            return scores  # too short to judge: the rule only runs on a full window
        recent = input_ids[:, -self.window:]
        newest = recent[:, -1:]
        share = (recent == newest).sum(dim=1).float() / self.window
        banned = share > self.threshold
        if banned.any():
            scores = scores.clone()
            rows = banned.nonzero(as_tuple=True)[0]
            scores[rows, newest[rows, 0]] = float("-inf")
        return scores


class AudioOnlyLogitsProcessor(LogitsProcessor):
    """Only audio ids (65536 + 0..5119) and the stop ids may be generated."""

    def __init__(self, stop_ids: Iterable[int], *, vocab_size: int) -> None:
        top = LLM_AUDIO_ID_OFFSET + AUDIO_TOKEN_COUNT
        if vocab_size < top:
            raise ValueError(
                f"the model's vocabulary has {vocab_size} ids, but Step-Audio audio tokens need "
                f"ids up to {top - 1}: this is not a Step-Audio TTS checkpoint.")
        allowed = torch.zeros(vocab_size, dtype=torch.bool)
        allowed[LLM_AUDIO_ID_OFFSET:top] = True
        for stop in stop_ids:
            allowed[stop] = True
        self._blocked = ~allowed

    def __call__(self, input_ids: torch.LongTensor,
                 scores: torch.FloatTensor) -> torch.FloatTensor:
        blocked = self._blocked.to(scores.device)
        if scores.shape[-1] != blocked.shape[0]:  # padded lm_head: extra ids are blocked too
            pad = scores.shape[-1] - blocked.shape[0]
            blocked = torch.nn.functional.pad(blocked, (0, pad), value=True)[:scores.shape[-1]]
        return scores.masked_fill(blocked, float("-inf"))
