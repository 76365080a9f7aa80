"""`StepAudioTTSDecoder`: Step-Audio-TTS-3B from a local checkpoint as a `SpeechDecoder`.

    tokenizer = StepAudioTokenizer.from_dir("Step-Audio-Tokenizer", linguistic_encoder=...)
    decoder = StepAudioTTSDecoder.from_dir("Step-Audio-TTS-3B", speech_tokenizer=tokenizer,
                                           step_audio_checkout="Step-Audio")
    decoder.clone_voice("Anna", "anna.wav", "What Anna says in anna.wav.")
    async for chunk in decoder.synthesize("Hello!", Style(emotion="happy")): ...

The text (with Step-Audio style tags in front) and the voice prompt become the exact token
layout of `speech.step_audio.tts_prompt`; the LLM then writes audio tokens, decoded here with a
static KV cache (`speech.step_audio.fast_decode`), the repetition-aware rule and an audio-only
mask; every `chunk_groups` whole 120 ms groups go to the token-to-wave stage, so the first
audio comes long before the utterance is fully generated.
"""

from __future__ import annotations

import json
import threading
from contextlib import aclosing
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from speech.audio import AudioClip, AudioSource, load_audio
from speech.errors import ModelFilesMissingError, SpeechError
from speech.protocols import AudioChunk
from speech.step_audio.tokens import GROUP_SIZE, from_llm_ids
from speech.step_audio.tts_prompt import EOT_ID, VoicePrompt, prompt_for, uses_music_flow
from speech.style import Style
from speech.step_audio.token2wave import CosyVoiceTokenToWave, TokenToWave

CONFIG_FILES = ("config.json", "tokenizer_config.json")
# Either name in each group will do.
ONE_OF = (("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
           "pytorch_model.bin.index.json"), ("tokenizer.model", "tokenizer.json"))


class TTSCheckpointMissingError(ModelFilesMissingError):
    """Files of the Step-Audio-TTS-3B directory are missing; `missing` names each one."""

    what, repository = "Step-Audio-TTS-3B", "stepfun-ai/Step-Audio-TTS-3B"


class NoVoiceError(SpeechError, LookupError):
    """The decoder has no voice to speak in (or not the one asked for)."""


class TokenToWaveNotGivenError(SpeechError, ValueError):
    """`from_dir` got neither a token-to-wave stage nor a Step-Audio checkout to load one."""


def missing_checkpoint_files(directory: Path) -> list[str]:
    missing = [name for name in CONFIG_FILES if not (directory / name).exists()]
    missing += [" or ".join(group) for group in ONE_OF
                if not any((directory / name).exists() for name in group)]
    return missing


