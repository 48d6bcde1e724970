"""Related releases: a salted sketch of each released extract's patients, to spot two that overlap.

Two shareable reports of extracts that differ by a patient or two can be
subtracted: every rounded count that moves tells something of those patients.
An extract's SHA-256 changes with any byte and its folder with any copy, so
neither says that two extracts are nearly the same registry. The release log
(:func:`~screening.views.report.log_release`) therefore keeps, per release, a
bottom-k MinHash sketch of its patient ids: the :data:`SKETCH_SIZE` smallest
of the ids' 64-bit SipHash values, keyed with a random salt made once per log
(``releases.salt`` beside it, readable by its owner only). The ids themselves
are never written; without the salt the sketch cannot be matched to any id.
Two sketches estimate the share of patients two extracts have in common
(Jaccard), to within about ±0.06 at one standard deviation. A new release
sharing :data:`WARN_OVERLAP` or more of its patients with an earlier release of
another extract is refused unless forced (:func:`check_overlap`).

Example
-------
>>> import pandas as pd
>>> a = id_sketch(pd.Series([f"P{i}" for i in range(5000)]), "0123456789abcdef")
>>> b = id_sketch(pd.Series([f"P{i}" for i in range(1, 5001)]), "0123456789abcdef")  # one patient swapped
>>> c = id_sketch(pd.Series([f"Q{i}" for i in range(5000)]), "0123456789abcdef")
>>> overlap(a, b) > 0.9, overlap(a, c) < 0.1
(True, True)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ScreeningError

__all__ = ["id_sketch", "overlap", "log_salt", "related", "check_overlap", "overlap_text", "ReleaseRefused",
           "SKETCH_SIZE", "WARN_OVERLAP"]

#: Hash values kept per release: the estimate's error shrinks as one over its square root.
SKETCH_SIZE = 256
#: Refuse (warn, when forced) a new release sharing at least this share of its patients (Jaccard) with an earlier
#: release of another extract.
WARN_OVERLAP = 0.5


def log_salt(log: Path) -> str:
    """The salt of ``log``'s sketches (``<log>.salt``), made on first use; 16 characters (SipHash's key)."""
    path = log.with_name(log.name + ".salt")
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(8))
        except FileExistsError:  # another release made it first
            pass
    return path.read_text().strip()


def id_sketch(ids: pd.Series, salt: str, k: int = SKETCH_SIZE) -> list[str]:
    """The ``k`` smallest keyed hashes of the distinct ``ids``, as hexadecimal text, smallest first."""
    values = pd.Series(pd.unique(pd.Series(ids).astype(str).to_numpy()))
    hashed = pd.util.hash_pandas_object(values, index=False, hash_key=salt).to_numpy(dtype=np.uint64)
    smallest = np.sort(np.partition(hashed, k - 1)[:k] if len(hashed) > k else hashed)
    return [f"{v:016x}" for v in smallest]


def overlap(a: list[str], b: list[str]) -> float:
    """Estimated share of patients two sketched extracts have in common (Jaccard: shared / either).

    Among the smallest hashes of the two extracts together, the share held by both.
    """
    if not a or not b:
        return 0.0
    k = min(len(a), len(b))
    union = sorted(set(a) | set(b))[:k]
    both = set(a) & set(b)
    return sum(1 for h in union if h in both) / len(union)


def related(entry: dict, earlier: list[dict], share: float = WARN_OVERLAP) -> list[tuple[float, dict]]:
    """Earlier releases of another extract (another SHA-256, wherever it lives) sharing at least ``share`` of
    this one's patients, most overlapping first, each with its estimated overlap."""
    found = []
    for e in earlier:
        if e.get("extract_sha256") == entry["extract_sha256"] or not isinstance(e.get("id_sketch"), list):
            continue  # the same extract (warned of by the log itself), or logged before sketches were kept
        estimate = overlap(entry["id_sketch"], e["id_sketch"])
        if estimate >= share:
            found.append((estimate, e))
    return sorted(found, key=lambda pair: -pair[0])


class ReleaseRefused(ScreeningError):
    """A shareable release that overlaps an earlier one by :data:`WARN_OVERLAP` or more without being the same
    extract: refused unless forced (``--force``)."""


def overlap_text(found: list[tuple[float, dict]]) -> str:
    """What an overlap found by :func:`related` means, naming the most overlapping earlier release."""
    share, e = found[0]
    return (f"this extract shares about {share:.0%} of its patients with {len(found)} earlier release(s) of another "
            f"extract (e.g. {e.get('out')}, from {e.get('source')}) but is not the same extract: a reader holding "
            "both reports can subtract one from the other and learn about the patients that differ")


def check_overlap(entry: dict, earlier: list[dict], force: bool = False) -> list[str]:
    """Refuse (:class:`ReleaseRefused`) a release that overlaps an earlier one without being the same extract;
    with ``force``, a warning instead."""
    found = related(entry, earlier)
    if not found:
        return []
    if not force:
        raise ReleaseRefused(f"refused: {overlap_text(found)}. Nothing was written. Share one of them, or extracts "
                             "that differ by many patients; to write this report anyway (and log it), pass --force "
                             "(force=True).")
    return [f"{overlap_text(found)}. Written because of --force; share only one of the two."]
