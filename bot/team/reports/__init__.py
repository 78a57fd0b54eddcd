"""Team reporting: daily summaries, weekly digests, charts and the words they are written in."""
