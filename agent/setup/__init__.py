"""Assembling an agent from settings: the embedded stack, voices per language, tools per persona, memory.

May import any agent package but the CLI and the realtime server.
"""
