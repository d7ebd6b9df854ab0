"""Download the model into MODEL_DIR: `python download_models.py [--force]`.

`python download_models.py --safety-checker [--force]` fetches the model's safety checker
instead and converts it for OpenVINO into SAFETY_CHECKER_DIR (torch and diffusers, from the
optimum extra, are needed for that conversion only).
"""

from __future__ import annotations

import sys

from entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main(["download", *sys.argv[1:]]))
