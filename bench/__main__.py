"""``python -m bench storage``: the storage benchmark (see bench/storage.py)."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] != ["storage"]:
        raise SystemExit("usage: python -m bench storage [--quick]")
    from bench import storage

    storage.main(sys.argv[2:])


if __name__ == "__main__":
    main()
