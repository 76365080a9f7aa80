"""The `stepvox` command line (typer): `agent.cli.main` builds the app, one module a command
group.

May import anything in stepvox; nothing but the entry point imports it.
"""


def __getattr__(name: str):
    # `from agent.cli import app` kept working when cli.py became this package; imported
    # lazily so that `agent.cli.demo` and friends do not load every command.
    if name == "app":
        from agent.cli.main import app
        return app
    raise AttributeError(name)
