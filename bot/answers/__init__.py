"""Answers: what comes back from customers, turned into stored answers and the next question."""
