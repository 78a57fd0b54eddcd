"""Parrot, a fourth channel that lives in tests/ alone (the fake platform: tests/fakes/parrot_api.py).

Built by the recipe "How to add a channel" in docs/architecture.md, step by step.
"""

from tests.parrot.spec import SPEC

__all__ = ["SPEC"]
