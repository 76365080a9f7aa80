"""A tiny random-weight causal LM with Step-Audio's vocabulary layout, saved like a checkpoint.

Ids 0..4 are `<unk> <s> </s> <|EOT|> <|BOT|>` (so BOS = 1, EOT = 3, BOT = 4 as in the real
tokenizer), then a few hundred byte-level BPE text ids, then nothing until the 5120 audio ids at
65536 + N. The weights are random (seeded): it stands in for the 3B model only in shape of
vocabulary, never in what it says.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from speech.step_audio.tokens import AUDIO_TOKEN_COUNT, LLM_AUDIO_ID_OFFSET
from speech.step_audio.tts_prompt import RAP_SYSTEM_PROMPT, system_prompt

VOCAB = LLM_AUDIO_ID_OFFSET + AUDIO_TOKEN_COUNT
SPECIALS = ["<unk>", "<s>", "</s>", "<|EOT|>", "<|BOT|>"]
CORPUS = [system_prompt(None, None), system_prompt(None, "Tingting"), RAP_SYSTEM_PROMPT,
          "human\n", "assistant\n", "system\n", "(高兴1)(粤语)你好，今天天气很好。",
          "Hello there, how are you today? The weather is fine."] * 3


def tiny_config(**overrides) -> LlamaConfig:
    settings = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=4096, bos_token_id=1, eos_token_id=3,
                    pad_token_id=0, tie_word_embeddings=True)
    return LlamaConfig(**(settings | overrides))


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>")


def tiny_model(seed: int = 0, **overrides) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(tiny_config(**overrides)).eval()


def save_tiny_checkpoint(directory: Path, model: LlamaForCausalLM | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (model or tiny_model()).save_pretrained(directory)
    tiny_tokenizer().save_pretrained(directory)
    return directory
