"""Streaming POSTs to an OpenAI-compatible server (vLLM), with every failure as a named error.

Shared by the Step-Audio backends. One `httpx.AsyncClient` per request: a voice turn makes one
request, a new local TCP connection costs well under a millisecond, and a client never outlives
the event loop it was made on (tests and the CLI run several loops).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from agent.backends.step_audio.errors import (
    MalformedStreamError, ServerResponseError, ServerTimeoutError, ServerUnreachableError,
    StreamCutError,
)


class OpenAIStreamClient:
    """POSTs JSON to `{base_url}{path}` with `stream: true` and yields each SSE `data:` event."""

    def __init__(self, base_url: str, *, api_key: str | None = None,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self.read_timeout_s = read_timeout_s
        self._timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._timeout, transport=self._transport,
                                 headers=self._headers)

    async def stream(self, path: str, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Yield the JSON events of one streamed reply; returns after `data: [DONE]`.

        Raises ServerUnreachableError, ServerTimeoutError, ServerResponseError (HTTP status or
        an error event mid-stream), MalformedStreamError, or StreamCutError when the
        connection ends before `[DONE]`.
        """
        url = self.base_url + path
        try:
            async with self._client() as client, client.stream(
                    "POST", url, json={**payload, "stream": True}) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise response_error(url, response.status_code, response.text)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, ": keep-alive" comments, "event:" lines
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    event = _decode_event(url, data)
                    if event.get("object") == "error" or "error" in event:
                        raise _stream_error(url, event)
                    yield event
        except httpx.ConnectError as exc:
            raise ServerUnreachableError(
                f"No server answered at {url} ({_reason(exc)}). Start the vLLM server, or fix "
                "--base-url (it should end in /v1, e.g. http://host:8000/v1).") from exc
        except httpx.ConnectTimeout as exc:
            raise ServerUnreachableError(
                f"Connecting to {url} timed out. Check the host and port in --base-url and that "
                "no firewall blocks it.") from exc
        except httpx.TimeoutException as exc:
            raise ServerTimeoutError(
                f"{url} sent nothing for {self.read_timeout_s:g} s. The server may be overloaded "
                "or still loading the model; retry, or raise the read timeout.") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise StreamCutError(
                f"The reply stream from {url} was cut off mid-reply ({_reason(exc)}). The "
                "server may have crashed or restarted.") from exc
        raise StreamCutError(
            f"The reply stream from {url} ended without its closing [DONE] event; the reply "
            "may be incomplete.")

    async def get_json(self, path: str) -> Any:
        """A plain GET (e.g. `/models`), with the same error mapping as `stream`."""
        url = self.base_url + path
        try:
            async with self._client() as client:
                response = await client.get(url)
        except httpx.ConnectError as exc:
            raise ServerUnreachableError(f"No server answered at {url} ({_reason(exc)}).") from exc
        except httpx.TimeoutException as exc:
            raise ServerTimeoutError(f"{url} did not answer in time.") from exc
        if response.status_code >= 400:
            raise response_error(url, response.status_code, response.text)
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedStreamError(f"{url} answered with non-JSON: {response.text[:200]!r}") \
                from exc


def _decode_event(url: str, data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except json.JSONDecodeError as exc:
        raise MalformedStreamError(
            f"{url} sent a stream event that is not JSON: {data[:200]!r}. Is --base-url an "
            "OpenAI-compatible server?") from exc
    if not isinstance(event, dict):
        raise MalformedStreamError(
            f"{url} sent a stream event that is not an object: {data[:200]!r}")
    return event


def _server_message(body: Any) -> str:
    """The human-readable part of vLLM's, OpenAI's or FastAPI's error bodies."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner.get("detail") or inner)
        return str(inner)
    return str(body)


_HINTS = {
    400: "The server rejected the request; see its message above.",
    401: "The server wants an API key: set it in the settings (api_key).",
    403: "The API key was refused.",
    404: "Check that --base-url ends in /v1 and that --model names a model the server serves "
         "(GET /v1/models lists them).",
    422: "The server could not read the request; is it the right kind of server?",
    429: "The server is rate limiting; wait and retry.",
}


def response_error(url: str, status: int, text: str) -> ServerResponseError:
    try:
        message = _server_message(json.loads(text))
    except json.JSONDecodeError:
        message = text.strip()[:300]
    hint = _HINTS.get(status, "The server failed while answering; check its log."
                      if status >= 500 else "")
    return ServerResponseError(
        f"{url} answered HTTP {status}: {message or '(no message)'}. {hint}".strip(),
        status=status, server_message=message)


def _stream_error(url: str, event: dict[str, Any]) -> ServerResponseError:
    message = _server_message(event)
    inner = event.get("error") if isinstance(event.get("error"), dict) else event
    status = inner.get("code") if isinstance(inner.get("code"), int) else 500
    return ServerResponseError(
        f"{url} reported an error mid-reply: {message}. Check the server's log.",
        status=status, server_message=message)


def _reason(exc: Exception) -> str:
    return str(exc).strip() or type(exc).__name__
