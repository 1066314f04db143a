"""The fake Telegram Bot API under its old module name: re-exports the package ``tests/fakebotapi/``.

Everything lives in ``fakebotapi`` now (see its docstring for which file holds what); this module
keeps ``from fake_bot_api import ...`` working for the tests and ``benchmarks/load.py``.
"""

from __future__ import annotations

# ruff: noqa: F403, F405

if __package__:  # imported as ``tests.fake_bot_api``
    from .fakebotapi import *
else:  # ``tests/`` on sys.path (pytest's pythonpath, benchmarks/load.py)
    from fakebotapi import *

__all__ = [
    "ApiError",
    "BotApiSpec",
    "Call",
    "FakeBotAPI",
    "UploadedFile",
    "Validator",
    "detect_entities",
    "parse_formatted",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]
