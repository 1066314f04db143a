"""Make ``bot/ops/data/chart-sans.otf``, the font the /stats chart draws its Chinese with.

Not a model, but a shipped file made offline like them: the glyphs the chart needs (printable ASCII
and ``bot.ops.reports.CHART_CHARS``) cut from Noto Sans CJK SC Regular (SIL Open Font License 1.1;
``bot/ops/data/OFL.txt``), renamed "Laoshan Chart Sans" as the licence asks of a modified version.
The source is the collection Debian's ``fonts-noto-cjk`` package installs:

    apt-get install fonts-noto-cjk
    uv run python training/subset_chart_font.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Run it again after adding a character to a chart label (``tests/test_reports.py`` fails until then).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.ops.reports import CHART_CHARS, FONT, FONT_FAMILY

SC = 2  # Noto Sans CJK SC's place in NotoSansCJK-Regular.ttc (JP, KR, SC, TC, HK, then the Mono ones)


def main(collection: str) -> None:
    font = TTCollection(collection).fonts[SC]
    if font["name"].getDebugName(1) != "Noto Sans CJK SC":
        raise SystemExit(f"{collection}: face {SC} is not Noto Sans CJK SC")
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + CHART_CHARS
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    postscript = FONT_FAMILY.replace(" ", "") + "-Regular"
    for record in font["name"].names:
        new = {1: FONT_FAMILY, 16: FONT_FAMILY, 4: f"{FONT_FAMILY} Regular", 6: postscript,
               3: f"{FONT_FAMILY} Regular; subset of Noto Sans CJK SC", 17: "Regular"}.get(record.nameID)
        if new is not None:
            record.string = new
    font["CFF "].cff.fontNames = [postscript]
    font.save(FONT)
    print(f"{FONT}: {len(set(text))} characters, {FONT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
