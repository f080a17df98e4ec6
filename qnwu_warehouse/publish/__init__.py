"""Publish: write-audit-publish of the readers' warehouse file, its versions and rollback
(versioning)."""
