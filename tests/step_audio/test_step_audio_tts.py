"""`StepAudioTTSDecoder` on a tiny random-weight causal LM with Step-Audio's vocabulary layout
(tiny_step_audio_lm.py). The token-to-wave stage is a recording double: the real one is the
CosyVoice flow + vocoder, a GPU model that is not on this machine."""

from __future__ import annotations

import asyncio
import sys

import numpy as np
import pytest
import torch

from speech.protocols import SpeechDecoder
from speech.step_audio.tokenizer import StepAudioTokenizer
from speech.step_audio.tokens import AudioTokenRangeError, LLM_AUDIO_ID_OFFSET
from speech.step_audio.token2wave import CosyVoiceTokenToWave, TokenToWave, TokenToWaveMissingError
from speech.step_audio.tts import (
    NoVoiceError, StepAudioTTSDecoder, StepAudioTTSSettings, TokenToWaveNotGivenError,
    TTSCheckpointMissingError,
)
from speech.step_audio.tts_logits import RepetitionAwareLogitsProcessor
from speech.step_audio.tts_prompt import RAP_SYSTEM_PROMPT, VoicePrompt, system_prompt
from speech.style import Emotion, Language, Style
from tiny_step_audio_lm import save_tiny_checkpoint, tiny_model, tiny_tokenizer
from tokenizer_stand_ins import StandInEncoder, make_tokenizer_dir, speech

VOICE = VoicePrompt("Tingting", "你好，我是婷婷。", (3, 7, 1024, 1500, 5119), speech(1.0))


class RecordingTokenToWave:
    """Stands in for CosyVoice: 4 samples per token (its value / 5120), calls recorded."""

    sample_rate = 22_050

    def __init__(self, model=None) -> None:
        self.calls: list[tuple[list[int], str, bool, int]] = []
        self.forwards = 0
        if model is not None:  # count LLM steps, to see when each chunk was rendered
            model.register_forward_hook(lambda *_: setattr(self, "forwards", self.forwards + 1))

    def to_wave(self, tokens, voice, *, music=False):
        self.calls.append((list(tokens), voice.name, music, self.forwards))
        return np.repeat(np.asarray(tokens, np.float32) / 5120, 4)


def make_decoder(model=None, **settings) -> tuple[StepAudioTTSDecoder, RecordingTokenToWave]:
    model = model or tiny_model()
    wave = RecordingTokenToWave(model)
    decoder = StepAudioTTSDecoder(model, tiny_tokenizer(), wave, voices=[VOICE],
                                  settings=StepAudioTTSSettings(**({"seed": 0} | settings)))
    return decoder, wave


def render(ids: list[int], tokenizer) -> str:
    """Ids back to the layout of spec section 5, text decoded by the tokenizer."""
    out, text = [], []
    names = {1: "BOS", 3: "<|EOT|>", 4: "<|BOT|>"}
    for i in ids + [None]:
        if i is None or i in names or i >= LLM_AUDIO_ID_OFFSET:
            out.append(tokenizer.decode(text))
            text = []
        if i in names:
            out.append(names[i])
        elif i is not None and i >= LLM_AUDIO_ID_OFFSET:
            out.append(f"<audio_{i - LLM_AUDIO_ID_OFFSET}>")
        elif i is not None:
            text.append(i)
    return "".join(out)


def collect(decoder, text, style=None, **kw):
    async def run():
        return [chunk async for chunk in decoder.synthesize(text, style, **kw)]
    return asyncio.run(run())


def test_prompt_ids_follow_section_5_layout_with_style_tags():
    decoder, _ = make_decoder()
    style = Style(emotion=Emotion.HAPPY, language=Language.CANTONESE)
    ids = decoder.prompt_ids("今天天气很好。", style)
    assert ids[:2] == [1, 4] and ids[-1] != 3  # ends ready for the answer, not closed
    assert render(ids, decoder.tokenizer) == (
        f"BOS<|BOT|>system\n{system_prompt(style, 'Tingting')}<|EOT|>"
        "<|BOT|>human\n你好，我是婷婷。<|EOT|>"
        "<|BOT|>assistant\n<audio_3><audio_7><audio_1024><audio_1500><audio_5119><|EOT|>"
        "<|BOT|>human\n(高兴1)(粤语)今天天气很好。<|EOT|><|BOT|>assistant\n")
    assert "使用[Tingting]的声音" in system_prompt(style, "Tingting")
    assert ids.count(LLM_AUDIO_ID_OFFSET + 5119) == 1  # audio codes go in as ids, not text


