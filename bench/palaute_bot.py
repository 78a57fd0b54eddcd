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

from bot.app import PalauteApp, build_channels
from bot.channels.base import Limits
from bot.config import load_config
from bot.logs import configure_logging

UNLIMITED = Limits(
    per_second=1e9, burst=1_000_000, per_chat_per_second=1e9, per_chat_burst=1_000_000
)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.palaute_bot")
    parser.add_argument("--config", required=True)
    parser.add_argument("--limits", choices=["telegram", "off"], default="telegram")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    config = load_config(args.config)
    configure_logging(args.log_level, config.secrets())
    channels = build_channels(config)
    if args.limits == "off":
        channels["telegram"].limits = UNLIMITED
    await PalauteApp(config, channels=channels).run_until_signal()


if __name__ == "__main__":
    profile = os.environ.get("BENCH_CPROFILE")
    if profile:  # a CPU profile of the event loop thread, written when the bot stops
        import cProfile

        with cProfile.Profile() as profiler:
            asyncio.run(main())
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    else:
        asyncio.run(main())
