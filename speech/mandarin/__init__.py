"""The Mandarin voice (FastSpeech2 + MB-MelGAN on LiteRT), its phonemes and Chinese number readings.

Imports speech only.
"""
