"""`stepvox say "(高兴1)(快速1)Hello there" --out hi.wav [--persona NAME]`: speak one text with
style tags, on the embedded Piper voice (or any `SpeechDecoder` passed to `say_text`).

Register in `agent.cli.main` with `app.command("say")(say)`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape

from personas import DEFAULT_PERSONA, Persona, PersonaError, PersonaLibrary
from speech.audio import AudioClip, write_wav
from speech.protocols import SpeechDecoder
from speech.style_stream import StyledSentence, StyledSentenceSplitter
from speech.style_tags import render_step_audio

_GAP_S = 0.15  # silence between sentences, as a speaker would breathe


@dataclass
class SpokenText:
    clip: AudioClip
    sentences: list[StyledSentence]
    dropped_tags: list[str]


def styled_sentences(text: str, persona: Persona) -> tuple[list[StyledSentence], list[str]]:
    """`text` (tags and all) -> sentences with their styles, exactly as the speak node does."""
    splitter = StyledSentenceSplitter(persona.default_style, allowed=persona.style_tags or None)
    _, first = splitter.feed(text)
    _, rest = splitter.flush()
    return first + rest, splitter.dropped


async def say_text(text: str, decoder: SpeechDecoder, persona: Persona = DEFAULT_PERSONA
                   ) -> SpokenText:
    sentences, dropped = styled_sentences(text, persona)
    if not sentences:
        raise typer.BadParameter(f"nothing to say in {text!r} once the style tags are removed")
    gap = np.zeros(int(_GAP_S * decoder.sample_rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    for sentence in sentences:
        async for chunk in decoder.synthesize(sentence.text, sentence.style):
            parts.append(chunk.samples.astype(np.float32))
        parts.append(gap)
    if len(parts) == len(sentences):  # only the gaps: the voice found nothing to say
        raise typer.BadParameter(f"nothing to say in {text!r}: the voice has no words for it")
    samples = np.concatenate(parts[:-1]) if len(parts) > 1 else gap
    return SpokenText(AudioClip(samples, decoder.sample_rate), sentences, dropped)


def _embedded_decoder(persona: Persona):
    """Piper for English personas; for a zh persona, the Mandarin voice with Piper for the
    English words inside Chinese text (`agent.setup.language_voices`)."""
    from agent.models.store import model_store
    from agent.setup.language_voices import decoder_for_language
    from agent.settings import StepvoxSettings
    from speech.piper.decoder import PiperDecoder

    store = model_store(StepvoxSettings())
    voice = persona.voice.id
    if voice and voice.endswith(".onnx") and Path(voice).is_file():
        english = PiperDecoder(voice)
    else:
        english = PiperDecoder(Path(store.resolve_for_role("tts")))
    return decoder_for_language(store, persona.language, english)


def say(
    text: Annotated[str, typer.Argument(help="What to say; may open sentences with style tags "
                                             "such as (高兴1)(快速1) or (sad)(slow).")],
    out: Annotated[Path, typer.Option("--out", help="The WAV file to write.")] = Path("say.wav"),
    persona_name: Annotated[Optional[str], typer.Option(
        "--persona", help="Speak with this persona's voice and default style "
                          "(see `stepvox personas list`).")] = None,
    personas_dir: Annotated[Optional[Path], typer.Option(
        "--personas-dir", help="A folder of your own persona files.")] = None,
) -> None:
    """Speak TEXT with style tags on the embedded voice and write a WAV."""
    console = Console()
    try:
        persona = (PersonaLibrary.for_user(personas_dir).get(persona_name)
                   if persona_name else DEFAULT_PERSONA)
    except PersonaError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    from agent.models.errors import ModelError

    try:
        decoder = _embedded_decoder(persona)
    except ModelError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    spoken = asyncio.run(say_text(text, decoder, persona))
    for sentence in spoken.sentences:
        tags = render_step_audio(sentence.style) or "(neutral)"
        console.print(f"{escape(tags)} {escape(sentence.text)}")
    if spoken.dropped_tags:
        console.print(f"[yellow]dropped tags:[/] {escape(' '.join(spoken.dropped_tags))}")
    path = write_wav(out, spoken.clip)
    console.print(f"wrote {path} ({spoken.clip.duration_s:.2f} s)")
