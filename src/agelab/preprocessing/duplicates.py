"""Duplicate images found before splitting, so no image can sit in both train and test.

Groups are formed from byte-identical files (same SHA-256) and, optionally, near-identical ones:
perceptual dHash within ``max_hamming`` bits (re-encodes, resizes), confirmed by a mean difference of
at most ``max_thumbnail_difference`` grey levels between 16×16 thumbnails — aligned face crops of
different people can share a 64-bit dHash, and the thumbnail check tells them apart. Rule for a group:

* every member carries the same age label (within ``label_tolerance`` years) → keep the member whose
  path sorts first, drop the rest as ``duplicate``;
* labels conflict → drop the whole group as ``duplicate_conflicting_labels``: there is no telling which
  label is right, and keeping any one would teach the model a coin-flip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agelab.preprocessing.images import thumbnail_difference


@dataclass(frozen=True)
class DuplicateConfig:
    near_duplicates: bool = True
    max_hamming: int = 0  # dHash bits that may differ; 0 = identical perceptual hash
    label_tolerance: float = 0.0
    max_thumbnail_difference: float = 6.0


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _near_pairs(hashes: np.ndarray, max_hamming: int) -> list[tuple[int, int]]:
    """Pairs within ``max_hamming`` bits, by the pigeonhole trick: two hashes that differ in at most
    t bits agree exactly on at least one of t + 1 disjoint bit blocks."""
    blocks = max_hamming + 1
    widths = np.array_split(np.arange(64), blocks)
    pairs = set()
    for bits in widths:
        mask = sum(1 << int(63 - b) for b in bits)
        keys = hashes & np.uint64(mask)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for s, e in zip(starts, ends, strict=True):
            if e - s < 2:
                continue
            members = order[s:e]
            for i_pos, i in enumerate(members):
                for j in members[i_pos + 1 :]:
                    if bin(int(hashes[i] ^ hashes[j])).count("1") <= max_hamming:
                        pairs.add((int(min(i, j)), int(max(i, j))))
    return sorted(pairs)


def find_duplicate_groups(frame: pd.DataFrame, config: DuplicateConfig) -> np.ndarray:
    """Group id per row (rows with no duplicate get their own group). Needs ``sha256`` and ``dhash``."""
    n = len(frame)
    uf = _UnionFind(n)
    for _, rows in frame.groupby("sha256", sort=False).indices.items():
        for r in rows[1:]:
            uf.union(int(rows[0]), int(r))
    if config.near_duplicates:
        hashes = np.array([int(h, 16) for h in frame["dhash"]], dtype=np.uint64)
        thumbs = frame["thumbnail"].tolist() if "thumbnail" in frame else None
        for i, j in _near_pairs(hashes, config.max_hamming):
            if (
                thumbs is not None
                and thumbs[i]
                and thumbs[j]
                and thumbnail_difference(bytes.fromhex(thumbs[i]), bytes.fromhex(thumbs[j]))
                > config.max_thumbnail_difference
            ):
                continue
            uf.union(i, j)
    return np.array([uf.find(i) for i in range(n)])


def resolve_duplicates(frame: pd.DataFrame, config: DuplicateConfig) -> tuple[pd.Series, list[dict]]:
    """Drop reason per row (``""`` to keep) and a description of every duplicate group."""
    if frame.empty:
        return pd.Series([], dtype=object), []
    groups = find_duplicate_groups(frame.reset_index(drop=True), config)
    reasons = np.full(len(frame), "", dtype=object)
    described = []
    paths = frame["image_path"].to_numpy()
    ages = frame["age"].to_numpy(dtype=float)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        if len(members) < 2:
            continue
        spread = float(np.nanmax(ages[members]) - np.nanmin(ages[members]))
        conflicting = spread > config.label_tolerance
        if conflicting:
            reasons[members] = "duplicate_conflicting_labels"
            kept = None
        else:
            order = members[np.argsort(paths[members])]
            kept = order[0]
            reasons[order[1:]] = "duplicate"
        described.append(
            {
                "images": [str(paths[m]) for m in members],
                "ages": [float(ages[m]) for m in members],
                "kept": None if kept is None else str(paths[kept]),
                "conflicting_labels": conflicting,
            }
        )
    return pd.Series(reasons, index=frame.index), described
