"""Helpers that know nothing of the product: the secret that hides itself, backoff, the
process's exit, the fast path's switch, the log's redaction, JSON files read and written
within bounds, counts in words, "did you mean" spellings and the one malloc arena.

May import: the standard library, `cmc_mqtt.errors`. Nothing else of the package.
"""
