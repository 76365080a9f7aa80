"""Conversation memory glue: history and caller facts into the prompt, summary folding, fact extraction, the audio archive.

May import memory and agent.chat_model.
"""
