"""Real-time voice loop: streaming VAD segmentation (`audio_input`), a turn-taking state
machine with barge-in (`controller`), the JSON event protocol (`protocol`) and the websocket
server with its browser page (`server`, `static/`).

May import the rest of agent but the CLI; nothing but the CLI imports it.
"""
