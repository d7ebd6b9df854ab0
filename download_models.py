"""Download the model into MODEL_DIR: `python download_models.py [--force]`."""

from __future__ import annotations

import sys

from entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main(["download", *sys.argv[1:]]))
