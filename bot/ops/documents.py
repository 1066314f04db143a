"""The corpus as admins manage it from the chat: add an uploaded file, list the documents, remove one.

No Telegram here: the handlers pass a file's name and bytes and get back what changed, or a
``DocumentError`` whose message is the one line to show the admin. Every change rebuilds the
index as /reload does (``Service.reloaded``: the per-document caches make that a matter of
seconds) and swaps it in; when any step fails, the corpus directory is put back as it was and
the old index keeps serving.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.answering.service import Service
from bot.search import formats
from bot.search.corpus import (
    body_paragraphs,
    clean_document,
    corpus_files,
    documents_from_bytes,
    make_passages,
)

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
UPLOAD_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".jsonl")
_SAFE_STEM = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff_-]+")
STEM_CHARS = 40


class DocumentError(Exception):
    """What went wrong, as one line for the admin; the corpus and the index are as they were."""


@dataclass(frozen=True)
class Listed:
    """A document as /docs shows it: numbered in corpus order."""

    number: int
    doc: str
    title: str
    passages: int
    file: Path | None  # None: one record of a .jsonl file, which cannot be removed alone


@dataclass(frozen=True)
class Added:
    """What an upload added (or, with ``duplicate``, which document already holds it)."""

    documents: tuple[tuple[str, int], ...]  # (title, passages)
    file_name: str
    duplicate: bool = False


# --------------------------------------------------------------------------- reasons, in Chinese

_REASONS = (
    ("encrypted PDF", "PDF 已加密（需要密码），请解除密码后再发送"),
    ("no text layer", "这个 PDF 没有文字层（可能是扫描件），暂不支持识别图片中的文字"),
    ("damaged PDF", "PDF 文件已损坏，无法读取"),
    ("an encrypted or old-format", "Word 文件已加密或是旧的 .doc 格式，请另存为不加密的 .docx 再发送"),
    ("damaged Word", "Word 文件已损坏，无法读取"),
    ("a web page without", "网页里没有找到正文"),
    ("unreadable web page", "网页无法解析"),
    ("not text in", "无法识别文字编码（支持 UTF-8、GBK/GB18030、Big5）"),
    ("binary data", "这不是文本文件"),
    ("empty", "文件里没有正文"),
    ("no usable record", "JSONL 文件里没有可用的记录（每行一个含 id、title、text 的 JSON 对象）"),
    ("malformed JSON", "JSONL 文件格式有误（每行一个含 id、title、text 的 JSON 对象）"),
    ("record", "JSONL 文件里没有可用的记录（每行一个含 id、title、text 的 JSON 对象）"),
)
_KINDS_ZH = {
    formats.PDF: "PDF", formats.WORD: "Word 文件", formats.HTML: "网页", formats.TEXT: "文本",
    "zip": "ZIP 压缩包", "ole": "旧版或加密的 Office 文件", "binary": "二进制数据",
}


def reason_zh(reason: str, suffix: str = "") -> str:
    """A reader's reason (``formats.Unreadable``) as the admin reads it."""
    if reason.startswith("named as"):
        found = reason.rsplit("the content is ", 1)[-1]
        kind = next((k for k in _KINDS_ZH if formats.describe(k) == found), "binary")
        return f"文件名是 {suffix}，内容却是{_KINDS_ZH[kind]}，请检查后再发送"
    return next((zh for en, zh in _REASONS if reason.startswith(en) or en in reason), f"无法读取（{reason}）")


def safe_name(file_name: str | None, data: bytes, suffix: str) -> str:
    """The name an upload is stored under: letters, digits and Chinese characters of the sender's
    file name (never a path), then eight hex digits of the content."""
    stem = Path(unicodedata.normalize("NFKC", file_name or "")).stem
    stem = _SAFE_STEM.sub("-", stem).strip("-_")[:STEM_CHARS] or "upload"
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}{suffix}"


# --------------------------------------------------------------------------- the library


