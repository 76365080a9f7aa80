"""Whisper ASR through faster-whisper.

Imports speech only.
"""
