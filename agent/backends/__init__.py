"""Model backends behind the `ChatModel` protocol (agent.chat_model).

A backend never imports the CLI, the realtime server or the turn graph.
"""
