"""Tools written elsewhere: OpenAI/BFCL function specs, LangChain, MCP.

Imports tools only.
"""
