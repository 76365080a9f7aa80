"""The built-in `search(query)` tool: web search through `ddgs`, trimmed to a budget.

The name and single parameter follow StepEval-Audio-Toolcall. Results are titles, URLs and
snippets cut to `max_chars` (about 4 characters per token), because a voice agent reads the
result into a small model's context and then speaks one or two sentences of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Protocol

from pydantic import Field

from tools.tool import Tool
from tools.untrusted_output import defuse_control_tokens

DEFAULT_MAX_RESULTS = 5
DEFAULT_MAX_CHARS = 1600  # ~400 tokens
_SNIPPET_CHARS = 300


class SearchBackend(Protocol):
    """What `search` needs from a client: `ddgs.DDGS().text(query, max_results=...)`."""

    def text(self, query: str, **kwargs: Any) -> Sequence[Mapping[str, Any]]: ...


def _ddgs_backend() -> SearchBackend:
    # Imported on first use: ddgs pulls in an HTTP stack that startup does not need.
    from ddgs import DDGS

    return DDGS(timeout=8)


def make_search(
    backend: SearchBackend | Callable[[], SearchBackend] | None = None,
    *,
    max_results: int = DEFAULT_MAX_RESULTS,
    max_chars: int = DEFAULT_MAX_CHARS,
    region: str = "wt-wt",
) -> Tool:
    """Build `search` over `backend` (a client, or a factory called per search; default ddgs)."""
    make_backend: Callable[[], SearchBackend]
    if backend is None:
        make_backend = _ddgs_backend
    elif callable(getattr(backend, "text", None)):
        make_backend = lambda: backend  # noqa: E731 - a ready client is reused as-is
    else:
        make_backend = backend  # type: ignore[assignment]

    def search(
        query: Annotated[str, Field(min_length=1, description="What to search the web for, in a few words.")],
    ) -> str:
        """Search the web for current information (news, facts, prices, events); returns titles, URLs and snippets."""
        try:
            hits = make_backend().text(query, max_results=max_results, region=region, safesearch="moderate")
        except Exception as exc:  # noqa: BLE001 - ddgs says "No results found." with an exception
            if "no results" in str(exc).lower():
                return f"No web results for {query!r}."
            raise RuntimeError(f"web search failed ({type(exc).__name__}: {exc}); try again later") from exc
        return format_hits(query, hits or [], max_chars)

    return Tool(search, timeout_s=15.0, safe_to_repeat=True, filler="Let me look that up.")


def format_hits(query: str, hits: Sequence[Mapping[str, Any]], max_chars: int) -> str:
    """Numbered `title - url` lines with snippets, whole hits only, within `max_chars`."""
    if not hits:
        return f"No web results for {query!r}."
    out = f"Web results for {query!r}:"
    shown = 0
    for hit in hits:
        title = _clean(str(hit.get("title") or "(untitled)"), 150)
        url = str(hit.get("href") or hit.get("url") or "").strip()
        snippet = _clean(str(hit.get("body") or hit.get("snippet") or ""), _SNIPPET_CHARS)
        entry = f"\n{shown + 1}. {title} - {url}" + (f"\n   {snippet}" if snippet else "")
        if len(out) + len(entry) > max_chars - 40:  # room for the "more results" note
            if shown == 0:  # always give at least one hit, cut to fit
                out += entry[: max(0, max_chars - 40 - len(out) - 3)] + "..."
                shown = 1
            break
        out += entry
        shown += 1
    if shown < len(hits):
        out += f"\n({len(hits) - shown} more results left out)"
    return out


def _clean(text: str, limit: int) -> str:
    # One line per field keeps the numbering readable; control tokens from pages are defused.
    text = defuse_control_tokens(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


search: Tool = make_search()
