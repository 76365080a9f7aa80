"""`stepvox tools list|call|index-audio` as a Typer sub-app."""

import json

from typer.testing import CliRunner

from tools.cli_app import tools_app

runner = CliRunner()


def test_list_shows_builtin_tools_and_network_ones_with_all():
    plain = runner.invoke(tools_app, ["list"])
    assert plain.exit_code == 0 and "get_date_time(timezone)" in plain.output and "search(" not in plain.output
    full = runner.invoke(tools_app, ["list", "--all", "--json"])
    names = [t["function"]["name"] for t in json.loads(full.output)]
    # All four built-in tools, timbre_rag over the shipped audio library included.
    assert names[:4] == ["search", "get_date_time", "get_weather", "timbre_rag"]
    text = runner.invoke(tools_app, ["list", "--all"])
    assert text.exit_code == 0 and "timbre_rag(" in text.output


def test_call_prints_the_result_and_fails_on_errors():
    ok = runner.invoke(tools_app, ["call", "get_date_time", "--args", '{"timezone": "UTC"}'])
    assert ok.exit_code == 0 and json.loads(ok.output)["arguments"] == {"timezone": "UTC"}
    bad = runner.invoke(tools_app, ["call", "get_date_time", "--args", '{"zone": 1}'])
    assert bad.exit_code == 1 and json.loads(bad.output)["is_error"]
    missing = runner.invoke(tools_app, ["call", "nope"])
    assert missing.exit_code == 1 and "no tool named" in missing.output


def test_index_audio_then_search_it(tmp_path):
    (tmp_path / "thunder_storm.wav").write_bytes(b"RIFF")
    done = runner.invoke(tools_app, ["index-audio", str(tmp_path)])
    assert done.exit_code == 0 and "indexed 1" in done.output
    found = runner.invoke(tools_app, ["call", "timbre_rag", "--args", '{"query": "a thunder storm"}',
                                      "--audio-library", str(tmp_path / "library.json")])
    assert found.exit_code == 0, found.output
    assert '\\"action\\":\\"play_clip\\"' in found.output
