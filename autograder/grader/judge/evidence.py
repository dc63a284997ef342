"""The kernel's evidence file, read as the hostile data it is.

JSON lines only (no pickle), a size cap, and only records shaped like the kit's. Each line
is parsed under limits (length, digits of an integer, nesting depth, values in a record),
so an oversized or malformed line costs only that line: when its check can still be told
(its "identity" near the start), that check fails saying why; every other record keeps
its points. Nothing here raises on bad input. Decoding to arrays happens per check, so one
malformed array costs only its own check.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

EVIDENCE_LIMIT_BYTES = 64 * 1024 * 1024
LINE_LIMIT_BYTES = 16 * 1024 * 1024   # the largest honest record (a model's weights) is ~3 MB
INTEGER_DIGITS = 100                  # int64 needs 20; Python's own limit (4,300) raises
DEPTH_LIMIT = 32                      # honest records nest a handful of levels
VALUES_LIMIT = 4_000_000              # numbers, strings and containers in one record
# how a record names its check; the kit writes it before the (possibly huge) evidence
IDENTITY = re.compile(r'"identity"\s*:\s*"((?:[^"\\]|\\.){1,2000})"')


class Rejected(ValueError):
    """A line over a limit; the message says which, in plain words."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > INTEGER_DIGITS:
        raise Rejected(f"it holds an integer with more than {INTEGER_DIGITS} digits")
    return int(text)


def check_shape(value) -> None:
    """Raise Rejected when ``value`` nests deeper than DEPTH_LIMIT or holds more than
    VALUES_LIMIT values (an explicit stack: no recursion on hostile data)."""
    stack, count = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if depth > DEPTH_LIMIT:
            raise Rejected(f"it nests lists or objects more than {DEPTH_LIMIT} levels deep")
        children = item.values() if isinstance(item, dict) else item
        count += len(children)
        if count > VALUES_LIMIT:
            raise Rejected(f"it holds more than {VALUES_LIMIT:,} values")
        stack += [(c, depth + 1) for c in children if isinstance(c, (list, dict))]


def parse_line(line: str):
    """The record on one line, or raise Rejected saying why it was not read."""
    if len(line) > LINE_LIMIT_BYTES:
        raise Rejected(f"it is longer than {LINE_LIMIT_BYTES // 2**20} MB")
    try:
        record = json.loads(line, parse_int=_integer)
    except Rejected:
        raise
    except RecursionError:
        raise Rejected(f"it nests lists or objects more than {DEPTH_LIMIT} levels deep") from None
    except ValueError:  # JSONDecodeError, and any number Python itself refuses
        raise Rejected("it is not one line of valid JSON") from None
    if not (isinstance(record, dict) and isinstance(record.get("identity"), str)
            and isinstance(record.get("evidence"), dict)):
        raise Rejected("it is not a check's record")
    check_shape(record)
    return record


def _identity_of(line: str) -> str | None:
    """The identity a rejected line was filed under, when it can be read safely."""
    found = IDENTITY.search(line[:4096])
    if not found:
        return None
    try:
        return json.loads(f'"{found.group(1)}"')
    except ValueError:
        return None


def read_records(path: Path) -> tuple[dict[str, list[dict]], str]:
    """({identity: the records filed under it, in order}, note) from an evidence file.

    Two calls of one check with the same parameters (on different student objects) share
    an identity; the judge gives the k-th call the k-th record. A rejected line that names
    its identity stays in place as a record whose evidence is the reason (so its check
    fails saying why, and later calls keep their order); the note counts the rest.
    """
    if not path.is_file() or path.is_symlink():
        return {}, "no evidence was recorded"
    if path.stat().st_size > EVIDENCE_LIMIT_BYTES:
        return {}, (f"the evidence file is larger than {EVIDENCE_LIMIT_BYTES // 2**20} MB, "
                    "so none of it was read")
    records, reasons = {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                record = parse_line(line)
            except Rejected as why:
                reasons[str(why)] = reasons.get(str(why), 0) + 1
                identity = _identity_of(line)
                if identity is not None:
                    record = {"identity": identity, "evidence": {
                        "error": f"the recorded result was not read: {why}"}}
                else:
                    continue
            records.setdefault(record["identity"], []).append(record)
    if not reasons:
        return records, ""
    return records, "; ".join(f"{n} evidence line(s) not read: {why}"
                              for why, n in reasons.items())