def test_rap_uses_its_system_prompt_the_music_voice_and_the_music_flow():
    decoder, wave = make_decoder(max_new_tokens=10, min_new_tokens=10)
    decoder.add_voice(VoicePrompt("TingtingRAP", "说唱。", (1, 2, 1025, 1026, 1027)))
    rap = Style(rap=True)
    assert render(decoder.prompt_ids("走起", rap), decoder.tokenizer).startswith(
        f"BOS<|BOT|>system\n{RAP_SYSTEM_PROMPT}<|EOT|><|BOT|>human\n说唱。<|EOT|>")
    collect(decoder, "走起", rap)
    assert {(name, music) for _, name, music, _ in wave.calls} == {("TingtingRAP", True)}


def test_repetition_rule_bans_a_token_filling_over_a_tenth_of_the_last_ten():
    rule = RepetitionAwareLogitsProcessor()
    ids = torch.tensor([[5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5],    # 5 twice in the last 10: banned
                        [5, 1, 2, 3, 4, 6, 6, 7, 8, 9, 5],    # 5 once in the last 10: allowed
                        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])   # run of 0s: banned
    scores = rule(ids, torch.zeros(3, 12))
    assert scores[0, 5] == float("-inf") and torch.isfinite(scores[0, :5]).all()
    assert torch.isfinite(scores[1]).all()
    assert scores[2, 0] == float("-inf")
    short = torch.tensor([[5, 5, 5]])  # shorter than the window: the rule does not apply
    assert torch.isfinite(rule(short, torch.zeros(1, 12))).all()


def test_generation_obeys_the_repetition_rule_where_the_model_would_loop():
    model = tiny_model()
    with torch.no_grad():
        model.model.norm.weight.zero_()  # every logit 0: greedy would repeat one id forever
    decoder, _ = make_decoder(model, temperature=0.0, max_new_tokens=40, min_new_tokens=40)
    prompt = decoder.prompt_ids("你好")
    processors = decoder.logits_processors(len(prompt))
    unruled = [int(s) for s in decoder.generator.stream(
        prompt, max_new_tokens=40, logits_processor=type(processors)(processors[:2]))]
    assert set(unruled) == {LLM_AUDIO_ID_OFFSET}  # the loop the rule exists for
    ruled = [int(s) for s in decoder.generator.stream(
        prompt, max_new_tokens=40, logits_processor=processors)]
    seq = prompt + ruled
    for t in range(len(prompt), len(seq)):
        window = seq[t - 10:t]
        if window.count(window[-1]) >= 2:
            assert seq[t] != window[-1], f"step {t - len(prompt)} repeated a banned token"
    assert len(set(ruled)) > 1


def test_only_audio_tokens_are_generated():
    decoder, wave = make_decoder(temperature=1.0, max_new_tokens=60, min_new_tokens=60)
    prompt = decoder.prompt_ids("Hello there.")
    free = [int(s) for s in decoder.generator.stream(prompt, max_new_tokens=60, temperature=1.0,
                                                     generator=torch.Generator().manual_seed(0))]
    assert any(i < LLM_AUDIO_ID_OFFSET for i in free)  # unmasked, the random model says text
    chunks = collect(decoder, "Hello there.")
    tokens = [t for chunk in chunks for t in chunk.extra["audio_tokens"]]
    assert len(tokens) == 60 and all(0 <= t < 5120 for t in tokens)
    assert [t for call in wave.calls for t in call[0]] == tokens


