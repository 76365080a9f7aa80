"""One reply, two voices: Chinese characters to the Mandarin voice, Latin words to the English one.

A Chinese reply often holds English words ("我们去 Starbucks 吧"); the Mandarin voice has no
English (its front end drops letters) and the English voice reads Han characters as "Chinese
letter". `split_by_script` cuts a sentence into runs of one script, and `BilingualDecoder`
speaks each run with its own voice, in order, resampled to one rate so the runs join with no
gap. Digits and punctuation belong to the run around them: "128元" is read in Chinese,
"iPhone 16" in English.

Dialect and language tags: the Mandarin voice speaks Mandarin only. A sentence tagged
(四川话) or (粤语) is spoken in Mandarin; the fallback is logged once per decoder (one decoder
per session) and marked on every chunk it touches (`chunk.extra["voice_fallback"]`), so a
turn's `AudioChunkEvent`s report it. The tag itself is never read out: tags are parsed off
the text before it reaches a decoder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from speech.protocols import AudioChunk, SpeechDecoder
from speech.style import Language, Style

log = logging.getLogger(__name__)

Script = Literal["han", "latin"]
_HAN = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_CHAR = re.compile(f"[{_HAN}]")
_LATIN_CHAR = re.compile(r"[A-Za-z\u00c0-\u024f]")
# A Latin run: words with inner apostrophes, hyphens, dots and digits ("iPhone 16", "Wi-Fi",
# "Dr. Smith"), spaces between its words, but no Chinese punctuation.
_LATIN_RUN = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f0-9'’\-.&]*"
                        r"(?:[ \t]+[A-Za-z\u00c0-\u024f0-9][A-Za-z\u00c0-\u024f0-9'’\-.&]*)*"
                        r"[,.!?;:]?")
# Languages the Mandarin voice speaks as they are; others fall back to Mandarin.
_MANDARIN = {None, Language.CHINESE}


@dataclass(frozen=True, slots=True)
class ScriptRun:
    script: Script
    text: str


def split_by_script(text: str, *, default: Script = "han") -> list[ScriptRun]:
    """Runs of one script, in order, covering every character of `text` that is not blank.

    Text with neither Han nor Latin letters (digits, punctuation) is one run of `default`:
    the persona's language decides how "2026" alone is read."""
    if not _HAN_CHAR.search(text):
        script: Script = "latin" if _LATIN_CHAR.search(text) else default
        return [ScriptRun(script, text.strip())] if text.strip() else []
    runs: list[ScriptRun] = []
    position = 0
    for match in _LATIN_RUN.finditer(text):
        before = text[position:match.start()]
        if before.strip():
            runs.append(ScriptRun("han", before.strip()))
        runs.append(ScriptRun("latin", match.group().strip()))
        position = match.end()
    rest = text[position:]
    if rest.strip():
        runs.append(ScriptRun("han", rest.strip()))
    return _merge_unsayable(runs)


def _merge_unsayable(runs: list[ScriptRun]) -> list[ScriptRun]:
    """A Han run with nothing to say ("，" between two English words) joins its neighbour,
    so no voice is asked to speak punctuation alone."""
    merged: list[ScriptRun] = []
    for run in runs:
        sayable = run.script == "latin" or _HAN_CHAR.search(run.text) or re.search(r"\d", run.text)
        if not sayable and merged:
            merged[-1] = ScriptRun(merged[-1].script, merged[-1].text + run.text)
        elif not sayable:
            continue
        elif merged and merged[-1].script == run.script:
            merged[-1] = ScriptRun(run.script, f"{merged[-1].text} {run.text}")
        else:
            merged.append(run)
    return merged


def _resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return samples
    import soxr

    # Resampling can overshoot a full-scale peak by a hair; clips must stay within [-1, 1].
    return np.clip(soxr.resample(samples, rate_in, rate_out), -1.0, 1.0).astype(np.float32)


class BilingualDecoder:
    """`SpeechDecoder` that routes each script run to its voice (see the module doc).

    `primary` is the persona's language ("zh" or "en"): its voice sets the output rate and
    speaks text that has no letters of either script."""

    def __init__(self, mandarin: SpeechDecoder, english: SpeechDecoder, *,
                 primary: Literal["zh", "en"] = "zh") -> None:
        self.mandarin = mandarin
        self.english = english
        self.primary = primary
        self.sample_rate: int = (mandarin if primary == "zh" else english).sample_rate
        self.voice_name = "+".join(str(getattr(d, "voice_name", type(d).__name__))
                                   for d in (mandarin, english))
        self.fallbacks_logged: set[str] = set()

    def for_session(self) -> BilingualDecoder:
        """The same loaded voices with a fresh record of the fallbacks logged: a server
        gives each session one, so each session is told once."""
        return BilingualDecoder(self.mandarin, self.english, primary=self.primary)

    def _mandarin_style(self, style: Style | None) -> tuple[Style | None, str | None]:
        """The style the Mandarin voice gets, and the fallback to report (None: none)."""
        if style is None or style.language in _MANDARIN or style.language == Language.ENGLISH:
            return style, None
        fallback = f"{style.language.value} -> mandarin"
        if fallback not in self.fallbacks_logged:
            self.fallbacks_logged.add(fallback)
            log.warning("No %s voice is installed: speaking Mandarin instead (logged once "
                        "per session).", style.language.value)
        return style.model_copy(update={"language": Language.CHINESE}), fallback

    async def synthesize(self, text: str, style: Style | None = None) -> AsyncIterator[AudioChunk]:
        default: Script = "han" if self.primary == "zh" else "latin"
        mandarin_style, fallback = self._mandarin_style(style)
        for run in split_by_script(text, default=default):
            if run.script == "han":
                decoder, run_style = self.mandarin, mandarin_style
            else:
                decoder, run_style = self.english, style
            async for chunk in decoder.synthesize(run.text, run_style):
                extra = dict(chunk.extra) | {"voice": "zh" if run.script == "han" else "en"}
                if fallback and run.script == "han":
                    extra["voice_fallback"] = fallback
                yield replace(chunk, samples=_resample(chunk.samples, chunk.sample_rate,
                                                       self.sample_rate),
                              sample_rate=self.sample_rate, text=chunk.text or run.text,
                              extra=extra)
