"""Speech: audio I/O, voice activity detection, speech tokenizers (ASR), speech decoders (TTS).

The embedded backends (`SileroVoiceActivityDetector`, `WhisperSpeechTokenizer`, `PiperDecoder`,
`MandarinDecoder`) are imported from their modules so that `import speech` stays light without
the extra.

Imports nothing else of stepvox but `tools.moved_modules` (old names).
"""

from speech.audio import AudioClip, AudioSource, concatenate, load_audio, write_wav
from speech.errors import (
    AudioInputError, AudioTooLongError, CorruptAudioError, EmptyAudioError, InvalidSamplesError,
    SampleRateError, SilentAudioError, SpeechError, UnsupportedAudioFormatError,
)
from speech.protocols import (
    AudioChunk, SpeechDecoder, SpeechSegment, SpeechTokenizer, Transcription,
    VoiceActivityDetector,
)
from speech.script_routing import BilingualDecoder, ScriptRun, split_by_script
from speech.sentences import SentenceSplitter, split_sentences
from speech.style import NEUTRAL, Emotion, Language, Paralinguistic, Style
from speech.style_stream import StyledSentence, StyledSentenceSplitter
from speech.mandarin.numbers import read_numbers_chinese
from speech.style_tags import (
    parse_leading_tags, render_console_tag, render_editx, render_step_audio,
)

__all__ = [
    "AudioChunk", "AudioClip", "AudioInputError", "AudioSource", "AudioTooLongError",
    "CorruptAudioError", "EmptyAudioError", "InvalidSamplesError", "SampleRateError",
    "SentenceSplitter", "SilentAudioError", "SpeechDecoder", "SpeechError", "SpeechSegment",
    "SpeechTokenizer", "Transcription", "UnsupportedAudioFormatError", "VoiceActivityDetector",
    "concatenate", "load_audio", "split_sentences", "write_wav",
    "NEUTRAL", "Emotion", "Language", "Paralinguistic", "Style", "StyledSentence",
    "StyledSentenceSplitter", "parse_leading_tags", "render_console_tag", "render_editx",
    "render_step_audio", "BilingualDecoder", "ScriptRun", "split_by_script",
    "read_numbers_chinese",
]

# Old module names (before the package redesign) still import, with a warning.
from tools.moved_modules import install as _install_moved  # noqa: E402
from speech.moved import MOVED as _MOVED  # noqa: E402

_install_moved(_MOVED)
