"""`StepAudioTokenizer` on stand-in files in the real formats: random k-means centroids in a
`.npy`, an ONNX graph (built with the `onnx` helper) with the CosyVoice tokenizer's inputs and
output, and a stand-in Paraformer encoder producing 16.7 Hz features."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from speech.audio import AudioClip
from speech.protocols import SpeechTokenizer
from speech.step_audio.tokenizer import (
    CENTROIDS_FILE, PARAFORMER_DIR, SEMANTIC_ONNX_FILE, StepAudioTokenizer, TokenizerFileError,
    TokenizerFilesMissingError, nearest_centroids, whisper_log_mel,
)
from speech.step_audio.tokens import (
    AudioTokenRangeError, parse_audio_tokens, split_codebooks,
)
from tokenizer_stand_ins import (
    DIM, StandInEncoder, add_paraformer_files, make_step_audio_checkout, make_tokenizer_dir,
    semantic_onnx, speech,
)


@pytest.fixture
def tokenizer_dir(tmp_path):
    return make_tokenizer_dir(tmp_path)


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


def test_paraformer_from_a_checkout_names_each_missing_file(tokenizer_dir):
    tmp_path = tokenizer_dir
    from speech.step_audio.paraformer import ParaformerMissingError

    (tokenizer_dir / PARAFORMER_DIR).mkdir(parents=True)
    (tokenizer_dir / PARAFORMER_DIR / "config.yaml").write_text("encoder: SANMEncoderChunkOpt\n")
    with pytest.raises(ParaformerMissingError) as info:
        StepAudioTokenizer.from_dir(tokenizer_dir, step_audio_checkout=tmp_path / "Step-Audio")
    assert [str(p.relative_to(tmp_path)) for p in info.value.missing] == [
        f"{PARAFORMER_DIR}/model.pt", f"{PARAFORMER_DIR}/am.mvn",
        "Step-Audio/funasr_detach/__init__.py"]


def test_paraformer_runs_through_the_checkouts_funasr_fork(tokenizer_dir, tmp_path, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "path", list(sys.path))
    checkout = make_step_audio_checkout(tmp_path / "Step-Audio")
    add_paraformer_files(tokenizer_dir)
    try:
        tokenizer = StepAudioTokenizer.from_dir(tokenizer_dir, step_audio_checkout=checkout)
        clip = speech(2.0)
        tokens = tokenizer.tokens(clip)
        funasr = sys.modules["funasr_detach"]
        assert funasr.calls[0] == (16_000, {
            "chunk_size": [0, 4, 5], "encoder_chunk_look_back": 4, "decoder_chunk_look_back": 1,
            "device": "cpu", "is_final": True, "cache": {}})
    finally:
        sys.modules.pop("funasr_detach", None)
    reference = StepAudioTokenizer.from_dir(tokenizer_dir, linguistic_encoder=StandInEncoder())
    # The WAV round trip (16-bit) may move a feature across a k-means boundary, rarely.
    same = sum(a == b for a, b in zip(tokens, reference.tokens(clip)))
    assert len(tokens) == 80 and same >= 76