def test_chunks_stream_whole_groups_while_generation_goes_on():
    decoder, wave = make_decoder(max_new_tokens=37, min_new_tokens=37, first_chunk_groups=2,
                                 chunk_groups=3)
    chunks = collect(decoder, "你好，今天天气很好。")
    assert [len(c.extra["audio_tokens"]) for c in chunks] == [10, 15, 10]  # last 2 dropped
    assert [c.sample_rate for c in chunks] == [22_050] * 3
    assert [len(c.samples) for c in chunks] == [40, 60, 40]
    # The first chunk was rendered after 10 LLM steps (prefill + 9), not after all 37.
    assert [call[3] for call in wave.calls] == [10, 25, 37]
    assert chunks[0].text == "你好，今天天气很好。"


def test_closing_the_stream_early_stops_generation():
    decoder, wave = make_decoder(max_new_tokens=400, min_new_tokens=400, first_chunk_groups=1,
                                 chunk_groups=1)

    async def first_only():
        stream = decoder.synthesize("你好")
        chunk = await anext(stream)
        await stream.aclose()
        return chunk

    assert len(asyncio.run(first_only()).extra["audio_tokens"]) == 5
    assert wave.forwards < 400


def test_voice_cloning_puts_the_tokenizers_codes_in_the_prompt(tmp_path):
    tokenizer = StepAudioTokenizer.from_dir(make_tokenizer_dir(tmp_path),
                                            linguistic_encoder=StandInEncoder())
    decoder = StepAudioTTSDecoder(tiny_model(), tiny_tokenizer(), RecordingTokenToWave(),
                                  speech_tokenizer=tokenizer)
    clip = speech(1.2)
    voice = decoder.clone_voice("Anna", clip, "Hello, I am Anna.")
    assert list(voice.tokens) == tokenizer.tokens(clip) and len(voice.tokens) == 50
    assert decoder.default_voice == "Anna"
    layout = render(decoder.prompt_ids("Hi."), decoder.tokenizer)
    codes = "".join(f"<audio_{t}>" for t in voice.tokens)
    assert f"<|BOT|>human\nHello, I am Anna.<|EOT|><|BOT|>assistant\n{codes}<|EOT|>" in layout
    assert "使用[Anna]的声音" in layout


def test_no_voice_and_unknown_voice_are_named_errors():
    decoder = StepAudioTTSDecoder(tiny_model(), tiny_tokenizer(), RecordingTokenToWave())
    with pytest.raises(NoVoiceError, match="clone_voice"):
        collect(decoder, "hello")
    with pytest.raises(NoVoiceError, match="StepAudioTokenizer"):
        decoder.clone_voice("Anna", speech(1.0), "hi")  # no speech tokenizer given
    decoder.add_voice(VOICE)
    with pytest.raises(NoVoiceError, match="no voice named 'Bob'; known: Tingting"):
        decoder.prompt_ids("hello", voice="Bob")


def test_bad_voice_prompts_are_refused():
    with pytest.raises(AudioTokenRangeError):
        VoicePrompt("x", "hi", (1, 5120))  # 5120 is past the last audio token
    with pytest.raises(ValueError, match="transcript"):
        VoicePrompt("x", "  ", (1, 2))
    with pytest.raises(ValueError, match="no audio tokens"):
        VoicePrompt("x", "hi", ())


def test_from_dir_loads_a_checkpoint_and_is_a_speech_decoder(tmp_path):
    save_tiny_checkpoint(tmp_path / "tts")
    wave = RecordingTokenToWave()
    decoder = StepAudioTTSDecoder.from_dir(
        tmp_path / "tts", token_to_wave=wave, settings=StepAudioTTSSettings(
            seed=1, max_new_tokens=10, min_new_tokens=10))
    assert isinstance(decoder, SpeechDecoder) and isinstance(wave, TokenToWave)
    decoder.add_voice(VOICE)
    chunks = collect(decoder, "你好")
    assert sum(len(c.extra["audio_tokens"]) for c in chunks) == 10


