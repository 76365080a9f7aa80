"""Where the modules of `speech` went in the package redesign. The old names still import
(with a DeprecationWarning) for one release; see tools.moved_modules."""

MOVED = {
    "speech.character_error_rate": "speech.scoring.character_error_rate",
    "speech.mandarin_decoder": "speech.mandarin.decoder",
    "speech.mandarin_phonemes": "speech.mandarin.phonemes",
    "speech.piper_decoder": "speech.piper.decoder",
    "speech.piper_style": "speech.piper.style",
    "speech.silero_vad": "speech.silero.vad",
    "speech.step_audio_fast_decode": "speech.step_audio.fast_decode",
    "speech.step_audio_paraformer": "speech.step_audio.paraformer",
    "speech.step_audio_token2wave": "speech.step_audio.token2wave",
    "speech.step_audio_tokenizer": "speech.step_audio.tokenizer",
    "speech.step_audio_tokens": "speech.step_audio.tokens",
    "speech.step_audio_tts": "speech.step_audio.tts",
    "speech.step_audio_tts_logits": "speech.step_audio.tts_logits",
    "speech.step_audio_tts_prompt": "speech.step_audio.tts_prompt",
    "speech.tflite_flex_ops": "speech.mandarin.tflite_flex_ops",
    "speech.voice_measures": "speech.scoring.voice_measures",
    "speech.whisper_asr": "speech.whisper.asr",
    "speech.word_error_rate": "speech.scoring.word_error_rate",
    "speech.zh_numbers": "speech.mandarin.numbers",
}
