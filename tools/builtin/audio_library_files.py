"""The audio library shipped with stepvox, for `timbre_rag` out of the box.

`tools/data/audio_library/` holds six clips (a SkyWay boarding announcement, a whispered
bedtime story, a sung lullaby line, a rap line, a cheerful welcome, a breathing-exercise cue)
and four voices (deep narrator, bright presenter, whispering storyteller, singing voice, each
with a ~3 s sample), all made with the embedded Piper voice and stepvox's style rendering by
`scripts/make_audio_library.py`. They are 16 kHz mono 16-bit WAVs with the usual sidecars
(`NAME.txt` transcript, `NAME.json` kind/title/description/tags), so the folder is indexed
like any other with `index_audio_folder` (or `stepvox tools index-audio DIR`).

A voice's `NAME.json` also keeps the `Style` fields that make it (`"style": {"pitch": -3,
"speed": -2}`); `AudioEntry` has no field for them, so `builtin_voice_styles` reads them.
This module stays on the tools side: plain dicts, no `speech` import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tools.builtin.audio_library import DEFAULT_MIN_SIMILARITY, AudioLibrary, index_audio_folder

if TYPE_CHECKING:
    from tools.builtin.audio_embeddings import Embedder

BUILTIN_AUDIO_LIBRARY_DIR = Path(__file__).resolve().parents[1] / "data" / "audio_library"


def builtin_audio_library(
    embedder: Embedder | None = None, *, min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> AudioLibrary:
    """The shipped library; with an `embedder` (e.g. `minilm_embedder()`) it is searched by
    meaning first, else by keywords."""
    indexed = index_audio_folder(BUILTIN_AUDIO_LIBRARY_DIR)
    if embedder is None:
        return indexed
    return AudioLibrary(indexed.entries, root=indexed.root, embedder=embedder,
                        min_similarity=min_similarity)


def builtin_voice_styles() -> dict[str, dict]:
    """Voice id -> its `Style` fields (e.g. `{"pitch": -3, "speed": -2}`), for the speech side
    to build `speech.style.Style(**fields)` when `timbre_rag` says `switch_voice`."""
    styles: dict[str, dict] = {}
    for sidecar in sorted(BUILTIN_AUDIO_LIBRARY_DIR.glob("*.json")):
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if meta.get("kind") == "voice":
            styles[sidecar.stem] = dict(meta.get("style", {}))
    return styles
