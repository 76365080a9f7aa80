"""Honest replies when the agent cannot know: the `think` node of the turn graph, wrapped.

A 0.5B model asked "what's the weather in Paris?" with no weather tool, or after the weather
tool failed, answers anyway ("It's sunny"). Prompt wording does not stop it reliably, so the
decision is taken outside the model, once `think` has chosen to answer in words:

- a tool ran this turn and every result is a failure (an error, a timeout, "not found", an
  empty answer; a call the user declined is not a failure): the reply is a fixed sentence
  saying what went wrong and what can be done (try again, check the code); a tool that
  refused for a reason it states ("the surname does not match") gets that reason said, and
  a call whose arguments did not validate gets the value asked for again
  (`agent.honesty.tool_refusals`);
- no tool ran and `agent.honesty.knowledge_gaps` says the request needs live data, a private record
  or a future event: the reply says it cannot check that and offers what an offered tool can
  do (from that tool's own description), or general help when there is none. When an
  offered tool covers the request after all (the model missed the call), that tool is
  called if its arguments need no writing (none, or the one code the request names), else
  the model is made to write that call (a backend with `supports_forced_calls`), or else
  the reply asks for what it needs;
- a tool answered and the model's first sentence refuses anyway ("I'm sorry, but I can't
  assist with that."): it is asked once more (`agent.honesty.refusal_after_tool`); so is a
  refusal of a request no tool served and the detector found answerable, unless it names
  something harmful (`agent.honesty.needless_refusal`).

The model's stream is closed before its first token is spoken and the sentence takes its
place, so nothing invented is ever voiced, and the turn is faster for it. Each sentence is
one short sentence in the persona's language (English with the topic named; other
languages a generic sentence, as tool descriptions are English). Backends without the
MiniLM prior (remote APIs, test fakes; see `knowledge_gaps.gap_embedder`) are left as
they are.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.turn import nodes
from agent.chat_model import TextDelta, ToolCall
from agent.honesty.knowledge_gaps import GapVerdict, gap_embedder, knowledge_gaps
from agent.honesty.forced_calls import forced_call
from agent.honesty.needless_refusal import ask_again_if_refused
from agent.honesty.prompt_answer import answer_from_prompt, asks_a_question, held_for_unsaid
from agent.honesty.refusal_after_tool import ask_again_after_refusal
from agent.honesty.tool_refusals import advised_tool, invalid_argument, refusal_reason
from agent.honesty.world_questions import world_answer_prompt
from agent.turn.persona_identity import introduction
from agent.turn.provenance import FETCH_FIRST
from agent.turn.state import TurnState
from agent.turn.context import TurnContext
from tools import ToolResult
from tools.result import NOT_FOUND
from tools.argument_grounding import ground_arguments
from tools.argument_shapes import code_left_out, moved_call
from tools.builtin.argument_resolvers import ARGUMENT_RESOLVERS
from tools.calls.schema_examples import parameter_phrase

FailureKind = Literal["timeout", "not_found", "refused", "invalid_arguments", "error"]

_TIMEOUT = re.compile(r"timed out|timeout|did not answer in time|took too long", re.I)
_DECLINED = "did not approve"
# `agent.turn.provenance.unsaid_result`: what to ask the caller for.
_UNSAID_PHRASE = re.compile(r"the caller has not said it\. Ask the caller for ([^;]+);")
_EMPTY = {"", "null", "none", "[]", "{}", '""'}

# Per language: gap (no tool), future, timeout, not_found (with {value}), error, ask (a
# value the caller has not said yet). English sentences name the topic and the offer; the
# others stay generic.
_GENERIC: dict[str, dict[str, str]] = {
    "zh": {"gap": "抱歉，这个我在这里查不到，我不想乱猜；其他问题我很乐意帮你。",
           "future": "抱歉，还没发生的事我没法知道；其他问题我很乐意帮你。",
           "timeout": "抱歉，查询超时了，我现在没法告诉你，要我再试一次吗？",
           "not_found": "抱歉，我没有找到{value}的记录，请核对一下再告诉我。",
           "error": "抱歉，现在查不了这个，服务出了问题，我可以稍后再试。",
           "ask": "要查这个，我还需要你告诉我具体的信息，可以说一下吗？"},
    "fr": {"gap": "Désolé, je ne peux pas vérifier cela d'ici, mais je peux vous aider pour autre chose.",
           "future": "Désolé, je ne peux pas savoir ce qui n'est pas encore arrivé, mais je peux vous aider pour autre chose.",
           "timeout": "Désolé, le service n'a pas répondu à temps ; voulez-vous que je réessaie ?",
           "not_found": "Désolé, je n'ai rien trouvé pour {value} ; pouvez-vous vérifier et me le redire ?",
           "error": "Désolé, je ne peux pas vérifier cela pour l'instant, le service ne répond pas ; je peux réessayer plus tard.",
           "ask": "Pour vérifier cela, il me manque une information ; pouvez-vous me la donner ?"},
    "de": {"gap": "Das kann ich von hier aus leider nicht nachsehen, aber bei anderen Fragen helfe ich gern.",
           "future": "Was noch nicht passiert ist, kann ich leider nicht wissen, aber bei anderen Fragen helfe ich gern.",
           "timeout": "Der Dienst hat leider nicht rechtzeitig geantwortet; soll ich es noch einmal versuchen?",
           "not_found": "Zu {value} habe ich leider nichts gefunden; können Sie das prüfen und noch einmal sagen?",
           "error": "Das kann ich gerade leider nicht nachsehen, der Dienst funktioniert nicht; ich kann es gleich noch einmal versuchen.",
           "ask": "Um das nachzusehen, fehlt mir noch eine Angabe; können Sie sie mir sagen?"},
    "es": {"gap": "Lo siento, no puedo comprobar eso desde aquí, pero puedo ayudarte con otras preguntas.",
           "future": "Lo siento, no puedo saber lo que aún no ha pasado, pero puedo ayudarte con otras preguntas.",
           "timeout": "Lo siento, el servicio no respondió a tiempo; ¿quieres que lo intente de nuevo?",
           "not_found": "Lo siento, no encontré nada para {value}; ¿puedes comprobarlo y decírmelo otra vez?",
           "error": "Lo siento, ahora no puedo comprobarlo porque el servicio no funciona; puedo intentarlo de nuevo en un momento.",
           "ask": "Para comprobarlo me falta un dato; ¿me lo puedes decir?"},
}


async def think(state: TurnState, runtime: Runtime[TurnContext]) -> dict:
    """`nodes.think`, then, when it chose to answer in words and the answer cannot be known:
    the honest sentence replaces the model's answer, or, when an offered tool covers the
    request and its arguments need no writing (the clock; a booking code the request
    names), that tool is called instead (`next_step`)."""
    ctx = runtime.context
    ctx.answer_from = world_answer_prompt(ctx.services, state)
    update = await nodes.think(state, runtime)
    if update.get("route") != "speak":
        return update
    # The agent's own name is the persona's to say, as a tool's facts are the tool's.
    step = (None if state.get("tool_results") else
            introduction(ctx.services.persona, state.get("user_text", "")))
    step = step or await next_step(ctx, state)
    if step is None:
        results = state.get("tool_results", [])
        if any(failure_kind(r) is None for r in results):
            await ask_again_after_refusal(ctx, state)  # a tool answered: no refusal stands
        elif not results and gap_embedder(ctx.services.chat_model) is not None:
            await ask_again_if_refused(ctx, state)  # the small model's refusal is noise
        return update
    stream, ctx.live_stream = ctx.live_stream, None
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()  # stops the generation: its words will not be used
    if isinstance(step, FromPrompt):
        if await answer_from_prompt(ctx, state):
            return update
        step = step.otherwise  # the second answer said nothing: ask for the value
    if isinstance(step, ToolCall):
        ctx.first_event = None
        return {**update, "route": "act", "pending_calls": [step], "filler_text": ""}
    ctx.first_event = TextDelta(step)
    return update


async def warm_up(chat_model: Any) -> None:
    """Build the request detector before the first caller (embedding its ~250 examples
    takes a second or more on two cores; on a turn it would delay that turn's answer)."""
    embed = gap_embedder(chat_model)
    if embed is not None:
        await asyncio.to_thread(knowledge_gaps, embed)


@dataclass(frozen=True)
class FromPrompt:
    """`next_step`'s answer when the persona's prompt answers what a held call was for:
    ask the model again without it (`agent.honesty.prompt_answer`), else say `otherwise`."""

    otherwise: str


async def next_step(ctx: TurnContext, state: TurnState) -> str | ToolCall | FromPrompt | None:
    """The sentence to say instead of the model's answer, a call to make instead, an
    answer from the persona's prompt, or None to let the model speak."""
    embed = gap_embedder(ctx.services.chat_model)
    if embed is None:
        return None
    results = list(state.get("tool_results", []))
    failed = failed_lookup(results)
    # Some calls answered and some failed ("did real madrid win on saturday": the clock
    # answered, the scores tool timed out): the failure counts when the failed tool is the
    # one that covers the request; the model read its error text out otherwise.
    partly = [r for r in results if failure_kind(r) is not None and _DECLINED not in r.content]
    if results and failed is None and not partly:
        return None  # a tool answered (or the user declined one): the model relays that
    messages = state.get("messages") or []
    system = messages[0].content if messages and messages[0].role == "system" else ""
    text = state.get("user_text", "")
    schemas = ctx.services.tools.openai_schemas()

    def judge(excluded: ToolResult | None) -> GapVerdict:
        gaps = knowledge_gaps(embed)  # built on first use (~1 s), then cached
        usable = [s for s in schemas if _offerable(ctx, s, excluded)]
        return gaps.judge(text, system, usable, keyed_lore(ctx.services.persona, text))

    if failed is None and partly:
        verdict = await asyncio.to_thread(judge, None)
        failed = next((r for r in partly if verdict.tool_covers and verdict.offer == r.name),
                      None)
        if failed is None:
            return None
    verdict = await asyncio.to_thread(judge, failed)
    language = ctx.services.persona.language
    if failed is not None and verdict.prompt_covers and held_for_unsaid(results) \
            and asks_a_question(text):
        # "What does a second bag cost?": the fee is in the prompt, no booking is needed.
        return FromPrompt(failure_sentence(failed, verdict, language))
    if failed is not None:
        advised = (await asyncio.to_thread(advised_tool, failed, embed, schemas)
                   if failure_kind(failed) == "refused" else None)
        return failure_sentence(failed, verdict, language, advised)
    if not verdict.needs_outside_data:
        return None
    schema = next((s for s in schemas if s["function"]["name"] == verdict.offer), None)
    if schema is not None and verdict.tool_covers:
        # The offered tool can answer this, but the model did not call it: call it when its
        # arguments are plain (none, or the one code the request names), else ask for what
        # it needs (most often a booking code or a place is missing).
        arguments = arguments_from_request(schema, text)
        if arguments is not None:  # "东京现在几点？": the clock's zone is in the words
            arguments = ground_arguments(
                arguments, schema["function"].get("parameters"), text, latest=text,
                resolvers=ARGUMENT_RESOLVERS.get(schema["function"]["name"])).arguments
        rounds_left = state.get("rounds", 0) < ctx.services.max_tool_rounds
        if arguments is not None and not results and rounds_left:
            # The nearest tool by topic may be the look-alike ("SK640" is a flight number),
            # or take nothing of the code said ("when does flight SK101 depart" is not the
            # clock's).
            name = schema["function"]["name"]
            name, arguments = moved_call(name, arguments, schemas) or \
                code_left_out(name, arguments, schemas, text) or (name, arguments)
            return ToolCall(name=name, arguments=arguments)
        if not results and rounds_left and \
                getattr(ctx.services.chat_model, "supports_forced_calls", False):
            forced = await forced_call(ctx, state, schema["function"]["name"])
            if forced is not None:  # "apple stock": the model writes symbol="AAPL" itself
                return forced
        return ask_sentence(verdict, schema, language)
    capability = describe_capability(schema) if schema is not None else None
    return gap_sentence(verdict, capability, language)


_IDENTIFIER = re.compile(r"\b(?=[A-Za-z-]*\d)(?=\d*[A-Za-z-]|\d{3})[A-Za-z0-9-]{3,12}\b")


def arguments_from_request(schema: dict[str, Any], text: str) -> dict[str, str] | None:
    """Arguments for a call the model missed, when they need no writing: {} for a tool with
    no required argument; the one booking code, order or flight number the request holds
    ("SKW123", "sk101", "4471") for a tool with one required string argument. None when it
    takes more than that: only the model can write those."""
    params = schema["function"].get("parameters") or {}
    required = params.get("required") or []
    if not required:
        return {}
    spec = (params.get("properties") or {}).get(required[0], {})
    codes = set(_IDENTIFIER.findall(text))
    if len(required) > 1 or spec.get("type", "string") != "string" or len(codes) != 1:
        return None
    return {required[0]: codes.pop().upper()}


def keyed_lore(persona: Any, text: str) -> list[str]:
    """The text of the persona's keyed lore entries that this request's own words fire
    (constant entries are in every prompt, so they say nothing about this request)."""
    lore = getattr(persona, "lore", None)
    if lore is None:
        return []
    return [e.content for e in lore.triggered([text]) if not e.constant and e.content.strip()]


def _offerable(ctx: TurnContext, schema: dict[str, Any], failed: ToolResult | None) -> bool:
    """Read-only tools that did not just fail: offering to cancel a booking is no help."""
    name = schema["function"]["name"]
    if failed is not None and name == failed.name:
        return False
    return name in ctx.services.tools and not ctx.services.tools.get(name).requires_approval


def failed_lookup(results: Sequence[ToolResult]) -> ToolResult | None:
    """The first failed result when no result of the turn holds an answer; None when one
    does, when there are none, or when the only failures are calls the user declined."""
    relevant = [r for r in results if not (r.is_error and _DECLINED in r.content)]
    if not relevant or any(failure_kind(r) is None for r in relevant):
        return None
    # A call held until another tool gave a reading did not fail itself: when that tool
    # failed, its failure is the one to tell (the forecast service down, not "the felt
    # temperature").
    return next((r for r in relevant if not FETCH_FIRST.search(r.content)), relevant[0])


def failure_kind(result: ToolResult) -> FailureKind | None:
    """How a result failed, or None when it holds an answer."""
    content = result.content.strip()
    if not result.is_error:
        if content.lower() in _EMPTY:
            return "not_found"
        # A short "nothing found" answer; a long one has data in it.
        return "not_found" if len(content) < 200 and NOT_FOUND.search(content) else None
    if _TIMEOUT.search(content):
        return "timeout"
    if NOT_FOUND.search(content):
        return "not_found"
    if invalid_argument(result) is not None:
        return "invalid_arguments"
    return "refused" if refusal_reason(result) else "error"


def failure_sentence(result: ToolResult, verdict: GapVerdict, language: str,
                     advised: dict[str, Any] | None = None) -> str:
    kind = failure_kind(result) or "error"
    value = _looked_up(result)
    unsaid = _UNSAID_PHRASE.search(result.content) if kind == "invalid_arguments" else None
    if language[:2] in _GENERIC:
        key = kind if (kind in ("timeout", "error") or (kind == "not_found" and value)) \
            else "ask" if unsaid else "error"
        return _GENERIC[language[:2]][key].format(value=value)
    unfetched = FETCH_FIRST.search(result.content) if kind == "invalid_arguments" else None
    if unfetched:  # a reading no tool gave: not the caller's to know, and not to be guessed
        return f"Sorry, I couldn't find out {unfetched.group(2)}, so I can't answer that yet."
    if unsaid:  # the model wrote the description's example: ask for the real value
        return f"To look that up I need {unsaid.group(1)}; could you tell me?"
    if kind == "refused":  # the tool worked and said why not: that reason is the answer
        reason = f"Sorry, {_lower_first(refusal_reason(result) or '')}"
        if advised is None:
            return reason
        return f"{reason.rstrip('.')}; I can {describe_capability(advised)} if you like."
    if kind == "invalid_arguments":
        argument = invalid_argument(result) or ""
        what = f"the {argument.replace('_', ' ')}" if argument else "all the details"
        return f"Sorry, I didn't get {what} right; could you tell me again?"
    topic = verdict.phrase if verdict.needs_outside_data else "that"
    if kind == "timeout":
        return (f"Sorry, I couldn't get {topic} because the service didn't answer in time; "
                "I can try again if you like.")
    if kind == "not_found":
        if value:
            return (f"Sorry, I couldn't find anything for {value}; could you check it and "
                    "tell me again?")
        return "Sorry, I couldn't find that; could you check the details and tell me again?"
    return (f"Sorry, I can't check {topic} right now because the service isn't working; "
            "I can try again in a moment.")


def gap_sentence(verdict: GapVerdict, capability: str | None, language: str) -> str:
    if language[:2] in _GENERIC:
        return _GENERIC[language[:2]]["future" if verdict.kind == "future" else "gap"]
    opening = ("I can't know what hasn't happened yet" if verdict.kind == "future"
               else f"I can't check {verdict.phrase} from here")
    offer = f"I can {capability}" if capability else "I'm happy to help with general questions"
    return f"{opening}, but {offer}."


def ask_sentence(verdict: GapVerdict, schema: dict[str, Any], language: str) -> str:
    """Ask for what the covering tool's call needs, from its required parameters."""
    if language[:2] in _GENERIC:
        return _GENERIC[language[:2]]["gap"]
    params = schema["function"].get("parameters") or {}
    needed = [parameter_phrase(name, (params.get("properties") or {}).get(name, {}))
              for name in params.get("required") or []]
    if needed:
        return f"To look that up I need {' and '.join(needed[:2])}; could you tell me?"
    return f"I'd need to look that up first; shall I {describe_capability(schema)}?"


def _lower_first(text: str) -> str:
    """"Get the ..." -> "get the ...", but "SkyWay ..." stays a name."""
    first = text.split()[0]
    return text[:1].lower() + text[1:] if first[1:] == first[1:].lower() else text


def describe_capability(schema: dict[str, Any]) -> str:
    """What a tool can do, from its description: "Get the current date, time and weekday,
    locally or in a given time zone." -> "get the current date, time and weekday"."""
    text = (schema["function"].get("description") or "").strip()
    if not text:
        return "use " + schema["function"]["name"].replace("_", " ")
    clause = re.split(r"[.:;(\n]| - ", text, maxsplit=1)[0].strip()
    pieces = clause.split(",")
    kept = [pieces[0]]
    for piece in pieces[1:]:  # short enough to say in one breath
        if len(" ".join(kept + [piece]).split()) > 8:
            break
        kept.append(piece)
    phrase = _lower_first(",".join(kept).strip())
    # Descriptions speak of "the user"; the reply speaks to them.
    return re.sub(r"\bthe (?:user|caller)'s\b", "your",
                  re.sub(r"\bthe (?:user|caller)\b", "you", phrase))


def _looked_up(result: ToolResult) -> str:
    """The value the failed call looked for (a booking code, a place), if it had one; a
    search phrase is no name to check and spell again."""
    for value in result.arguments.values():
        if isinstance(value, str) and value.strip() and (
                len(value.split()) <= 2 or any(c.isdigit() for c in value)):
            return value.strip()
    return ""
