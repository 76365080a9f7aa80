"""Tool schemas: from signatures and docstrings to JSON Schema, and the formats each model family reads.

Imports tools only.
"""