class StepAudioTTSSettings(BaseModel):
    """Decoding settings; temperature 0.7 with sampling is what Step-Audio's tts.py uses."""

    temperature: float = Field(0.7, ge=0.0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(2048, gt=0, description="2048 tokens = about 49 s of speech")
    min_new_tokens: int = Field(GROUP_SIZE, ge=0, description="no stop before this many")
    first_chunk_groups: int = Field(5, gt=0, description="groups (120 ms each) in chunk 1")
    chunk_groups: int = Field(25, gt=0, description="groups per later chunk")
    seed: int | None = None


class StepAudioTTSDecoder:
    """A `SpeechDecoder` over a Step-Audio-TTS-3B causal LM and a `TokenToWave` stage."""

    def __init__(self, model: Any, tokenizer: Any, token_to_wave: TokenToWave, *,
                 settings: StepAudioTTSSettings | None = None,
                 voices: Iterable[VoicePrompt] = (), speech_tokenizer: Any = None,
                 compile: bool | None = None) -> None:
        from speech.step_audio.fast_decode import StaticCacheGenerator

        self.model = model
        self.tokenizer = tokenizer
        self.token_to_wave = token_to_wave
        self.settings = settings or StepAudioTTSSettings()
        self.speech_tokenizer = speech_tokenizer
        self.voices: dict[str, VoicePrompt] = {}
        self.default_voice: str | None = None
        for voice in voices:
            self.add_voice(voice)
        self.generator = StaticCacheGenerator(model, compile=compile)
        self._lock = threading.Lock()  # one utterance at a time: the KV cache is shared

    @property
    def sample_rate(self) -> int:
        return self.token_to_wave.sample_rate

    @classmethod
    def from_dir(cls, checkpoint_dir: str | Path, *, token_to_wave: TokenToWave | None = None,
                 step_audio_checkout: str | Path | None = None, speech_tokenizer: Any = None,
                 device: str | None = None, dtype: Any = None, trust_remote_code: bool = True,
                 settings: StepAudioTTSSettings | None = None,
                 compile: bool | None = None) -> StepAudioTTSDecoder:
        """Load the LLM and its tokenizer from `checkpoint_dir`. The token-to-wave stage is
        `token_to_wave`, or the CosyVoice models loaded with the code of `step_audio_checkout`
        (whose `speakers/` voices are then registered, if `speech_tokenizer` is given).
        `trust_remote_code`: the real checkpoint ships its own model class (Step1)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        root = Path(checkpoint_dir).expanduser()
        if missing := missing_checkpoint_files(root):
            raise TTSCheckpointMissingError(root, missing)
        if token_to_wave is None:
            if step_audio_checkout is None:
                raise TokenToWaveNotGivenError(
                    "StepAudioTTSDecoder needs a token-to-wave stage: pass step_audio_checkout= "
                    "(a clone of stepfun-ai/Step-Audio) or token_to_wave=.")
            token_to_wave = CosyVoiceTokenToWave.load(root, step_audio_checkout)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = dtype or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        model = AutoModelForCausalLM.from_pretrained(
            root, dtype=dtype, trust_remote_code=trust_remote_code).to(device)
        tokenizer = AutoTokenizer.from_pretrained(root, trust_remote_code=trust_remote_code)
        decoder = cls(model, tokenizer, token_to_wave, settings=settings,
                      speech_tokenizer=speech_tokenizer, compile=compile)
        if step_audio_checkout is not None and speech_tokenizer is not None:
            decoder.load_checkout_speakers(step_audio_checkout)
        return decoder

    # ------------------------------------------------------------------ voices

    def add_voice(self, voice: VoicePrompt, *, default: bool | None = None) -> VoicePrompt:
        self.voices[voice.name] = voice
        if default or self.default_voice is None:
            self.default_voice = voice.name
        return voice

    def clone_voice(self, name: str, recording: AudioSource | AudioClip, transcript: str, *,
                    default: bool | None = None) -> VoicePrompt:
        """A voice from a short recording and its transcript, tokenized with the Step-Audio
        tokenizer; it becomes the default voice when it is the first or `default=True`."""
        if self.speech_tokenizer is None:
            raise NoVoiceError("cloning a voice needs the Step-Audio tokenizer: pass "
                               "speech_tokenizer=StepAudioTokenizer.from_dir(...)")
        clip = recording if isinstance(recording, AudioClip) else load_audio(recording)
        tokens = self.speech_tokenizer.tokens(clip)
        return self.add_voice(VoicePrompt(name, transcript, tuple(tokens), clip), default=default)

    def load_checkout_speakers(self, checkout: str | Path) -> list[str]:
        """Register the built-in voices of a Step-Audio checkout (`speakers/speakers_info.json`
        maps a name to its transcript; `speakers/{name}_prompt.wav` is the recording)."""
        folder = Path(checkout).expanduser() / "speakers"
        info_file = folder / "speakers_info.json"
        if not info_file.exists():
            raise NoVoiceError(f"{info_file} is missing: is {checkout} a Step-Audio checkout?")
        names = []
        for name, transcript in json.loads(info_file.read_text(encoding="utf-8")).items():
            self.clone_voice(name, folder / f"{name}_prompt.wav", transcript)
            names.append(name)
        return names

    def voice_for(self, style: Style | None, name: str | None = None) -> VoicePrompt:
        """The named voice, else the default; RAP and humming use `{voice}RAP` / `{voice}哼唱`
        when such a voice is registered (Step-Audio ships TingtingRAP and Tingting哼唱)."""
        name = name or self.default_voice
        if name is None:
            raise NoVoiceError("no voice registered: call clone_voice(name, wav, transcript) "
                               "or load_checkout_speakers(step_audio_checkout) first")
        if name not in self.voices:
            raise NoVoiceError(f"no voice named {name!r}; known: {', '.join(self.voices)}")
        if style is not None and (style.rap or style.singing):
            music_name = name + ("RAP" if style.rap else "哼唱")
            return self.voices.get(music_name, self.voices[name])
        return self.voices[name]

    # ------------------------------------------------------------------ decoding

    def prompt_ids(self, text: str, style: Style | None = None,
                   voice: str | None = None) -> list[int]:
        return prompt_for(self.tokenizer, text, style, self.voice_for(style, voice))

    def logits_processors(self, prompt_length: int):
        from transformers import LogitsProcessorList, MinNewTokensLengthLogitsProcessor

        from speech.step_audio.tts_logits import (
            AudioOnlyLogitsProcessor, RepetitionAwareLogitsProcessor,
        )

        vocab = self.model.get_output_embeddings().weight.shape[0]
        return LogitsProcessorList([
            MinNewTokensLengthLogitsProcessor(prompt_length, self.settings.min_new_tokens,
                                              EOT_ID),
            AudioOnlyLogitsProcessor([EOT_ID], vocab_size=vocab),
            RepetitionAwareLogitsProcessor(),
        ])

    def stream_tokens(self, text: str, style: Style | None = None, voice: str | None = None,
                      *, stop: threading.Event | None = None) -> Iterator[list[int]]:
        """Audio tokens N in chunks of whole groups (`first_chunk_groups`, then
        `chunk_groups`); a trailing partial group is dropped, as the tokenizer does."""
        import torch

        s = self.settings
        ids = self.prompt_ids(text, style, voice)
        generator = None
        if s.seed is not None:
            generator = torch.Generator(device=self.generator.device).manual_seed(s.seed)
        pending: list[int] = []
        want = s.first_chunk_groups * GROUP_SIZE
        with self._lock:
            for step in self.generator.stream(
                    ids, max_new_tokens=s.max_new_tokens, stop_ids=[EOT_ID],
                    logits_processor=self.logits_processors(len(ids)),
                    temperature=s.temperature, top_p=s.top_p, generator=generator):
                token = int(step[0])
                if token == EOT_ID or (stop is not None and stop.is_set()):
                    break
                pending.append(token)
                if len(pending) >= want:
                    yield from_llm_ids(pending[:want])
                    del pending[:want]
                    want = s.chunk_groups * GROUP_SIZE
        whole = len(pending) - len(pending) % GROUP_SIZE
        if whole and not (stop is not None and stop.is_set()):
            yield from_llm_ids(pending[:whole])

    def _chunks(self, text: str, style: Style | None, voice: str | None,
                stop: threading.Event) -> Iterator[AudioChunk]:
        prompt_voice = self.voice_for(style, voice)
        music = uses_music_flow(style)
        for tokens in self.stream_tokens(text, style, voice, stop=stop):
            wave = np.asarray(self.token_to_wave.to_wave(tokens, prompt_voice, music=music),
                              dtype=np.float32).reshape(-1)
            yield AudioChunk(wave, self.sample_rate, text=text,
                             extra={"audio_tokens": tokens, "voice": prompt_voice.name})

    async def synthesize(self, text: str, style: Style | None = None, *,
                         voice: str | None = None) -> AsyncIterator[AudioChunk]:
        """Audio chunks as generation goes; generation and token-to-wave run in a worker
        thread. Closing the iterator early (barge-in) stops the generation."""
        from speech.step_audio.fast_decode import iterate_in_thread

        if not text.strip():
            return
        # aclosing: an early close of this stream must reach the worker thread at once.
        async with aclosing(iterate_in_thread(
                lambda stop: self._chunks(text, style, voice, stop))) as chunks:
            async for chunk in chunks:
                yield chunk
