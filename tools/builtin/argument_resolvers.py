"""What only a built-in tool knows about its argument values (other spellings, its own form,
how to find one in the user's words, whether it is the user's own words), for argument
grounding (`tools.argument_grounding`). Tools not listed still get the generic part: `enum`
and `pattern` parameters are matched against the user's words."""

from __future__ import annotations

from tools.argument_grounding import ArgumentResolver
from tools.builtin.datetime import find_timezone, timezone_key, timezone_spellings

ARGUMENT_RESOLVERS: dict[str, dict[str, ArgumentResolver]] = {
    "get_date_time": {"timezone": ArgumentResolver(
        spellings=timezone_spellings, canonical=timezone_key, find=find_timezone)},
    "search": {"query": ArgumentResolver(user_words=True)},
    "timbre_rag": {"query": ArgumentResolver(user_words=True)},
}
