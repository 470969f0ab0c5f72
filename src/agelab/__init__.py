"""agelab: 3D-aware robust age estimation (Savov et al.) and FOSS multi-person age estimation
(Yoshimura & Ogata) as a plain Python library with Kedro pipelines on top."""

__version__ = "0.1.0"
