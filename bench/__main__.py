"""``python -m bench storage`` (bench/storage.py) and ``python -m bench stats`` (bench/stats.py)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("storage", "stats")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in BENCHMARKS:
        raise SystemExit(f"usage: python -m bench {{{'|'.join(BENCHMARKS)}}} [--quick]")
    importlib.import_module(f"bench.{name}").main(sys.argv[2:])


if __name__ == "__main__":
    main()
