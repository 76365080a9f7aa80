"""Whether a turn calls a tool, and which: the logistic call decision, the MiniLM prior over tools, the report `stepvox tools try` prints.

May import tools; never a backend.
"""
