"""The SkyWay desk's writes ask the caller first, by default (issue #22 point 1): every desk
tool with side effects requires approval, and every read runs freely."""

from __future__ import annotations

from agent.turn.provenance import has_side_effects
from skyway_desk.desk import airline_desk_tools


def test_every_desk_write_requires_approval_and_no_read_does():
    tools = {t.name: t for t in airline_desk_tools()}
    writes = {n for n, t in tools.items() if not t.safe_to_repeat}
    assert {"cancel_reservation", "add_checked_bag", "rebook_flight"} <= writes
    assert all(tools[n].requires_approval for n in writes)
    assert not any(t.requires_approval for n, t in tools.items() if n not in writes)
    assert {n for n, t in tools.items() if has_side_effects(t)} == writes
