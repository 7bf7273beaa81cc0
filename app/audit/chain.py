"""How an audit entry is hashed: canonical JSON of every field plus the previous hash.

Kept free of database code so the rule is stated once and used both when writing and when
verifying (and can be re-implemented by anyone auditing an export of the log).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    prev_hash: str,
    ts: datetime,
    actor_user_id: int | None,
    actor_role: str | None,
    actor_org_id: int | None,
    action: str,
    outcome: str,
    target_type: str | None,
    target_id: str | None,
    case_id: int | None,
    purpose: str | None,
    details: str,
) -> str:
    payload = canonical_json(
        {
            "seq": seq,
            "prev_hash": prev_hash,
            "ts": format_ts(ts),
            "actor_user_id": actor_user_id,
            "actor_role": actor_role,
            "actor_org_id": actor_org_id,
            "action": action,
            "outcome": outcome,
            "target_type": target_type,
            "target_id": target_id,
            "case_id": case_id,
            "purpose": purpose,
            "details": details,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()
