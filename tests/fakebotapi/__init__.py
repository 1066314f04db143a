"""An offline fake of the Telegram Bot API server (Bot API 10.0, as used by python-telegram-bot 22.8).

It listens on 127.0.0.1 (free port, background thread) and lets the *real* PTB ``Bot`` /
``Application`` talk to it over HTTP.  Every call is validated the way Telegram would (and in a few
places more strictly, to catch bugs early), recorded, and answered with Telegram-shaped JSON.

Quick use::

    with FakeBotAPI() as api:                      # or the ``fake_api`` pytest fixture
        app = (ApplicationBuilder().token(api.token).base_url(api.base_url)
               .base_file_url(api.base_file_url).build())
        ...
        api.private_message("/ask 老山在哪里？")
        [call] = await api.await_calls("sendMessage")
        assert not api.errors

Everything the validator knows comes from ``tests/botapi/api-10.0.facts.json`` (generated from the
telegram-bot-api-spec; see ``tests/botapi/README.md``) and ``tests/botapi/LIMITS.md``.

Wire format (what PTB 22.8 sends, see ``telegram/request/_requestparameter.py``): a POST to
``<base_url><token>/<method>`` with ``application/x-www-form-urlencoded`` data, or
``multipart/form-data`` when files are uploaded.  ``str`` values are sent as they are, every other
value is ``json.dumps``-ed (ints -> ``123``, bools -> ``true``, objects -> JSON).  Telegram itself
treats every top-level parameter as a string and decodes it according to the declared type; this
server does the same (JSON bodies and query strings are flattened to strings first, like the real
server does), so ``chat_id=123`` and ``chat_id="123"`` are the same thing.

Deliberate strictness beyond Telegram (each one catches a real class of bot bugs):

* unknown parameters, and unknown fields inside JSON objects, are rejected (Telegram ignores them);
* inside JSON objects ``String`` fields must be JSON strings (Telegram would accept numbers);
* a ``String``-only parameter whose value is a JSON array or object is rejected: PTB sends
  non-``str`` values JSON-encoded, so ``[]``/``{...}`` there means the bot passed a list/dict -- or
  hit PTB 22.8's ``Defaults`` quirk that turns an empty string argument into ``[]``;
* in HTML, an ``&`` that does not start ``&lt; &gt; &amp; &quot;`` or a numeric reference is an
  error (Telegram would silently keep it);
* an ``InlineKeyboardButton`` must have exactly one action field (Telegram takes the first).

Tolerated although unknown: ``parse_mode`` / ``disable_notification`` / ``protect_content`` on
methods without them -- PTB 22.8's ``ExtBot`` adds them from ``Defaults`` to every method sent via
``Bot._send_message`` (sendLocation, sendSticker, editMessageText, ...); see PTB_DEFAULTS_LEAKS.

Simplifications: message ids count per chat; files are kept in memory; webhooks are stored but
never called; in groups with privacy mode every bare ``/command`` is delivered (Telegram: only if
this bot was the last bot to write there); text length is counted in code points.

Layout (one concern per file):

* ``common.py``: default ids/names, Telegram's limits, ``ApiError``, ``UploadedFile``, ``Call``;
* ``parse_modes.py``: the HTML / MarkdownV2 / Markdown parsers;
* ``text.py``: parse_mode dispatch, whitespace trim, text length limits, incoming entities;
* ``spec.py``: the spec facts, the ``Validator`` and the validation of a call's parameters;
* ``wire.py``: request parsing (form, multipart, JSON), the HTTP server and request handler;
* ``server.py``: ``FakeBotAPI`` itself (lifecycle, PTB wiring, HTTP entry point, dispatch), built
  from the mixins in ``recording.py`` (calls, waiting, fault injection), ``state.py`` (chats,
  messages, files, updates), ``scenario.py`` (what users do) and ``routes_bot.py`` /
  ``routes_messages.py`` (the method models).

``tests/fake_bot_api.py`` re-exports the public names, so ``from fake_bot_api import ...`` works.
"""

from .common import (
    DEFAULT_FIRST_NAME,
    DEFAULT_GROUP_ID,
    DEFAULT_GROUP_TITLE,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    MAX_CALLBACK_ANSWER_TEXT,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION,
    MAX_COMMANDS,
    MAX_DOWNLOAD_BYTES,
    MAX_INLINE_ID_BYTES,
    MAX_INLINE_QUERY_LEN,
    MAX_INLINE_RESULTS,
    MAX_NEXT_OFFSET_BYTES,
    MAX_TEXT,
    ApiError,
    Call,
    UploadedFile,
    bad_request,
    utf16_len,
)
from .parse_modes import EntityParseError, parse_html, parse_markdown, parse_markdown_v2
from .routes_bot import CHAT_ACTIONS, DEFAULT_ALLOWED_UPDATES_EXCLUDED
from .server import FakeBotAPI
from .spec import (
    ARRAY_PREFIX,
    BUTTON_ACTION_FIELDS,
    FACTS_PATH,
    INT64_MAX,
    INT64_MIN,
    PTB_DEFAULTS_LEAKS,
    SCALARS,
    BotApiSpec,
    Validator,
)
from .text import detect_entities, parse_formatted, strip_formatted
from .wire import parse_multipart

__all__ = [
    "ARRAY_PREFIX",
    "BUTTON_ACTION_FIELDS",
    "CHAT_ACTIONS",
    "DEFAULT_ALLOWED_UPDATES_EXCLUDED",
    "DEFAULT_FIRST_NAME",
    "DEFAULT_GROUP_ID",
    "DEFAULT_GROUP_TITLE",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "FACTS_PATH",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_CALLBACK_ANSWER_TEXT",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION",
    "MAX_COMMANDS",
    "MAX_DOWNLOAD_BYTES",
    "MAX_INLINE_ID_BYTES",
    "MAX_INLINE_QUERY_LEN",
    "MAX_INLINE_RESULTS",
    "MAX_NEXT_OFFSET_BYTES",
    "MAX_TEXT",
    "PTB_DEFAULTS_LEAKS",
    "SCALARS",
    "ApiError",
    "BotApiSpec",
    "Call",
    "EntityParseError",
    "FakeBotAPI",
    "UploadedFile",
    "Validator",
    "bad_request",
    "detect_entities",
    "parse_formatted",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_multipart",
    "strip_formatted",
    "utf16_len",
]
