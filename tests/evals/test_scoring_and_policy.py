"""Scoring and policy rules on real SkyWay desk databases and call traces written out by hand
(a trace is plain data: what a call did, turn by turn)."""

from datetime import datetime, timezone

import pytest

from agent.evals import database_diffs, pass_hat_k
from agent.evals.format import CallSpec, Expectations, Scenario
from agent.evals.policy import approval_before_write, check_policy, identity_before_write
from agent.evals.scoring import call_matches, flatten, score_call
from agent.evals.trace import ApprovalAsk, CallTrace, CallTurn, ToolCallRecord
from tools import ToolRegistry
from skyway_desk.desk import scenario_desk

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
IGNORE = ["flights/*/seats_left/*"]
CANCEL = {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "change_of_plan"}


def scenario(**changes) -> Scenario:
    base = {"name": "t", "persona": "skyway-agent", "caller": {"goal": "g", "turns": ["x"]},
            "database": {"adapter": "skyway_desk.desk:scenario_desk", "ignore": IGNORE},
            "policy": [{"rule": "identity_before_write"}]}
    return Scenario.model_validate({**base, **changes})


async def run_cancel(arguments=CANCEL):
    desk = scenario_desk(None, NOW)
    start = desk.snapshot()
    result = await ToolRegistry(desk.tools).invoke("cancel_reservation", arguments)
    return start, desk.snapshot(), result


def turn(index, heard, *, calls=(), approval=None, agent="ok") -> CallTurn:
    return CallTurn(index=index, caller_text=heard, heard=heard, agent_text=agent,
                    tool_calls=list(calls), approval=approval, latency_ms=10.0)


def cancel_record(index, *, declined=False, is_error=False, arguments=CANCEL) -> ToolCallRecord:
    return ToolCallRecord(turn=index, name="cancel_reservation", arguments=arguments,
                          requires_approval=True, declined=declined, is_error=is_error or declined,
                          content="{}")


ASK = ApprovalAsk(tool="cancel_reservation", arguments=CANCEL, question="Shall I?")


# --- the database end state ---------------------------------------------------------------


async def test_expected_cancellation_leaves_no_difference():
    start, end, result = await run_cancel()
    assert not result.is_error
    changes = {"reservations/SKW123/status": "cancelled",
               "reservations/SKW123/cancel_reason": {"one_of": ["change_of_plan", "other"]}}
    assert database_diffs(start, end, changes, IGNORE) == []


async def test_unexpected_write_is_shown_field_by_field():
    start, end, _ = await run_cancel()
    diffs = database_diffs(start, end, {}, IGNORE)  # the scenario expected nothing to change
    assert {(d.path, d.expected, d.actual) for d in diffs} == {
        ("reservations/SKW123/status", "confirmed", "cancelled"),
        ("reservations/SKW123/cancel_reason", None, "change_of_plan")}
    assert str(diffs[0]).startswith("reservations/SKW123/")
    # without the ignore pattern the freed seat shows up too
    unignored = {d.path for d in database_diffs(start, end, {}, [])}
    assert any(p.endswith("seats_left/economy") for p in unignored)


async def test_expected_change_that_did_not_happen_is_a_difference():
    desk = scenario_desk(None, NOW)
    same = desk.snapshot()
    diffs = database_diffs(same, same, {"reservations/SKW123/status": "cancelled",
                                        "handoffs/1": {"any": True}}, IGNORE)
    assert {(d.path, d.actual) for d in diffs} == {("reservations/SKW123/status", "confirmed"),
                                                   ("handoffs/1", "<absent>")}


async def test_any_value_accepts_a_new_record_of_any_wording():
    desk = scenario_desk(None, NOW)
    start = desk.snapshot()
    await ToolRegistry(desk.tools).invoke("transfer_to_human", {"topic": "a complaint"})
    assert database_diffs(start, desk.snapshot(), {"handoffs/1": {"any": True}}, IGNORE) == []
    assert database_diffs(start, desk.snapshot(), {}, IGNORE)  # unexpected hand-off: a diff


