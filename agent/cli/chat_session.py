"""The interactive and one-shot `stepvox chat` sessions: stream a turn to the terminal and
write the spoken reply to a WAV file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from agent.setup.embedded_stack import load_embedded_stack
from agent.setup.language_voices import check_asr_language, speech_language
from agent.events import (
    ApprovalRequestEvent, TextDeltaEvent, ToolCallStartedEvent, ToolResultEvent, TranscriptEvent,
    TurnDoneEvent,
)
from agent.turn.reply import Reply
from agent.settings import StepvoxSettings
from agent.cli.timing_table import timings_table
from agent.voice_agent import VoiceAgent
from agent.setup.tools import tools_for
from personas import DEFAULT_PERSONA, PersonaLibrary
from speech.audio import AudioClip, load_audio, write_wav


def remote_chat_model(settings: StepvoxSettings):
    from agent.backends.step_audio.backends import make_step_audio_model

    return make_step_audio_model(settings.model, base_url=settings.base_url,
                                 served_name=settings.served_name)


class ChatSession:
    def __init__(self, settings: StepvoxSettings, console: Console, *, timings: bool,
                 conversation_id: str, persona: str | None = None,
                 user_id: str | None = None) -> None:
        self.settings = settings
        self.console = console
        self.timings = timings
        self.conversation_id = conversation_id
        self._agent: VoiceAgent | None = None
        self.user_id = user_id
        # Resolved now: an unknown persona name fails before seconds of model loading.
        self.persona = PersonaLibrary.for_user().get(persona) if persona else None
        # Likewise an English-only Whisper for a Chinese persona (EnglishOnlyAsrError).
        check_asr_language(settings.asr_model,
                           speech_language((self.persona or DEFAULT_PERSONA).language))

    async def agent(self) -> VoiceAgent:
        if self._agent is None:
            remote = self.settings.model != "embedded"
            # A Step-Audio backend replaces only the LLM: VAD, ASR and TTS stay embedded.
            chat_model = remote_chat_model(self.settings) if remote else None
            language = (self.persona or DEFAULT_PERSONA).language
            stack = load_embedded_stack(self.settings, progress=True, with_llm=not remote,
                                        language=language)
            stack.persistent_history = True
            with self.console.status("warming up the models..."):
                persona = self.persona or DEFAULT_PERSONA
                agent = VoiceAgent.from_stack(stack, chat_model, persona=persona, tools=tools_for(persona))
                await agent.warm_up()
            loaded = ", ".join(f"{k} {v:.1f} s" for k, v in stack.load_s.items())
            self.console.print(f"[dim]models loaded ({loaded})[/]")
            self._agent = agent
        return self._agent

    async def turn(self, *, text: str | None = None, audio: Path | None = None) -> Reply:
        agent = await self.agent()
        reply: Reply | None = None
        speaking = shown = False
        async for event in agent.stream(text, audio=audio, conversation_id=self.conversation_id,
                                        user_id=self.user_id):
            if isinstance(event, TranscriptEvent) and audio is not None:
                self.console.print(f"[bold]you[/] (heard): {escape(event.text)}")
            elif isinstance(event, ToolCallStartedEvent):
                self.console.print(f"[cyan]tool call[/] {event.call.name}"
                                   f"({escape(str(event.call.arguments))})")
            elif isinstance(event, ToolResultEvent):
                colour = "red" if event.result.is_error else "cyan"
                self.console.print(f"[{colour}]tool result[/] {escape(event.result.content[:200])}"
                                   f" [dim]({event.result.latency_ms:.0f} ms)[/]")
            elif isinstance(event, TextDeltaEvent):
                if not speaking:
                    self.console.print(f"[bold green]{escape(agent.persona.name)}[/]: ", end="")
                    speaking = True
                self.console.print(escape(event.text), end="", soft_wrap=True)
            elif isinstance(event, ApprovalRequestEvent):
                # Spoken, not streamed as text: without this the caller heard a question
                # the terminal never showed.
                if speaking:
                    self.console.print()
                self.console.print(f"[bold green]{escape(agent.persona.name)}[/]: "
                                   f"{escape(event.question)}")
                speaking, shown = False, True
            elif isinstance(event, TurnDoneEvent):
                reply = event.reply
            shown = shown or speaking
        if speaking:
            self.console.print()
        assert reply is not None
        if not shown and reply.text.strip():  # fixed phrases (a filler, an apology) only
            self.console.print(f"[bold green]{escape(agent.persona.name)}[/]: "
                               f"{escape(reply.text.strip())}")
        if self.timings:
            self.console.print(timings_table([reply.timings_ms], title="This turn (ms)"))
        return reply

    def _write(self, reply: Reply, out: Path) -> None:
        if not reply.sample_rate:
            return
        write_wav(out, AudioClip(reply.audio, reply.sample_rate))
        self.console.print(f"[dim]reply audio: {out} ({reply.audio_duration_s:.1f} s)[/]")

    async def close(self) -> None:
        if self._agent is not None:
            await self._agent.aclose()

    async def one_turn(self, *, text: str | None, audio: Path | None, out: Path) -> Reply:
        if audio is not None:
            # Bad input fails in milliseconds, before seconds of model loading.
            load_audio(audio, max_duration_s=self.settings.max_audio_s)
        try:
            reply = await self.turn(text=text, audio=audio)
        finally:
            await self.close()
        self._write(reply, out)
        return reply

    async def repl(self, out_dir: Path) -> None:
        try:
            await self._repl(out_dir)
        finally:
            await self.close()

    async def _repl(self, out_dir: Path) -> None:
        agent = await self.agent()
        greeting = await agent.greeting(self.user_id)
        if greeting:
            self.console.print(f"[bold green]{escape(agent.persona.name)}[/]: {escape(greeting)}")
            samples = await agent.say(greeting)
            if len(samples):
                write_wav(out_dir / "turn-000-greeting.wav", AudioClip(samples, agent.sample_rate))
        self.console.print("[dim]type a message; /quit to leave[/]")
        n = 0
        while True:
            try:
                line = await asyncio.to_thread(self.console.input, "[bold]you>[/] ")
            except EOFError:
                break
            if line.strip() in {"/quit", "/exit"}:
                break
            if not line.strip():
                continue
            n += 1
            reply = await self.turn(text=line)
            self._write(reply, out_dir / f"turn-{n:03d}.wav")
