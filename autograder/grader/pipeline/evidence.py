"""The kernel's evidence file, read as the hostile data it is.

JSON lines only (no pickle), a size cap, and only records shaped like the kit's; every
other line is skipped and counted. Decoding to arrays happens per check, so one malformed
array costs only its own check.
"""
from __future__ import annotations

import json
from pathlib import Path

EVIDENCE_LIMIT_BYTES = 64 * 1024 * 1024


def read_records(path: Path) -> tuple[dict[str, list[dict]], str]:
    """({identity: the records filed under it, in order}, note) from an evidence file.

    Two calls of one check with the same parameters (on different student objects) share
    an identity; the judge gives the k-th call the k-th record.
    """
    if not path.is_file() or path.is_symlink():
        return {}, "no evidence was recorded"
    if path.stat().st_size > EVIDENCE_LIMIT_BYTES:
        return {}, (f"the evidence file is larger than {EVIDENCE_LIMIT_BYTES // 2**20} MB, "
                    "so none of it was read")
    records, skipped = {}, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                skipped += 1
                continue
            if isinstance(record, dict) and isinstance(record.get("identity"), str) \
                    and isinstance(record.get("evidence"), dict):
                records.setdefault(record["identity"], []).append(record)
            else:
                skipped += 1
    return records, f"{skipped} malformed evidence line(s) ignored" if skipped else ""
