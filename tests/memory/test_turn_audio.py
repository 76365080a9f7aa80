"""The audio option: each turn's user audio and spoken reply kept as WAV files, their paths
stored with the turns, listed by `stepvox history show`, removed by `history delete --user`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import soundfile as sf
from fakes import FixedTranscriber, FixedVad, RecordingDecoder, ScriptedChatModel
from typer.testing import CliRunner

from agent import VoiceAgent
from agent.cli.history import history_app
from memory import SqlDialogueStore

RATE = 16000


def utterance() -> np.ndarray:
    """0.2 s quiet, 0.5 s of a 300 Hz tone (the fake VAD's "speech"), 0.2 s quiet."""
    tone = 0.4 * np.sin(2 * np.pi * 300.0 * np.arange(int(0.5 * RATE)) / RATE)
    quiet = np.zeros(int(0.2 * RATE))
    return np.concatenate([quiet, tone, quiet]).astype(np.float32)


async def test_turn_audio_is_kept_shown_and_deleted_with_the_user(tmp_path):
    db, audio_dir = str(tmp_path / "history.sqlite3"), tmp_path / "audio"
    decoder = RecordingDecoder(RATE)
    agent = VoiceAgent(ScriptedChatModel(["It is 12 noon.", "Sunny."]), decoder=decoder,
                       tokenizer=FixedTranscriber("what time is it"), vad=FixedVad(),
                       memory=SqlDialogueStore(db), tools=[], audio_dir=audio_dir,
                       learn_facts=False)
    clip = utterance()
    await agent.arespond(audio=clip, sample_rate=RATE, conversation_id="c1", user_id="ann")
    await agent.arespond("And the weather?", conversation_id="c1", user_id="ann")
    await agent.aclose()

    async with SqlDialogueStore(db) as store:
        user, reply, typed, reply2 = await store.history("c1")
    assert typed.audio_path is None  # typed, not spoken: no user audio
    for turn in (user, reply, reply2):
        assert Path(turn.audio_path).is_file()
        assert Path(turn.audio_path).parent == audio_dir.resolve() / "c1"
    samples, rate = sf.read(user.audio_path, dtype="float32")
    assert rate == RATE and len(samples) == len(clip)  # the whole utterance as received
    assert np.allclose(samples, clip, atol=1e-3)
    samples, rate = sf.read(reply.audio_path, dtype="float32")
    assert rate == RATE and len(samples) == decoder.samples_for("It is 12 noon.")

    def cli(*args: str):  # the CLI runs its own event loop: not on this test's
        return asyncio.to_thread(CliRunner().invoke, history_app, [*args, "--db", db])

    shown = await cli("show", "c1")
    assert shown.exit_code == 0, shown.output
    for turn in (user, reply, reply2):
        assert turn.audio_path in shown.output.replace("\n", "")
    deleted = await cli("delete", "--user", "ann", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "3 audio files" in deleted.output
    assert not any(Path(t.audio_path).exists() for t in (user, reply, reply2))


async def test_without_an_audio_folder_only_text_is_kept(tmp_path):
    db = str(tmp_path / "history.sqlite3")
    agent = VoiceAgent(ScriptedChatModel(["It is 12 noon."]), decoder=RecordingDecoder(RATE),
                       tokenizer=FixedTranscriber("what time is it"), vad=FixedVad(),
                       memory=SqlDialogueStore(db), tools=[], learn_facts=False)
    await agent.arespond(audio=utterance(), sample_rate=RATE, conversation_id="c1")
    assert [t.audio_path for t in await agent.services.memory.history("c1")] == [None, None]
    await agent.aclose()


async def test_a_conversation_id_cannot_name_a_folder_outside_the_audio_folder(tmp_path):
    agent = VoiceAgent(ScriptedChatModel(["Hi."]), decoder=RecordingDecoder(RATE), tools=[],
                       tokenizer=FixedTranscriber("hello"), vad=FixedVad(),
                       audio_dir=tmp_path / "audio")
    # Inputs tried: conversation ids that are relative paths out of the folder.
    for conversation_id in ("../../etc", ".."):
        await agent.arespond(audio=utterance(), sample_rate=RATE, conversation_id=conversation_id)
        paths = [t.audio_path for t in await agent.services.memory.history(conversation_id)]
        assert all(Path(p).resolve().is_relative_to((tmp_path / "audio").resolve())
                   for p in paths)
        assert len(paths) == 2 and all(Path(p).is_file() for p in paths)
