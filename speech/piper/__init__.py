"""The Piper voice (embedded English TTS) and its style rendering.

Imports speech only.
"""
