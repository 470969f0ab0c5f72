import numpy as np
import pytest

from agelab.training.samplers import AgeGroupAlternatingBatchSampler


def test_batches_alternate_age_groups():
    groups = np.repeat(np.arange(5), [40, 10, 30, 20, 25])
    sampler = AgeGroupAlternatingBatchSampler(groups, batch_size=5, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 25
    for batch in batches:
        assert sorted(groups[batch].tolist()) == [0, 1, 2, 3, 4]


def test_seeded_per_epoch_and_covers_balanced_groups():
    groups = np.repeat(np.arange(5), 20)
    sampler = AgeGroupAlternatingBatchSampler(groups, batch_size=10, seed=7)
    epoch0 = list(sampler)
    assert epoch0 == list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != epoch0
    assert sorted(i for batch in epoch0 for i in batch) == list(range(100))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        AgeGroupAlternatingBatchSampler([0, 1], batch_size=0)
