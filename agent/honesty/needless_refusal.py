"""A harmless question refused, or answered with nothing: asked once more.

The packaged 0.5B model answers "Who painted the Starry Night?" with "I'm sorry, but I can't
assist with that." now and then (5 of 375 general-knowledge questions in `bench/spoken_qa.py`,
"tell me a joke about computers" in `bench/honesty_eval.py`). A larger model's refusal is
deliberate; this one's is noise in its first tokens. So, on a backend whose replies pass the
"can't know" detector (the embedded one: `knowledge_gaps.gap_embedder`), when no tool ran,
the detector let the request through as answerable, and the first sentence is such a
refusal, the stream is closed unheard and the model is asked once more, with a system line
that keeps the choice to refuse what is harmful. A request that names anything dangerous
(weapons, drugs, self-harm, break-ins: `HARMFUL`) is never asked again: its refusal stands.
A reply that only announces an answer and stops ("Sure, here it is.", `HOLLOW`) is asked
again the same way. When the second answer refuses too, or says nothing but the request,
the nudge or an announcement, the model gets a last ask in a plain voice
(`agent.honesty.plain_voice`: no card, no tools); a reply that reads the persona's card
out goes to that ask at once. There is no fourth try: what is left is the first refusal,
or "no answer" said plainly.
"""

from __future__ import annotations

import logging
import re

from agent.chat_model import TextDelta, TurnEndEstimate
from agent.honesty.plain_voice import asked_plainly, recites_card
from agent.honesty.refusal_after_tool import (
    BRACKETED, REFUSAL, after_dropped, asked_again, echoes, first_sentence, language_of,
    replayed,
    says_an_earlier_line,
)
from agent.turn.context import TurnContext
from agent.turn.nodes import NO_ANSWER
from agent.turn.state import TurnState
from agent.turn.voicing import stop

log = logging.getLogger("stepvox.honesty")
NO_ANSWER_BY_LANGUAGE = {"en": NO_ANSWER, "zh": "抱歉，这个我答不上来。"}

NUDGE = ("Answer the caller's last message from what you know, in one or two short spoken "
         "sentences; decline only something dangerous or harmful.")
NUDGE_BY_LANGUAGE = {"en": NUDGE, "zh": "请根据你的知识，用一两句简短的中文口语回答用户刚才的话；只拒绝危险或有害的要求。"}
# Topics whose refusal is meant, in any wording: never asked again, whatever the detector
# says. Broad on purpose: a harmless question caught here only keeps a refusal it already had.
HARMFUL = re.compile(
    r"\b(?:bombs?|explosives?|detonat\w*|weapons?|guns?|firearms?|ammo|ammunition|kill\w*|"
    r"murder\w*|poison\w*|suicide|self[- ]harm|hurt (?:my|him|her|them|some)\w*|"
    r"drugs?|meth\w*|cocaine|heroin|fentanyl|overdose|hack\w*|malware|ransomware|phishing|"
    r"steal\w*|stolen|shoplift\w*|break into|burglar\w*|counterfeit|launder\w*|porn\w*|"
    r"nude|sexual|terror\w*|attack\w*|abuse\w*|stalk\w*|password)\b"
    r"|炸弹|炸药|武器|枪|杀|毒药|毒品|自杀|自残|黑客|盗|偷|诈骗|色情|恐怖", re.I)

# How a refusal opens. An answer that opens otherwise ("Vincent van Gogh ...") streams on
# at once; only these openings hold the first sentence back until it is read.
_MAY_REFUSE = re.compile(r"\s*(?:I\b|I'|sorry|as an|please|sure|okay|ok\b|of course|"
                         r"certainly|alright|here|抱歉|对不起|我|[(（])", re.I)
