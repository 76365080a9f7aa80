"""The five nodes of a turn: perceive -> think -> act (-> think, bounded) -> speak -> remember.

Each node is a plain async function of (state, runtime); the graph in `agent.turn.graph` wires them.
Only `speak` ever touches the speech decoder, so text from planning or tool calls is never
read aloud.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from langgraph.runtime import Runtime

from agent.turn.audio_search_actions import apply_audio_search
from agent.turn.apology import apologising
from agent.chat_model import (
    ChatEvent, ChatMessage, TextDelta, ToolCall, ToolCallEvent, ToolCallPending, TurnEndEstimate,
)
from agent.errors import EmptyTurnError
from agent.events import (
    AudioChunkEvent, SentenceEvent, TextDeltaEvent, ToolCallStartedEvent, ToolResultEvent,
    TranscriptEvent, TurnEndEstimateEvent,
)
from agent.recall.history_prompt import tool_records
from agent.turn.prompt import build_prompt
from agent.turn.state import TurnState
from agent.turn.provenance import (
    already_done, fetch_next, guarded_dispatch, hold_copied_values, resumed_call, tool_messages,
)
from agent.turn.reply_guard import reply_guard_for
from agent.turn.context import TurnContext
from agent.turn.voicing import (
    Captions, after_loop, first_or_failed, stop, voice_sentences, with_first,
)
from memory import DialogueTurn
from speech.errors import SilentAudioError
from speech.phrase_cache import FIXED_PHRASES
from speech.repetition import loop_cut
from speech.style_stream import StyledSentence, StyledSentenceSplitter
from speech.style_tags import render_step_audio
from tools import ToolResult, filler_sentence
from tools.builtin.reply_language import replying_in

NO_ANSWER = "Sorry, I don't have an answer to that."
HEARD_WITHOUT_TRANSCRIPT = "(spoken; no transcript)"
# More tags in a row than a sentence can use (emotion, speed, dialect, a sound): a loop.
TAG_LOOP = 6


def hears_audio(ctx: TurnContext) -> bool:
    """Whether this turn's clip goes to the model itself: the newest user turn as audio
    (Step-Audio tokens or the WAV), older turns as their transcripts."""
    return ctx.audio is not None and bool(getattr(ctx.services.chat_model, "accepts_audio", False))


async def perceive(state: TurnState, runtime: Runtime[TurnContext]) -> dict:
    ctx = runtime.context
    text = state.get("user_text", "")
    if ctx.audio is not None and (ctx.services.tokenizer is not None
                                  or not hears_audio(ctx)):
        text = await transcribe(ctx)
    elif ctx.audio is not None:
        # A model that hears the clip itself (Step-Audio 2, Realtime) needs no ASR; history
        # is text, so the turn is stored under a marker rather than lost.
        text = HEARD_WITHOUT_TRANSCRIPT
    text = text.strip()
    runtime.stream_writer(TranscriptEvent(text))
    if not text:
        raise EmptyTurnError("the turn has no text: pass text=... or audio with speech in it")
    # Persona prompt (with the lore the recent words trigger), caller facts, running summary
    # and history, within the token budget when one is set.
    messages = await build_prompt(ctx, text)
    return {"user_text": text, "messages": messages, "rounds": 0, "pending_calls": [],
            "tool_results": [], "reply_text": "", "filler_text": "", "preamble": "",
            "answer_only": False}


async def transcribe(ctx: TurnContext) -> str:
    """VAD-trim the turn's audio and run the ASR; a named error when there is no speech."""
    svc, clip = ctx.services, ctx.audio
    assert clip is not None
    if svc.tokenizer is None:
        raise EmptyTurnError("this agent has no speech tokenizer (ASR); pass text=... instead")
    if svc.vad is not None:
        segments = await asyncio.to_thread(svc.vad.segments, clip)
        ctx.clock.mark("vad_end")
        if not segments:
            raise SilentAudioError(
                f"no speech found in {clip.duration_s:.2f} s of audio "
                f"(level {clip.rms_dbfs():.0f} dBFS): check the microphone or the file"
            )
        # Only the speech goes to ASR: leading/trailing silence costs decode time and makes
        # Whisper hallucinate ("Thank you.") on long quiet tails.
        clip = clip.slice(segments[0].start_s, segments[-1].end_s)
    transcription = await svc.tokenizer.transcribe(clip)
    ctx.clock.mark("asr")
    if not transcription.text.strip():
        raise SilentAudioError(f"the ASR heard no words in {clip.duration_s:.2f} s of speech")
    return transcription.text


