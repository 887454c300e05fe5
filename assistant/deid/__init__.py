"""De-identification of text before it is stored: typed patterns, trigger-word names and philter-lite.

`assistant.redact.redact()` is the one entry point; these modules are its parts:
patterns.py (formats), names.py (names after a trigger word), philter_engine.py (philter-lite, offline),
safe_words.py (this product's vocabulary, kept).
"""
