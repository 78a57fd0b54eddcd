"""Delivery: from a touchpoint to a message on its way (triggers, timing, scheduling, the dispatcher and its pacing)."""
