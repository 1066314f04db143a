# --- fake Telegram Bot API server (tests/fake_bot_api.py) -----------------------------------
import pytest as _pytest

try:
    from fake_bot_api import FakeBotAPI as _FakeBotAPI
except ImportError:  # tests/ imported as a package
    from tests.fake_bot_api import FakeBotAPI as _FakeBotAPI


@_pytest.fixture
def fake_api():
    """A started FakeBotAPI on 127.0.0.1 (stopped after the test).

    Point PTB at it with ``ApplicationBuilder().token(fake_api.token).base_url(fake_api.base_url)
    .base_file_url(fake_api.base_file_url)`` -- or, faster to start, ``fake_api.application_builder()``
    / ``Bot(**fake_api.bot_kwargs())`` -- and end the test with ``assert not fake_api.errors``.
    """
    api = _FakeBotAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()
        if api.internal_errors:  # a bug in the fake itself must not go unnoticed
            raise AssertionError(f"fake_bot_api internal errors: {api.internal_errors!r}")
