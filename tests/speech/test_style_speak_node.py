"""The speak node with style tags: the decoder gets clean sentences plus their `Style`; captions,
the reply and the history never hold tag text."""

from __future__ import annotations

from agent import SentenceEvent, TextDelta, TextDeltaEvent, TurnDoneEvent, VoiceAgent
from fakes import RecordingDecoder, ScriptedChatModel
from personas import Persona
from speech.style import Emotion, Language, Style


async def run_turn(agent, text, **kwargs):
    events = [e async for e in agent.stream(text, **kwargs)]
    assert isinstance(events[-1], TurnDoneEvent)
    return events, events[-1].reply


def split_deltas(text, size=2):
    return [TextDelta(text[i:i + size]) for i in range(0, len(text), size)]


async def test_tags_split_across_deltas_never_reach_the_decoder_or_history():
    reply = "(高兴1)(快速1)Hello there! (悲伤1)(excited)But it is closed."
    decoder = RecordingDecoder()
    agent = VoiceAgent(ScriptedChatModel([split_deltas(reply, 3)]), decoder=decoder, tools=[])

    events, result = await run_turn(agent, "hi", conversation_id="c")

    assert decoder.texts == ["Hello there!", "But it is closed."]
    assert decoder.styles == [Style(emotion=Emotion.HAPPY, speed=1),
                              Style(emotion=Emotion.SAD, speed=1)]
    assert result.text == "Hello there! But it is closed."
    captions = "".join(e.text for e in events if isinstance(e, TextDeltaEvent))
    assert "(" not in captions and captions.strip() == result.text
    assert [e.text for e in events if isinstance(e, SentenceEvent)] == decoder.texts
    history = await agent.services.memory.history("c")
    assert history[-1].text == "Hello there! But it is closed."


async def test_persona_default_style_applies_and_neutral_sentences_pass_no_style():
    persona = Persona(name="Ming", system_prompt="You are Ming.",
                      default_style=Style(language=Language.CANTONESE))
    decoder = RecordingDecoder()
    agent = VoiceAgent(ScriptedChatModel(["(高兴2)Hi! Bye."]), decoder=decoder, tools=[],
                       persona=persona)
    await run_turn(agent, "hi")
    assert decoder.styles == [
        Style(language=Language.CANTONESE, emotion=Emotion.HAPPY, emotion_level=2),
        Style(language=Language.CANTONESE, emotion=Emotion.HAPPY, emotion_level=2)]

    plain = RecordingDecoder()
    agent = VoiceAgent(ScriptedChatModel(["Hi! Bye."]), decoder=plain, tools=[])
    await run_turn(agent, "hi")
    assert plain.styles == [None, None]  # a neutral style is not passed at all


async def test_a_decoder_without_a_style_parameter_still_speaks_styled_text():
    class OldDecoder(RecordingDecoder):
        async def synthesize(self, text):  # written before `style` existed
            async for chunk in super().synthesize(text):
                yield chunk

    decoder = OldDecoder()
    agent = VoiceAgent(ScriptedChatModel(["(生气1)Stop that."]), decoder=decoder, tools=[])
    _, result = await run_turn(agent, "hi")
    assert decoder.texts == ["Stop that."] and result.text == "Stop that."


async def test_persona_allowed_tags_limit_what_is_applied():
    persona = Persona(name="Ann", system_prompt="You are Ann.", style_tags=["happy"])
    decoder = RecordingDecoder()
    agent = VoiceAgent(ScriptedChatModel(["(粤语)(高兴1)Hi."]), decoder=decoder, tools=[],
                       persona=persona)
    await run_turn(agent, "hi")
    assert decoder.texts == ["Hi."] and decoder.styles == [Style(emotion=Emotion.HAPPY)]


async def test_a_reply_of_only_tags_falls_back_to_no_answer():
    decoder = RecordingDecoder()
    agent = VoiceAgent(ScriptedChatModel(["(高兴1)"]), decoder=decoder, tools=[])
    _, result = await run_turn(agent, "hi")
    assert decoder.texts == [result.text] and "(" not in result.text
