"""Kedro datasets for formats the stock kedro-datasets do not cover. Import path for the catalog:
``agelab.datasets.FaceSourceDataset``, ``agelab.datasets.FaceCacheDataset`` and
``agelab.datasets.AtomicDataset``."""

from agelab.datasets.atomic_dataset import AtomicDataset
from agelab.datasets.face_cache_dataset import FaceCacheDataset
from agelab.datasets.face_source_dataset import FaceSource, FaceSourceDataset
from agelab.datasets.model_datasets import CheckpointDirDataset, MlflowModelDataset, ModelBundleDataset
from agelab.datasets.scene_set_dataset import SceneSetDataset

__all__ = [
    "AtomicDataset",
    "CheckpointDirDataset",
    "FaceCacheDataset",
    "FaceSource",
    "FaceSourceDataset",
    "MlflowModelDataset",
    "ModelBundleDataset",
    "SceneSetDataset",
]
