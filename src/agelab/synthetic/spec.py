"""What one synthetic face is: identity, age, expression, pose, light, background (all ground truth)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agelab.morphable.model import N_EXPRESSION, N_IDENTITY, N_REFLECTANCE
from agelab.morphable.procedural import EXPRESSION_NAMES

HAIR_COLOURS = np.array(
    [[0.05, 0.035, 0.03], [0.18, 0.11, 0.06], [0.35, 0.22, 0.12], [0.55, 0.42, 0.25], [0.45, 0.16, 0.07]]
)
IRIS_COLOURS = np.array([[0.25, 0.13, 0.06], [0.12, 0.07, 0.04], [0.2, 0.3, 0.45], [0.25, 0.35, 0.2]])


@dataclass
class Identity:
    identity_id: int
    gender: str
    alpha: np.ndarray
    beta: np.ndarray
    hair_colour: np.ndarray
    iris_colour: np.ndarray
    greying_onset: float  # age at which hair starts to grey
    balding: float  # 0..1 tendency of the hairline to recede
    wrinkle_proneness: float  # 0.6..1.4 multiplier on age wrinkles
    texture_seed: int


@dataclass
class FaceSpec:
    """Everything needed to render one image deterministically."""

    index: int
    identity: Identity
    age: int
    delta: np.ndarray  # (64,) expression coefficients; the first ones are EXPRESSION_NAMES
    yaw: float  # degrees
    pitch: float
    roll: float
    gamma: np.ndarray  # (27,) SH illumination, 9 per channel
    face_scale: float  # face height as a fraction of the image
    shift: tuple[float, float]  # centre offset, fraction of the image
    background_seed: int
    stubble: float
    jpeg_quality: int
    grayscale: bool = False
    extras: dict = field(default_factory=dict)

    @property
    def expression(self) -> dict[str, float]:
        return {name: float(self.delta[i]) for i, name in enumerate(EXPRESSION_NAMES)}


def sample_identities(rng: np.random.Generator, count: int) -> list[Identity]:
    identities = []
    for i in range(count):
        gender = "male" if rng.random() < 0.5 else "female"
        alpha = rng.normal(size=N_IDENTITY).clip(-3, 3)
        alpha[0] += 0.6 if gender == "male" else -0.6  # width
        alpha[3] += 0.8 if gender == "male" else -0.8  # jaw width
        alpha[9] += 0.8 if gender == "male" else -0.6  # brow ridge
        alpha[10] += -0.5 if gender == "male" else 0.7  # lip fullness
        beta = rng.normal(size=N_REFLECTANCE).clip(-3, 3)
        beta[0] = rng.uniform(-2.3, 1.0)  # skin lightness spans dark to light
        identities.append(
            Identity(
                identity_id=i,
                gender=gender,
                alpha=alpha,
                beta=beta,
                hair_colour=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.8, 1.2),
                iris_colour=IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))],
                greying_onset=float(rng.uniform(32, 58)),
                balding=float(rng.uniform(0.3, 1.0) if gender == "male" else rng.uniform(0, 0.2)),
                wrinkle_proneness=float(rng.uniform(0.7, 1.3)),
                texture_seed=int(rng.integers(2**31)),
            )
        )
    return identities


def sample_expression(rng: np.random.Generator, neutral_fraction: float) -> np.ndarray:
    delta = np.zeros(N_EXPRESSION)
    delta[len(EXPRESSION_NAMES) :] = rng.normal(scale=0.4, size=N_EXPRESSION - len(EXPRESSION_NAMES))
    if rng.random() < neutral_fraction:
        delta[: len(EXPRESSION_NAMES)] = np.abs(rng.normal(scale=0.1, size=len(EXPRESSION_NAMES)))
        return delta
    kind = rng.choice(["smile", "laugh", "surprise", "frown", "squint", "pucker"])
    strength = rng.uniform(0.6, 1.0) ** 0.5
    jaw, smile, brow, frown, close, pucker = range(6)
    if kind == "smile":
        delta[smile] = 3.0 * strength
        delta[close] = 0.3 * strength
    elif kind == "laugh":
        delta[smile], delta[jaw], delta[close] = 3.0 * strength, 1.5 * strength, 0.5 * strength
    elif kind == "surprise":
        delta[brow], delta[jaw] = 3.0 * strength, 1.8 * strength
    elif kind == "frown":
        delta[frown], delta[close] = 2.5 * strength, 0.3 * strength
    elif kind == "squint":
        delta[close], delta[frown] = 0.7 * strength, 1.0 * strength
    else:
        delta[pucker] = 2.0 * strength
    return delta


def sample_illumination(rng: np.random.Generator) -> np.ndarray:
    gamma = np.zeros((3, 9))
    ambient = rng.uniform(0.55, 0.85)
    tint = 1 + rng.normal(scale=0.04, size=3)
    direction = rng.normal(size=3)
    direction[2] = abs(direction[2]) + 0.8  # mostly from the camera side
    direction /= np.linalg.norm(direction)
    strength = rng.uniform(0.2, 0.55)
    for c in range(3):
        gamma[c, 0] = ambient * tint[c]
        gamma[c, 1:4] = strength * tint[c] * direction[[1, 2, 0]]  # basis order: y, z, x
        gamma[c, 4:] = rng.normal(scale=0.04, size=5)
    return gamma.ravel()


def sample_face_specs(
    n_faces: int,
    seed: int,
    *,
    faces_per_identity: float = 2.0,
    min_age: int = 0,
    max_age: int = 85,
    max_yaw: float = 70.0,
    neutral_fraction: float = 0.35,
    grayscale_fraction: float = 0.0,
) -> list[FaceSpec]:
    """Sample ``n_faces`` specs; identities recur at different ages (like AgeDB or Wiki)."""
    rng = np.random.default_rng(seed)
    identities = sample_identities(rng, max(1, round(n_faces / faces_per_identity)))
    specs = []
    for i in range(n_faces):
        identity = identities[int(rng.integers(len(identities)))]
        age = int(rng.integers(min_age, max_age + 1))
        yaw = float(np.clip(rng.normal(scale=max_yaw / 2.6), -max_yaw, max_yaw))
        specs.append(
            FaceSpec(
                index=i,
                identity=identity,
                age=age,
                delta=sample_expression(rng, neutral_fraction),
                yaw=yaw,
                pitch=float(np.clip(rng.normal(scale=9), -25, 25)),
                roll=float(np.clip(rng.normal(scale=7), -20, 20)),
                gamma=sample_illumination(rng),
                face_scale=float(rng.uniform(0.52, 0.62)),
                shift=(float(rng.normal(scale=0.02)), float(rng.normal(scale=0.02))),
                background_seed=int(rng.integers(2**31)),
                stubble=float(rng.uniform(0.3, 1.0))
                if identity.gender == "male" and age >= 17 and rng.random() < 0.45
                else 0.0,
                jpeg_quality=int(rng.integers(80, 96)),
                grayscale=bool(rng.random() < grayscale_fraction),
            )
        )
    return specs
