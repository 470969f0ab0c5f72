import numpy as np
import pandas as pd

from agelab.preprocessing.duplicates import DuplicateConfig, _near_pairs, resolve_duplicates


def frame(rows):
    return pd.DataFrame(rows, columns=["image_path", "sha256", "dhash", "age"])


def test_same_label_keeps_first_path_conflicting_labels_drop_group():
    faces = frame(
        [
            ("b.jpg", "h1", "0000000000000001", 30),
            ("a.jpg", "h1", "0000000000000001", 30),
            ("c.jpg", "h2", "00000000000000ff", 20),
            ("d.jpg", "h2", "00000000000000ff", 41),
            ("e.jpg", "h3", "0f0f0f0f0f0f0f0f", 50),
        ]
    )
    reasons, groups = resolve_duplicates(faces, DuplicateConfig(near_duplicates=False))
    assert reasons.tolist() == [
        "duplicate",
        "",
        "duplicate_conflicting_labels",
        "duplicate_conflicting_labels",
        "",
    ]
    assert {g["kept"] for g in groups} == {"a.jpg", None}


def test_near_duplicates_by_perceptual_hash():
    faces = frame(
        [
            ("a.jpg", "h1", "00000000000000f0", 30),
            ("b.jpg", "h2", "00000000000000f0", 30),
            ("c.jpg", "h3", "00000000000000f3", 30),
        ]
    )
    exact, _ = resolve_duplicates(faces, DuplicateConfig(near_duplicates=True, max_hamming=0))
    assert exact.tolist() == ["", "duplicate", ""]
    near, _ = resolve_duplicates(faces, DuplicateConfig(near_duplicates=True, max_hamming=2))
    assert near.tolist() == ["", "duplicate", "duplicate"]


def test_pigeonhole_search_finds_all_pairs_within_distance():
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**63, size=300, dtype=np.uint64)
    hashes[10] = hashes[3] ^ np.uint64(0b101)  # 2 bits apart
    found = set(_near_pairs(hashes, 2))
    brute = {
        (i, j)
        for i in range(300)
        for j in range(i + 1, 300)
        if bin(int(hashes[i] ^ hashes[j])).count("1") <= 2
    }
    assert found == brute and (3, 10) in found


def test_perceptual_match_needs_similar_thumbnails():
    same = bytes(range(256)).hex()
    close = bytes(min(255, v + 2) for v in range(256)).hex()
    far = bytes(255 - v for v in range(256)).hex()
    faces = pd.DataFrame(
        {
            "image_path": ["a.jpg", "b.jpg", "c.jpg"],
            "sha256": ["h1", "h2", "h3"],
            "dhash": ["00000000000000f0"] * 3,
            "age": [30, 30, 30],
            "thumbnail": [same, close, far],
        }
    )
    reasons, _ = resolve_duplicates(faces, DuplicateConfig(max_thumbnail_difference=6.0))
    assert reasons.tolist() == ["", "duplicate", ""]  # c.jpg shares the hash but is another picture
