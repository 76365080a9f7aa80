"""The Paraformer encoder of the Step-Audio tokenizer, run by the FunASR fork of a Step-Audio
checkout (`funasr_detach/`), as a `LinguisticEncoder`.

Step-Audio's linguistic codes are the streaming Paraformer encoder's output (16.7 Hz, one frame
per 60 ms) quantized with k-means. The encoder is FunASR's SANM model with its own front end
(fbank, LFR, CMVN) and the chunked streaming attention the codes were made with, so it runs
with the code it was trained with: the fork vendored in the user's clone of
stepfun-ai/Step-Audio. Settings as upstream: chunk size [0, 4, 5], encoder look-back 4.
"""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from speech.errors import SpeechError

CHECKOUT_PACKAGE_FILE = "funasr_detach/__init__.py"
PARAFORMER_FILES = ("model.pt", "config.yaml", "am.mvn")
CHUNK_SIZE = [0, 4, 5]
ENCODER_LOOK_BACK = 4
DECODER_LOOK_BACK = 1


class ParaformerMissingError(SpeechError, FileNotFoundError):
    """Paraformer model files or the FunASR fork are missing; `missing` names each path."""

    def __init__(self, missing: list[Path]) -> None:
        self.missing = missing
        listed = "\n".join(f"  {path}" for path in missing)
        super().__init__(
            f"The Step-Audio Paraformer encoder lacks {len(missing)} file(s):\n{listed}\n"
            "The model folder comes with stepfun-ai/Step-Audio-Tokenizer; the FunASR fork "
            "(funasr_detach/) with a clone of github.com/stepfun-ai/Step-Audio.")


class ParaformerLoadError(SpeechError, RuntimeError):
    """The files are there, but the checkout's FunASR code would not load or run."""


def missing_paraformer_files(model_dir: Path, checkout: Path) -> list[Path]:
    missing = [model_dir / name for name in PARAFORMER_FILES if not (model_dir / name).exists()]
    if not (checkout / CHECKOUT_PACKAGE_FILE).exists():
        missing.append(checkout / CHECKOUT_PACKAGE_FILE)
    return missing


class FunASRParaformerEncoder:
    """`encode(samples_16k) -> (frames, 512)` through `funasr_detach.AutoModel.infer_encoder`."""

    def __init__(self, model: Any, device: str | int = "cpu") -> None:
        self.model = model
        self.device = device

    @classmethod
    def load(cls, model_dir: str | Path, checkout: str | Path, *,
             device: str | int | None = None) -> FunASRParaformerEncoder:
        model_dir, checkout = Path(model_dir).expanduser(), Path(checkout).expanduser()
        if missing := missing_paraformer_files(model_dir, checkout):
            raise ParaformerMissingError(missing)
        if str(checkout) not in sys.path:
            sys.path.insert(0, str(checkout))  # the fork imports itself as a top-level package
        try:
            funasr = importlib.import_module("funasr_detach")
            model = funasr.AutoModel(model=str(model_dir), model_revision="master")
        except ImportError as exc:
            raise ParaformerLoadError(
                f"the Step-Audio checkout's FunASR fork needs {exc.name or exc}: install the "
                f"requirements of {checkout} (requirements.txt).") from exc
        if device is None:
            import torch

            device = 0 if torch.cuda.is_available() else "cpu"
        return cls(model, device)

    def encode(self, samples: np.ndarray) -> np.ndarray:
        wav = io.BytesIO()
        sf.write(wav, np.asarray(samples, np.float32), 16_000, format="WAV", subtype="PCM_16")
        wav.seek(0)
        result, _cache = self.model.infer_encoder(
            input=[wav], chunk_size=CHUNK_SIZE, encoder_chunk_look_back=ENCODER_LOOK_BACK,
            decoder_chunk_look_back=DECODER_LOOK_BACK, device=self.device, is_final=True,
            cache={})
        feats = [np.asarray(r["enc_out"].float().cpu().numpy()) for r in result
                 if len(r["enc_out"]) > 0]
        if not feats:
            return np.zeros((0, 0), np.float32)
        return np.concatenate([f.reshape(-1, f.shape[-1]) for f in feats]).astype(np.float32)
