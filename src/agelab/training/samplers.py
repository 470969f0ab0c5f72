"""Batch sampler that alternates age groups (Savov et al. §4: "We alternate between 5 age groups when
building a training batch to enforce label diversity")."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class AgeGroupAlternatingBatchSampler(Sampler[list[int]]):
    """Batches whose k-th sample comes from age group ``k mod G``.

    Each group is drawn without replacement from its own shuffled queue, reshuffled when exhausted, so
    small groups recur more often than under uniform sampling. One epoch yields
    ``len(group_ids) // batch_size`` batches (plus a short one unless ``drop_last``).
    """

    def __init__(self, group_ids: Sequence[int], batch_size: int, *, seed: int = 0, drop_last: bool = False):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.group_ids = np.asarray(group_ids)
        self.groups = [np.flatnonzero(self.group_ids == g) for g in np.unique(self.group_ids)]
        if not self.groups:
            raise ValueError("no samples to draw from")
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.group_ids)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch))
        queues = [list(rng.permutation(g)) for g in self.groups]
        total = len(self.group_ids)
        drawn = 0
        position = 0
        for _ in range(len(self)):
            size = min(self.batch_size, total - drawn)
            batch = []
            for _ in range(size):
                k = position % len(self.groups)
                if not queues[k]:
                    queues[k] = list(rng.permutation(self.groups[k]))
                batch.append(int(queues[k].pop()))
                position += 1
            drawn += size
            yield batch
