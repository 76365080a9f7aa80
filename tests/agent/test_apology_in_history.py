"""A turn answered with the backend apology is stored whole, and the next prompt shows it
without the apology (`agent.turn.apology.without_apology`): the packaged 0.5B model
repeated the apology word for word to the following question when it was in the prompt."""

from agent.turn.apology import APOLOGY, without_apology
from agent.recall.history_prompt import history_messages
from memory import DialogueTurn


def test_only_an_apology_leaves_the_question_standing():
    messages = history_messages([
        DialogueTurn(role="user", text="What's the weather in Lyon?"),
        DialogueTurn(role="assistant", text=APOLOGY),
        DialogueTurn(role="user", text="And tomorrow?"),
        DialogueTurn(role="assistant", text="It is sunny. " + APOLOGY),
    ])
    assert [(m.role, m.content) for m in messages] == [
        ("user", "What's the weather in Lyon?"), ("user", "And tomorrow?"),
        ("assistant", "It is sunny.")]


def test_other_replies_are_left_alone():
    assert without_apology("Sorry, I can't answer that.") == "Sorry, I can't answer that."
    assert without_apology(APOLOGY + " Anyway, it is noon.") == APOLOGY + " Anyway, it is noon."


def test_a_tool_turn_that_failed_after_its_tools_keeps_the_calls_without_the_apology():
    from memory import ToolCallRecord

    messages = history_messages([
        DialogueTurn(role="user", text="Weather in Lyon?"),
        DialogueTurn(role="assistant", text=APOLOGY, tool_calls=[
            ToolCallRecord(id="c1", name="get_weather", arguments={"city": "Lyon"},
                           result="sunny")]),
    ])
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Weather in Lyon?"), ("assistant", ""), ("tool", "sunny")]
