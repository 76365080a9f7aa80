"""Stand-in Step-Audio-Tokenizer files in the real formats, shared by the tokenizer and TTS
tests: random k-means centroids in a `.npy`, an ONNX graph (built with the `onnx` helper) with
the CosyVoice tokenizer's inputs and output, and a stand-in Paraformer encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from speech.audio import AudioClip
from speech.step_audio.tokenizer import CENTROIDS_FILE, PARAFORMER_DIR, SEMANTIC_ONNX_FILE

DIM = 8
FRAME = 960  # 16 kHz / 16.67 Hz


class StandInEncoder:
    """Per 60 ms frame: the RMS of 8 sub-blocks, a deterministic stand-in for Paraformer."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, samples: np.ndarray) -> np.ndarray:
        self.calls += 1
        n = len(samples) // FRAME
        frames = samples[:n * FRAME].reshape(n, DIM, FRAME // DIM)
        return np.sqrt((frames ** 2).mean(axis=2))


def semantic_onnx(path, modulus: int = 4096) -> None:
    """(1, 128, T) log-mel + (1,) length -> (1, ceil(T/4)) int64 codes: one per 4 mel frames
    (100 Hz -> 25 Hz), like speech_tokenizer_v1."""
    consts = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [2**62]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [2]),
        helper.make_tensor("steps", TensorProto.INT64, [1], [4]),
        helper.make_tensor("mel_axis", TensorProto.INT64, [1], [1]),
        helper.make_tensor("scale", TensorProto.FLOAT, [], [1000.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("modulus", TensorProto.INT64, [], [modulus]),
    ]
    nodes = [
        helper.make_node("Slice", ["feats", "starts", "ends", "axes", "steps"], ["every4"]),
        helper.make_node("ReduceSum", ["every4", "mel_axis"], ["summed"], keepdims=0),
        helper.make_node("Cast", ["feats_length"], ["len_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["len_f", "zero"], ["len_zero"]),
        helper.make_node("Add", ["summed", "len_zero"], ["with_len"]),
        helper.make_node("Abs", ["with_len"], ["magnitude"]),
        helper.make_node("Mul", ["magnitude", "scale"], ["scaled"]),
        helper.make_node("Cast", ["scaled"], ["as_int"], to=TensorProto.INT64),
        helper.make_node("Mod", ["as_int", "modulus"], ["tokens"]),
    ]
    graph = helper.make_graph(
        nodes, "speech_tokenizer_stand_in",
        [helper.make_tensor_value_info("feats", TensorProto.FLOAT, [1, 128, "T"]),
         helper.make_tensor_value_info("feats_length", TensorProto.INT32, [1])],
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "T4"])],
        initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))

def make_tokenizer_dir(path: Path) -> Path:
    """Centroids + semantic ONNX in `path` (no Paraformer folder: pass StandInEncoder)."""
    rng = np.random.default_rng(0)
    np.save(path / CENTROIDS_FILE, rng.random((1024, DIM)).astype(np.float32) * 0.5)
    semantic_onnx(path / SEMANTIC_ONNX_FILE)
    return path


def speech(seconds: float, rate: int = 16_000) -> AudioClip:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return AudioClip((x + 0.02 * rng.standard_normal(len(t))).astype(np.float32), rate)


# The checkout's FunASR fork, standing in for the clone of Step-Audio (not on this machine):
# AutoModel.infer_encoder reads the WAV it is given and returns 16.7 Hz features like
# StandInEncoder, and records the streaming settings it was called with.
FUNASR_STAND_IN = '''
import soundfile, numpy, torch
calls = []
class AutoModel:
    def __init__(self, model, model_revision):
        self.model_dir = model
    def infer_encoder(self, input, **settings):
        samples, rate = soundfile.read(input[0], dtype="float32")
        calls.append((rate, settings))
        n = len(samples) // 960
        frames = samples[:n * 960].reshape(n, 8, 120)
        feats = numpy.sqrt((frames ** 2).mean(axis=2))[None]
        return [{"enc_out": torch.from_numpy(feats)}], {}
'''


def make_step_audio_checkout(path: Path) -> Path:
    """A folder shaped like a Step-Audio clone, holding only the FunASR stand-in."""
    (path / "funasr_detach").mkdir(parents=True)
    (path / "funasr_detach" / "__init__.py").write_text(FUNASR_STAND_IN)
    return path


def add_paraformer_files(tokenizer_dir: Path) -> Path:
    """Empty files under the Paraformer folder's names (the stand-in fork never reads them)."""
    model_dir = tokenizer_dir / PARAFORMER_DIR
    model_dir.mkdir(parents=True)
    for name in ("model.pt", "config.yaml", "am.mvn"):
        (model_dir / name).write_bytes(b"")
    return model_dir
