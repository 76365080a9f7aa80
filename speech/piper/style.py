"""How Piper realises a `Style`: synthesis scales plus signal effects (`speech.voice_effects`).

Piper has no emotion input, so emotions are rendered as the prosody people associate with
them (happy: higher, a little faster, livelier; sad: lower, slower, flatter, quieter; angry:
louder, faster, harder). Levels scale the effect. Language/dialect tags and EditX sounds have
no Piper rendering and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from speech.style import Emotion, Style

SPEED_STEP = 0.85  # length_scale factor per speed level (fast1 = 0.85, slow1 = 1/0.85)
PITCH_STEP_SEMITONES = 2.0
VOLUME_STEP_DB = 4.0
WHISPER_DB = -6.0
# Singing / humming: a pitch contour over roughly syllable-long notes (a major-scale phrase).
# The contour multiplies the voice's own intonation, so it needs a wide range (an octave) to
# be heard as a tune over it; notes are held longer by singing one speed level slower.
MELODY_SEMITONES = (0.0, 4.0, 7.0, 12.0, 7.0, 4.0, 0.0, -3.0)
MELODY_NOTE_S = 0.28

# emotion -> (pitch semitones, speed levels, volume dB, noise_scale factor, noise_w factor)
_EMOTIONS: dict[Emotion, tuple[float, float, float, float, float]] = {
    Emotion.HAPPY: (1.5, 0.5, 1.5, 1.25, 1.3),
    Emotion.ANGRY: (0.5, 0.5, 4.0, 1.35, 0.8),
    Emotion.SAD: (-1.5, -1.0, -3.0, 0.7, 0.6),
    Emotion.COQUETTISH: (3.0, -0.5, 0.0, 1.2, 1.4),
}


@dataclass(frozen=True, slots=True)
class PiperRendering:
    """Multipliers on the voice's own scales, and the effects after synthesis."""

    length_factor: float = 1.0
    noise_factor: float = 1.0
    noise_w_factor: float = 1.0
    pitch_semitones: float = 0.0
    gain_db: float = 0.0
    whisper: bool = False
    melody: tuple[float, ...] = ()  # semitones per note, for singing / humming

    @property
    def pitch_factor(self) -> float:
        return 2.0 ** (self.pitch_semitones / 12.0)


def piper_rendering(style: Style | None) -> PiperRendering:
    if style is None or style.is_neutral:
        return PiperRendering()
    pitch = style.pitch * PITCH_STEP_SEMITONES
    speed = float(style.speed)
    gain = style.volume * VOLUME_STEP_DB
    noise = noise_w = 1.0
    if style.emotion is not None:
        d_pitch, d_speed, d_gain, d_noise, d_noise_w = _EMOTIONS[style.emotion]
        level = style.emotion_level
        pitch += d_pitch * level
        speed += d_speed * level
        gain += d_gain * level
        noise *= d_noise ** level
        noise_w *= d_noise_w ** level
    if style.rap:
        # Fast and on the beat: quicker, with even phoneme lengths (little duration noise).
        speed += 2
        noise_w *= 0.3
    if style.singing:
        speed -= 1
    if style.whisper:
        gain += WHISPER_DB
    return PiperRendering(
        length_factor=SPEED_STEP ** speed, noise_factor=noise, noise_w_factor=noise_w,
        pitch_semitones=pitch, gain_db=gain, whisper=style.whisper,
        melody=MELODY_SEMITONES if style.singing else (),
    )
