"""palaute as the benchmarks run it: `palaute run`, with an optional switch for the pacing.

    python -m bench.palaute_bot --config FILE --limits telegram|off

`--limits telegram` is exactly `palaute run --config FILE`. `--limits off` lifts the Telegram
channel's pacing (for a fake whose rate limits are off too), to measure what palaute itself
can push; everything else is the same stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from bot.app import PalauteApp
from bot.channels.base import Limits
from bot.config import load_config
from bot.logs import configure_logging

UNLIMITED = Limits(
    per_second=1e9, burst=1_000_000, per_chat_per_second=1e9, per_chat_burst=1_000_000
)


class UnpacedApp(PalauteApp):
    """palaute with the Telegram channel's pacing lifted (set before the dispatcher reads it)."""

    def _build_channels(self) -> None:
        super()._build_channels()
        self.channels["telegram"].limits = UNLIMITED


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.palaute_bot")
    parser.add_argument("--config", required=True)
    parser.add_argument("--limits", choices=["telegram", "off"], default="telegram")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    config = load_config(args.config)
    configure_logging(args.log_level, config.secrets())
    app = UnpacedApp(config) if args.limits == "off" else PalauteApp(config)
    await app.run_until_signal()


if __name__ == "__main__":
    profile = os.environ.get("BENCH_CPROFILE")
    if profile:  # a CPU profile of the event loop thread, written when the bot stops
        import cProfile

        with cProfile.Profile() as profiler:
            asyncio.run(main())
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    else:
        asyncio.run(main())
