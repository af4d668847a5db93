"""The real-Postfix test bench: a private Postfix instance, stub DNS, SMTP client, policy stub.

Reusable by every test module through the fixtures in tests/conftest.py.
"""
