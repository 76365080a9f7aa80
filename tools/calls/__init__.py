"""Tool calls as models write them: text, streamed text, OpenAI messages, references between calls.

Imports tools only.
"""
