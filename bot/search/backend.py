"""Which index answers: the embedded one (built from the corpus, in this process) or a search
engine's (``SEARCH_BACKEND=sphinxql``, at ``SPHINXQL_URL``)."""

from __future__ import annotations

from bot.config import ConfigError, Settings
from bot.search import parallel
from bot.search.cache import load_or_build
from bot.search.index import Index


def load_index(settings: Settings, progress: parallel.Progress | None = None) -> Index:
    """The index the settings name; a search engine that cannot be reached is a ConfigError
    naming SPHINXQL_URL (the bot does not start without its index)."""
    if settings.search_backend == "sphinxql" and settings.sphinxql_url:
        from bot.search.sphinxql import EngineError, EngineIndex

        try:
            return EngineIndex(settings.sphinxql_url, cache_dir=settings.data_dir)
        except EngineError as exc:
            raise ConfigError(str(exc)) from None
    return load_or_build(settings.corpus_path, settings.data_dir, progress)
