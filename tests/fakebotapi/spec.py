"""The Bot API spec facts (tests/botapi/api-10.0.facts.json) and validating a call's parameters against them."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from .common import MAX_CALLBACK_DATA_BYTES, ApiError, UploadedFile, bad_request
from .text import check_formatting

FACTS_PATH = Path(__file__).resolve().parent.parent / "botapi" / "api-10.0.facts.json"

SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
ARRAY_PREFIX = "Array of "

# Parameters PTB 22.8's ExtBot fills from ``Defaults`` even on methods that do not have them
# (Bot._send_message always passes them as DEFAULT_NONE); Telegram ignores unknown parameters.
PTB_DEFAULTS_LEAKS = frozenset({"parse_mode", "disable_notification", "protect_content"})

# InlineKeyboardButton: "You must use exactly one of the optional fields" (besides the cosmetic ones)
BUTTON_ACTION_FIELDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BotApiSpec:
    """The facts file: methods (params, returns) and types (fields, subtypes, discriminators).

    Read-only after construction; ``BotApiSpec.load(path)`` caches one instance per path.
    """

    _cache: ClassVar[dict[Path, BotApiSpec]] = {}
    _cache_lock = threading.Lock()

    @classmethod
    def load(cls, path: Path = FACTS_PATH) -> BotApiSpec:
        key = Path(path).resolve()
        with cls._cache_lock:
            if key not in cls._cache:
                cls._cache[key] = cls(key)
            return cls._cache[key]

    def __init__(self, path: Path = FACTS_PATH):
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        self.source: dict = doc["source"]
        self.methods: dict[str, dict] = doc["methods"]
        self.types: dict[str, dict] = doc["types"]
        self._by_lower = {name.lower(): name for name in self.methods}
        self.fields = {
            kind: {name: {f["name"]: f for f in d["fields"]} for name, d in getattr(self, kind).items()}
            for kind in ("methods", "types")
        }

    def canonical_method(self, name: str) -> str | None:
        return self._by_lower.get(name.lower())


class _Invalid(Exception):
    """Structural validation failure at ``path`` (inside a JSON value)."""

    def __init__(self, path: str, detail: str):
        super().__init__(detail)
        self.path = path
        self.detail = detail
        self.depth = path.count(".") + path.count("[")

    def message(self) -> str:
        return f"{self.detail} (at {self.path})" if self.path else self.detail


class Validator:
    """Checks values against the facts.  ``files``: multipart parts available to ``attach://``."""

    def __init__(self, spec: BotApiSpec, files: dict[str, UploadedFile] | None = None,
                 hooks: dict[str, Callable[[dict, str], None]] | None = None,
                 object_hook: Callable[[str, dict, str], None] | None = None):
        self.spec = spec
        self.files = files or {}
        self.hooks = hooks or {}
        self.object_hook = object_hook
        self.referenced_files: set[str] = set()

    # -- top-level (string) parameters ----------------------------------------------------
    def decode_param(self, name: str, raw: Any, types: list[str]) -> Any:
        """Decode one top-level parameter (a string or an UploadedFile) per its declared types."""
        if isinstance(raw, UploadedFile):
            if "InputFile" in types:
                return raw
            raise bad_request(f'parameter "{name}" must be of type {" or ".join(types)}, not a file upload')
        s = raw
        for t in types:
            if t == "Integer" and _INT_RE.fullmatch(s):
                v = int(s)
                if INT64_MIN <= v <= INT64_MAX:
                    return v
            elif t == "Float" and _FLOAT_RE.fullmatch(s):
                return float(s)
            elif t == "Boolean" and s.lower() in _BOOLS:
                return _BOOLS[s.lower()]
            elif t == "InputFile" and s.startswith("attach://"):
                return self._attached(s, name)
        complex_types = [t for t in types if t not in SCALARS]
        if complex_types:
            try:
                value = json.loads(s)
            except ValueError:
                if "String" in types:
                    return s
                raise bad_request(f"can't parse {name} JSON object") from None
            try:
                return self.check(value, complex_types, "")
            except _Invalid as exc:
                raise bad_request(f"can't parse {name}: {exc.message()}") from None
        if "String" in types:
            kind = _json_container(s)
            if kind:
                raise bad_request(
                    f'parameter "{name}" must be of type String, got a JSON {kind} {s[:40]!r} '
                    "(a list/dict, or an empty string mangled by PTB Defaults?)"
                )
            return s
        if "InputFile" in types:
            raise bad_request(f'parameter "{name}" must be a file upload (InputFile)')
        raise bad_request(f'parameter "{name}" must be of type {" or ".join(types)}, got {s[:40]!r}')

    def _attached(self, s: str, path: str) -> UploadedFile:
        ref = s[len("attach://") :]
        if ref not in self.files:
            raise bad_request(f'file "{s}" referenced by {path or "a parameter"} is not in the multipart upload')
        self.referenced_files.add(ref)
        return self.files[ref]

    # -- JSON values ----------------------------------------------------------------------
    def check(self, value: Any, types: list[str], path: str) -> Any:
        if len(types) == 1:
            return self._check_type(value, types[0], path)
        errors: list[_Invalid] = []
        for t in self._order(value, types):
            try:
                return self._check_type(value, t, path)
            except _Invalid as exc:
                errors.append(exc)
        raise max(errors, key=lambda e: e.depth)

    def _order(self, value: Any, types: list[str]) -> list[str]:
        if not isinstance(value, dict):
            return list(types)

        def score(t: str) -> tuple[int, int]:
            fields = self.spec.fields["types"].get(t)
            if fields is None:
                return (-1, 0)
            required = [f for f, d in fields.items() if d["required"]]
            return (all(r in value for r in required), sum(1 for k in value if k in fields))

        return sorted(types, key=score, reverse=True)

    def _check_type(self, value: Any, t: str, path: str) -> Any:
        if t.startswith(ARRAY_PREFIX):
            inner = t[len(ARRAY_PREFIX) :]
            if not isinstance(value, list):
                raise _Invalid(path, f"must be of type {t}")
            return [self.check(v, [inner], f"{path}[{i}]") for i, v in enumerate(value)]
        if t == "Integer":
            if isinstance(value, bool):
                raise _Invalid(path, "must be of type Integer")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and _INT_RE.fullmatch(value):  # tdlib accepts numeric strings
                return int(value)
            raise _Invalid(path, "must be of type Integer")
        if t == "Float":
            if isinstance(value, bool):
                raise _Invalid(path, "must be of type Float")
            if isinstance(value, (int, float)):
                return value
            if isinstance(value, str) and _FLOAT_RE.fullmatch(value):
                return float(value)
            raise _Invalid(path, "must be of type Float")
        if t == "Boolean":
            if isinstance(value, bool):
                return value
            raise _Invalid(path, "must be of type Boolean")
        if t == "String":
            if isinstance(value, str):
                if value.startswith("attach://") and value[len("attach://") :] not in self.files:
                    raise _Invalid(path, f'file "{value}" is not in the multipart upload')
                if value.startswith("attach://"):
                    self.referenced_files.add(value[len("attach://") :])
                return value
            raise _Invalid(path, "must be of type String")
        if t == "InputFile":
            if isinstance(value, str) and value.startswith("attach://"):
                try:
                    return self._attached(value, path)
                except ApiError as exc:
                    raise _Invalid(path, exc.description.removeprefix("Bad Request: ")) from None
            raise _Invalid(path, "must be of type InputFile (attach://<name>)")
        return self._check_object(value, t, path)

    def _check_object(self, value: Any, tname: str, path: str) -> Any:
        tdef = self.spec.types.get(tname)
        if tdef is None:
            raise _Invalid(path, f"unknown type {tname}")
        if not isinstance(value, dict):
            raise _Invalid(path, f"must be an Object ({tname})")
        subtypes = tdef.get("subtypes")
        if subtypes:
            candidates = list(subtypes)
            discs = [self.spec.types[s].get("discriminator") for s in candidates]
            if all(discs):
                dfield = discs[0]["field"]
                if dfield not in value:
                    raise _Invalid(path, f'Can\'t find field "{dfield}" ({tname})')
                candidates = [s for s, d in zip(candidates, discs) if d["value"] == value[dfield]]
                if not candidates:
                    raise _Invalid(path, f'unsupported {tname} {dfield} "{value[dfield]}"')
            errors = []
            for cand in self._order(value, candidates):
                try:
                    return self._check_object(value, cand, path)
                except _Invalid as exc:
                    errors.append(exc)
            raise max(errors, key=lambda e: e.depth)
        fields = self.spec.fields["types"][tname]
        for key in value:
            if key not in fields:
                raise _Invalid(f"{path}.{key}" if path else key, f'unknown field "{key}" of {tname}')
        for fname, f in fields.items():
            if f["required"] and value.get(fname) is None:
                raise _Invalid(path, f'Can\'t find field "{fname}" ({tname})')
        out = {}
        for key, v in value.items():
            if v is None:
                continue
            out[key] = self.check(v, fields[key]["types"], f"{path}.{key}" if path else key)
        disc = tdef.get("discriminator")
        if disc and out.get(disc["field"]) != disc["value"]:
            raise _Invalid(path, f'{tname}.{disc["field"]} must be "{disc["value"]}"')
        if self.object_hook:
            self.object_hook(tname, out, path)
        hook = self.hooks.get(tname)
        if hook:
            hook(out, path)
        return out


