"""Measures of speech: word and character error rates, voice measures.

Imports speech only.
"""
