"""`stepvox demo`: a short scripted spoken conversation on the embedded models.

The caller's questions are synthesized with the agent's own voice (so the demo needs nothing
but the installed packages); when the project's shared test material is beside the checkout,
a real human recording is answered too.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from agent.cli.chat_session import ChatSession
from agent.turn.reply import Reply
from agent.settings import StepvoxSettings
from agent.cli.timing_table import timings_table
from speech.audio import AudioClip, write_wav

# Each question shows one thing a caller must be able to trust, and tests/e2e/test_demo.py
# checks each answer with the real models: the persona's name, a fact, a tool call whose
# argument comes from the words (Tokyo's weekday, not the server's), and an honest "I can't
# check that" for live data no offered tool provides (the default stack is offline).
SCRIPT = [
    "Hi there! What's your name?",
    "What is the capital of Japan?",
    "What day of the week is it in Tokyo?",
    "What's the weather in Paris right now?",
]

_HUMAN_CLIP = Path(__file__).resolve().parents[3] / "shared/testdata/audio/whisper/jfk.flac"
# One exchange in Mandarin with the built-in 小跃: the question is spoken by the Mandarin voice,
# heard by Whisper listening for Chinese, answered by the same LLM and spoken in Mandarin.
CHINESE_PERSONA = "xiaoyue"
CHINESE_QUESTION = "法国的首都是哪里？"
CHINESE_LABEL = f"synthesized (Mandarin, {CHINESE_PERSONA}): {CHINESE_QUESTION!r}"


async def run_demo(settings: StepvoxSettings, console: Console,
                   out_dir: Path) -> list[tuple[str, Reply]]:
    """Speak the script (and the human clip, when present); returns (input, reply) pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    session = ChatSession(settings, console, timings=False, conversation_id=uuid.uuid4().hex)
    try:
        return await _run(session, console, out_dir)
    finally:
        await session.close()


async def _run(session: ChatSession, console: Console,
               out_dir: Path) -> list[tuple[str, Reply]]:
    agent = await session.agent()
    inputs: list[tuple[str, Path]] = []
    for i, question in enumerate(SCRIPT, 1):
        samples = await agent.say(question)
        path = write_wav(out_dir / f"user-{i:02d}.wav", AudioClip(samples, agent.sample_rate))
        inputs.append((f"synthesized: {question!r}", path))
    if _HUMAN_CLIP.is_file():
        inputs.append(("real human speech (JFK, 1961)", _HUMAN_CLIP))

    console.rule(f"[bold]{escape(agent.persona.name)}[/] - scripted demo")
    console.print(f"[bold green]{escape(agent.persona.name)}[/]: {escape(agent.persona.greeting_text())}")
    marks: list[dict[str, float]] = []
    replies: list[tuple[str, Reply]] = []
    for i, (label, path) in enumerate(inputs, 1):
        console.print(f"\n[dim]turn {i}: {escape(label)} <- {path}[/]")
        reply = await session.turn(audio=path)
        out = out_dir / f"reply-{i:02d}.wav"
        write_wav(out, AudioClip(reply.audio, reply.sample_rate))
        first = reply.timings_ms.get("tts_first_audio", float("nan"))
        console.print(f"[dim]-> {out} ({reply.audio_duration_s:.1f} s); end of speech -> "
                      f"first audio {first:.0f} ms[/]")
        marks.append(reply.timings_ms)
        replies.append((label, reply))
    chinese = await _chinese_exchange(session, agent, console, out_dir, len(inputs) + 1)
    if chinese is not None:
        marks.append(chinese.timings_ms)
        replies.append((CHINESE_LABEL, chinese))
    console.print()
    console.print(timings_table(marks, title=f"Per-stage latency over {len(marks)} turns "
                                "(ms from the end of the user's speech)"))
    return replies


async def _chinese_exchange(session: ChatSession, agent, console: Console, out_dir: Path,
                            turn: int) -> Reply | None:
    """小跃 on the loaded models: the Mandarin voice is added and Whisper told to listen for
    Chinese. Skipped, with the reason shown, when the models cannot do it (tiny.en, the
    Mandarin voice not installed)."""
    from agent.setup.language_voices import LanguageVoices
    from agent.models.errors import ModelError
    from personas import PersonaLibrary

    persona = PersonaLibrary.for_user().get(CHINESE_PERSONA)
    try:
        chinese = LanguageVoices(session.settings).agent_speaking(agent.for_persona(persona))
    except ModelError as exc:
        console.print(f"\n[yellow]Chinese exchange skipped:[/] {escape(str(exc))}")
        return None
    await chinese.warm_up()  # 小跃's prompt, like the English persona's, before the caller
    question = write_wav(out_dir / f"user-{turn:02d}.wav",
                         AudioClip(await chinese.say(CHINESE_QUESTION), chinese.sample_rate))
    console.print(f"\n[dim]turn {turn}: {escape(CHINESE_LABEL)} <- {question}[/]")
    console.print(f"[bold green]{escape(persona.name)}[/]: {escape(persona.greeting_text())}")
    reply = await chinese.arespond(audio=question, conversation_id=uuid.uuid4().hex)
    console.print(f"[bold]you[/] (heard): {escape(reply.transcript)}")
    console.print(f"[bold green]{escape(persona.name)}[/]: {escape(reply.text)}")
    out = write_wav(out_dir / f"reply-{turn:02d}.wav", AudioClip(reply.audio, reply.sample_rate))
    first = reply.timings_ms.get("tts_first_audio", float("nan"))
    console.print(f"[dim]-> {out} ({reply.audio_duration_s:.1f} s); end of speech -> "
                  f"first audio {first:.0f} ms[/]")
    return reply
