"""Face detection for FOSS: CenterNet box encoding and decoding, box geometry, tiling augmentation."""
