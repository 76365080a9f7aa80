"""Named errors of the Step-Audio server backends (vLLM / OpenAI-compatible HTTP).

All are `ModelBackendError`s, so the agent's existing fallback for a failed reply (a spoken
apology, history kept consistent) covers them; the subclasses let callers and `stepvox doctor`
tell a server that is down from one that answered badly. Messages name the URL and what to do.
"""

from __future__ import annotations

from agent.errors import ModelBackendError
from speech.errors import AudioTooLongError


class ServerUnreachableError(ModelBackendError):
    """Nothing answered at the configured base URL (connection refused, DNS, TLS)."""


class ServerTimeoutError(ModelBackendError):
    """The server accepted the request but sent nothing for longer than the read timeout."""


class ServerResponseError(ModelBackendError):
    """The server answered with an HTTP error status; `status` and the server's message kept."""

    def __init__(self, message: str, *, status: int, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class StreamCutError(ModelBackendError):
    """The reply stream ended before the server said it was done; `partial_text` is what
    arrived, so a caller can keep or drop it (the agent drops it to keep history consistent)."""

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class MalformedStreamError(ModelBackendError):
    """A stream event was not the JSON an OpenAI-compatible server sends."""


class MalformedToolCallError(ModelBackendError):
    """The model wrote a tool call that cannot be parsed (bad JSON, no function name)."""


class AudioChunkTooLongError(AudioTooLongError):
    """Audio for a Step-Audio 2 server exceeds its 25 s per `input_audio` chunk (with splitting
    turned off) or the configured total."""
