"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, Ollama) as the LLM, streamed.

May import agent.chat_model, agent.errors, tools.
"""
