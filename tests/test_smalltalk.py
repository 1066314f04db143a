"""Small talk (bot/answering/smalltalk.py): a message that is only a greeting, thanks or goodbye."""

from __future__ import annotations

import pytest

from bot.answering import smalltalk


@pytest.mark.parametrize("message, kind", [
    ("你好", "hello"), ("您好！", "hello"), ("Hello", "hello"), ("hi bot", "hello"), ("你好机器人", "hello"),
    ("晚上好呀", "hello"), ("在吗？", "hello"), ("你好你好", "hello"),  # 謝謝 below: traditional script
    ("谢谢", "thanks"), ("謝謝你！", "thanks"), ("好的谢谢", "thanks"), ("多谢啦", "thanks"), ("Thank you!", "thanks"),
    ("再见", "bye"), ("拜拜~", "bye"), ("88", "bye"),
])
def test_a_message_that_is_only_small_talk(message, kind):
    assert smalltalk.kind(message) == kind


@pytest.mark.parametrize("message", [
    "你好，崂山区有几个街道？", "谢谢你们的服务有哪些", "崂山区", "再见面是哪一年", "2023", "", "？！", "👋",
    "好的",
])
def test_a_message_that_says_anything_more_is_a_question(message):
    assert smalltalk.kind(message) is None
