"""`stepvox personas ...` commands (mounted on a bare typer app, as the lead registers them)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from agent.cli.personas import personas_app

app = typer.Typer()
app.add_typer(personas_app, name="personas")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["personas", *args])


def test_list_and_show(tmp_path):
    listed = run("list", "--dir", str(tmp_path))
    assert listed.exit_code == 0 and "skyway-agent" in listed.output and "小跃" in listed.output
    shown = run("show", "pip", "--dir", str(tmp_path))
    assert shown.exit_code == 0 and "name: Pip" in shown.output
    prompt = run("show", "mia", "--prompt", "--dir", str(tmp_path))
    assert prompt.exit_code == 0 and "refundable" in prompt.output  # the constant policy lore


def test_export_card_then_import_it_back(tmp_path):
    out = tmp_path / "bram.png"
    assert run("export", "captain-bram", "--out", str(out), "--dir", str(tmp_path)).exit_code == 0
    mine = tmp_path / "mine"
    result = run("import", str(out), "--as", "bram2", "--dir", str(mine))
    assert result.exit_code == 0, result.output
    assert (mine / "bram2.yaml").is_file()
    assert "Captain Bram" in run("show", "bram2", "--dir", str(mine)).output


def test_export_v2_card_json(tmp_path):
    out = tmp_path / "pip.json"
    assert run("export", "pip", "--out", str(out), "--spec", "v2", "--dir",
               str(tmp_path)).exit_code == 0
    assert json.loads(out.read_text())["spec"] == "chara_card_v2"


def test_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"spec": "chara_card_v3", "data": {"name": ""}}')
    result = run("import", str(bad), "--dir", str(tmp_path))
    assert result.exit_code == 1 and "no name" in result.output
    assert run("show", "nobody", "--dir", str(tmp_path)).exit_code == 1
    assert run("export", "pip", "--out", "x", "--format", "gif").exit_code == 1
