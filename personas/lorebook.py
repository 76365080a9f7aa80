"""Lore: keyword-triggered text injected into a persona's prompt (Character Card `character_book`).

The models mirror the CCv3 Lorebook object. Unknown fields are kept (`extra="allow"`) and
exports use `exclude_unset`, so a card's book survives import -> export unchanged.

Matching: an entry fires when one of its `keys` occurs in the last `scan_depth` messages
(all of them when the book sets none); `selective` entries also need a `secondary_keys` hit;
`constant` entries always fire; disabled entries never. Keys match case-insensitively unless
`case_sensitive`, as whole words for Latin text (so `cat` does not fire on "category") and as
substrings for CJK text; with `use_regex` a key is a regex (`/pat/i` or a bare pattern) and a
bad pattern never matches. Fired entries are ordered by `insertion_order` (lower first); over
`token_budget` the lowest-priority ones are cut first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Without a scan depth in the book, recent enough to stay on topic.
DEFAULT_SCAN_DEPTH = 4


class LoreEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    keys: list[str] = Field(default_factory=list)
    content: str
    extensions: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    insertion_order: int | float = 100
    case_sensitive: bool | None = None
    use_regex: bool = False
    constant: bool | None = None
    name: str | None = None
    priority: int | float | None = None
    id: int | str | None = None
    comment: str | None = None
    selective: bool | None = None
    secondary_keys: list[str] | None = None
    position: Literal["before_char", "after_char"] | str | None = None

    def matches(self, window: str) -> bool:
        if not self.enabled:
            return False
        if self.constant and not self.use_regex:
            return True
        if not any(self._hit(key, window) for key in self.keys):
            return False
        if self.selective and self.secondary_keys and not self.use_regex:
            return any(self._hit(key, window) for key in self.secondary_keys)
        return True

    def _hit(self, key: str, window: str) -> bool:
        if not key:
            return False
        if self.use_regex:
            return _regex_hit(key, window)
        flags = 0 if self.case_sensitive else re.IGNORECASE
        # Whole words where the key begins/ends with a Latin word character; CJK has no spaces.
        pattern = re.escape(key)
        if re.match(r"[A-Za-z0-9_]", key):
            pattern = r"(?<![A-Za-z0-9_])" + pattern
        if re.search(r"[A-Za-z0-9_]$", key):
            pattern += r"(?![A-Za-z0-9_])"
        return re.search(pattern, window, flags) is not None


def _regex_hit(key: str, window: str) -> bool:
    match = re.fullmatch(r"/(.*)/([a-z]*)", key, re.DOTALL)
    pattern, letters = (match[1], match[2]) if match else (key, "")
    flags = re.IGNORECASE if "i" in letters else 0
    flags |= re.MULTILINE if "m" in letters else 0
    flags |= re.DOTALL if "s" in letters else 0
    try:
        return re.search(pattern, window, flags) is not None
    except re.error:
        return False  # the spec: an invalid pattern is not a match


class Lorebook(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    description: str | None = None
    scan_depth: int | None = Field(None, ge=0)
    token_budget: int | None = Field(None, ge=0)
    recursive_scanning: bool | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    entries: list[LoreEntry] = Field(default_factory=list)

    def triggered(self, messages: Sequence[str]) -> list[LoreEntry]:
        """The entries that fire on the newest messages (oldest first), in insertion order."""
        depth = DEFAULT_SCAN_DEPTH if self.scan_depth is None else self.scan_depth
        window = "\n".join(messages[-depth:]) if depth else ""
        fired = [e for e in self.entries if e.matches(window)]
        if self.recursive_scanning:
            # Fired entries' text may mention other entries' keys; repeat until nothing new.
            while True:
                extra = "\n".join(e.content for e in fired)
                more = [e for e in self.entries
                        if all(e is not f for f in fired) and e.matches(extra)]
                if not more:
                    break
                fired += more
        ordered = sorted(fired, key=lambda e: e.insertion_order)
        return self._within_budget(ordered)

    def _within_budget(self, entries: list[LoreEntry]) -> list[LoreEntry]:
        if self.token_budget is None:
            return entries
        kept = list(entries)
        # Cut the least important first: by priority when set, else by insertion order.
        by_importance = sorted(kept, key=lambda e: (e.priority if e.priority is not None
                                                    else e.insertion_order))
        while kept and sum(approx_tokens(e.content) for e in kept) > self.token_budget:
            kept.remove(by_importance.pop(0))
        return kept


def approx_tokens(text: str) -> int:
    """About 4 characters a token for Latin text, 1 a token for CJK: good enough for budgets."""
    cjk = sum(1 for c in text if "\u3000" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af")
    return cjk + (len(text) - cjk + 3) // 4


# SillyTavern "World Info" files (`*.worldinfo.json`): entries keyed by uid, other field names.
_WORLD_INFO_FIELDS = {"key": "keys", "keysecondary": "secondary_keys", "order": "insertion_order",
                      "caseSensitive": "case_sensitive", "comment": "comment",
                      "content": "content", "constant": "constant", "selective": "selective"}


def lorebook_from_world_info(data: dict[str, Any], name: str | None = None) -> Lorebook:
    """A SillyTavern World Info object -> `Lorebook`; its other fields go to each entry's
    `extensions`, and `disable` becomes `enabled`."""
    raw = data.get("entries")
    if not isinstance(raw, dict | list):
        raise ValueError("a World Info file needs an 'entries' object")
    entries = []
    for item in raw.values() if isinstance(raw, dict) else raw:
        fields = {new: item[old] for old, new in _WORLD_INFO_FIELDS.items() if old in item}
        fields["enabled"] = not item.get("disable", False)
        fields["id"] = item.get("uid")
        fields["extensions"] = {k: v for k, v in item.items()
                                if k not in _WORLD_INFO_FIELDS and k not in ("disable", "uid")}
        entries.append(LoreEntry(**fields))
    return Lorebook(name=name, entries=entries)
