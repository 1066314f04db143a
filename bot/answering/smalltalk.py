"""Greetings, thanks and goodbyes: a message that is nothing else is not a question for the
documents. The chat answers it in kind (a greeting with what the bot does) instead of "not
found", and does not log it as an unanswered question for the operator.

A message is small talk only when all of it is (你好, 谢谢！, 好的谢谢, 再见～, hello bot):
"你好，崂山区有几个街道？" is a question.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.search import text

Kind = Literal["hello", "thanks", "bye"]

_WORDS: dict[Kind, str] = {
    "hello": "你好|您好|你们好|大家好|嗨|哈喽|哈啰|哈罗|hi|hello|hey|早|早安|早上好|上午好|中午好|下午好|晚上好"
             "|在吗|在不在|有人吗",
    "thanks": "谢谢|谢啦|谢了|多谢|感谢|非常感谢|太感谢了|辛苦了|thanks|thank you|thankyou|thx|3q",
    "bye": "再见|拜拜|回见|bye|byebye|goodbye|88",
}
_ADDRESSED = "(?:机器人|小助手|助手|bot|你|您)?"  # 谢谢你, 你好机器人
_OPENING = "(?:好的|好|嗯|ok|okay)?"  # 好的谢谢
_PATTERNS = {
    kind: re.compile(f"{_OPENING}(?:(?:{words}){_ADDRESSED})+") for kind, words in _WORDS.items()
}
_NOT_WORD = re.compile(r"[^\w]+")  # punctuation, spaces, emoji
_PARTICLES = re.compile("[啊呀哈呢哦噢喔嘛吧啦哇]+$")


def kind(message: str) -> Kind | None:
    """What small talk the whole message is, or None (it asks something)."""
    squashed = _NOT_WORD.sub("", text.normalise(message[:40]))
    squashed = _PARTICLES.sub("", squashed) if len(squashed) > 1 else squashed
    if not squashed:
        return None
    return next((k for k, pattern in _PATTERNS.items() if pattern.fullmatch(squashed)), None)