class Library:
    """The corpus directory, changed one upload or removal at a time."""

    def __init__(self, corpus_path: Path | None, data_dir: Path | None = None):
        """``corpus_path`` None: the index was not read from a directory (nothing can be added)."""
        self.corpus_path = Path(corpus_path) if corpus_path is not None else None
        self.data_dir = data_dir
        self._lock = threading.Lock()

    # -- checks that need no download

    def check_upload(self, file_name: str | None, size: int | None) -> str:
        """The file's type by its name, before downloading it; raises DocumentError."""
        suffix = Path(file_name or "").suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise DocumentError(
                f"不支持{suffix or '没有扩展名'}的文件：可以发送 PDF、Word（.docx）、网页（.html）、TXT、MD 或 JSONL。"
            )
        if size is not None and size > MAX_DOWNLOAD_BYTES:
            raise DocumentError(
                f"文件太大（{size / 1024 / 1024:.1f} MB）：Telegram 只允许机器人下载 20 MB 以内的文件。"
            )
        self._directory()
        return formats.KIND_BY_SUFFIX[suffix]

    def _directory(self) -> Path:
        if self.corpus_path is None or not self.corpus_path.is_dir():
            raise DocumentError("资料库（CORPUS_PATH）不是一个目录，不能添加文档：请把它设为一个目录。")
        return self.corpus_path

    # -- add

    def add(
        self, data: bytes, file_name: str | None, current: Callable[[], Service], swap: Callable[[Service], None],
    ) -> Added:
        """Check the file (type by content, size, it yields passages), store it under a safe name,
        rebuild the index and ``swap`` it in; raises DocumentError and changes nothing on failure.

        Blocking (reading a PDF and rebuilding take seconds): call it from a worker thread.
        ``current`` gives the service now serving; ``swap`` puts the new one in its place.
        """
        kind = self.check_upload(file_name, len(data))
        suffix = Path(file_name or "").suffix.lower()
        name = safe_name(file_name, data, SUFFIX_FOR_KIND.get(suffix, suffix))
        try:
            docs, bad = documents_from_bytes(Path(name).stem, data, kind, name)
        except formats.Unreadable as exc:
            raise DocumentError(reason_zh(str(exc), suffix)) from None
        if not docs:  # a .jsonl file of bad records only
            raise DocumentError(reason_zh(bad[0].reason if bad else "empty", suffix))
        new_texts: set[str] = set()
        for d in docs:
            cleaned = clean_document(d)
            new_texts.update(p.text for p in make_passages(cleaned, body_paragraphs(list(cleaned.paragraphs))))
        if not new_texts:
            raise DocumentError("文件里没有可以回答问题的段落（只有标题，或内容太短）。")
        with self._lock:
            service = current()
            same = self._same_file(data)
            known = {p.text for p in service.index.passages}
            if same is not None or new_texts <= known:
                titles = self._titles_holding(service, new_texts)
                return Added(titles, same.name if same is not None else name, duplicate=True)
            target = self._directory() / name
            tmp = target.with_name(f".{name}.part")  # hidden: the corpus never reads it
            try:
                tmp.write_bytes(data)
                os.replace(tmp, target)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise DocumentError(f"无法写入资料库目录（{exc.strerror}）。") from None
            try:
                new = service.reloaded(self.data_dir)
            except Exception as exc:
                target.unlink(missing_ok=True)
                log.warning("upload %s undone: the rebuild failed: %s", name, exc)
                raise DocumentError(f"重建索引失败，已撤回这份文件：{exc}") from None
            counts = _passage_counts(new)
            added = tuple((d.title, counts.get(d.id, 0)) for d in docs if d.id in counts)
            if not added:  # every passage is already in another document
                target.unlink(missing_ok=True)
                raise DocumentError("这份文件的段落都已在资料库的其他文档中，没有加入。")
            swap(new)
            log.info("upload %s added: %s", name, ", ".join(f"{t} ({n} passages)" for t, n in added))
            return Added(added, name)

    def _same_file(self, data: bytes) -> Path | None:
        digest = hashlib.sha256(data).digest()
        for f in corpus_files(self._directory()):
            try:
                if f.stat().st_size == len(data) and hashlib.sha256(f.read_bytes()).digest() == digest:
                    return f
            except OSError:
                continue
        return None

    @staticmethod
    def _titles_holding(service: Service, texts: set[str]) -> tuple[tuple[str, int], ...]:
        counts: dict[str, int] = {}
        for p in service.index.passages:
            if p.text in texts:
                counts[p.title] = counts.get(p.title, 0) + 1
        return tuple(counts.items())

    # -- list and remove

    def listing(self, service: Service) -> list[Listed]:
        """The documents in corpus order, numbered from 1, with their passage counts and files."""
        files: dict[str, Path] = {}
        if self.corpus_path is not None and self.corpus_path.is_dir():
            for f in corpus_files(self.corpus_path):
                if f.suffix.lower() in formats.KIND_BY_SUFFIX and f.suffix.lower() != ".jsonl":
                    files.setdefault(f.stem, f)
        counts = _passage_counts(service)
        titles = {p.doc: p.title for p in service.index.passages}
        return [
            Listed(n, doc, titles[doc], count, files.get(doc))
            for n, (doc, count) in enumerate(counts.items(), start=1)
        ]

    def remove(
        self, number: int, current: Callable[[], Service], swap: Callable[[Service], None],
        generation: str | None = None,
    ) -> tuple[Listed, Service]:
        """Remove document ``number`` of ``listing`` (when the index is still ``generation``),
        rebuild and swap in; raises DocumentError and changes nothing on failure."""
        with self._lock:
            service = current()
            if generation is not None and service.generation != generation:
                raise DocumentError("资料库已经变了，请重新发送 /docs 查看编号。")
            listing = self.listing(service)
            if not 1 <= number <= len(listing):
                raise DocumentError(f"没有第 {number} 篇：资料库共有 {len(listing)} 篇文档，编号见 /docs。")
            doc = listing[number - 1]
            if doc.file is None:
                raise DocumentError(f"《{doc.title}》是 JSONL 文件中的一条记录，不能单独删除；请在服务器上编辑该文件。")
            aside = self._aside(doc.file)
            try:
                shutil.move(doc.file, aside)
            except OSError as exc:
                raise DocumentError(f"无法删除文件（{exc.strerror}）。") from None
            try:
                new = service.reloaded(self.data_dir)
            except Exception as exc:  # CorpusError above all: say it, keep the old index
                shutil.move(aside, doc.file)
                raise DocumentError(f"删除后资料库无法使用，已恢复原状：{exc}") from None
            if self.data_dir is None:
                aside.unlink(missing_ok=True)
            swap(new)
            log.info("removed %s (%s)", doc.file.name, doc.title)
            return doc, new

    def _aside(self, file: Path) -> Path:
        """Where a removed file goes: DATA_DIR/removed (to be restored by hand), else beside it, hidden."""
        if self.data_dir is not None:
            folder = self.data_dir / "removed"
            folder.mkdir(parents=True, exist_ok=True)
            return folder / file.name
        return file.with_name(f".{file.name}.removed")


SUFFIX_FOR_KIND = {".htm": ".html"}  # stored under the usual suffix


def _passage_counts(service: Service) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in service.index.passages:
        counts[p.doc] = counts.get(p.doc, 0) + 1
    return counts