def _json_container(s: str) -> str | None:
    t = s.strip()
    if not t or t[0] not in "[{":
        return None
    try:
        v = json.loads(t)
    except ValueError:
        return None
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return None


def validate_params(spec: BotApiSpec, method: str, raw: dict[str, Any],
                    files: dict[str, UploadedFile] | None = None, ignored: list[str] | None = None,
                    *, tolerate_ptb_defaults: bool = True) -> dict:
    """Validate raw (string / UploadedFile) parameters of ``method``; return decoded params or
    raise ApiError.  ``FakeBotAPI.validate`` calls this with its spec and settings.
    Tolerated PTB ``Defaults`` leftovers (see PTB_DEFAULTS_LEAKS) are appended to ``ignored``."""
    files = files or {}
    fields = spec.fields["methods"][method]
    validator = Validator(spec, files, hooks={"InlineKeyboardButton": _check_button},
                          object_hook=_formatting_hook)
    for name, f in fields.items():
        value = raw.get(name)
        if f["required"] and (value is None or value == ""):
            if name == "chat_id":
                raise bad_request("chat_id is empty")
            if name == "text" and method in ("sendMessage", "editMessageText"):
                raise bad_request("message text is empty")
            raise bad_request(f'parameter "{name}" is required')
    decoded: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in fields:
            continue
        decoded[name] = validator.decode_param(name, value, fields[name]["types"])
    for name, value in raw.items():
        if name in fields:
            continue
        if isinstance(value, UploadedFile) and name in validator.referenced_files:
            continue
        if tolerate_ptb_defaults and name in PTB_DEFAULTS_LEAKS:
            if ignored is not None:
                ignored.append(name)
            continue
        raise bad_request(f'unknown parameter "{name}" (not a {method} parameter in Bot API 10.0)')
    check_formatting(decoded, where=method)
    return decoded


def _formatting_hook(type_name: str, obj: dict, path: str) -> None:
    check_formatting(obj, where=type_name)


def lenient_decode(spec: BotApiSpec, method: str | None, raw: dict) -> dict:
    """Decode what can be decoded (for the record of a call, valid or not); keep the rest raw."""
    if method is None:
        return dict(raw)
    fields = spec.fields["methods"][method]
    out = {}
    v = Validator(spec, {k: f for k, f in raw.items() if isinstance(f, UploadedFile)})
    for k, val in raw.items():
        if k in fields:
            try:
                out[k] = v.decode_param(k, val, fields[k]["types"])
                continue
            except ApiError:
                pass
        out[k] = val
    return out


def _check_button(button: dict, path: str) -> None:
    actions = [k for k in BUTTON_ACTION_FIELDS if k in button]
    if not button.get("text"):
        raise bad_request(f"can't parse inline keyboard button: Text must be non-empty (at {path})")
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            f"can't parse inline keyboard button: exactly one of {', '.join(actions)} must be used (at {path})"
        )
    if "callback_data" in button and not 1 <= len(button["callback_data"].encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and (not button["url"] or any(ch.isspace() for ch in button["url"])):
        raise bad_request("BUTTON_URL_INVALID")
