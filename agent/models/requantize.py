"""A faster copy of a packaged GGUF model, made once with llama.cpp's own quantizer.

The packaged Qwen2.5 0.5B file is "Q4_K_M", but its rows are 896 wide, not a multiple of the
256 that K-quants need, so llama.cpp stored most of it as Q5_0, a type its CPU backend has no
repacked (interleaved) kernels for. Requantized to IQ4_NL (32-wide blocks, repacked at load
time), the same model takes half the time for a 10-token pass and for each decoded token on
two cores (0.53x / 0.50x), for +8.7 % perplexity (bench/README.md, "The embedded LLM
requantized").
The copy is written to a temporary name and moved into place only when the quantizer
succeeded; a stamp beside it records what it was made from, so a changed source or recipe
rebuilds it and a finished copy is never made twice.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.models.errors import ModelError

# llama.cpp's enums (llama.h `llama_ftype`, ggml.h `ggml_type`), for the names a recipe uses.
_FTYPES = {"iq4_nl": 25, "q4_0": 2, "q8_0": 7}
_TENSOR_TYPES = {"iq4_nl": 20, "q4_0": 2, "q5_0": 6, "q8_0": 8}
TensorType = Literal["iq4_nl", "q4_0", "q5_0", "q8_0"]
STAMP_NAME = ".requantized.json"


class Requantization(BaseModel):
    """How to derive the fast copy: the body's type, and those of the output projection and
    the token embeddings (the embeddings are only looked up, so keeping them costs no speed)."""

    model_config = ConfigDict(frozen=True)

    weights_name: str
    body: Literal["iq4_nl", "q4_0", "q8_0"]
    output: TensorType
    embedding: TensorType


class RequantizeError(ModelError):
    """llama.cpp could not write the requantized copy (the packaged model is left as it was)."""

    def __init__(self, source: Path, recipe: Requantization, reason: str) -> None:
        self.source, self.recipe, self.reason = source, recipe, reason
        super().__init__(
            f"Could not requantize {source.name} to {recipe.body.upper()} ({reason}). To fix "
            "it: check the free space of the model cache and run again, or load the packaged "
            "file as it is with STEPVOX_LLM_REQUANTIZE=false.")


class RequantizedStamp(BaseModel):
    """What a finished copy was made from; trusted while its size and mtime_ns are unchanged."""

    recipe: Requantization
    source_sha256: str
    llama_cpp: str
    size: int
    mtime_ns: int

    def matches(self, path: Path, recipe: Requantization, source_sha256: str) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        return (self.recipe, self.source_sha256, self.size, self.mtime_ns) == (
            recipe, source_sha256, st.st_size, st.st_mtime_ns)


def ensure_requantized(source: Path, folder: Path, recipe: Requantization, source_sha256: str,
                       *, lock: Callable[[Path], contextlib.AbstractContextManager],
                       announce: Callable[[str], object] | None = None,
                       title: str = "the model") -> Path:
    """The requantized copy of the verified `source` in `folder`, made now if there is none
    made from these bytes by this recipe (`lock` serialises processes sharing the cache)."""
    target = folder / recipe.weights_name
    stamp_path = folder / STAMP_NAME
    if _ready(stamp_path, target, recipe, source_sha256):
        return target
    with lock(folder):
        if _ready(stamp_path, target, recipe, source_sha256):  # another process made it
            return target
        if announce is not None:
            announce(f"Requantizing {title} to {recipe.body.upper()} (once, about a minute)")
        requantize(source, target, recipe)
        st = target.stat()
        stamp = RequantizedStamp(recipe=recipe, source_sha256=source_sha256,
                                 llama_cpp=llama_cpp_version(), size=st.st_size,
                                 mtime_ns=st.st_mtime_ns)
        tmp = stamp_path.with_name(f".{stamp_path.name}.{os.getpid()}.partial")
        try:
            tmp.write_text(stamp.model_dump_json())
            os.replace(tmp, stamp_path)
        except OSError:  # a read-only stamp: the copy still loads; it is remade next start
            tmp.unlink(missing_ok=True)
    return target


def _ready(stamp_path: Path, target: Path, recipe: Requantization, source_sha256: str) -> bool:
    try:
        stamp = RequantizedStamp.model_validate_json(stamp_path.read_bytes())
    except (OSError, ValueError):  # absent or garbled: not made yet
        return False
    return stamp.matches(target, recipe, source_sha256)


def requantize(source: Path, target: Path, recipe: Requantization) -> None:
    """Write `source` requantized by `recipe` to `target` (replaced only on success)."""
    try:
        import llama_cpp
        from llama_cpp._utils import suppress_stdout_stderr
    except ImportError as exc:  # the llm extra is missing: the caller cannot load it either
        raise RequantizeError(source, recipe, f"llama-cpp-python is not installed: {exc}") from exc
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _FTYPES[recipe.body]
    params.output_tensor_type = _TENSOR_TYPES[recipe.output]
    params.token_embedding_type = _TENSOR_TYPES[recipe.embedding]
    params.allow_requantize = True  # the source is already quantized: that is the point
    params.nthread = os.cpu_count() or 1
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with suppress_stdout_stderr(disable=False):  # a line per tensor otherwise
            rc = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
        if rc != 0 or not tmp.is_file():
            raise RequantizeError(source, recipe, f"llama_model_quantize returned {rc}")
        with open(tmp, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise RequantizeError(source, recipe, "the result is not a GGUF file")
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def llama_cpp_version() -> str:
    try:
        import llama_cpp
    except ImportError:
        return "missing"
    return str(getattr(llama_cpp, "__version__", "unknown"))
