"""A question about the world, not about the character: answered from a plain prompt.

Every character card costs the packaged 0.5B facts. Asked the 120 spoken-QA questions as
text, Pip, Captain Bram, Veyra and the SkyWay desk answered 19-22 of the 62 dev questions
where the bare model answered 23 ("A spider has four legs." under Captain Bram; the bare
model says eight). The same model told only "You are Captain Bram.", the speaking rules and
the style-tag protocol answered 26-27 (`bench/persona_qa.py`, bench/README.md). The card's
words pull the small model's answer into the character's world.

So a question that needs nothing of the character is answered from that plain prompt (the
backend still decides tool or text on the persona's own prompt, so calls are unchanged, and
only the text comes from the plain one: `LlamaCppChatModel.stream(answer_from=...)`). Such a
question, read from the words alone:

- asks (a wh-word, or 什么/谁/哪/几/多少/怎么/为什么), and stands alone: no you/your, I/my, we,
  no he/she/it/they or this/that pointing back into the conversation (the generic "what do
  you call a baby cat" and "our solar system" are allowed);
- asks no opinion or advice, and for no story, song or joke: those are the character's to give;
- names nothing of the character: no word of its card (name, prompt, description, scenario,
  greetings, examples) but everyday ones (year, night, help, numbers), and no lore entry it
  would trigger (an entry always in the prompt, a desk's policy document, is not triggered).

Anything else keeps the persona's prompt, as before: the rule only ever moves a question that
the card has no part in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from agent.chat_model import ChatMessage
from agent.honesty.plain_voice import plain_system
from personas.persona_prompt import expand_macros

_ASKS_EN = re.compile(r"\b(?:what|what's|whats|which|who|who's|whom|whose|where|where's|when|"
                      r"how|how's|why)\b", re.I)
_ASKS_ZH = re.compile(r"什么|啥|谁|哪|几|多少|怎么|怎样|为什么|为何|是否|吗[？?]?$")
# Words that point at the speakers or back into the conversation.
_PERSONAL_EN = re.compile(
    r"\b(?:you|your|yours|yourself|u|i|i'm|i've|i'd|me|my|mine|myself|we|we're|us|our|ours|"
    r"he|him|his|she|her|hers|it|its|they|them|their|theirs|this|these|those)\b",
    re.I)
# "What do you call a baby cat?", "How do you say hello in Spanish?": the generic you.
_GENERIC_YOU = re.compile(
    r"\b(?:do|would|can|could|did|should) you (?:call|say|spell|pronounce|write|find|get|make|"
    r"mix|use|measure|convert|calculate)\b"
    # "How many planets are in our solar system?": everyone's, not the speakers'.
    r"|\bour (?:solar system|planet|galaxy|sun|moon|bodies|body|universe|earth)\b"
    r"|\b(?:planet|galaxy|world) we live (?:on|in)\b", re.I)
_PERSONAL_ZH = re.compile(r"你|您|我|咱|他|她|它|这|那|刚才")
# Asked of the character, not of the world.
_OWN_EN = re.compile(
    r"\b(?:think|feel|believe|opinion|favou?rite|best|worst|should|recommend|suggest|advice|"
    r"advise|sing|rap|prophecy|fortune|predict|imagine|pretend|guess|like to|love to|want|"
    r"wish|hope|(?:a|an|another|some|one more) (?:story|tale|joke|poem|song|riddle|rhyme))\b",
    re.I)
_OWN_ZH = re.compile(r"觉得|认为|看法|喜欢|最好|推荐|建议|应该|故事|笑话|诗|歌|唱|说唱|谜语|预言|想象|猜")
_WORD = re.compile(r"[a-z][a-z'-]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Function words and question words: shared with any card, they say nothing of it.
_COMMON = frozenset("""
about above after again against also among another around away back because been before
being below between both came come comes could does doing done down during each else even
ever every from have having here into just know known like made make many more most much
must name named near never next none often once only other over same says some such than
that their them then there these they thing things this those through till under until upon
very well were what when where which while whom whose will with within without would your
yours called call does long take takes first last part used uses using tell give gives
find found live lives lived help love loves word words high year years month months week
weeks night nights time times three four five seven eight nine hundred thousand
the and for are was can how who why did has had not but one two six ten day days man men
new old use way get got say see out all any per too yes off big few let put run set try
you she her his him its our who's what's where's how's whats
""".split())
_MIN_WORD = 3
_FUNCTION_HAN = frozenset("的是了在有和与吗呢吧么什哪谁几多少怎为个一不也都就还要会能可以")


def _stem(word: str) -> str:
    word = word.strip("'-").removesuffix("'s")
    for end in ("ies", "es", "s"):
        if len(word) > _MIN_WORD + len(end) - 1 and word.endswith(end):
            return word[: -len(end)] + ("y" if end == "ies" else "")
    return word


def card_words(persona) -> frozenset[str]:
    """The content words of everything the card says of the character (stemmed), and the
    Chinese character pairs of it: a question sharing one is the character's to answer."""
    parts = [persona.name, persona.system_prompt, persona.description, persona.personality,
             persona.scenario, persona.greeting, *persona.alternate_greetings,
             *persona.example_dialogues]
    return _words_of(expand_macros("\n".join(p for p in parts if p), persona.name, "User"))