async def think(state: TurnState, runtime: Runtime[TurnContext]) -> dict:
    ctx = runtime.context
    svc = ctx.services
    rounds = state.get("rounds", 0) + 1
    if rounds == 1 and (resumed := resumed_call(state["messages"], svc.tools)) is not None:
        # Last turn asked the caller for a value; this one says it: the held call is made.
        return {"rounds": rounds, "pending_calls": [resumed], "filler_text": "", "route": "act"}
    schemas = svc.tools.openai_schemas()
    # Past the bound (or after a repeated call) the tools stay in the prompt, so the cached
    # prefix does not change, but the model may only answer.
    answer_only = rounds > svc.max_tool_rounds or state.get("answer_only", False)
    options = {"audio": ctx.audio} if hears_audio(ctx) else {}
    # A call held for a reading another tool gives: that tool's call, where it can be forced.
    fetch = getattr(svc.chat_model, "supports_forced_calls", False) and state.get("fetch_next")
    choice = "none" if answer_only else f"call:{fetch}" if fetch else "auto"
    if ctx.answer_from and choice == "auto":  # its text from a plain prompt, calls as ever
        options["answer_from"] = ctx.answer_from
    # A failing backend gets a spoken apology:
    stream = apologising(svc.chat_model.stream(state["messages"], schemas, tool_choice=choice,
                                               **options), getattr(svc.chat_model, "name", ""))
    said = bool(state.get("reply_text") or state.get("filler_text"))
    # After a tool round the caller is waiting on this answer: a late one gets a filler.
    waiting_on = [] if said else list(state.get("tool_results", []))
    first, filler = await _next_or_filler(runtime, stream, waiting_on)
    if isinstance(first, TurnEndEstimate):  # for a realtime controller; never spoken
        ctx.clock.mark("turn_end_estimate")
        runtime.stream_writer(TurnEndEstimateEvent(first.probability))
        first, filler = await _next_or_filler(runtime, stream, waiting_on)
    while isinstance(first, ToolCallPending):
        # Decided to call; the arguments are still being written (slowly, under a grammar):
        # the filler clock starts now, and a filler that needs no arguments may start too.
        ctx.clock.mark("llm_call_decided")
        early = [] if said or filler else _fillable_without_arguments(svc, first.name)
        first, more = await _next_or_filler(runtime, stream, early)
        filler = filler or more
    filled = {"reply_text": filler} if filler else {}
    if isinstance(first, ToolCallEvent):
        ctx.clock.mark("llm_tool_call")
        calls = [first.call]
        async for event in stream:
            if isinstance(event, ToolCallEvent):
                calls.append(event.call)
        return {"rounds": rounds, "pending_calls": calls, "filler_text": "", "route": "act",
                "fetch_next": "", **filled}
    # Time to the first *spoken* token: a tool round's JSON is not what the user waits on.
    ctx.clock.mark("llm_first_token")
    ctx.live_stream, ctx.first_event = stream, first
    return {"rounds": rounds, "pending_calls": [], "route": "speak", "fetch_next": "", **filled}


def filler_delay_s(ctx: TurnContext) -> float:
    """Seconds left before a filler is due: `filler_after_s` counts from the moment the
    turn's first tool call was decided, through the tool run and the model's answer after it
    (on a CPU the answer, not the tool, is most of the wait); none when recent tool turns
    all waited longer than that (`agent.turn.waits`)."""
    svc, marks = ctx.services, ctx.clock.marks
    after_s = (svc.answer_waits.filler_delay_s(svc.filler_after_s)
               if svc.answer_waits is not None else svc.filler_after_s)
    decided_ms = marks.get("llm_call_decided", marks.get("llm_tool_call"))
    if decided_ms is None:
        return after_s
    waited_s = (ctx.clock.now_ms() - decided_ms) / 1000
    return max(0.0, after_s - waited_s)


def _fillable_without_arguments(services, name: str) -> list[ToolCall]:
    """The pending call, if its filler can be said before its arguments exist (a template
    such as "Let me look up the weather in {city}." waits for the whole call)."""
    tool = services.tools.get(name) if name in services.tools else None
    if tool is not None and tool.filler and "{" in tool.filler:
        return []
    return [ToolCall(name=name)]


async def _next_or_filler(runtime: Runtime[TurnContext], stream,
                          waiting_on: list) -> tuple[ChatEvent | None, str]:
    """The stream's next event; while it is late past the filler deadline and the caller is
    `waiting_on` tools (calls or results), a filler for them is spoken meanwhile."""
    ctx = runtime.context
    if not waiting_on:
        return await anext(stream, None), ""
    pending = asyncio.ensure_future(anext(stream, None))
    try:
        done, _ = await asyncio.wait({pending}, timeout=filler_delay_s(ctx))
        if done:
            return pending.result(), ""
        text = filler_for(ctx.services, waiting_on)
        async for event in say_fixed(ctx, text):
            runtime.stream_writer(event)
        return await pending, text
    finally:
        pending.cancel()  # a no-op when done; stops the model on barge-in