# An opening that only apologises: the coder model went on "Please provide the function
# name and its parameters." after it ("sorry i didn't catch that", bench/honesty_eval.py).
_APOLOGY = re.compile(r"^\W*(?:I apologi[sz]e|I'?m sorry|I am sorry|sorry|my apologies)\b"
                      r"[^.!?]{0,50}[.!?]?\s*$", re.I)
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s*")
_SENTENCE_END = re.compile(r"[.!?。！？]\s*$")
# A reply that only announces an answer and ends there: greedy, the 0.5B says "Sure, here
# it is." to questions it finds no words for ("Can I bring my small dog in the cabin?" with
# the pet rules in its prompt); asked again, it answers.
HOLLOW = re.compile(r"^\W*(?:(?:sure|okay|ok|of course|certainly|alright|yes)\W+)?"
                    r"(?:here it is|here you go|here you are|here's (?:it|the answer|what i "
                    r"found))\W*$", re.I)
# The caller's words about themselves said back as the agent's own: asked "Can I bring my
# dog on the plane?", the SkyWay desk said "Yes, I can bring my dog on the plane." Such a
# reply speaks as the caller and answers nothing, so, like a card read out, it goes to the
# plain voice with the persona's triggered lore ("50 euros", from the pet policy). Only a
# caller's line in the first person holds a reply back for this, and only one that opens
# with a yes or a no (an "I" opening is held already).
_CALLERS_OWN = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|myself)\b|我", re.I)
_YES_NO = re.compile(r"\s*(?:(?:yes|no|yeah|yep|nope)\b|是的|是|可以|不可以|不能|能|不)", re.I)
# Asked to say something back, saying it is the answer.
_SAY_BACK = re.compile(r"\b(?:repeat|say|spell|read (?:it |that )?back)\b|跟我说|跟我读|重复|念",
                       re.I)


async def ask_again_if_refused(ctx: TurnContext, state: TurnState) -> None:
    """Read the first sentence of the pending answer to a request no tool served; when it
    refuses a harmless request, announces nothing, or reads the persona's card out, replace
    it with a second answer (see the module doc)."""
    stream, first = ctx.live_stream, ctx.first_event
    if stream is None or not isinstance(first, TextDelta):
        return
    said, persona = state.get("user_text", ""), ctx.services.persona
    about_itself = _names(first.text, persona.name)
    may_echo = bool(_YES_NO.match(first.text)) and _about_the_caller(said)
    if HARMFUL.search(said) or not (_MAY_REFUSE.match(first.text) or about_itself or
                                    may_echo) and first.text.strip():
        return  # spoken as it streams: no sentence is held back to be read
    text, read = await first_sentence(first, stream)
    echoed = speaks_as_caller(text, said)
    refused = not echoed and (bool(REFUSAL.search(text) or BRACKETED.match(text)) or
                              await _ends_hollow(text, read, stream))
    follows = "" if refused or echoed else await _what_follows(text, read, stream, ctx,
                                                               state, about_itself)
    refused, recited = refused or follows == "refusal", follows == "card" or echoed
    if not (refused or recited):
        ctx.first_event, ctx.live_stream = read[0], replayed(read[1:], stream)
        return
    log.info("asking again after a refusal, an empty answer, the card read out or the "
             "caller's words said back, to a harmless request: %r", text)
    language = language_of(persona)
    nudge = NUDGE_BY_LANGUAGE.get(language, NUDGE)

    def unusable(sentence: str) -> bool:  # the 0.5B reads a system line back now and then
        return echoes(sentence, nudge) or _unusable(sentence, ctx, state)

    opening = None
    if refused:
        _, nudge, again = await asked_again(ctx, state, stream, NUDGE_BY_LANGUAGE)
        opening, again = await _kept(again, unusable)
    else:
        await stop(stream)
    if opening is None:  # the card's prompt has no answer: the plain voice may have one
        opening, again = await _kept(asked_plainly(ctx, state), unusable)
    if opening is None:  # nothing said: the first refusal is what there is
        # (an empty announcement each time, or the card: say plainly there is no answer)
        ctx.first_event = TextDelta(text if REFUSAL.search(text) else
                                    NO_ANSWER_BY_LANGUAGE.get(language, NO_ANSWER))
        ctx.live_stream = None
        return
    ctx.first_event, ctx.live_stream = opening, again


