"""Each open page's checked photos, held in memory for its review-sheet download (`imagegate serve`).

Only the review sheet's small annotated thumbnails of a page's photos stay in memory until that page is
cleared or the server stops; nothing is written to disk unless the user downloads a copy.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict

from ..results import Verdict

#: pages whose review-sheet thumbnails are held (the oldest page's are dropped first)
MAX_PAGES = 8
MAX_SHEET_ENTRIES = 2000


class Sheets:
    """Each open page's checked photos (results and small thumbnails), for its review-sheet download."""

    def __init__(self) -> None:
        self._pages: OrderedDict[str, list] = OrderedDict()

    def new_page(self) -> str:
        page = secrets.token_urlsafe(16)
        self._pages[page] = []
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    def add(self, page: str, result, thumb: bytes | None) -> None:
        from ..outputs.sheet import SheetEntry

        entries = self._pages.get(page)
        if entries is not None and len(entries) < MAX_SHEET_ENTRIES:
            entries.append(SheetEntry(result, thumb if isinstance(result, Verdict) else None))

    def clear(self, page: str) -> None:
        if page in self._pages:
            self._pages[page] = []

    def get(self, page: str) -> list | None:
        return self._pages.get(page)