async def act(state: TurnState, runtime: Runtime[TurnContext]) -> dict:
    done = state.get("tool_results", [])
    calls = [c for c in state["pending_calls"] if not already_done(c, done, state["messages"])]
    if not calls:
        # Small models loop on a call they already have the answer to: make them answer.
        return {"pending_calls": [], "filler_text": "", "answer_only": True}
    ctx, fillers = runtime.context, []
    # Values copied from a tool's own description are put back as said, or the call is not
    # made and the caller is asked (agent.turn.provenance.hold_copied_values): no event, it never ran.
    calls, held = hold_copied_values(calls, ctx.services.tools, state["messages"], done)
    for call in calls:
        runtime.stream_writer(ToolCallStartedEvent(call))

    async def fill_silence(pending: list) -> None:
        # The filler is due while a tool still runs: say something rather than go quiet,
        # unless the model already spoke before the call.
        if state.get("filler_text") or state.get("reply_text"):
            return
        fillers.append(filler_for(ctx.services, pending))
        async for event in say_fixed(ctx, fillers[-1]):
            runtime.stream_writer(event)

    # Concurrent, each call with its own timeout; unknown tools and malformed calls become
    # error results; a tool that requires approval, or a side-effect call led by tool output,
    # first asks the user (the graph pauses: agent.turn.approval, agent.turn.provenance).
    # Cancelling this node (barge-in) cancels every running call.
    results = []
    if calls:  # tools that word a line for the reply word it in the persona's language
        with replying_in(ctx.services.persona.language):
            results = await guarded_dispatch(ctx.services, calls, state["messages"],
                                             on_slow=fill_silence,
                                             slow_after_s=filler_delay_s(ctx))
    for result in results:
        runtime.stream_writer(ToolResultEvent(result))
        async for event in apply_audio_search(ctx, result):  # play a clip / switch voice
            runtime.stream_writer(event)
    messages = list(state["messages"])
    held_calls = [c for c in state["pending_calls"] if any(r.call_id == c.id for r in held)]
    messages.append(ChatMessage(role="assistant", content=state.get("filler_text", ""),
                                tool_calls=[*calls, *held_calls]))
    results = [*results, *held]
    # In a thread: the instruction detector embeds the lines (and loads MiniLM once).
    messages.extend(await asyncio.to_thread(tool_messages, results, ctx.services.injection_defence,
                                            ctx.services.tools.names))
    preamble = state.get("preamble", "") or state.get("filler_text", "")
    reply = " ".join([state.get("reply_text", ""), *fillers]).strip()
    return {"messages": messages, "pending_calls": [], "filler_text": "", "preamble": preamble,
            "tool_results": done + list(results), "reply_text": reply,
            **fetch_next(state, held, ran=len(results) > len(held))}



# What a persona that speaks another language says while a tool runs, when it has no
# filler phrases of its own (tools' fillers are written in English).
_FILLERS = {"zh": "稍等，我查一下。", "fr": "Un instant, je vérifie.",
            "de": "Einen Moment, ich sehe nach.", "es": "Un momento, lo compruebo."}


def filler_for(services, pending: list) -> str:
    """The slow tool's own filler ("Let me check the weather in Paris."), else one of the
    persona's filler phrases, else a generic one; in the persona's language."""
    phrases = services.persona.filler_phrases
    language = (services.persona.language or "en").lower()[:2]
    if language != "en" and not phrases and language in _FILLERS:
        return _FILLERS[language]
    if any(c.name in services.tools and services.tools.get(c.name).filler for c in pending):
        return filler_sentence(services.tools, pending)
    return phrases[len(pending) % len(phrases)] if phrases else filler_sentence(
        services.tools, pending)


async def say_fixed(ctx: TurnContext, text: str) -> AsyncIterator:
    """Speak a sentence that is not model output (a filler, an approval question) as part of
    this turn: a `SentenceEvent`, then its audio chunks."""
    index = ctx.sentences_queued
    ctx.sentences_queued += 1
    yield SentenceEvent(text, index)
    decoder = ctx.services.decoder if ctx.synthesize else None
    if decoder is not None:
        async for chunk in FIXED_PHRASES.synthesize(decoder, text):
            ctx.clock.mark("tts_first_audio")
            yield AudioChunkEvent(chunk, index)


