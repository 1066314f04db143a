"""The HTTP side of the fake: request parsing (form, multipart, JSON), the threaded server and its request handler."""

from __future__ import annotations

import http.server
import json
import re
import select
import socket
import urllib.parse
from typing import TYPE_CHECKING, Any

from .common import UploadedFile, bad_request

if TYPE_CHECKING:
    from .server import FakeBotAPI


def _parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    parts = value.split(";")
    main = parts[0].strip().lower()
    params = {}
    for m in re.finditer(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', value):
        v = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = urllib.parse.unquote(v) if "%" in v else v
    return main, params


def parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    delim = b"--" + boundary.encode("latin-1")
    chunks = body.split(delim)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise bad_request("can't parse multipart/form-data")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        _, disp = _parse_header_params(headers.get("content-disposition", ""))
        name = disp.get("name")
        if name is None:
            raise bad_request("can't parse multipart/form-data: part without a name")
        if "filename" in disp:
            files[name] = UploadedFile(name, disp["filename"], headers.get("content-type"), data)
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def _flatten_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_request(content_type: str, query: str, body: bytes) -> tuple[dict, dict[str, UploadedFile]]:
    """Parameters of one request (query string + form / multipart / JSON body) and its file parts."""
    raw: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    if query:
        raw.update(urllib.parse.parse_qsl(query, keep_blank_values=True))
    ctype, cparams = _parse_header_params(content_type)
    if body:
        if ctype == "application/x-www-form-urlencoded":
            try:
                raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                                  errors="strict"))
            except UnicodeDecodeError:
                raise bad_request("request is not valid UTF-8") from None
        elif ctype == "multipart/form-data":
            if "boundary" not in cparams:
                raise bad_request("can't parse multipart/form-data: no boundary")
            fields, files = parse_multipart(body, cparams["boundary"])
            raw.update(fields)
            raw.update(files)
        elif ctype == "application/json":
            try:
                doc = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON encoded request") from None
            if not isinstance(doc, dict):
                raise bad_request("JSON encoded request must be an object")
            raw.update({k: _flatten_json(v) for k, v in doc.items() if v is not None})
        else:
            raise bad_request(f"unsupported Content-Type {ctype!r}")
    return raw, files


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: FakeBotAPI


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/10.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.api._handle(self)

    def do_POST(self) -> None:
        self.server.api._handle(self)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # headers and body in ONE write: two small writes + Nagle + delayed ACK cost ~40 ms/call
            self._headers_buffer.extend([b"\r\n", body])
            self.flush_headers()
        except OSError:
            self.close_connection = True

    def client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
