"""Many `stepvox serve` workers, one conversation: what lets any worker continue any
conversation and survive another worker's death.

- `identity`: conversation ids from clients, and who a token belongs to (per-user tokens);
- `owners`: a conversation belongs to the user who created it (in the history database);
- `bus` / `redis_bus`: what workers tell each other (one session per conversation, cancel,
  an approval answered from a web form), in process or through Redis;
- `binding`: a session taking a conversation (take-over, lease, signals);
- `reply_journal`: the user's turn and the part of a reply already sent, in the database
  while the reply plays, so a killed worker loses nothing;
- `drain`, `readiness`, `routes`: graceful drain on SIGTERM, `/readyz`, the HTTP endpoints.

See docs/deployment.md.
"""
