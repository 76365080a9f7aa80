"""The deployment examples (examples/deploy/) are checked without Docker: the compose file
against a compose schema (a reduced one written for these tests after the Compose
Specification: examples/deploy/compose-schema.json says so), every `stepvox serve` flag in
the compose file and the systemd unit against the real command, and the nginx file for what
a websocket needs."""

from __future__ import annotations

import configparser
import copy
import json
import shlex
from pathlib import Path

import pytest

from agent.cli.main import app as cli
from agent.realtime.cluster.identity import load_user_tokens

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the dev extra")
yaml = pytest.importorskip("yaml", reason="PyYAML reads the compose file")

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def validator():
    schema = json.loads((DEPLOY / "compose-schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def serve_flags() -> set[str]:
    import typer.main

    command = typer.main.get_command(cli).commands["serve"]
    return {opt for param in command.params for opt in param.opts + param.secondary_opts}


def test_the_compose_file_is_valid_against_the_compose_schema():
    errors = sorted(validator().iter_errors(compose()), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@pytest.mark.parametrize("break_it, where", [
    (lambda c: c["services"]["stepvox"].update(stop_grace_priod="45s"), "misspelt key"),
    (lambda c: c["services"]["stepvox"]["deploy"].update(replicas="three"), "replicas a word"),
    (lambda c: c["services"]["stepvox"]["depends_on"]["redis"].update(condition="up"),
     "unknown condition"),
    (lambda c: c["services"]["stepvox"]["healthcheck"].update(interval="10 seconds"),
     "duration in words"),
    (lambda c: c.update(service=c.pop("services")), "no services"),
])
def test_the_schema_refuses_a_broken_compose_file(break_it, where):
    broken = copy.deepcopy(compose())
    break_it(broken)
    assert list(validator().iter_errors(broken)), f"accepted a compose file with a {where}"


def _flags(args: list[str]) -> list[str]:
    return [a.split("=")[0] for a in args if a.startswith("--")]


def test_every_serve_flag_in_the_compose_file_exists():
    services = compose()["services"]
    command = services["stepvox"]["command"]
    assert command[:2] == ["stepvox", "serve"]
    unknown = set(_flags(command)) - serve_flags()
    assert not unknown, f"stepvox serve has no {sorted(unknown)}"
    env = services["stepvox"]["environment"]
    assert {"STEPVOX_DATABASE_URL", "STEPVOX_REDIS_URL", "STEPVOX_TOKENS_FILE"} <= set(env)
    assert env["STEPVOX_DATABASE_URL"].startswith("postgresql://")
    # Compose waits longer than the drain before it kills.
    grace = int(services["stepvox"]["stop_grace_period"].rstrip("s"))
    drain = float(command[command.index("--drain-timeout") + 1])
    assert grace > drain


def test_the_systemd_unit_drains_on_sigterm_with_known_flags():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string((DEPLOY / "stepvox.service").read_text())
    service = unit["Service"]
    args = shlex.split(service["ExecStart"])
    assert args[1:3] == ["serve", "--host"] and "%i" in args
    unknown = set(_flags(args)) - serve_flags()
    assert not unknown, f"stepvox serve has no {sorted(unknown)}"
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > float(args[args.index("--drain-timeout") + 1])


def test_nginx_passes_websocket_upgrades_to_the_workers():
    conf = (DEPLOY / "nginx.conf").read_text()
    for needed in ("upstream stepvox_workers", "proxy_http_version 1.1",
                   "proxy_set_header Upgrade $http_upgrade",
                   "proxy_set_header Connection $connection_upgrade",
                   "location /v1/realtime", "proxy_read_timeout"):
        assert needed in conf, needed
    assert conf.count("{") == conf.count("}")


def test_the_example_tokens_file_is_one_the_server_accepts():
    assert set(load_user_tokens(DEPLOY / "tokens.example.json")) == {"alice", "bob"}
