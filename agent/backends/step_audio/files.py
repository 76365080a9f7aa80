"""Local Step-Audio files for the server backends: where the Step-Audio-Tokenizer and the
Step-Audio checkout are, and loading the tokenizer that turns the newest user turn into
`<audio_N>` tokens for Step-Audio-Chat (which hears audio only as tokens).

    STEPVOX_TOKENIZER_DIR=~/models/Step-Audio-Tokenizer          (or chat --tokenizer-dir)
    STEPVOX_STEP_AUDIO_CHECKOUT=~/src/Step-Audio                 (its FunASR fork runs the
                                                                   Paraformer encoder)

They are read from the environment like the other STEPVOX_* settings; `use_tokenizer_dir`
is how the CLI's `--tokenizer-dir` sets the value for the rest of the process.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from speech.step_audio.tokenizer import (
    PARAFORMER_DIR, StepAudioTokenizer, TokenizerFilesMissingError, missing_tokenizer_files,
)

TOKENIZER_DIR_ENV = "STEPVOX_TOKENIZER_DIR"


class StepAudioFiles(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEPVOX_", extra="ignore")

    tokenizer_dir: Path | None = Field(
        None, description="a local copy of stepfun-ai/Step-Audio-Tokenizer (step-audio-chat "
        "then gets the user's speech as <audio_N> tokens)")
    step_audio_checkout: Path | None = Field(
        None, description="a clone of github.com/stepfun-ai/Step-Audio (its FunASR fork runs "
        "the tokenizer's Paraformer encoder)")


def use_tokenizer_dir(directory: Path, *, check: bool = True) -> Path:
    """Make `directory` the tokenizer directory of this process (what STEPVOX_TOKENIZER_DIR
    says), checking its files first unless `check=False`: a missing file then fails in
    milliseconds, before any model loads."""
    root = directory.expanduser().resolve()
    missing = missing_tokenizer_files(root) if check else []
    if missing:
        raise TokenizerFilesMissingError(root, missing)
    os.environ[TOKENIZER_DIR_ENV] = str(root)
    return root


def load_turn_tokenizer(files: StepAudioFiles | None = None) -> StepAudioTokenizer | None:
    """The tokenizer for the configured directory, or None when none is configured."""
    files = files or StepAudioFiles()
    if files.tokenizer_dir is None:
        return None
    return StepAudioTokenizer.from_dir(files.tokenizer_dir,
                                       step_audio_checkout=files.step_audio_checkout)


def tokenizer_problems(files: StepAudioFiles | None = None) -> list[str]:
    """What `stepvox doctor` reports about the tokenizer directory (empty: usable)."""
    files = files or StepAudioFiles()
    if files.tokenizer_dir is None:
        return []
    root = files.tokenizer_dir.expanduser()
    problems = [f"{root / name} is missing" for name in missing_tokenizer_files(root)]
    if files.step_audio_checkout is None:
        problems.append("STEPVOX_STEP_AUDIO_CHECKOUT is not set: the Paraformer encoder runs "
                        "with the FunASR fork of a Step-Audio checkout")
    else:
        from speech.step_audio.paraformer import missing_paraformer_files

        model_dir = root / PARAFORMER_DIR
        missing = missing_paraformer_files(model_dir, files.step_audio_checkout.expanduser())
        if not model_dir.exists():  # already reported as a whole
            missing = [path for path in missing if model_dir not in path.parents]
        problems += [f"{path} is missing" for path in missing]
    return problems