async def speak(state: TurnState, runtime: Runtime[TurnContext]) -> dict:
    ctx = runtime.context
    write = runtime.stream_writer
    stream, first = ctx.live_stream, ctx.first_event
    ctx.live_stream = ctx.first_event = None
    persona = ctx.services.persona
    sentences: asyncio.Queue[tuple[int, StyledSentence] | None] = asyncio.Queue()
    first_heard = asyncio.Event()  # the first chunk's audio exists (or there is none)
    voice = asyncio.create_task(voice_sentences(ctx, sentences, write, first_heard))
    # Style tags are removed here, before anything is spoken, captioned or remembered; each
    # sentence carries its style to the decoder instead. A persona without `style_tags`
    # accepts every known tag.
    # A voice chosen by audio search (timbre_rag) replaces the persona's default style.
    default_style = ctx.voice_styles.get(ctx.conversation_id, persona.default_style)
    splitter = StyledSentenceSplitter(default_style,
                                      allowed=persona.style_tags or None,
                                      first_clause_words=ctx.services.first_clause_words)
    parts: list[str] = []
    calls: list[ToolCall] = []
    queued: list[int] = []  # this node's sentences (a filler before it has its own audio)

    def queue_sentence(sentence: StyledSentence) -> None:
        ctx.clock.mark("first_sentence")
        index = ctx.sentences_queued  # numbered per turn: a filler and the answer share a count
        ctx.sentences_queued += 1
        write(SentenceEvent(sentence.text, index))
        sentences.put_nowait((index, sentence))
        queued.append(index)
        tag = "" if sentence.style.is_neutral else render_step_audio(sentence.style)
        if tag and tag not in ctx.reply_styles:
            ctx.reply_styles.append(tag)

    guard = await asyncio.to_thread(reply_guard_for, ctx.services, state)  # None: nothing to guard
    captions = Captions()

    def take(clean: str, done: list[StyledSentence], caption: str) -> None:
        if guard is not None:  # whole sentences only, so a dropped one is never shown
            clean, done = guard.filter(done)
            caption = clean
        if clean:
            parts.append(clean)
        if caption:
            write(TextDeltaEvent(caption))
        for sentence in done:
            queue_sentence(sentence)

    written = ""  # the reply so far without tags, spoken or not: where a loop shows
    spoken: list[str] = []  # sentences handed to the voice
    try:
        async for event in with_first(first, stream):
            if isinstance(event, TextDelta):
                clean, done = splitter.feed(event.text)
                # A greedy small model can fall into saying one phrase over and over: the
                # reply ends after the loop's first copy, and the model is stopped.
                kept = loop_cut(written + clean)
                if kept is None and splitter.tags_in_a_row >= TAG_LOOP:
                    kept = (written + clean).strip()  # the words; the tags after them looped
                if kept is not None:
                    await stop(stream)
                    take("", after_loop(kept, spoken, default_style), captions.up_to(kept))
                    if guard is None:  # with a guard, only the sentences it let through
                        parts[:] = [kept]
                    break
                written += clean
                spoken.extend(sentence.text for sentence in done)
                take(clean, done, captions.due(written))
            elif isinstance(event, ToolCallEvent):
                calls.append(event.call)
            if queued and not first_heard.is_set():
                # The first chunk's synthesis gets the cores: a model that waits for its
                # reader (the embedded one) pauses; the chunk after it has the first one's
                # playing time to be ready.
                await first_or_failed(first_heard, voice)
        else:
            clean, done = splitter.flush()
            written += clean
            take(clean, done, captions.due(written, final=True))
        text = "".join(parts).strip()
        if not text and not calls:
            text = NO_ANSWER
            queue_sentence(StyledSentence(text, default_style))
        sentences.put_nowait(None)
        await voice
    finally:
        voice.cancel()
    reply = f"{state.get('reply_text', '')} {text}".strip()
    if calls:
        return {"reply_text": reply, "pending_calls": calls, "filler_text": text, "route": "act"}
    return {"reply_text": reply, "route": "remember"}


async def remember(state: TurnState, runtime: Runtime[TurnContext]) -> dict:
    ctx = runtime.context
    paths = turn_audio_paths(ctx)
    await ctx.services.memory.append(ctx.conversation_id, [
        DialogueTurn(role="user", text=state["user_text"], audio_path=paths.get("user")),
        # Text and style apart: the text never holds tags; `style` lists the Step-Audio tag
        # strings the reply's sentences were spoken with, in order of first use.
        DialogueTurn(role="assistant", text=state.get("reply_text", ""),
                     tool_calls=tool_records(state.get("tool_results", [])),
                     preamble=state.get("preamble", ""),
                     style=" ".join(ctx.reply_styles)[:256],
                     audio_path=paths.get("assistant")),
    ])
    return {"remembered": True}


def turn_audio_paths(ctx: TurnContext) -> dict[str, str]:
    """Where this turn's audio will be kept, by role (none when the agent keeps no audio, the
    user typed, or nothing is spoken); the agent writes the files once the turn is over."""
    archive = ctx.services.audio_archive
    if archive is None:
        return {}
    paths = archive.paths(ctx.conversation_id)
    if ctx.audio is None:
        del paths["user"]
    if not ctx.synthesize or ctx.services.decoder is None:
        del paths["assistant"]
    ctx.audio_paths = paths
    return paths
