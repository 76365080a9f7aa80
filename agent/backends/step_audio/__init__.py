"""Step-Audio models: vLLM chat, StepFun's Realtime API, local transformers.

May import agent.chat_model, agent.errors, tools, speech.
"""