def test_flatten_keeps_lists_whole_and_drops_empty_tables():
    assert flatten({"a": {"x": {"f": [1, 2]}, "y": {}}, "b": {}}) == {"a/x/f": [1, 2]}


# --- calls, replies, success ----------------------------------------------------------------


def test_call_matching_reads_codes_as_spoken():
    record = cancel_record(1, arguments={**CANCEL, "reservation_id": "skw 123"})
    assert call_matches(CallSpec(tool="cancel_reservation", arguments={"reservation_id": "SKW123"}), record)
    assert not call_matches(CallSpec(tool="cancel_reservation", arguments={"reservation_id": "SKW456"}), record)
    assert not call_matches(CallSpec(tool="add_checked_bag"), record)


async def test_success_needs_every_check():
    start, end, _ = await run_cancel()
    trace = CallTrace(greeting="Hello", turns=[
        turn(0, "Cancel SKW123, surname de Vries.", approval=ASK, agent="Shall I?"),
        turn(1, "Yes.", calls=[cancel_record(1)], agent="It is cancelled; 129 euros come back.")])
    good = scenario(expect=Expectations(
        changes={"reservations/SKW123/status": "cancelled", "reservations/SKW123/cancel_reason": {"any": True}},
        required_calls=[CallSpec(tool="cancel_reservation", arguments={"reservation_id": "SKW123"})],
        said=["129"], not_said=["sorry"]))
    assert score_call(good, trace, start, end, check_policy(trace, good, start)).success
    forbidden = good.model_copy(update={"expect": good.expect.model_copy(update={
        "forbidden_calls": [CallSpec(tool="cancel_reservation")]})})
    score = score_call(forbidden, trace, start, end, [])
    assert not score.success and score.forbidden_calls_made == ["cancel_reservation()"]
    unsaid = good.model_copy(update={"expect": good.expect.model_copy(update={"said": ["refund of 200"]})})
    assert score_call(unsaid, trace, start, end, []).unsaid == ["refund of 200"]


def test_declined_and_refused_calls_are_not_forbidden_unless_attempts_are():
    trace = CallTrace(greeting="Hi", turns=[turn(1, "No.", calls=[cancel_record(1, declined=True)])])
    same = scenario_desk(None, NOW).snapshot()
    lenient = scenario(expect=Expectations(forbidden_calls=[CallSpec(tool="cancel_reservation")]))
    assert score_call(lenient, trace, same, same, []).success
    strict = scenario(expect=Expectations(forbidden_calls=[CallSpec(tool="cancel_reservation", attempted=True)]))
    assert not score_call(strict, trace, same, same, []).success


def test_a_crashed_call_never_succeeds():
    same = scenario_desk(None, NOW).snapshot()
    trace = CallTrace(greeting="Hi", ended_by="error", error="RuntimeError: boom")
    assert not score_call(scenario(), trace, same, same, []).success


@pytest.mark.parametrize(("c", "n", "k", "expected"), [
    (4, 4, 4, 1.0), (3, 4, 1, 0.75), (3, 4, 4, 0.0), (3, 4, 2, 0.5), (0, 1, 1, 0.0)])
def test_pass_hat_k(c, n, k, expected):
    assert pass_hat_k(c, n, k) == pytest.approx(expected)


def test_pass_hat_k_needs_enough_trials():
    with pytest.raises(ValueError, match="between 1"):
        pass_hat_k(1, 2, 4)


# --- policy rules ----------------------------------------------------------------------------


def test_write_after_a_clear_yes_keeps_the_approval_rule():
    trace = CallTrace(greeting="Hi", turns=[turn(0, "Cancel SKW123, de Vries.", approval=ASK),
                                            turn(1, "Yes, go ahead.", calls=[cancel_record(1)])])
    assert approval_before_write(trace, scenario(), {}, {}) == []


