"""Conversation ids that clients send, and who a token belongs to.

A deployment either has no token (loopback only), one shared token (`--token`: every holder
is the same anonymous caller), or per-user tokens (`--tokens-file`, a JSON object mapping
each user id to its token): then a token names a user, and a conversation belongs to the
user who created it. Both may be set; the shared token then stays anonymous.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, RootModel, ValidationError, field_validator

# Letters, digits and `._:-`, up to the database column's 128 characters: safe in a URL, a
# log line, a Redis key.
CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
USER_ID = CONVERSATION_ID
MIN_TOKEN_CHARS = 16


class InvalidConversationId(ValueError):
    """A client sent a conversation id this server does not accept."""


def check_conversation_id(value: object) -> str:
    if not isinstance(value, str) or not CONVERSATION_ID.fullmatch(value):
        shown = repr(value)[:80]
        raise InvalidConversationId(
            f"conversation_id must be 1 to 128 characters of letters, digits and '._:-', "
            f"starting with a letter or digit; got {shown}")
    return value


class TokensFileError(ValueError):
    """The per-user tokens file cannot be used."""


class _UserTokens(RootModel[dict[str, str]]):
    @field_validator("root")
    @classmethod
    def _valid(cls, tokens: dict[str, str]) -> dict[str, str]:
        for user, token in tokens.items():
            if not USER_ID.fullmatch(user):
                raise ValueError(f"user id {user!r}: letters, digits and '._:-' only")
            if len(token) < MIN_TOKEN_CHARS:
                raise ValueError(f"the token of {user!r} is shorter than {MIN_TOKEN_CHARS} "
                                 "characters")
        if len(set(tokens.values())) != len(tokens):
            raise ValueError("two users share a token: each token must name one user")
        return tokens


def load_user_tokens(path: Path) -> dict[str, str]:
    """`{"alice": "token...", ...}` from a JSON file, checked."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return _UserTokens.model_validate(raw).root
    except OSError as exc:
        raise TokensFileError(f"cannot read the tokens file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise TokensFileError(f"the tokens file {path} is not JSON: {exc}") from exc
    except ValidationError as exc:
        detail = "; ".join(e["msg"] for e in exc.errors()[:3])
        raise TokensFileError(f"the tokens file {path} is not a JSON object of user id -> "
                              f"token: {detail}") from exc


@dataclass(frozen=True)
class Caller:
    user_id: str | None  # None: the anonymous caller (no token, or the shared one)


class CallerTokens(BaseModel):
    """Which caller a presented token is. Compared in constant time."""

    shared: str | None = None
    per_user: dict[str, str] = Field(default_factory=dict)  # user id -> token

    @property
    def required(self) -> bool:
        return bool(self.shared or self.per_user)

    def identify(self, given: str) -> Caller | None:
        """The caller `given` names, or None when it is missing or wrong."""
        if not self.required:
            return Caller(None)
        found: Caller | None = None
        for user, token in self.per_user.items():  # every one compared: no timing by position
            if hmac.compare_digest(given.encode(), token.encode()):
                found = Caller(user)
        if self.shared and hmac.compare_digest(given.encode(), self.shared.encode()):
            found = found or Caller(None)
        return found


def presented_token(query: dict, headers: dict) -> str:
    """`?token=...` (browsers cannot set headers on a websocket) or `Authorization: Bearer`."""
    given = query.get("token") or ""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    return given
