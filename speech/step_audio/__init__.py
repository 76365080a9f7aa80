"""Step-Audio's speech tokenizer and decoder (token2wave, TTS), run locally.

Imports speech only.
"""
