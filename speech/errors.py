"""Errors the speech layer raises on purpose: each one names something the caller can fix.

Messages are written by the code that raises them and always say what was received and what
to do about it, so they can be shown to a user as they are.
"""

from __future__ import annotations


class SpeechError(Exception):
    """Base of every error the speech layer raises on purpose."""


class AudioInputError(SpeechError, ValueError):
    """The audio given to the speech layer cannot be used (also raised for a missing file)."""


class EmptyAudioError(AudioInputError):
    """The input holds no audio: 0 bytes, an empty file, or 0 samples."""


class CorruptAudioError(AudioInputError):
    """The input claims to be audio but cannot be decoded (truncated header, garbage)."""


class UnsupportedAudioFormatError(AudioInputError):
    """The input is a format, container or Python type that the speech layer does not read."""


class AudioTooLongError(AudioInputError):
    """The clip is longer than the allowed maximum."""


class InvalidSamplesError(AudioInputError):
    """The samples cannot be audio: NaN/inf, complex, wrong dtype or wrong shape."""


class SampleRateError(AudioInputError):
    """The sample rate is missing, not positive, absurd, or disagrees with the file."""


class SilentAudioError(AudioInputError):
    """The clip holds no speech (raised by callers when voice activity detection finds none)."""


class ModelFilesMissingError(SpeechError, FileNotFoundError):
    """A local model directory lacks files; `missing` names each one (a trailing / marks a
    folder) and the message says which Hugging Face repository to download into it."""

    what = "model"
    repository = ""

    def __init__(self, directory, missing: list[str]) -> None:
        self.missing = missing
        # Path() drops a folder's trailing slash: put it back so folders read as folders.
        listed = "\n".join(f"  {directory / name}{'/' * name.endswith('/')}"
                            for name in missing)
        super().__init__(
            f"The {self.what} directory {directory} lacks {len(missing)} file(s):\n{listed}\n"
            f"Download {self.repository} into it (e.g. `huggingface-cli download "
            f"{self.repository} --local-dir DIR`).")
