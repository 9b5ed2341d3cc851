"""Shared pytest set-up. Fixtures live in tests/fixtures_*.py modules listed here."""

pytest_plugins = ["tests.fixtures_broker", "tests.fixtures_worker"]
