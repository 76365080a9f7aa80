"""The disk fills up while a turn's audio is being archived (`VoiceAgent(audio_dir=...)`).

The audio folder is a real full disk: a 256 KiB tmpfs mounted for the test and filled until
the kernel says ENOSPC, with 8 KiB left so the WAV header fits and its samples do not (the
nastiest case: libsndfile leaves a truncated file). The history is on another disk, as it
would be in production. Only the audio may be lost: the caller hears the reply, the turn is
stored, no truncated WAV is left under the path the history names, each lost file is logged
with the disk's free space, the next turn works, and once space is freed audio is kept again.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agent import VoiceAgent
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
from memory import SqlDialogueStore

REPLY = "Your parcel arrives on Tuesday."
LEFT_FREE = 8 * 1024


@pytest.fixture
def full_disk(tmp_path):
    """A mounted 256 KiB tmpfs, filled so that only `LEFT_FREE` bytes remain."""
    mount = tmp_path / "audio"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("a full disk is made by mounting a small tmpfs, which needs root "
                    f"(CAP_SYS_ADMIN): {done.stderr.strip() or done.returncode}")
    filler = mount / "filler"
    try:
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == 28  # ENOSPC: the disk really is full
        os.truncate(filler, filler.stat().st_size - LEFT_FREE)
        yield mount, filler
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def utterance() -> np.ndarray:
    t = np.arange(16_000) / 16_000  # one second: 32 KB as PCM16, more than is left
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


async def test_a_full_disk_loses_only_the_audio(full_disk, tmp_path, caplog):
    mount, filler = full_disk
    decoder = RecordingDecoder()
    history = SqlDialogueStore(tmp_path / "history.sqlite3")  # on another disk
    agent = VoiceAgent(ScriptedChatModel([REPLY]), decoder=decoder,
                       tokenizer=FixedTranscriber("where is my parcel"), tools=[],
                       memory=history, audio_dir=mount, learn_facts=False)
    try:
        with caplog.at_level(logging.WARNING, logger="agent.recall.audio_archive"):
            reply = await agent.arespond(audio=utterance(), sample_rate=16_000,
                                         conversation_id="c1")
        assert reply.text == REPLY and len(reply.audio) > 0  # heard
        turns = await history.history("c1")
        assert [(t.role, t.text) for t in turns] == [("user", "where is my parcel"),
                                                      ("assistant", REPLY)]
        for turn in turns:  # nothing truncated under the names the history keeps
            assert turn.audio_path and not Path(turn.audio_path).exists()
        assert sorted(p.name for p in mount.rglob("*") if p.is_file()) == ["filler"]
        lost = [r.getMessage() for r in caplog.records
                if "could not keep turn audio" in r.getMessage()]
        assert len(lost) == 2 and all("bytes free" in m for m in lost), lost

        again = await agent.arespond(audio=utterance(), sample_rate=16_000, conversation_id="c1")
        assert again.text == REPLY and len(await history.history("c1")) == 4

        filler.unlink()  # space is freed: audio is kept again, whole
        kept = await agent.arespond(audio=utterance(), sample_rate=16_000, conversation_id="c1")
        user, assistant = (await history.history("c1"))[-2:]
        assert kept.text == REPLY
        assert sf.info(user.audio_path).frames == 16_000
        assert sf.info(assistant.audio_path).frames == len(kept.audio)
    finally:
        await agent.aclose()
