"""Which categories a user may use: the fixed taxonomy plus the user's own."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from finmesh.errors import InvalidArgument
from finmesh.taxonomy import CATEGORY_IDS


async def check_category(
    conn: AsyncConnection[Any], user_id: str, category: str, field: str
) -> None:
    """INVALID_ARGUMENT naming ``field`` unless ``category`` is a taxonomy id or one of the
    user's own categories."""
    if category in CATEGORY_IDS:
        return
    cur = await conn.execute(
        "SELECT 1 FROM user_categories WHERE user_id = %s AND id = %s", (user_id, category)
    )
    if await cur.fetchone() is None:
        raise InvalidArgument.field(field, f"unknown category {category[:70]!r}")
