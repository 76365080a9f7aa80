"""The embedded backend: llama.cpp generation, the call decision's readings of the model's odds, grammars for call arguments.

May import agent.chat_model, agent.errors, agent.tool_choice, tools.
"""