@pytest.mark.parametrize(("ask", "answer", "why"), [
    (None, "Yes.", "without being put to the caller"),
    (ASK.model_copy(update={"arguments": {**CANCEL, "reservation_id": "SKW456"}}), "Yes.", "without being put"),
    (ASK, "Yes, no, wait.", "not a clear yes"),
])
def test_write_without_matching_question_or_clear_yes_is_a_violation(ask, answer, why):
    trace = CallTrace(greeting="Hi", turns=[turn(0, "Cancel SKW123, de Vries.", approval=ask),
                                            turn(1, answer, calls=[cancel_record(1)])])
    (violation,) = approval_before_write(trace, scenario(), {}, {})
    assert violation.turn == 1 and why in violation.message


def test_defaults_filled_in_after_the_question_are_not_a_different_call():
    # Seen on the 0.5B model: asked about {reservation_id, last_name}; the result lists count=1.
    asked = ASK.model_copy(update={"arguments": {"reservation_id": "SKW123", "last_name": "de Vries"}})
    ran = cancel_record(1, arguments={"reservation_id": "SKW123", "last_name": "de Vries", "count": 1})
    trace = CallTrace(greeting="Hi", turns=[turn(0, "Add a bag, de Vries.", approval=asked),
                                            turn(1, "Yes, please go ahead.", calls=[ran])])
    assert approval_before_write(trace, scenario(), {}, {}) == []


def test_declined_call_needs_no_approval_record():
    trace = CallTrace(greeting="Hi", turns=[turn(0, "No.", calls=[cancel_record(0, declined=True)])])
    assert approval_before_write(trace, scenario(), {}, {}) == []


async def test_identity_rule_needs_the_surname_from_the_caller_and_matching_the_booking():
    start = scenario_desk(None, NOW).snapshot()
    said = CallTrace(greeting="Hi", turns=[turn(0, "Cancel SKW123, my name is De-Vries.", approval=ASK),
                                           turn(1, "Yes.", calls=[cancel_record(1)])])
    assert identity_before_write(said, scenario(), start, {}) == []
    # the model read the surname from the booking details: the caller never said it
    unsaid = CallTrace(greeting="Hi", turns=[turn(0, "Cancel SKW123.", approval=ASK),
                                             turn(1, "Yes.", calls=[cancel_record(1)])])
    (violation,) = identity_before_write(unsaid, scenario(), start, {})
    assert "never said" in violation.message
    # a surname the caller said that is not on the booking (a tool that does not check)
    other = {**CANCEL, "last_name": "Smith"}
    wrong = CallTrace(greeting="Hi", turns=[turn(0, "Cancel SKW123, I'm Smith."),
                                            turn(1, "Yes.", calls=[cancel_record(1, arguments=other)])])
    (violation,) = identity_before_write(wrong, scenario(), start, {})
    assert "matches no passengers" in violation.message
    # a refused write changed nothing: no identity violation
    refused = CallTrace(greeting="Hi", turns=[turn(1, "Yes.", calls=[cancel_record(1, is_error=True, arguments=other)])])
    assert identity_before_write(refused, scenario(), start, {}) == []


def test_approval_rule_is_checked_even_when_not_listed_and_own_rules_load_by_name():
    trace = CallTrace(greeting="Hi", turns=[turn(0, "Yes.", calls=[cancel_record(0, arguments={**CANCEL})])])
    start = scenario_desk(None, NOW).snapshot()
    unlisted = scenario(policy=[])
    assert [v.rule for v in check_policy(trace, unlisted, start)] == ["approval_before_write"]
    own = scenario(policy=[{"rule": "agent.evals.policy:identity_before_write"}])
    assert {v.rule for v in check_policy(trace, own, start)} == {"approval_before_write", "identity_before_write"}
