"""Long-term facts per user and persona, recalled by meaning; deleted with the user."""

from __future__ import annotations

import pytest_asyncio

from memory.user_facts import SqlFactStore

# A toy embedding: one axis per topic word, so "meaning" is checkable without a model.
TOPICS = ["dog", "coffee", "refund", "name"]


async def toy_embed(texts):
    return [[float(any(w in t.lower() for w in (topic, topic + "s"))) for topic in TOPICS]
            for t in texts]


@pytest_asyncio.fixture(loop_scope="function")
async def facts(store):
    return SqlFactStore(store, embed=toy_embed)


async def test_recall_ranks_by_meaning_and_scopes_by_user_and_persona(facts):
    await facts.remember("ann", "Ann has a dog called Rex")
    await facts.remember("ann", "Ann drinks her coffee black", persona="barista")
    await facts.remember("ann", "Ann has an open refund case #42", persona="support")
    await facts.remember("bob", "Bob's dog is Fido")

    best = await facts.recall("ann", "How is your dog doing?", limit=1)
    assert [f.text for f in best] == ["Ann has a dog called Rex"] and best[0].score > 0.9
    support = await facts.recall("ann", "about my refund", persona="support")
    assert support[0].text.startswith("Ann has an open refund")
    # Persona-scoped facts stay with their persona; facts for every persona go everywhere.
    assert {f.text for f in await facts.facts("ann", persona="barista")} == {
        "Ann has a dog called Rex", "Ann drinks her coffee black"}
    assert all(f.user_id == "bob" for f in await facts.recall("bob", "dog"))


async def test_pinned_facts_and_greeting_by_name(facts):
    assert await facts.display_name("ann") is None  # a caller not seen before
    await facts.set_display_name("ann", "Ann")
    await facts.remember("ann", "Prefers to be called Annie", pinned=True)
    await facts.remember("ann", "Has a dog")
    assert await facts.display_name("ann") == "Ann"
    assert [f.text for f in await facts.pinned("ann")] == ["Prefers to be called Annie"]
    assert [f.text for f in await facts.recall("ann", "dog")] == ["Has a dog"]


async def test_without_embeddings_recall_is_newest_first(store):
    plain = SqlFactStore(store)
    for text in ("one", "two", "three"):
        await plain.remember("ann", text)
    assert [f.text for f in await plain.recall("ann", "anything", limit=2)] == ["three", "two"]


async def test_forget_and_delete_user_remove_facts(facts, store):
    fact_id = await facts.remember("ann", "Has a dog")
    await facts.remember("ann", "Likes coffee")
    await facts.forget(fact_id)
    assert [f.text for f in await facts.facts("ann")] == ["Likes coffee"]
    assert (await store.delete_user("ann")).facts == 1
    assert await facts.facts("ann") == [] and await facts.display_name("ann") is None