@lru_cache(maxsize=32)  # the card's text is the same every turn; a few cards are in use
def _words_of(text: str) -> frozenset[str]:
    # Example dialogues mark their speakers with the name the macro gave the user.
    words = {_stem(w) for w in _WORD.findall(text.lower())
             if len(w) >= _MIN_WORD and w not in _COMMON and w != "user"}
    return frozenset(words | _han_pairs(text))


def _han_pairs(text: str) -> set[str]:
    """Chinese is not spaced: its words are taken as the pairs of adjacent characters, less
    those holding a function character (的, 是, 什么 ...), which any two texts share."""
    pairs = set()
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        pairs.update(run[i:i + 2] for i in range(len(run) - 1))
    return {p for p in pairs if not _FUNCTION_HAN.intersection(p)}


def asks_about_the_world(text: str, persona) -> bool:
    """Whether `text` is a standalone question about the world that the persona's card has
    no part in (the module's rules)."""
    said = text.strip()
    if not said or len(said) > 300:
        return False
    if _HAN.search(said):
        if not _ASKS_ZH.search(said) or _PERSONAL_ZH.search(said) or _OWN_ZH.search(said):
            return False
        own = _han_pairs(said) | ({persona.name} if persona.name in said else set())
    else:
        bare = _GENERIC_YOU.sub(" ", said)
        if not _ASKS_EN.search(said) or _PERSONAL_EN.search(bare) or _OWN_EN.search(said):
            return False
        own = {_stem(w) for w in _WORD.findall(said.lower())
               if len(w) >= _MIN_WORD and w not in _COMMON}
    if own & card_words(persona):
        return False
    # An entry that is always in the prompt (a desk's policy document) says nothing of this.
    return not (persona.lore and any(not e.constant for e in persona.lore.triggered([said])))


def plain_answer_prompt(persona, text: str) -> list[ChatMessage]:
    """The persona's name, the speaking rules in its language and its style-tag protocol,
    then the question alone: no card, no lore, no history (the question stands alone)."""
    return [ChatMessage(role="system", content=plain_system(persona, tags=True)),
            ChatMessage(role="user", content=text)]


def has_character(persona) -> bool:
    """Whether the card says anything beyond its one system line. The default persona ("You
    are Joe, a friendly and helpful voice assistant.") is plain already: told only "You are
    Joe." instead, the 0.5B answered "The four seasons were composed by Joe." and lost 3 of
    36 answers on the honesty bench's dev half (bench/honesty_eval.py)."""
    return bool(persona.description or persona.personality or persona.scenario
                or persona.example_dialogues or persona.lore)


def world_answer_prompt(services, state) -> Sequence[ChatMessage] | None:
    """The plain prompt to answer this turn's text from, or None to keep the persona's:
    only the first round of a user turn (no tool result, no held call), on a backend that
    can answer from a second prompt, of a persona with a character, for a question about
    the world."""
    if not getattr(services.chat_model, "answers_from_another_prompt", False):
        return None
    if state.get("rounds", 0) or state.get("tool_results") or state.get("fetch_next"):
        return None
    text = state.get("user_text", "")
    persona = services.persona
    if not has_character(persona) or not asks_about_the_world(text, persona):
        return None
    return plain_answer_prompt(persona, text)
