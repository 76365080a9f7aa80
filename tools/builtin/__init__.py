"""The built-in tools: date/time, weather, web search, timbre RAG (audio search).

Imports tools only.
"""
