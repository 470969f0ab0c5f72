"""A fixed, seeded held-out split of a detection index, by photo and stratified by event.

WIDER FACE's photos come in event folders (``13--Interview``, ``20--Family_Group``, ...), and a set that
has only the official train file (such as the five-event train subset) needs its own val and test photos.
Each event's photos are split on their own: the event's distinct photos, sorted by path, are permuted by a
generator seeded from ``(seed, event name)`` alone, the first ``round(test_fraction · n)`` go to ``test``,
the next ``round(val_fraction · n)`` to ``val`` and the rest stay in ``train``. So an event's split does not
change when other events are added or removed, when rows are reordered, or when the dataset moves to
another folder, and every face of a photo lands in its photo's split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from numbers import Real
from pathlib import PurePath

import numpy as np
import pandas as pd

#: ``split_hint`` of the rows :func:`holdout_split` reassigns; other hints (WIDER's ``val`` file) stay.
SPLIT_FROM = "train"


def event_of(image_path: str) -> str:
    """The event of a WIDER FACE image: its parent folder's name (``13--Interview``)."""
    return PurePath(image_path).parent.name


def event_generator(seed: int, event: str) -> np.random.Generator:
    """The generator that permutes one event's photos, seeded from ``seed`` and the event's name only.

    The name enters as its SHA-256 digest (eight 32-bit words, so every name gives entropy of one
    length), not as Python's ``hash``, which changes from one interpreter to the next."""
    words = np.frombuffer(hashlib.sha256(event.encode("utf-8")).digest(), dtype="<u4")
    return np.random.default_rng([seed, *words.tolist()])


def split_sizes(n_photos: int, test_fraction: float, val_fraction: float) -> tuple[int, int, int]:
    """(test, val, train) photo counts of an event of ``n_photos`` photos.

    ``round`` is Python's, which takes halves to the even integer (0.1 · 5 = 0.5 → 0). The counts never
    exceed ``n_photos``: round(a) + round(b) ≤ a + b + 1 < n_photos + 1 when the fractions sum below 1."""
    n_test = round(test_fraction * n_photos)
    n_val = round(val_fraction * n_photos)
    return n_test, n_val, n_photos - n_test - n_val


def _validate(test_fraction: float, val_fraction: float, seed: int) -> None:
    for name, value in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    if not test_fraction + val_fraction < 1:
        raise ValueError(
            f"test_fraction + val_fraction must be below 1 so that train keeps photos, got "
            f"{test_fraction!r} + {val_fraction!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def event_photo_splits(
    photos: list[str], event: str, *, test_fraction: float, val_fraction: float, seed: int
) -> dict[str, str]:
    """Photo path → ``test`` | ``val`` | ``train`` for one event's distinct photos."""
    ordered = sorted(set(photos))
    n_test, n_val, _ = split_sizes(len(ordered), test_fraction, val_fraction)
    order = event_generator(seed, event).permutation(len(ordered))
    splits = {}
    for rank, position in enumerate(order):
        splits[ordered[position]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def holdout_split(
    index: pd.DataFrame, *, test_fraction: float = 0.2, val_fraction: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """A copy of a detection index (one row per face) whose ``split_hint == "train"`` rows are split into
    ``train`` / ``val`` / ``test`` by photo within each event (see the module docstring); rows with any
    other hint are left as they are, and the row order and index are kept."""
    _validate(test_fraction, val_fraction, seed)
    result = index.copy()
    train = result["split_hint"] == SPLIT_FROM
    paths = result.loc[train, "image_path"].astype(str)
    photo_split: dict[str, str] = {}
    for event, event_paths in paths.groupby(paths.map(event_of), sort=True):
        photo_split.update(
            event_photo_splits(
                event_paths.tolist(),
                str(event),
                test_fraction=test_fraction,
                val_fraction=val_fraction,
                seed=seed,
            )
        )
    result.loc[train, "split_hint"] = paths.map(photo_split)
    return result


@dataclass(frozen=True)
class HoldoutConfig:
    """``parameters_foss.yml: foss.holdout``: the split of a detection set that comes without a val file."""

    test_fraction: float = 0.2
    val_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        _validate(self.test_fraction, self.val_fraction, self.seed)


def split_if_unsplit(index: pd.DataFrame, config: HoldoutConfig) -> pd.DataFrame:
    """One detection set's index with its own val and test photos: :func:`holdout_split` when the set has
    no ``val`` rows (a train file only, like the shared five-event WIDER subset), else unchanged (the
    official WIDER train + val files, the rendered scenes)."""
    if index.empty or (index["split_hint"] == "val").any():
        return index
    return holdout_split(
        index, test_fraction=config.test_fraction, val_fraction=config.val_fraction, seed=config.seed
    )


def evaluation_split(index: pd.DataFrame) -> str:
    """The split detection is scored on: ``test`` (held-out photos, never used to pick an epoch) where the
    index has any, else ``val`` (the official WIDER protocol)."""
    return "test" if (index["split_hint"] == "test").any() else "val"


def photo_counts(index: pd.DataFrame) -> pd.DataFrame:
    """Distinct photos per event (rows, sorted) and ``split_hint`` (columns), with a ``total`` row."""
    photos = index.drop_duplicates("image_path")
    table = pd.crosstab(photos["image_path"].map(event_of), photos["split_hint"]).rename_axis(
        index="event", columns=None
    )
    table.loc["total"] = table.sum()
    return table
