"""Helpers for the hardening tests: IANA special-purpose registries, IP spellings, the
network-namespace SSRF run (``inner.py``) and printing figures for the closing note."""