def _about_the_caller(said: str) -> bool:
    """Whether the caller spoke of themselves, and did not ask for words said back."""
    return bool(_CALLERS_OWN.search(said)) and not _SAY_BACK.search(said)


def speaks_as_caller(sentence: str, said: str) -> bool:
    """Whether `sentence`, after an opening yes or no, is mostly the caller's own words
    about themselves, in the first person as they said them ("Yes, I can bring my dog on
    the plane." to "Can I bring my dog on the plane?"). "Yes, you can bring your dog." is
    an answer: its you/your are not the caller's words."""
    if not _about_the_caller(said):
        return False
    body = sentence[m.end():] if (m := _YES_NO.match(sentence)) else sentence
    return echoes(body, said) and bool(_CALLERS_OWN.search(body))


def _names(opening: str, name: str) -> bool:
    """Whether a reply opens with the persona's own name (a card read out starts so)."""
    head = opening.strip().lower()
    return bool(head) and bool(name) and name.lower().startswith(head[:len(name)])


def _unusable(sentence: str, ctx: TurnContext, state: TurnState) -> bool:
    """A second answer's sentence not worth saying: a refusal, a line of the conversation
    said again, or the card read out."""
    return bool(REFUSAL.search(sentence) or BRACKETED.match(sentence)) or \
        speaks_as_caller(sentence, state.get("user_text", "")) or \
        says_an_earlier_line(sentence, state["messages"]) or \
        recites_card(sentence, ctx.services.persona, state.get("user_text", ""))


async def _what_follows(text: str, read: list, stream, ctx: TurnContext, state: TurnState,
                        about_itself: bool) -> str:
    """"card" when the reply reads the card out in its first sentence or, after an opening
    that names the persona, says the request back ("我讲一个小故事吧。") or only announces
    an answer ("Sure, here it is."), in its second; "refusal" when an opening that only
    apologises ("I apologize for the oversight.") is followed by a refusal; else "". What
    is read to find out joins `read`."""
    persona, said = ctx.services.persona, state.get("user_text", "")
    # A streamed piece may hold more than one sentence (a Chinese run has no spaces).
    sentences = [p for p in _SENTENCES.split(text) if p.strip()] or [text]
    if any(recites_card(p, persona, said) for p in sentences):
        return "card"
    opening, rest = sentences[0], "".join(sentences[1:])
    apology = bool(_APOLOGY.match(opening))
    if not (about_itself or apology or echoes(opening, said) or HOLLOW.match(opening)) \
            or _SENTENCE_END.search(rest) or not isinstance(read[-1], TextDelta):
        return ""  # no opening of that kind, or its next sentence is read already
    event = await anext(stream, None)
    if not isinstance(event, TextDelta):
        read.extend([event] if event is not None else [])
        return ""
    second, more = await first_sentence(event, stream)
    read.extend(more)
    if recites_card(rest + second, persona, said):
        return "card"
    return "refusal" if apology and REFUSAL.search(rest + second) else ""


async def _kept(again, unusable) -> tuple[TextDelta | None, object]:
    """The second answer from its first sentence worth saying (two are looked at), or
    (None, None) when it says nothing else."""
    opening = await anext(again, None)
    while isinstance(opening, TurnEndEstimate):  # the plain prompt ends on the caller's line
        opening = await anext(again, None)
    for _ in range(2):
        if not isinstance(opening, TextDelta):
            break
        second, read = await first_sentence(opening, again)
        if not (unusable(second) or await _ends_hollow(second, read, again)):
            return read[0], replayed(read[1:], again)
        log.info("dropped from the second answer: %r", second)
        opening = await after_dropped(second, read, again)
    if isinstance(opening, TextDelta):
        return opening, again
    await stop(again)
    return None, None


async def _ends_hollow(text: str, read: list, stream) -> bool:
    """Whether `text` is a `HOLLOW` sentence with nothing after it (what is read to find
    out joins `read`)."""
    if not HOLLOW.match(text):
        return False
    while (event := await anext(stream, None)) is not None:
        read.append(event)
        if not isinstance(event, TextDelta) or event.text.strip():
            return not isinstance(event, TextDelta)
    return True
