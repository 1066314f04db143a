"""Small made-up corpora shared by the retrieval, answer and CLI tests.

Import this module before ``bot``: it puts the project root on ``sys.path`` (pytest's default
import mode only adds ``tests/``), so the tests run the same under ``uv run pytest`` and
``python -m pytest``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.search.corpus import Passage  # noqa: E402

# Eight short passages about different things: every content word of a test question occurs in
# one passage only (rank_bm25 gives idf 0 to a term in exactly half the passages, negative above).
DISTRICT = (
    "北宅街道依托樱桃节发展乡村旅游，吸引大量游客前来采摘，带动村民增收致富。",
    "沙子口街道建设渔港码头，完善冷链物流设施，海产品销往全国各地。",
    "中韩街道推行楼宇党建，组建商务楼宇联合党委，服务入驻企业员工。",
    "王哥庄街道加强垃圾分类管理，设置智能回收箱，居民参与率明显提高。",
    "金家岭街道打造金融聚集区，引进银行证券保险机构四十余家。",
    "区卫生健康局推进家庭医生签约服务，为老年人提供上门体检。",
    "区教育和体育局新建改扩建中小学幼儿园十二所，新增学位一万个。",
    "区行政审批服务局推出“崂先办”平台，企业开办一次办好，群众办事不用跑腿。",
)
CHERRY, FISHING, OFFICE, WASTE, FINANCE, DOCTOR, SCHOOL, PLATFORM = range(8)


def passages(texts=DISTRICT, doc: str = "sample", title: str = "样例文档") -> list[Passage]:
    """One passage per text, numbered from 1 like paragraphs of one document."""
    return [Passage(doc, title, n, t, 0, t) for n, t in enumerate(texts, start=1)]


def write_files(directory: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{name: content}`` under ``directory`` (str as UTF-8, bytes as they are)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


# A tiny corpus on disk for the CLI: a made-up topic that the real corpus does not cover.
LIGHTHOUSE_MD = """# 灯塔岛志愿服务纪实

灯塔岛志愿服务队成立于2019年，现有队员八十六名，主要负责海岛环境清洁和游客安全引导。

每逢周末，队员们乘坐渡船登岛，清理礁石间的塑料垃圾，累计清运垃圾十二吨。

志愿服务队还开设了海洋科普课堂，为岛上小学的孩子们讲解潮汐和海鸟知识。
"""
LIGHTHOUSE_NOTES_TXT = """灯塔岛渔业合作社

灯塔岛渔业合作社养殖海参和鲍鱼，去年合作社社员人均分红一万三千元。

合作社与冷链企业签订协议，鲜活海产品当天运抵城区超市。
"""


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The process environment without the bot's settings (a developer's shell may set them)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "BOT_TOKEN", "BOT_API_BASE_URL", "CORPUS_PATH", "TOP_K", "ADMIN_IDS", "WEBHOOK_URL",
            "WEBHOOK_PORT", "LOG_LEVEL", "DATA_DIR", "WEBHOOK_LISTEN", "LOG_RETENTION_DAYS", "TZ",
        }
    }
    env["PYTHONIOENCODING"] = "utf-8"
    env["ENV_FILE"] = "/dev/null"  # not the developer's .env
    env.update(overrides)
    return env
