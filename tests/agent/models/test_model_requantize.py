"""The requantized copy of the packaged LLM: made once by llama.cpp's own quantizer, trusted
while its stamp matches, remade when it or its recipe changes, and a clear error (with no
half-written file) when the quantizer fails or the source is not a GGUF model."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest

from embedded_gate import require_embedded

require_embedded()

import agent.models.requantize as model_requantize  # noqa: E402
from agent.models.cache import ModelStore  # noqa: E402
from agent.models.catalog import DEFAULT_MODELS, EMBEDDED_MODELS, ModelSpec, PackagedFile  # noqa: E402
from agent.models.requantize import (  # noqa: E402
    STAMP_NAME, Requantization, RequantizeError, ensure_requantized,
)

SPEC = EMBEDDED_MODELS[DEFAULT_MODELS["llm"]]


@contextlib.contextmanager
def _no_lock(_folder: Path):
    yield True


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path]:
    """(packaged Q4_K_M file, its IQ4_NL copy made in a fresh folder): one real requantization."""
    source = ModelStore(progress=False, requantize=False).resolve(SPEC.key)
    folder = tmp_path_factory.mktemp("requantized")
    assert SPEC.requantize is not None
    return source, ensure_requantized(source, folder, SPEC.requantize, SPEC.sha256, lock=_no_lock)


def _greedy(path: Path, prompt: str, n: int = 6) -> tuple[str, dict]:
    import llama_cpp

    llm = llama_cpp.Llama(str(path), n_ctx=256, n_threads=2, verbose=False)
    out = llm.create_completion(prompt, max_tokens=n, temperature=0.0)
    return out["choices"][0]["text"], dict(llm.metadata)


def test_the_copy_is_iq4_nl_smaller_and_answers_like_the_source(made):
    # Tried: the packaged 0.5B file requantized by the catalog's recipe, and a factual prompt
    # on both files with greedy decoding.
    source, copy = made
    assert copy.name == "qwen2.5-coder-0.5b-instruct-iq4_nl.gguf" and copy.read_bytes()[:4] == b"GGUF"
    assert copy.stat().st_size < 0.85 * source.stat().st_size
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    text, meta = _greedy(copy, prompt)
    assert meta["general.file_type"] == "25"  # LLAMA_FTYPE_MOSTLY_IQ4_NL
    assert "Paris" in text and "Paris" in _greedy(source, prompt)[0]
    stamp = (copy.parent / STAMP_NAME).read_text()
    assert SPEC.sha256 in stamp and '"body":"iq4_nl"' in stamp
    assert not list(copy.parent.glob("*.partial"))


def test_a_finished_copy_is_not_made_again(made, monkeypatch):
    source, copy = made
    mtime = copy.stat().st_mtime_ns

    def refuse(*_args, **_kwargs):
        raise AssertionError("requantized a copy whose stamp matches")

    monkeypatch.setattr(model_requantize, "requantize", refuse)
    assert ensure_requantized(source, copy.parent, SPEC.requantize, SPEC.sha256, lock=_no_lock) == copy
    assert copy.stat().st_mtime_ns == mtime


def test_a_changed_copy_or_recipe_is_remade_and_a_failing_quantizer_is_a_named_error(
        made, tmp_path, monkeypatch):
    # Tried: (1) a copy whose bytes changed after it was stamped, (2) a new recipe for an
    # untouched copy, each with llama.cpp's quantizer returning an error code: both try to
    # remake it, raise RequantizeError naming the file and the fix, leave no partial file,
    # and leave the source as it was.
    import llama_cpp

    source, copy = made
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / copy.name).write_bytes(copy.read_bytes())
    (folder / STAMP_NAME).write_text((copy.parent / STAMP_NAME).read_text()
                                     .replace(str(copy.stat().st_mtime_ns),
                                              str((folder / copy.name).stat().st_mtime_ns)))
    calls = []

    def failing(src, dst, params):
        calls.append((src, params.ftype))
        Path(dst.decode()).write_bytes(b"GGUF half")  # a partial file the failure must remove
        return 1

    monkeypatch.setattr(llama_cpp, "llama_model_quantize", failing)
    # The stamp moved with the copy: it is trusted as it is.
    assert ensure_requantized(source, folder, SPEC.requantize, SPEC.sha256, lock=_no_lock)
    assert calls == []
    with open(folder / copy.name, "ab") as fh:
        fh.write(b"\0")  # changed after stamping
    with pytest.raises(RequantizeError, match="llama_model_quantize returned 1") as err:
        ensure_requantized(source, folder, SPEC.requantize, SPEC.sha256, lock=_no_lock)
    assert "STEPVOX_LLM_REQUANTIZE=false" in str(err.value) and source.name in str(err.value)
    other = Requantization(weights_name=copy.name, body="q4_0", output="q4_0", embedding="q5_0")
    with pytest.raises(RequantizeError):
        ensure_requantized(source, copy.parent, other, SPEC.sha256, lock=_no_lock)
    assert [ftype for _, ftype in calls] == [25, 2]
    assert not list(folder.glob(".*partial")) and not list(copy.parent.glob(".*partial"))
    assert hashlib.sha256(source.read_bytes()).hexdigest() == SPEC.sha256


def test_the_store_refuses_a_source_that_is_not_gguf_and_can_load_the_packaged_bytes(tmp_path):
    # Tried: a one-part "llm" whose bytes are not a GGUF model, with a requantize recipe: the
    # real quantizer fails on it and the store says so by name; requantize=False loads it.
    data = b"not a gguf model" * 64
    site = tmp_path / "site" / "fake_llm"
    site.mkdir(parents=True)
    (site / "m.gguf").write_bytes(data)
    spec = ModelSpec(key="fake-llm", role="llm", title="Fake", description="test", license="MIT",
                     parts=[PackagedFile(distribution="fake-llm", version="1", module="fake_llm",
                                         path="m.gguf")],
                     layout="file", weights_name="m.gguf", sha256=hashlib.sha256(data).hexdigest(),
                     size=len(data), requantize=Requantization(
                         weights_name="m-iq4_nl.gguf", body="iq4_nl", output="iq4_nl",
                         embedding="q5_0"))

    def locate(part):
        return site / part.path

    store = ModelStore(tmp_path / "cache", specs={"fake-llm": spec}, progress=False,
                       defaults={"llm": "fake-llm"}, locator=locate)
    with pytest.raises(RequantizeError, match="m.gguf"):
        store.resolve("fake-llm")
    assert not (tmp_path / "cache" / "fake-llm" / "m-iq4_nl.gguf").exists()
    assert not list((tmp_path / "cache" / "fake-llm").glob(".*partial"))
    plain = ModelStore(tmp_path / "cache", specs={"fake-llm": spec}, progress=False,
                       defaults={"llm": "fake-llm"}, locator=locate, requantize=False)
    assert plain.resolve("fake-llm") == site / "m.gguf"
