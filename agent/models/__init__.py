"""Model files: the catalog, checksummed download into the cache, listing, requantizing.

Imports nothing else of agent but agent.errors.
"""
