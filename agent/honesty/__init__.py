"""Honest replies when no tool can know: the live-data / private-record detector and the fixed sentences after failed tools.

May import tools and agent.chat_model.
"""
