"""`StepAudioTokenizer` on stand-in files in the real formats: random k-means centroids in a
`.npy`, an ONNX graph (built with the `onnx` helper) with the CosyVoice tokenizer's inputs and
output, and a stand-in Paraformer encoder producing 16.7 Hz features."""

from __future__ import annotations

import asyncio

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from speech.audio import AudioClip
from speech.protocols import SpeechTokenizer
from speech.step_audio_tokenizer import (
    CENTROIDS_FILE, PARAFORMER_DIR, SEMANTIC_ONNX_FILE, StepAudioTokenizer, TokenizerFileError,
    TokenizerFilesMissingError, nearest_centroids, whisper_log_mel,
)
from speech.step_audio_tokens import (
    AudioTokenRangeError, parse_audio_tokens, split_codebooks,
)

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


@pytest.fixture
def tokenizer_dir(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / CENTROIDS_FILE, rng.random((1024, DIM)).astype(np.float32) * 0.5)
    semantic_onnx(tmp_path / SEMANTIC_ONNX_FILE)
    return tmp_path


def speech(seconds: float, rate: int = 16_000) -> AudioClip:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return AudioClip((x + 0.02 * rng.standard_normal(len(t))).astype(np.float32), rate)


def test_whisper_log_mel_matches_whispers_feature_extractor():
    from transformers import WhisperFeatureExtractor

    x = speech(30.0).samples
    reference = WhisperFeatureExtractor(feature_size=128)(
        x, sampling_rate=16_000, return_tensors="np").input_features[0]
    ours = whisper_log_mel(x)
    assert ours.shape == reference.shape == (128, 3000)
    np.testing.assert_allclose(ours, reference, atol=2e-4)


def test_nearest_centroids_is_k_means_assignment():
    centroids = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    features = np.array([[1.0, 1.0], [9.0, 1.0], [1.0, 8.0], [6.0, 0.0]])
    assert nearest_centroids(features, centroids) == [0, 1, 2, 1]


def test_whole_path_gives_interleaved_tokens_from_both_codebooks(tokenizer_dir):
    encoder = StandInEncoder()
    tokenizer = StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=encoder)
    assert isinstance(tokenizer, SpeechTokenizer)
    clip = speech(2.0, rate=48_000)  # resampled to 16 kHz on the way in
    samples = tokenizer.prepare(clip)
    ling, sem = tokenizer.linguistic_codes(samples), tokenizer.semantic_codes(samples)
    assert len(ling) == 33 and len(sem) == 50  # 16.7 Hz and 25 Hz over 2 s
    transcription = asyncio.run(tokenizer.transcribe(clip))
    tokens = parse_audio_tokens(transcription.audio_tokens)
    assert len(tokens) == 16 * 5  # 16 whole groups; the partial 17th is dropped
    assert split_codebooks(tokens) == (ling[:32], sem[:48])
    assert len(set(sem)) > 5 and len(set(ling)) > 1  # real work, not constants


def test_every_missing_file_is_named(tmp_path):
    with pytest.raises(TokenizerFilesMissingError) as info:
        StepAudioTokenizer.from_dir(tmp_path)
    assert info.value.missing == [CENTROIDS_FILE, SEMANTIC_ONNX_FILE, PARAFORMER_DIR + "/"]
    for name in info.value.missing:
        assert name in str(info.value)
    assert "Step-Audio-Tokenizer" in str(info.value)


def test_an_encoder_makes_the_paraformer_directory_optional(tokenizer_dir):
    (tokenizer_dir / SEMANTIC_ONNX_FILE).unlink()
    with pytest.raises(TokenizerFilesMissingError) as info:
        StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())
    assert info.value.missing == [SEMANTIC_ONNX_FILE]


def test_paraformer_present_without_an_encoder_says_how_to_plug_one_in(tokenizer_dir):
    (tokenizer_dir / PARAFORMER_DIR).mkdir(parents=True)
    with pytest.raises(TokenizerFileError, match="linguistic_encoder="):
        StepAudioTokenizer.from_dir(tokenizer_dir)


def test_wrong_files_are_named_errors(tokenizer_dir):
    np.save(tokenizer_dir / CENTROIDS_FILE, np.zeros((10, DIM)))
    with pytest.raises(TokenizerFileError, match=r"\(1024, D\)"):
        StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())
    np.save(tokenizer_dir / CENTROIDS_FILE, np.zeros((1024, DIM)))
    (tokenizer_dir / SEMANTIC_ONNX_FILE).write_bytes(b"not onnx")
    with pytest.raises(TokenizerFileError, match="could not be loaded by onnxruntime"):
        StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())


def test_encoder_dimension_mismatch_and_out_of_range_codes(tokenizer_dir):
    class Wide(StandInEncoder):
        def encode(self, samples):
            return np.zeros((5, DIM + 1))

    tokenizer = StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=Wide())
    with pytest.raises(TokenizerFileError, match="9"):
        tokenizer.tokens(speech(1.0))
    semantic_onnx(tokenizer_dir / SEMANTIC_ONNX_FILE, modulus=100_000)
    tokenizer = StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())
    with pytest.raises(AudioTokenRangeError, match="outside 0..4095"):
        tokenizer.tokens(speech(1.0))


def test_audio_over_30_s_is_tokenized_in_30_s_chunks(tokenizer_dir):
    tokenizer = StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())
    samples = tokenizer.prepare(speech(31.0))
    assert len(tokenizer.semantic_codes(samples)) == 750 + 25


async def test_streaming_segments_merge_into_whole_groups(tokenizer_dir):
    tokenizer = StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())

    async def mic():
        clip = speech(3.0)
        for start in range(0, len(clip.samples), 3_000):  # ~190 ms pieces, unaligned
            yield AudioClip(clip.samples[start:start + 3_000], 16_000)

    batches = [tokens async for tokens in tokenizer.stream_tokens(mic(), segment_s=1.2)]
    tokens = [t for batch in batches for t in batch]
    assert [len(b) for b in batches] == [50, 50, 25]  # 10 groups per 1.2 s segment
    split_codebooks(tokens)  # whole groups in 2:3 order
