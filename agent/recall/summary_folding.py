"""Running summaries written by the agent's own chat model, folded in after turns, in the
background.

The turn itself only reads the stored summary (`ContextWindowBuilder.assemble`). After a turn,
`SummaryFolder.schedule` starts a task that looks at the window the next prompt would get and
folds the turns that fell out of it into the summary, but only once enough of them have piled
up (a batch of `min_batch_turns`, or a quarter of the budget in tokens): one model call per
batch, not one per turn, and each call gets the previous summary and only the new turns.

One fold at a time per conversation. A fold gives way to turns: when a turn starts while the
model is writing a summary, that model call is stopped (a local model serves one generation at
a time, and the caller must not wait behind a summary) and the fold is tried again after the
turn. A failing summary is logged; the turn never sees the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from agent.chat_model import ChatMessage, ChatModel, complete_text
from memory import DialogueTurn
from memory.context_window import (
    SUMMARY_INSTRUCTIONS, ContextWindowBuilder, TokenCounter, approximate_tokens, summary_request,
)

log = logging.getLogger(__name__)


class SummaryError(Exception):
    """The model gave nothing usable as a summary."""


class FoldPreempted(Exception):
    """A turn started while the model was writing a summary; the fold is retried later."""


class ChatModelSummarizer:
    """`Summarize` for `ContextWindowBuilder`: the chat model, with tools forbidden, updates the
    summary from the previous one and the new turns."""

    def __init__(self, chat_model: ChatModel, count: TokenCounter = approximate_tokens) -> None:
        self.chat_model, self.count = chat_model, count

    async def __call__(self, previous: str, turns: Sequence[DialogueTurn], max_tokens: int) -> str:
        messages = [
            ChatMessage(role="system", content=SUMMARY_INSTRUCTIONS.format(max_tokens=max_tokens)),
            ChatMessage(role="user", content=summary_request(previous, turns, max_tokens)),
        ]
        text = " ".join((await complete_text(self.chat_model, messages)).split())
        if not text:
            raise SummaryError("the model wrote an empty summary")
        return clip_to_tokens(text, max_tokens, self.count)


def clip_to_tokens(text: str, max_tokens: int, count: TokenCounter = approximate_tokens) -> str:
    """A summary longer than its allowance is cut at the last sentence end that fits (a summary
    over the allowance would shrink the window and fold again on the next turn)."""
    if count(text) <= max_tokens:
        return text
    cut = text
    while cut and count(cut) > max_tokens:
        cut = cut[: max(len(cut) - 16, 0)]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > 0 else cut.rstrip()


class SummaryFolder:
    """Background folds for the conversations of one agent."""

    def __init__(self, summarize, *, summary_max_tokens: int = 300, min_batch_turns: int = 6,
                 count: TokenCounter = approximate_tokens) -> None:
        self.summarize = summarize
        self.summary_max_tokens = summary_max_tokens
        self.min_batch_turns = min_batch_turns
        self.count = count
        self._folds: dict[str, asyncio.Task] = {}  # conversation id -> its running fold
        self._model_calls: set[asyncio.Task] = set()  # summaries being written right now
        # Conversation id -> unsummarized turns when its last fold failed: the next try waits
        # for another batch, so a model that cannot summarize is not asked on every turn.
        self._failed_at: dict[str, int] = {}
        self.folds_done = 0
        self.folds_failed = 0

    def builder(self, store, budget_tokens: int) -> ContextWindowBuilder:
        """The window builder the turn and the fold share, so both see the same window."""
        return ContextWindowBuilder(store, budget_tokens=budget_tokens,
                                    summarize=self._preemptible_summarize,
                                    summary_max_tokens=self.summary_max_tokens, count=self.count)

    def due(self, unsummarized: int, unsummarized_tokens: int, budget_tokens: int) -> bool:
        return unsummarized >= self.min_batch_turns or (
            unsummarized > 0 and unsummarized_tokens >= budget_tokens // 4)

    def schedule(self, store, conversation_id: str, budget_tokens: int, fixed_tokens: int) -> None:
        """After a turn: fold in the background if enough turns fell out of the window."""
        running = self._folds.get(conversation_id)
        if running is not None and not running.done():
            return  # one at a time; the next turn looks again
        task = asyncio.create_task(
            self._fold(store, conversation_id, budget_tokens, fixed_tokens),
            name=f"stepvox-fold-{conversation_id}")
        self._folds[conversation_id] = task
        task.add_done_callback(lambda t: self._forget(conversation_id, t))

    def preempt(self) -> None:
        """A turn is starting: stop summaries the model is writing (they are retried later)."""
        for call in list(self._model_calls):
            call.cancel()

    async def drain(self) -> None:
        """Wait for the folds that are running (tests, shutdown)."""
        while running := [t for t in self._folds.values() if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)

    async def close(self) -> None:
        """Drop the folds that are running (the turns they would fold stay unsummarized and
        are folded by a later fold)."""
        running = [t for t in self._folds.values() if not t.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _forget(self, conversation_id: str, task: asyncio.Task) -> None:
        if self._folds.get(conversation_id) is task:
            del self._folds[conversation_id]

    async def _fold(self, store, conversation_id: str, budget_tokens: int,
                    fixed_tokens: int) -> None:
        builder = self.builder(store, budget_tokens)
        window = None
        try:
            window = await builder.assemble(conversation_id, fixed_tokens)
            if not self.due(window.unsummarized, window.unsummarized_tokens, budget_tokens):
                return
            failed_at = self._failed_at.get(conversation_id)
            if failed_at is not None and window.unsummarized < failed_at + self.min_batch_turns:
                return
            if await builder.fold(conversation_id, fixed_tokens) is not None:
                self.folds_done += 1
            self._failed_at.pop(conversation_id, None)
        except FoldPreempted:
            log.debug("summary of %s gave way to a turn; retried after it", conversation_id)
        except Exception as exc:  # never the caller's problem: the window just stays shorter
            self.folds_failed += 1
            self._failed_at[conversation_id] = window.unsummarized if window else 0
            log.warning("could not update the running summary of conversation %s: %s",
                        conversation_id, exc)

    async def _preemptible_summarize(self, previous: str, turns: Sequence[DialogueTurn],
                                     max_tokens: int) -> str:
        call = asyncio.ensure_future(self.summarize(previous, turns, max_tokens))
        self._model_calls.add(call)
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            if call.cancelled() and not asyncio.current_task().cancelling():
                raise FoldPreempted from None
            call.cancel()
            raise
        finally:
            self._model_calls.discard(call)
