"""Trained models at work on photos: what ``agelab predict``, ``agelab export`` and ``mlflow models serve``
run.

* :mod:`~agelab.inference.loading`: a model by file or MLflow URI (:func:`load_bundle`).
* :mod:`~agelab.inference.predictors`: age networks over face crops, PyTorch and onnxruntime.
* :mod:`~agelab.inference.face_ages`: every face of a stream of images with its age
  (:class:`FaceAgeEstimator`).
* :mod:`~agelab.inference.predict_files`: files and folders in, one results table out (``agelab predict``).
* :mod:`~agelab.inference.video`, :mod:`~agelab.inference.onnx_export`, :mod:`~agelab.inference.serving`
  (the MLflow pyfunc model): imported on their own, as they load PyAV, ONNX and MLflow.

Dependencies point one way: this package uses :mod:`agelab.models`, :mod:`agelab.faces`, :mod:`agelab.losses`
and :mod:`agelab.detection`; it imports no Kedro and nothing of :mod:`agelab.training`, and neither training
nor the pipelines import it.
"""

from agelab.inference.face_ages import DetectionOptions, FaceAge, FaceAgeEstimator
from agelab.inference.loading import ModelNotFoundError, load_bundle
from agelab.inference.predictors import AgePredictor, OnnxAgePredictor, load_predictor, predictor_from_bundle

__all__ = [
    "AgePredictor",
    "DetectionOptions",
    "FaceAge",
    "FaceAgeEstimator",
    "ModelNotFoundError",
    "OnnxAgePredictor",
    "load_bundle",
    "load_predictor",
    "predictor_from_bundle",
]
