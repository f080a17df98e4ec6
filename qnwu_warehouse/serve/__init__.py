"""Serve: the published marts for their readers. PostgreSQL serving (postgres_serving, over the
table copies of postgres_copy), the ready analyst queries (analyst_queries, queries/*.sql) and
the static HTML report (report, templates/)."""
