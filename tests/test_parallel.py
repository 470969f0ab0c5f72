"""progress_map: local processes and a real Dask LocalCluster give the same results in input order."""

import pytest
from dask.distributed import LocalCluster

from agelab.parallel import dask_map, progress_map, resolve_workers


def _square(x: int) -> int:
    return x * x


def _fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError("item 7 is bad")
    return x


@pytest.fixture(scope="module")
def scheduler():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_local_and_dask_maps_agree_and_keep_input_order(scheduler):
    items = list(range(50))
    local = list(progress_map(_square, items, workers=2, show_progress=False))
    on_dask = list(progress_map(_square, items, scheduler=scheduler, chunksize=3, show_progress=False))
    assert local == on_dask == [x * x for x in items]


def test_dask_map_submits_a_bounded_window_and_raises_the_item_error(scheduler):
    # 2 worker threads x 1 chunk in flight each: a generator is consumed lazily, not listed up front
    consumed = []

    def items():
        for x in range(40):
            consumed.append(x)
            yield x

    results = dask_map(_square, items(), scheduler, chunksize=2, in_flight_per_thread=1)
    assert next(results) == 0
    assert len(consumed) <= 2 * 2 + 1  # two chunks of two submitted, plus the one that ended a chunk
    assert list(results)[-1] == 39 * 39
    with pytest.raises(ValueError, match="item 7 is bad"):
        list(dask_map(_fail_on_seven, range(10), scheduler, chunksize=4))


def test_resolve_workers():
    assert resolve_workers(3) == 3 and resolve_workers("auto") >= 1 and resolve_workers(-2) == 1
