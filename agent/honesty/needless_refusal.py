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
The second answer is spoken whatever it is; there is no third try. A reply that only
announces an answer and stops ("Sure, here it is.", `HOLLOW`) is asked again the same way.
"""

from __future__ import annotations

import logging
import re

from agent.chat_model import TextDelta
from agent.honesty.refusal_after_tool import (
    REFUSAL, asked_again, echoes, first_sentence, replayed,
)
from agent.turn.context import TurnContext
from agent.turn.state import TurnState

log = logging.getLogger("stepvox.honesty")
NO_ANSWER = "Sorry, I don't have an answer to that."

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
                         r"certainly|alright|here|抱歉|对不起|我)", re.I)
# A reply that only announces an answer and ends there: greedy, the 0.5B says "Sure, here
# it is." to questions it finds no words for ("Can I bring my small dog in the cabin?" with
# the pet rules in its prompt); asked again, it answers.
HOLLOW = re.compile(r"^\W*(?:(?:sure|okay|ok|of course|certainly|alright|yes)\W+)?"
                    r"(?:here it is|here you go|here you are|here's (?:it|the answer|what i "
                    r"found))\W*$", re.I)


async def ask_again_if_refused(ctx: TurnContext, state: TurnState) -> None:
    """Read the first sentence of the pending answer to a request no tool served; when it
    refuses a harmless request, replace it with a second answer (see the module doc)."""
    stream, first = ctx.live_stream, ctx.first_event
    if stream is None or not isinstance(first, TextDelta):
        return
    said = state.get("user_text", "")
    if HARMFUL.search(said) or not _MAY_REFUSE.match(first.text) and first.text.strip():
        return  # spoken as it streams: no sentence is held back to be read
    text, read = await first_sentence(first, stream)
    if not (REFUSAL.search(text) or await _ends_hollow(text, read, stream)):
        ctx.first_event, ctx.live_stream = read[0], replayed(read[1:], stream)
        return
    log.info("asking again after a refusal or an empty answer to a harmless request: %r", text)
    _, nudge, again = await asked_again(ctx, state, stream, NUDGE_BY_LANGUAGE)
    opening = await anext(again, None)
    for _ in range(2):  # the 0.5B reads a system line back now and then: not for the caller
        if not isinstance(opening, TextDelta):
            break
        second, read = await first_sentence(opening, again)
        if not (echoes(second, nudge) or await _ends_hollow(second, read, again)):
            opening, again = read[0], replayed(read[1:], again)
            break
        log.info("dropped from the second answer: %r", second)
        rest = [e for e in read if not isinstance(e, TextDelta)]
        opening = rest[0] if rest else await anext(again, None)
    if not isinstance(opening, TextDelta):  # nothing said: the first refusal is what there is
        # (an empty announcement twice: say plainly there is no answer)
        ctx.first_event = TextDelta(NO_ANSWER if HOLLOW.match(text) else text)
        ctx.live_stream = None
        return
    ctx.first_event, ctx.live_stream = opening, again


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
