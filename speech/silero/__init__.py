"""Silero voice activity detection.

Imports speech only.
"""
