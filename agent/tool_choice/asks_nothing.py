"""Turns that ask for nothing: the caller saying how they feel ("i feel a bit sad today"),
closing a topic ("Okay, thanks, I'll think about it.") or giving an opinion ("i love rainy
days honestly", "i like your voice"), with no question or request after it.

Such a turn needs no tool and no outside data, whatever its words lie near: "sad today" is
near the clock's examples, "your voice" near the voice tool's, and "I'll" reads as a future
event. The call decision (`agent.backends.llama_cpp.call_readings`) makes no call for one,
unless the caller said one of a tool's own examples (a desk's hang-up tool whose example is
"thanks, that's all"), and the knowledge-gap detector (`agent.honesty.knowledge_gaps`)
lets it be answered.
"""

from __future__ import annotations

import re

# The caller telling how they feel ("i'm nervous about my exam tomorrow") asks for no data,
# whatever private or future words it holds; it is answered, unless a question follows.
_FEELING = re.compile(
    r"^\W*(?:(?:um|uh|oh|well|so|honestly|ah)\W+)*(?:i'?m|i am|i feel|i'?ve been|i get|"
    r"i'?m feeling|feeling)\s+(?:(?:so|really|very|a bit|a little|kind of|quite|pretty|super|"
    r"getting|all)\s+)*(?:nervous|worried|anxious|scared|afraid|excited|happy|sad|stressed|"
    r"tired|bored|lonely|upset|angry|thrilled|glad|down|overwhelmed|homesick|grateful|"
    r"frustrated|annoyed|confused|proud)\b", re.I)
_ASKS = re.compile(r"\?|\b(?:can|could|would|will|is|are|does|do|did|what|when|where|which|"
                   r"who|how|tell me|check|look|find|let me know)\b", re.I)


def _opens_and_asks_nothing(opening: re.Pattern, asks: re.Pattern, text: str) -> bool:
    found = opening.match(text)
    return found is not None and not asks.search(text[found.end():])


def tells_a_feeling(text: str) -> bool:
    """A statement of how the caller feels, with nothing asked after it."""
    return _opens_and_asks_nothing(_FEELING, _ASKS, text)


# A caller closing a topic ("Okay, thanks, I'll think about it.") asks for nothing, though
# "I'll" reads as a future event to the classifier (p 0.53 at the SkyWay desk); a question or
# a request after the thanks is still judged ("thanks, and what's the weather in Oslo?").
_ACKNOWLEDGE = re.compile(
    r"^\W*(?:(?:ok|okay|oh|well|alright|all right|great|perfect|fine|good|cool|got it|i see|"
    r"understood|no worries|sure|right)\W+)*(?:thanks|thank you|cheers|many thanks|bye|"
    r"goodbye|ok|okay|alright|all right|great|perfect|got it|understood)\b", re.I)
_ASKS_AFTER = re.compile(r"\?|\b(?:what|when|where|which|who|how|why|whether|tell me|check|"
                         r"look(?:ing)? up|find|can you|could you|would you|will you|please|"
                         r"let me know|(?:do|does|did|will|is|are|can|could|would|should|has|"
                         r"have)\s+(?:you|it|i|we|they|there|the|my|he|she|this|that)\b)\b",
                         re.I)


def acknowledges(text: str) -> bool:
    """Thanks or an okay that closes a topic, with nothing asked or requested after it."""
    return _opens_and_asks_nothing(_ACKNOWLEDGE, _ASKS_AFTER, text)


# An opinion in one clause ("i love rainy days honestly"); a second clause may ask for
# something ("i hate this song, skip it") and is left to the decision.
_OPINION = re.compile(
    r"^\W*(?:(?:um|uh|oh|well|so|honestly|you know)\W+)*i\s+(?:(?:really|honestly|just|do|"
    r"absolutely|kind of|totally)\s+)*(?:like|love|enjoy|hate|adore|dislike|miss)\s+(?!to\b)[^,;?!.]*"
    r"[.!]?\s*$", re.I)


def gives_an_opinion(text: str) -> bool:
    """One clause of what the caller likes or dislikes, nothing asked."""
    return bool(_OPINION.match(text)) and not _ASKS_AFTER.search(text)


def asks_nothing(text: str) -> bool:
    """A feeling, a closing thanks or an opinion, with no question or request in it."""
    return tells_a_feeling(text) or acknowledges(text) or gives_an_opinion(text)
