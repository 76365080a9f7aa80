"""The library behind `timbre_rag`: audio clips and voices, found by what they sound like.

Each entry has a description ("a calm, deep male voice with a British accent") and a
transcript of what is said in it. With an embedder (the packaged MiniLM, see
`audio_embeddings`) entries are found by meaning; keywords (BM25 over description, title,
tags and transcript) are the fallback when no embedder is installed or nothing is close in
meaning. A folder of WAVs becomes a library with `index_audio_folder`.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from tools.builtin.audio_embeddings import Embedder

# Fields that say what an entry sounds like count more than the words spoken in it.
_FIELD_WEIGHTS = {"title": 2.0, "description": 2.0, "tags": 2.0, "transcript": 1.0}
_STOPWORDS = frozenset(
    "a an and the of to in on for with from by is are be that this it me my i you your "
    "please can could would play find use switch voice sound sounds like some something".split()
)
_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")


class AudioEntry(BaseModel):
    """One clip (played to the user) or voice (the agent switches to speaking in it)."""

    id: str
    kind: Literal["clip", "voice"]
    title: str
    description: str = ""
    transcript: str = ""
    tags: list[str] = Field(default_factory=list)
    path: str | None = None  # audio file, relative to the library file's folder


class AudioHit(BaseModel):
    entry: AudioEntry
    score: float
    by: Literal["meaning", "keywords"] = "keywords"


# Cosine similarity above which a MiniLM match counts; below it keywords get their turn.
DEFAULT_MIN_SIMILARITY = 0.35


def terms(text: str) -> list[str]:
    """Lower-case words (and single Chinese characters) without filler words."""
    return [t for t in _WORD.findall(text.lower()) if t not in _STOPWORDS]


def _entry_terms(entry: AudioEntry) -> Counter[str]:
    weighted: Counter[str] = Counter()
    fields = {"title": entry.title, "description": entry.description,
              "tags": " ".join(entry.tags), "transcript": entry.transcript}
    for name, text in fields.items():
        for term in terms(text):
            weighted[term] += _FIELD_WEIGHTS[name]
    return weighted


class AudioLibrary:
    """Entries plus a keyword index over them, and a meaning index when given an embedder."""

    def __init__(
        self,
        entries: list[AudioEntry],
        root: Path | None = None,
        *,
        embedder: Embedder | None = None,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
    ) -> None:
        ids = [e.id for e in entries]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate audio library ids: {', '.join(duplicates)}")
        self.entries = entries
        self.root = root
        self._docs = [_entry_terms(e) for e in entries]
        self._avg_len = sum(sum(d.values()) for d in self._docs) / max(1, len(self._docs))
        self._df: Counter[str] = Counter(t for d in self._docs for t in d)
        self.min_similarity = min_similarity
        self._semantic = None
        if embedder is not None:
            from tools.builtin.audio_embeddings import SemanticIndex

            texts = [f"{e.title}. {e.description}. {' '.join(e.tags)}. {e.transcript}" for e in entries]
            self._semantic = SemanticIndex(texts, embedder)

    @classmethod
    def load(cls, path: Path | str, *, embedder: Embedder | None = None) -> AudioLibrary:
        """Read a `library.json` (a list of entries) written by `save` or by hand."""
        path = Path(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls([AudioEntry.model_validate(item) for item in raw], root=path.parent, embedder=embedder)

    def save(self, path: Path | str) -> None:
        data = [e.model_dump(exclude_none=True) for e in self.entries]
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def audio_path(self, entry: AudioEntry) -> Path | None:
        if entry.path is None:
            return None
        path = Path(entry.path)
        return path if path.is_absolute() or self.root is None else self.root / path

    def search(self, query: str, *, kind: str | None = None, limit: int = 3) -> list[AudioHit]:
        """Best matches first: by meaning when an embedder is set and something is close
        enough (cosine >= `min_similarity`), else by keywords."""
        if self._semantic is not None:
            scores = self._semantic.scores(query)
            ranked = sorted(range(len(self.entries)), key=lambda i: -float(scores[i]))
            hits = [AudioHit(entry=self.entries[i], score=round(float(scores[i]), 4), by="meaning")
                    for i in ranked
                    if scores[i] >= self.min_similarity and (kind is None or self.entries[i].kind == kind)]
            if hits:
                return hits[:limit]
        return self.keyword_search(query, kind=kind, limit=limit)

    def keyword_search(self, query: str, *, kind: str | None = None, limit: int = 3) -> list[AudioHit]:
        """BM25 (k1=1.2, b=0.75) over weighted fields; entries sharing no term are left out."""
        wanted = set(terms(query))
        n = len(self.entries)
        hits = []
        for entry, doc in zip(self.entries, self._docs):
            if kind is not None and entry.kind != kind:
                continue
            length = sum(doc.values())
            score = 0.0
            for term in wanted & doc.keys():
                idf = math.log(1 + (n - self._df[term] + 0.5) / (self._df[term] + 0.5))
                tf = doc[term]
                score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self._avg_len))
            if score > 0:
                hits.append(AudioHit(entry=entry, score=round(score, 4)))
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]


def index_audio_folder(folder: Path | str, *, kind: Literal["clip", "voice"] = "clip") -> AudioLibrary:
    """A library from `folder/*.wav`: `NAME.txt` beside a WAV is its transcript and
    `NAME.json` may hold `title`, `description`, `tags` and `kind`; missing parts are
    left empty (the file name becomes the title, so it is still findable)."""
    folder = Path(folder)
    entries = []
    for wav in sorted(folder.glob("*.wav")):
        meta: dict = {}
        sidecar = wav.with_suffix(".json")
        if sidecar.exists():
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        transcript = wav.with_suffix(".txt")
        entries.append(AudioEntry(
            id=wav.stem,
            kind=meta.get("kind", kind),
            title=meta.get("title", wav.stem.replace("_", " ").replace("-", " ")),
            description=meta.get("description", ""),
            transcript=transcript.read_text(encoding="utf-8").strip() if transcript.exists() else "",
            tags=meta.get("tags", []),
            path=wav.name,
        ))
    return AudioLibrary(entries, root=folder)
