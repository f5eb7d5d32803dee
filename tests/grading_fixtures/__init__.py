"""Fixtures for the grader tests: test-only exercise specs, a solutions notebook and its
generated exercise version, and a builder for hostile submissions."""
