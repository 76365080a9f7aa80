"""One spoken turn: the LangGraph graph, its nodes and state, the prompt, approvals, waits, the reply.

May import tools, personas, speech, memory and the rest of agent except the CLI and the realtime server.
"""
