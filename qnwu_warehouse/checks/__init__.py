"""Checks before publishing: what changed since the live version (changes), the quality gate's
Great Expectations suites from expectations/ (quality), and the alerts a failed gate sends."""
