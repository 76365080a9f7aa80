"""When the caller has finished: VAD shared across sessions, early ASR, semantic turn end, speculative replies.

May import speech and agent's turn; never the server.
"""
