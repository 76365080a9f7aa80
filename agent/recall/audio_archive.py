"""Keeping each turn's audio as WAV files (off by default: history is text).

With an audio folder set (`VoiceAgent(audio_dir=...)` or STEPVOX_AUDIO_DIR), the user's
utterance and the spoken reply of every turn are written as 16-bit WAV files under
`<audio_dir>/<conversation id>/`, and their paths are stored with the turns (`audio_path`), so
`stepvox history show` lists them and `stepvox history delete --user U` removes them.

The paths are chosen when the turn is stored; the files are written right after, in a worker
thread, once the reply's last audio chunk has gone out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class TurnAudioArchive:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def paths(self, conversation_id: str) -> dict[str, str]:
        """New file paths for one turn's user audio and reply audio."""
        # Conversation ids come from callers: keep them from naming folders elsewhere.
        name = _UNSAFE.sub("_", conversation_id)[:100].lstrip(".")  # never "..": no way out
        folder = self.root / (name or "conversation")
        stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        return {"user": str(folder / f"{stem}-user.wav"),
                "assistant": str(folder / f"{stem}-reply.wav")}

    async def write(self, path: str, samples: np.ndarray, sample_rate: int) -> bool:
        """Write one file; False (logged) when it cannot be written: the turn stays stored,
        only its audio is lost, and no partial file is left under the stored path."""
        try:
            await asyncio.to_thread(_write_wav, Path(path), samples, sample_rate)
            return True
        except (OSError, ValueError, RuntimeError) as exc:
            # libsndfile says only "System error." on a full disk: the free space says why.
            log.warning("could not keep turn audio %s (%s free on its disk): %s: %s; the "
                        "turn is stored without it", path, _free_space(Path(path)),
                        type(exc).__name__, exc)
            return False


async def keep_turn(archive, paths: dict[str, str], user: tuple[np.ndarray, int] | None,
                    reply: list, reply_rate: int) -> None:
    """Write a stored turn's files through `archive` (this one, or a speculation's, which
    holds them until commit): the user's clip when the turn was heard, and the reply's
    chunks (an empty file when nothing was spoken, so the stored path exists)."""
    if user is not None and "user" in paths:
        await archive.write(paths["user"], *user)
    if "assistant" in paths:
        rate = reply[0].sample_rate if reply else reply_rate
        samples = (np.concatenate([c.samples for c in reply]) if reply
                   else np.zeros(0, dtype=np.float32))
        await archive.write(paths["assistant"], samples, rate)


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed into place: a write cut short (disk full, process killed)
    # never leaves a truncated WAV under the path the history names.
    partial = path.with_name(path.name + ".part")
    try:
        sf.write(partial, np.clip(samples, -1.0, 1.0), sample_rate, subtype="PCM_16",
                 format="WAV")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _free_space(path: Path) -> str:
    for folder in (path.parent, *path.parents):
        if folder.exists():
            try:
                return f"{shutil.disk_usage(folder).free:,} bytes"
            except OSError:
                break
    return "unknown"