def test_missing_checkpoint_files_are_each_named(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TTSCheckpointMissingError) as caught:
        StepAudioTTSDecoder.from_dir(tmp_path, token_to_wave=RecordingTokenToWave())
    assert caught.value.missing == [
        "tokenizer_config.json",
        "model.safetensors or model.safetensors.index.json or pytorch_model.bin or "
        "pytorch_model.bin.index.json",
        "tokenizer.model or tokenizer.json"]
    assert "huggingface-cli download stepfun-ai/Step-Audio-TTS-3B" in str(caught.value)


def test_without_a_token_to_wave_stage_or_checkout_it_says_what_to_pass(tmp_path):
    save_tiny_checkpoint(tmp_path / "tts")
    with pytest.raises(TokenToWaveNotGivenError, match="step_audio_checkout="):
        StepAudioTTSDecoder.from_dir(tmp_path / "tts")
    with pytest.raises(TokenToWaveMissingError) as caught:
        StepAudioTTSDecoder.from_dir(tmp_path / "tts", step_audio_checkout=tmp_path / "sa")
    missing = {str(p.relative_to(tmp_path)) for p in caught.value.missing}
    assert "tts/CosyVoice-300M-25Hz/flow.pt" in missing
    assert "tts/CosyVoice-300M-25Hz-Music/hift.pt" in missing
    assert "sa/cosyvoice/cli/cosyvoice.py" in missing and len(missing) == 11


def test_cosyvoice_stage_reports_a_checkout_whose_code_will_not_import(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # load() puts the checkout on sys.path
    for name in [m for m in sys.modules if m == "cosyvoice" or m.startswith("cosyvoice.")]:
        monkeypatch.delitem(sys.modules, name)
    ckpt, checkout = tmp_path / "tts", tmp_path / "sa"
    for sub in ("CosyVoice-300M-25Hz", "CosyVoice-300M-25Hz-Music"):
        (ckpt / sub).mkdir(parents=True)
        for name in ("cosyvoice.yaml", "campplus.onnx", "speech_tokenizer_v1.onnx", "flow.pt",
                     "hift.pt"):
            (ckpt / sub / name).write_bytes(b"")
    module = checkout / "cosyvoice" / "cli" / "cosyvoice.py"
    module.parent.mkdir(parents=True)
    for init in (checkout / "cosyvoice", checkout / "cosyvoice" / "cli"):
        (init / "__init__.py").write_text("")
    module.write_text("import hyperpyyaml_not_installed_here\n")
    from speech.step_audio.token2wave import TokenToWaveLoadError

    try:
        with pytest.raises(TokenToWaveLoadError, match="hyperpyyaml_not_installed_here"):
            CosyVoiceTokenToWave.load(ckpt, checkout)
    finally:  # the half-imported stand-in package must not leak into other tests
        for name in [m for m in sys.modules if m == "cosyvoice" or m.startswith("cosyvoice.")]:
            del sys.modules[name]


async def test_voice_agent_speaks_through_the_tts_decoder_with_the_replys_style(monkeypatch):
    from fakes import ScriptedChatModel

    from agent import AudioChunkEvent, TurnDoneEvent, VoiceAgent

    decoder, wave = make_decoder(max_new_tokens=15, min_new_tokens=15)
    asked = []
    real_prompt_ids = decoder.prompt_ids
    monkeypatch.setattr(decoder, "prompt_ids", lambda text, style=None, voice=None: (
        asked.append((text, style)) or real_prompt_ids(text, style, voice)))
    agent = VoiceAgent(ScriptedChatModel(["(高兴1)Nice to meet you."]), decoder=decoder, tools=[])
    events = [e async for e in agent.stream("Hi!", conversation_id="tts-test")]
    audio = [e for e in events if isinstance(e, AudioChunkEvent)]
    done = events[-1]
    assert isinstance(done, TurnDoneEvent) and done.reply.sample_rate == 22_050
    assert asked == [("Nice to meet you.", Style(emotion=Emotion.HAPPY))]
    assert len(audio) == len(wave.calls) >= 1
    assert len(done.reply.audio) == sum(len(call[0]) * 4 for call in wave.calls)
