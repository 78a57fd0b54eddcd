"""Benchmarks: palaute's real stack against the tests' fake Telegram, run by hand (see README)."""
