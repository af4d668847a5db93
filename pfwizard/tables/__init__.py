"""Postfix access tables: read, validate, lint, look up and write them the way Postfix does."""
