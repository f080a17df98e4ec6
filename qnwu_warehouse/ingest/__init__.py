"""Ingest: landing zone -> raw tables. The landing zone as ingest sees it (landing), files read
and checked in isolated workers (isolation), and the loader that accounts for every file in the
ledger (loader)."""
