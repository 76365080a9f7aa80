"""`stepvox doctor`: is what the settings point at usable, before a caller finds out."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from agent.embedded_stack import model_store
from agent.settings import StepvoxSettings

_BAD_STATES = {"missing package", "checksum mismatch"}


async def run_doctor(settings: StepvoxSettings, console: Console) -> bool:
    """Print one line per check; True when everything is usable."""
    ok = True
    store = model_store(settings, progress=False)
    roles = ("vad", "asr", "tts") if settings.model != "embedded" else ("vad", "asr", "llm", "tts")
    for status in store.status_all():
        if status.role not in roles or status.key == "qwen2.5-1.5b-instruct":
            continue  # the optional larger LLM is not needed unless chosen
        good = status.state not in _BAD_STATES
        ok &= good
        mark = "[green]ok[/]" if good else "[red]FAIL[/]"
        console.print(f"{mark} {status.role}: {escape(status.title)} ({status.state})")
    if settings.model != "embedded":
        from agent.chat_session import remote_chat_model
        from agent.step_audio_backends import check_server

        model = remote_chat_model(settings)
        if hasattr(model, "client"):
            check = await check_server(model)
            for problem in check.problems:
                console.print(f"[red]FAIL[/] {settings.model} at {check.base_url}: "
                              f"{escape(problem)}")
            if check.ok:
                console.print(f"[green]ok[/] {settings.model} served at {check.base_url}")
            ok &= check.ok
        else:
            console.print(f"[yellow]?[/] {settings.model}: no server check for this backend")
    return ok
