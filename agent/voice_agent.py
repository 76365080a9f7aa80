"""`VoiceAgent`: the Python API of stepvox. One object per agent; many conversations."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from langgraph.types import Command

from agent.turn.approval import approval_question, interpret_consent
from agent.recall.audio_archive import keep_turn
from agent.recall.caller import CallerMemory
from agent.chat_model import AnticipatingChatModel, ChatModel
from agent.conversation_locks import ConversationLocks
from agent.events import (
    ApprovalRequestEvent, AudioChunkEvent, SentenceEvent, ToolResultEvent, TranscriptEvent, TurnDoneEvent, TurnEvent,
)
from agent.recall.history_prompt import tool_records
from agent.honesty.replies import warm_up as warm_up_honesty
from agent.honesty.world_questions import plain_answer_prompt
from agent.setup.memory import MemoryOptions, memory_services
from agent.recall.conversation_end import learn_at_end
from agent.turn.nodes import say_fixed, transcribe
from agent.turn.prompt import build_prompt
from agent.turn.reply import Reply
from agent.settings import FILLER_AFTER_S
from agent.turn.context import StageClock, TurnContext, TurnServices
from agent.turn.graphs import TurnGraphs
from memory import DialogueStore, DialogueTurn, InMemoryDialogueStore
from personas import DEFAULT_PERSONA, Persona
from speech.audio import AudioClip, AudioSource, load_audio
from speech.protocols import SpeechDecoder, SpeechTokenizer, VoiceActivityDetector
from tools import Tool, ToolRegistry, builtin_tools

if TYPE_CHECKING:
    from agent.setup.embedded_stack import EmbeddedStack
    from agent.settings import StepvoxSettings
    from memory.user_facts import Embed


class VoiceAgent:
    """Answers spoken or written turns with speech.

    `respond()` runs a whole turn and returns a `Reply`; `stream()` yields the turn's events
    (transcript, text deltas, sentences, tool calls and results, audio chunks, done) as they
    happen, so a caller can start playback at the first audio chunk.
    """

    def __init__(
        self,
        chat_model: ChatModel,
        *,
        decoder: SpeechDecoder | None = None,
        tokenizer: SpeechTokenizer | None = None,
        vad: VoiceActivityDetector | None = None,
        memory: DialogueStore | None = None,
        tools: ToolRegistry | Sequence[Tool] | None = None,
        persona: Persona = DEFAULT_PERSONA,
        max_tool_rounds: int = 3,
        history_turns: int = 20,
        max_audio_s: float = 120.0,
        first_clause_words: int | None = 4,
        filler_after_s: float = FILLER_AFTER_S,
        history_token_budget: int | None = None,
        audio_dir: str | Path | None = None,
        learn_facts: bool = True,
        fact_embed: Embed | None | Literal["minilm"] = "minilm",
    ) -> None:
        """`history_token_budget`: keep each prompt within this many tokens, older turns
        folded into a running summary the model writes in the background (None: the newest
        `history_turns` turns). `audio_dir`: keep every turn's audio there as WAV files.
        `learn_facts`: with a SQL `memory`, facts about each user are extracted when their
        conversation ends and recalled by meaning later (`fact_embed`: "minilm" = the
        packaged MiniLM when installed, else keyword recall; or your own `Embed`).
        `filler_after_s`: after a tool call, a filler is spoken if the answer has not
        started this long after the call was decided (0: always, at once); when the recent
        tool turns' answers all came later than that, at once (`agent.turn.waits`)."""
        if filler_after_s < 0:
            raise ValueError(f"filler_after_s must be >= 0, got {filler_after_s}")
        registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(
            builtin_tools() if tools is None else tools)
        if persona.allowed_tools is not None:
            # A persona names the tools it may use; the others never reach its prompt.
            registry = registry.subset(n for n in registry.names if n in persona.allowed_tools)
        if (fits := getattr(chat_model, "check_prompt_fits", None)) is not None:
            # A persona too long for the model's context fails here, named, not on every turn.
            fits(persona.full_system_prompt(), registry.openai_schemas(),
                 f"persona {persona.name!r}")
        if (learn := getattr(chat_model, "learn_tool_examples", None)) is not None:
            # Authors' example requests (`@tool(examples=...)`) teach the call decision.
            learn(registry.examples())
        memory = memory or InMemoryDialogueStore()
        self._memory_options = MemoryOptions(
            history_token_budget=history_token_budget, audio_dir=audio_dir,
            learn_facts=learn_facts, fact_embed=fact_embed)
        self.services = TurnServices(
            chat_model=chat_model, decoder=decoder, tokenizer=tokenizer, vad=vad,
            memory=memory, tools=registry, persona=persona,
            max_tool_rounds=max_tool_rounds, history_turns=history_turns,
            first_clause_words=first_clause_words, filler_after_s=filler_after_s,
            **memory_services(chat_model, memory, persona, self._memory_options),
        )
        self.max_audio_s = max_audio_s
        self.callers = CallerMemory(memory)
        # Paused turns (a tool awaiting the user's yes/no) wait in a checkpointer, in the
        # history database when there is one; threads are deleted when their turn completes.
        self._graphs = TurnGraphs(pausable=any(t.requires_approval for t in registry),
                                  database_url=self.callers.database_url)
        self._history = memory  # the real store (a speculative copy of the agent has an overlay)
        # Turns of one conversation run one after another: each reads the history the
        # previous one wrote. A lock lives only while a turn holds or awaits it.
        self._locks = ConversationLocks()
        self._voice_styles: dict = {}  # conversation id -> voice chosen by audio search
        # Conversations of this agent that saw turns and have not ended -> their user.
        self._open: dict[str, str | None] = {}

    @classmethod
    def embedded(cls, settings: StepvoxSettings | None = None, **kwargs) -> VoiceAgent:
        """The offline default: Silero VAD, Whisper, Qwen2.5 0.5B on llama.cpp, Piper."""
        from agent.setup.embedded_stack import load_embedded_stack

        return cls.from_stack(load_embedded_stack(settings, **kwargs))

    @classmethod
    def from_stack(cls, stack: EmbeddedStack, chat_model: ChatModel | None = None,
                   **kwargs) -> VoiceAgent:
        """An agent on the models of a loaded stack (`load_embedded_stack`); its settings
        fill what `kwargs` leave out."""
        options = stack.agent_options(chat_model, **kwargs)
        return cls(options.pop("chat_model"), **options)

    def for_persona(self, persona: Persona) -> VoiceAgent:
        """Another agent speaking as `persona`, sharing this one's models, history store and
        memory options; its tools are `tools_for(persona, this agent's tools)`."""
        from agent.setup.tools import tools_for  # plugins load only for such a persona

        svc, options = self.services, self._memory_options
        return VoiceAgent(
            svc.chat_model, decoder=svc.decoder, tokenizer=svc.tokenizer, vad=svc.vad,
            memory=self._history, tools=tools_for(persona, svc.tools), persona=persona,
            max_tool_rounds=svc.max_tool_rounds, history_turns=svc.history_turns,
            max_audio_s=self.max_audio_s, first_clause_words=svc.first_clause_words,
            filler_after_s=svc.filler_after_s,
            history_token_budget=options.history_token_budget, audio_dir=options.audio_dir,
            learn_facts=options.learn_facts, fact_embed=options.fact_embed)

    def with_services(self, **changes) -> VoiceAgent:
        """A copy of this agent whose turns use other services (e.g. a speculative run's
        history overlay and guarded tools). It shares the graphs and models, and has its own
        conversation locks, so its turns neither wait behind nor block this agent's."""
        clone = copy.copy(self)
        clone.services = dataclasses.replace(self.services, **changes)
        clone._locks = ConversationLocks()
        return clone

    @property
    def persona(self) -> Persona:
        return self.services.persona

    @property
    def _checkpointer(self):
        """Where paused turns wait (None: this agent has no tool that needs approval)."""
        return self._graphs.checkpointer

    @property
    def sample_rate(self) -> int:
        return self.services.decoder.sample_rate if self.services.decoder else 0

    async def stream(
        self,
        text: str | None = None,
        *,
        audio: AudioSource | None = None,
        sample_rate: int | None = None,
        conversation_id: str | None = None,
        synthesize: bool = True,
        user_id: str | None = None,
    ) -> AsyncIterator[TurnEvent]:
        if (text is None) == (audio is None):
            raise TypeError("pass exactly one of text=... or audio=...")
        clock = StageClock()  # the turn starts now: the user's speech has ended
        clip = None
        if audio is not None:
            clip = load_audio(audio, sample_rate, max_duration_s=self.max_audio_s)
        conversation_id = conversation_id or uuid.uuid4().hex
        user_id = user_id or self._open.get(conversation_id)
        ctx = TurnContext(services=self.services, conversation_id=conversation_id, audio=clip,
                          clock=clock, synthesize=synthesize, voice_styles=self._voice_styles,
                          user_id=user_id)
        transcript, chunks, results = "", [], []
        sentences: dict[int, str] = {}
        voiced: set[int] = set()  # sentences whose audio reached the caller
        config = {"configurable": {"thread_id": conversation_id}}
        if self.services.folder is not None:
            self.services.folder.preempt()  # the caller must not wait behind a summary
        async with self._locks.hold(conversation_id):
            graph, checkpointer = await self._graphs.get()
            await self.callers.start(conversation_id, user_id, self.persona)
            self._open[conversation_id] = user_id
            final: dict = {}
            waiting: list = []  # approval requests the graph paused on
            graph_input = {"user_text": text or ""}
            if checkpointer is not None and (await graph.aget_state(config)).interrupts:
                # This turn answers a pending "shall I?": read it as a yes or a no and resume.
                transcript = (await transcribe(ctx) if clip is not None else text or "").strip()
                yield TranscriptEvent(transcript)
                graph_input = Command(resume=interpret_consent(transcript),
                                      update={"user_text": transcript})
            try:
                # aclosing: a caller that stops listening (barge-in) stops the model before
                # the conversation lock is released, not whenever the GC gets to it.
                # durability="exit": a paused turn is saved once, when the run stops, not after
                # every step on the audio path.
                # Without approval tools nothing can pause: skip the extra stream mode.
                pausable = checkpointer is not None
                options = {"durability": "exit"} if pausable else {}
                modes = ["custom", "values", "updates"] if pausable else ["custom", "values"]
                async with aclosing(graph.astream(
                    graph_input, config, context=ctx, stream_mode=modes, **options,
                )) as events:
                    async for mode, item in events:
                        if mode == "values":
                            final = item
                            continue
                        if mode == "updates":
                            waiting.extend(item.get("__interrupt__", ()))
                            continue
                        if isinstance(item, TranscriptEvent):
                            transcript = item.text
                        elif isinstance(item, SentenceEvent):
                            sentences[item.index] = item.text
                        elif isinstance(item, AudioChunkEvent):
                            chunks.append(item.chunk)
                            voiced.add(item.sentence_index)
                        elif isinstance(item, ToolResultEvent):
                            results.append(item.result)
                        yield item
                if waiting:
                    request = waiting[0].value
                    question = approval_question(request)
                    final = {**final, "reply_text": question, "remembered": True}
                    async for event in say_fixed(ctx, question):
                        if isinstance(event, AudioChunkEvent):
                            chunks.append(event.chunk)
                        yield event
                    yield ApprovalRequestEvent(question, request["tool"],
                                               request.get("arguments", {}))
                    await self.services.memory.append(conversation_id, [
                        DialogueTurn(role="user", text=transcript),
                        DialogueTurn(role="assistant", text=question)])
                elif checkpointer is not None:
                    await checkpointer.adelete_thread(conversation_id)
                await self.callers.learn(user_id, transcript)
                if self.services.audio_archive is not None and ctx.audio_paths:
                    await keep_turn(
                        self.services.audio_archive, ctx.audio_paths,
                        None if clip is None else (clip.samples, clip.sample_rate), chunks,
                        self.sample_rate)
            finally:
                if transcript and not final.get("remembered"):
                    # The turn was cut short (barge-in, or a failure after the transcript): keep
                    # what the user said and only the words that were actually voiced.
                    spoken = " ".join(sentences[i] for i in sorted(voiced) if i in sentences)
                    await asyncio.shield(self.services.memory.append(conversation_id, [
                        DialogueTurn(role="user", text=transcript),
                        DialogueTurn(role="assistant", text=spoken, interrupted=True,
                                     tool_calls=tool_records(results)),
                    ]))
        self._fold_later(ctx)
        if self.services.answer_waits is not None:
            self.services.answer_waits.observe_turn(clock.marks)
        clock.mark("done")
        rate = chunks[0].sample_rate if chunks else 0
        audio_out = (np.concatenate([c.samples for c in chunks]) if chunks
                     else np.zeros(0, dtype=np.float32))
        yield TurnDoneEvent(Reply(
            conversation_id=conversation_id, transcript=transcript,
            text=final.get("reply_text", ""), audio=audio_out, sample_rate=rate,
            tool_results=results, timings_ms=dict(clock.marks),
        ))

    def open_conversation(self, conversation_id: str, user_id: str | None) -> None:
        """Name a conversation's caller before its turns (their facts are then recalled)."""
        self._open[conversation_id] = user_id

    async def pending_approval(self, conversation_id: str) -> dict | None:
        """The call (tool, arguments) a paused turn waits to have approved, or None."""
        graph, checkpointer = await self._graphs.get()
        if checkpointer is None:
            return None
        state = await graph.aget_state({"configurable": {"thread_id": conversation_id}})
        return dict(state.interrupts[0].value) if state.interrupts else None

    async def arespond(self, text: str | None = None, **kwargs) -> Reply:
        reply = None
        async for event in self.stream(text, **kwargs):
            if isinstance(event, TurnDoneEvent):
                reply = event.reply
        assert reply is not None
        return reply

    def respond(self, text: str | None = None, **kwargs) -> Reply:
        """Blocking form of `arespond` for scripts; inside an event loop use `arespond`."""
        return asyncio.run(self.arespond(text, **kwargs))

    async def end_conversation(self, conversation_id: str, *, elsewhere: bool = False
                               ) -> list[str]:
        """The conversation is over: record its end and, with a SQL store and a known user,
        have the model note lasting facts about the caller for later conversations. Returns
        the facts stored. Failures are logged, never raised: the caller has hung up.
        `elsewhere`: another process goes on with it; only this agent's state of it goes."""
        user_id = self._open.pop(conversation_id, None)
        # What this agent kept per conversation goes with it: a server ends thousands.
        self._voice_styles.pop(conversation_id, None)
        self.callers.forget(conversation_id)
        store = self.callers.store
        if store is None or elsewhere:
            if elsewhere and (forget := getattr(self._history, "forget", None)) is not None:
                forget(conversation_id)
            return []
        async with self._locks.hold(conversation_id):
            try:
                return await learn_at_end(store, self.services, conversation_id, user_id)
            finally:
                if (forget := getattr(self._history, "forget", None)) is not None:
                    forget(conversation_id)  # a buffered store's copy of the conversation

    async def aclose(self) -> None:
        """End the conversations this agent took part in (facts are learnt from them), write
        what the history store still holds (a buffered store waiting for its database) and
        release the connections. A running summary fold is dropped: it is redone later."""
        if self.services.folder is not None:
            await self.services.folder.close()
        for conversation_id in list(self._open):
            await self.end_conversation(conversation_id)
        await self._graphs.aclose()
        close = getattr(self.services.memory, "close", None)
        if close is not None:
            await close()

    def _fold_later(self, ctx: TurnContext) -> None:
        """After a turn: the running summary is updated in the background when due."""
        svc = self.services
        if svc.folder is not None and svc.history_token_budget is not None and ctx.fixed_tokens:
            svc.folder.schedule(self._history, ctx.conversation_id, svc.history_token_budget,
                                ctx.fixed_tokens)

    async def greeting(self, user_id: str | None = None) -> str:
        """What to say first: a returning caller whose name is known is greeted by name."""
        return await self.callers.greeting(self.persona, user_id)

    async def warm_up(self) -> None:
        """Load lazily-initialised state before the first caller speaks: the model's prompt
        prefix (when the backend can prefill), one sentence of TTS and one ASR pass."""
        svc = self.services
        prefill = getattr(svc.chat_model, "prefill", None)
        if prefill is not None:
            if getattr(svc.chat_model, "answers_from_another_prompt", False):
                # Parked beside the persona's, for questions about the world.
                await prefill(plain_answer_prompt(svc.persona, "")[0].content, ())
            await prefill(svc.persona.full_system_prompt(), svc.tools.openai_schemas())
        await warm_up_honesty(svc.chat_model)  # the "can't know" detector (agent.honesty.replies)
        if svc.facts is not None:
            await svc.facts.warm_up()  # loads the embedding model (seconds) before a caller
        await self.say("Hello.")
        if svc.tokenizer is not None:
            silence = np.zeros(svc.tokenizer.sample_rate // 2, dtype=np.float32)
            await svc.tokenizer.transcribe(AudioClip(silence, svc.tokenizer.sample_rate))

    async def anticipate(self, conversation_id: str, user_id: str | None = None) -> bool:
        """Let the model get ready for the next user turn of `conversation_id` while the user
        is still speaking (a backend with `anticipate`: llama.cpp evaluates the prompt up to
        where the words will go). The prompt is assembled as the turn will assemble it, only
        without the words (lore or recalled facts that the words trigger are not known yet).
        False where the backend cannot, or is busy; a turn never depends on it."""
        model = self.services.chat_model
        if not isinstance(model, AnticipatingChatModel):
            return False
        ctx = TurnContext(services=self.services, conversation_id=conversation_id, audio=None,
                          clock=StageClock(), synthesize=False, voice_styles=self._voice_styles,
                          user_id=user_id or self._open.get(conversation_id))
        messages = await build_prompt(ctx, "")
        return await model.anticipate(messages[:-1], self.services.tools.openai_schemas())

    async def say(self, text: str) -> np.ndarray:
        """Synthesize text in the agent's voice without a turn (greetings, prompts)."""
        if self.services.decoder is None:
            return np.zeros(0, dtype=np.float32)
        parts = [c.samples async for c in self.services.decoder.synthesize(text)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


