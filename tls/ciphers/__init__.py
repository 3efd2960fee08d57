"""Symmetric ciphers shaped like ``cryptography.hazmat.primitives.ciphers``."""
