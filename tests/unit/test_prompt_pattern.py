"""The published prompt pattern takes exactly the prompts the domain takes."""

import re
import sys

from entrypoints.api_models import NOT_ONLY_SPACE


def test_the_pattern_agrees_with_str_strip_on_every_code_point() -> None:
    pattern = re.compile(NOT_ONLY_SPACE)
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(pattern.search(chr(code))) != bool(chr(code).strip())
    ]
    assert disagree == []
