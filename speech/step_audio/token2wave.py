"""The token-to-wave stage of Step-Audio-TTS-3B: audio tokens -> 22.05 kHz samples.

Step-Audio renders its dual-codebook tokens with a CosyVoice flow-matching model and a HiFT
vocoder (`CosyVoice-300M-25Hz` for speech, `CosyVoice-300M-25Hz-Music` for RAP and humming,
both inside the TTS-3B checkpoint directory). The flow is conditioned on the voice prompt: its
tokens, its 22.05 kHz mel features and a CAM++ speaker embedding. That code lives in the user's
Step-Audio checkout (the vendored `cosyvoice` package), so it is loaded from there by
`CosyVoiceTokenToWave.load`; anything else with `to_wave` plugs in through `TokenToWave`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from speech.errors import SpeechError
from speech.step_audio.tts_prompt import VoicePrompt

COSYVOICE_SAMPLE_RATE = 22_050
SPEECH_FLOW_DIR = "CosyVoice-300M-25Hz"
MUSIC_FLOW_DIR = "CosyVoice-300M-25Hz-Music"
FLOW_FILES = ("cosyvoice.yaml", "campplus.onnx", "speech_tokenizer_v1.onnx", "flow.pt", "hift.pt")
CHECKOUT_MODULE_FILE = "cosyvoice/cli/cosyvoice.py"


class TokenToWaveMissingError(SpeechError, FileNotFoundError):
    """The CosyVoice code or model files are missing; `missing` names each path."""

    def __init__(self, missing: list[Path], hint: str) -> None:
        self.missing = missing
        listed = "\n".join(f"  {path}" for path in missing)
        super().__init__(f"The Step-Audio token-to-wave stage lacks {len(missing)} file(s):\n"
                         f"{listed}\n{hint}")


class TokenToWaveLoadError(SpeechError, RuntimeError):
    """The files are there, but the Step-Audio checkout's CosyVoice code would not load."""


@runtime_checkable
class TokenToWave(Protocol):
    """Renders audio tokens N (0..5119) in a voice. `music` selects the RAP/humming flow."""

    sample_rate: int

    def to_wave(self, tokens: list[int], voice: VoicePrompt, *, music: bool = False) -> np.ndarray:
        """Mono float32 samples at `sample_rate`."""
        ...


def missing_flow_files(checkpoint_dir: Path) -> list[Path]:
    return [checkpoint_dir / sub / name for sub in (SPEECH_FLOW_DIR, MUSIC_FLOW_DIR)
            for name in FLOW_FILES if not (checkpoint_dir / sub / name).exists()]


class CosyVoiceTokenToWave:
    """`TokenToWave` over the CosyVoice classes of a Step-Audio checkout.

    `speech_model` / `music_model` are `cosyvoice.cli.cosyvoice.CosyVoice` objects. The voice
    conditioning (mel features, speaker embedding) is computed once per voice and kept.
    """

    sample_rate = COSYVOICE_SAMPLE_RATE

    def __init__(self, speech_model: Any, music_model: Any) -> None:
        self.models = {False: speech_model, True: music_model}
        self._conditioning: dict[tuple[str, bool], dict[str, Any]] = {}

    @classmethod
    def load(cls, checkpoint_dir: str | Path, checkout_dir: str | Path) -> CosyVoiceTokenToWave:
        """Both flow models from `checkpoint_dir` (Step-Audio-TTS-3B), with the code of the
        Step-Audio checkout at `checkout_dir` (a clone of stepfun-ai/Step-Audio)."""
        checkpoint = Path(checkpoint_dir).expanduser()
        checkout = Path(checkout_dir).expanduser()
        missing = missing_flow_files(checkpoint)
        if not (checkout / CHECKOUT_MODULE_FILE).exists():
            missing.append(checkout / CHECKOUT_MODULE_FILE)
        if missing:
            raise TokenToWaveMissingError(
                missing, "Pass the Step-Audio-TTS-3B directory (it holds both CosyVoice model "
                "folders) and a clone of github.com/stepfun-ai/Step-Audio (its cosyvoice/ "
                "package), with that repository's requirements installed.")
        if str(checkout) not in sys.path:
            sys.path.insert(0, str(checkout))
        try:
            cosyvoice = importlib.import_module("cosyvoice.cli.cosyvoice")
            speech = cosyvoice.CosyVoice(str(checkpoint / SPEECH_FLOW_DIR))
            music = cosyvoice.CosyVoice(str(checkpoint / MUSIC_FLOW_DIR))
        except ImportError as exc:
            raise TokenToWaveLoadError(
                f"the Step-Audio checkout's CosyVoice code needs {exc.name or exc}: install "
                f"the requirements of {checkout} (requirements.txt).") from exc
        return cls(speech, music)

    def _condition(self, voice: VoicePrompt, music: bool) -> dict[str, Any]:
        key = (voice.name, music)
        if key not in self._conditioning:
            import torch

            if voice.clip is None:
                raise ValueError(f"voice {voice.name!r} has no recording; the flow model needs "
                                 "one to copy the voice")
            frontend = self.models[music].frontend
            wav22 = torch.from_numpy(voice.clip.resampled(COSYVOICE_SAMPLE_RATE).samples)[None]
            wav16 = torch.from_numpy(voice.clip.resampled(16_000).samples)[None]
            feat, feat_len = frontend._extract_speech_feat(wav22)
            tokens = torch.tensor([list(voice.tokens)], dtype=torch.long)
            self._conditioning[key] = {
                "speech_feat": feat.to(torch.bfloat16), "speech_feat_len": feat_len,
                "prompt_token": tokens,
                "prompt_token_len": torch.tensor([tokens.shape[1]], dtype=torch.long),
                "embedding": frontend._extract_spk_embedding(wav16).to(torch.bfloat16),
            }
        return self._conditioning[key]

    def to_wave(self, tokens: list[int], voice: VoicePrompt, *, music: bool = False) -> np.ndarray:
        import torch

        cond = self._condition(voice, music)
        wave = self.models[music].token_to_wav_offline(
            torch.tensor([tokens], dtype=torch.long), cond["speech_feat"],
            cond["speech_feat_len"], cond["prompt_token"], cond["prompt_token_len"],
            cond["embedding"])
        return np.asarray(wave.float().cpu().numpy(), dtype=np.float32).reshape(-1)
