"""The core tests share tests/conftest.py's fixtures (memory keyrings, a context on a temporary home)."""
