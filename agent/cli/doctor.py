"""`stepvox doctor`: is what the settings point at usable, before a caller finds out."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from agent.models.store import model_store
from agent.settings import StepvoxSettings

_BAD_STATES = {"missing package", "checksum mismatch"}


async def run_doctor(settings: StepvoxSettings, console: Console) -> bool:
    """Print one line per check; True when everything is usable."""
    ok = True
    store = model_store(settings, progress=False)
    roles = ("vad", "asr", "tts") if settings.model != "embedded" else ("vad", "asr", "llm", "tts")
    for status in store.status_all():
        # Only the profile's LLM is needed (or an override); the other packaged one is optional.
        other_llm = (status.role == "llm" and status.key != store.defaults["llm"]
                     and not status.key.startswith("override:"))
        if status.role not in roles or other_llm:
            continue
        good = status.state not in _BAD_STATES
        ok &= good
        mark = "[green]ok[/]" if good else "[red]FAIL[/]"
        console.print(f"{mark} {status.role}: {escape(status.title)} ({status.state})")
    if settings.model != "embedded":
        ok &= await _check_step_audio(settings, console)
    return ok


async def _check_step_audio(settings: StepvoxSettings, console: Console) -> bool:
    """The server (or Realtime endpoint) answers with this model and tool calling; and, when a
    Step-Audio-Tokenizer directory is configured, that its files are all there."""
    from agent.backends.step_audio.backends import (
        LOCAL_PREFIX, STEP_AUDIO_CHAT, check_realtime, check_server, make_step_audio_model,
    )
    from agent.backends.step_audio.files import StepAudioFiles, tokenizer_problems
    from agent.backends.step_audio.stepfun_realtime import StepFunRealtimeModel

    if settings.model.lower().startswith(LOCAL_PREFIX):
        return _check_local(settings.model[len(LOCAL_PREFIX):], console)
    chat = settings.model.lower() in STEP_AUDIO_CHAT
    # The tokenizer's files are checked below, without loading its models here.
    model = make_step_audio_model(settings.model, base_url=settings.base_url,
                                  served_name=settings.served_name,
                                  **({"tokenizer": None} if chat else {}))
    if isinstance(model, StepFunRealtimeModel):
        check = await check_realtime(model)
    else:
        check = await check_server(model)
    for problem in check.problems:
        console.print(f"[red]FAIL[/] {settings.model} at {check.base_url}: {escape(problem)}")
    if check.ok:
        console.print(f"[green]ok[/] {settings.model} served at {check.base_url}")
    ok = check.ok
    files = StepAudioFiles()
    if files.tokenizer_dir is not None:
        problems = tokenizer_problems(files)
        for problem in problems:
            console.print(f"[red]FAIL[/] Step-Audio tokenizer: {escape(problem)}")
        if not problems:
            console.print(f"[green]ok[/] Step-Audio tokenizer at {files.tokenizer_dir}")
        if not chat:
            console.print(f"[yellow]note[/] {settings.model} takes audio itself; the tokenizer "
                          "directory is used by step-audio-chat only")
        ok &= not problems
    return ok


def _check_local(directory: str, console: Console) -> bool:
    """A local checkpoint: its files are there (the model itself is not loaded here)."""
    from pathlib import Path

    from speech.step_audio.tts import missing_checkpoint_files

    root = Path(directory).expanduser()
    missing = missing_checkpoint_files(root)
    for name in missing:
        console.print(f"[red]FAIL[/] local checkpoint {escape(str(root))}: no {escape(name)}")
    if not missing:
        console.print(f"[green]ok[/] local checkpoint at {escape(str(root))}")
    return not missing
