"""SQLModel tables, engine and session set-up, migrations and queries."""
