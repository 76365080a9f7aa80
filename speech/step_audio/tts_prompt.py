"""The Step-Audio-TTS-3B prompt: system prompts, the token layout, the voice prompt.

Spec: step-audio.md section 5. The layout, in token ids (1 = BOS, 4 = `<|BOT|>`, 3 = `<|EOT|>`):

    BOS <|BOT|>system\\n{sys}<|EOT|>
        <|BOT|>human\\n{prompt_text}<|EOT|><|BOT|>assistant\\n{prompt_codes}<|EOT|>
        <|BOT|>human\\n{target_text}<|EOT|><|BOT|>assistant\\n

i.e. the voice to clone is given as a finished earlier exchange (its transcript asked, its audio
tokens answered), and the model continues with the target text in that voice. The audio codes go
in as LLM ids (65536 + N), never as `<audio_N>` text. The human texts are encoded after a
newline that is then cut off, because a SentencePiece tokenizer spells a text's first word
differently at the start of a string than after `\\n`, and the model saw the latter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from speech.audio import AudioClip
from speech.style import Style
from speech.style_tags import render_step_audio
from speech.step_audio.tokens import check_tokens, to_llm_ids

BOS_ID = 1
BOT_ID = 4  # <|BOT|>: a turn begins
EOT_ID = 3  # <|EOT|>: a turn ends; also where the model stops speaking

# The system prompts the checkpoint was trained with. They are model inputs, so they must stay
# character for character as the model saw them: a reworded prompt is a different, untrained
# prompt. The tag lists inside are the ones the model was taught (levels up to 3).
_TAG_LISTS = (
    ("情感标签涵盖了多种情绪状态", ["高兴1", "高兴2", "高兴3", "生气1", "生气2", "生气3", "悲伤1",
                                   "惊讶", "厌恶", "恐惧", "中立", "低语1", "撒娇1", "疲惫"]),
    ("语种或方言标签包含多种语言或方言", ["中文", "英文", "韩语", "日语", "四川话", "粤语", "广东话"]),
    ("音乐哼唱标签包含多种类型歌曲哼唱", ["RAP", "哼唱"]),
    ("语音调整标签", ["慢速1", "慢速2", "慢速3", "快速1", "快速2", "快速3"]),
)


def _reader_prompt(voice_clause: str) -> str:
    lists = "".join(
        f"# {title}，包括但不限于：\n" + "".join(f'- "{tag}"\n' for tag in tags) + "\n"
        for title, tags in _TAG_LISTS)
    return ("作为一名卓越的声优演员，你的任务是根据文本中（）或()括号内标注的情感、语种或方言、"
            "音乐哼唱、语音调整等标签，以丰富细腻的情感和自然顺畅的语调来朗读文本。\n"
            f"{lists}请在朗读时，{voice_clause}根据这些情感标签的指示，调整你的情感、语气、语调和"
            "哼唱节奏，以确保文本的情感和意义得到准确而生动的传达，如果没有()或（）括号，"
            "则根据文本语义内容自由演绎。")


RAP_SYSTEM_PROMPT = "请参考对话历史里的音色，用RAP方式将文本内容大声说唱出来。"
SINGING_SYSTEM_PROMPT = "请参考对话历史里的音色，用哼唱的方式将文本内容大声唱出来。"


def system_prompt(style: Style | None, speaker: str | None) -> str:
    """The system prompt for one utterance: RAP and humming have their own; otherwise the
    voice-actor prompt, naming the speaker when there is one."""
    if style is not None and style.rap:
        return RAP_SYSTEM_PROMPT
    if style is not None and style.singing:
        return SINGING_SYSTEM_PROMPT
    return _reader_prompt(f"使用[{speaker}]的声音，" if speaker else "")


def uses_music_flow(style: Style | None) -> bool:
    """RAP and humming are rendered by the music flow model (CosyVoice-300M-25Hz-Music)."""
    return style is not None and (style.rap or style.singing)


def target_text(text: str, style: Style | None) -> str:
    """The text to speak with its Step-Audio tags in front: `(高兴1)(粤语)你好`."""
    return (render_step_audio(style) if style is not None else "") + text


@dataclass(frozen=True)
class VoicePrompt:
    """A voice to speak in: a short recording, what is said in it, and its audio tokens
    (dual-codebook tokens N, 0..5119). The tokens condition the LLM; the recording conditions
    the token-to-wave stage (its mel features and speaker embedding)."""

    name: str
    transcript: str
    tokens: tuple[int, ...]
    clip: AudioClip | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(check_tokens(self.tokens)))
        if not self.tokens:
            raise ValueError(f"voice {self.name!r} has no audio tokens: its recording held no "
                             "whole 120 ms of speech")
        if not self.transcript.strip():
            raise ValueError(f"voice {self.name!r} needs the transcript of its recording")


class TextTokenizer(Protocol):
    """The part of a Hugging Face tokenizer the prompt needs."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


def _encode(tokenizer: TextTokenizer, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False))


def _encode_after_newline(tokenizer: TextTokenizer, text: str) -> list[int]:
    newline = _encode(tokenizer, "\n")
    ids = _encode(tokenizer, "\n" + text)
    if ids[:len(newline)] == newline:
        return ids[len(newline):]
    return _encode(tokenizer, text)  # a tokenizer that merges "\n" into the next piece


def build_prompt_ids(tokenizer: TextTokenizer, *, system: str, voice: VoicePrompt,
                     text: str) -> list[int]:
    """The exact input ids for speaking `text` (tags already in front) in `voice`."""
    human = _encode(tokenizer, "human\n")
    assistant = _encode(tokenizer, "assistant\n")
    return [BOS_ID, BOT_ID, *_encode(tokenizer, f"system\n{system}"), EOT_ID,
            BOT_ID, *human, *_encode_after_newline(tokenizer, voice.transcript), EOT_ID,
            BOT_ID, *assistant, *to_llm_ids(voice.tokens), EOT_ID,
            BOT_ID, *human, *_encode_after_newline(tokenizer, text), EOT_ID,
            BOT_ID, *assistant]


def prompt_for(tokenizer: TextTokenizer, text: str, style: Style | None,
               voice: VoicePrompt) -> list[int]:
    """`build_prompt_ids` with the system prompt and tags chosen from `style`."""
    return build_prompt_ids(tokenizer, system=system_prompt(style, voice.name), voice=voice,
                            text=target_text(text, style))

