"""Which points of a dataset's own landmark annotation are which of dlib's 68 (the iBUG 300-W markup).

The 3D subnet projects, and dlib predicts, the iBUG 68 points. A dataset's hand annotation need not use that
markup: FG-NET's 68 points follow the FG-NET (Cootes) scheme — 15 jaw points, 6 per eyebrow traced as a
loop, 5 per eye with the pupil, 11 nose points, 19 mouth points and the nose tip last — so its point ``i`` is
not iBUG's ``i``. A :class:`PointCorrespondence` lists the points both markups define alike; landmark
accuracy is measured on those only (:func:`agelab.evaluation.reconstruction.normalised_landmark_errors`).

FG-NET's correspondence was read off the two markups' definitions and checked on 75 random FG-NET photos:
each pair's median distance between the annotated point and dlib's is 1.4–3.8 % of the eye span
(inner eyebrow ends, 5.5 %; the jaw contour, 5–7 %, is left out, as the 3D subnet's 48 points leave it out).
"""

from __future__ import annotations

from dataclasses import dataclass

from agelab.faces.detection import LANDMARKS_48


@dataclass(frozen=True)
class PointCorrespondence:
    """``annotated[k]`` of the dataset's markup is ``ibug[k]`` of dlib's 68; ``outer_eye_corners`` are the
    annotated indices of the outer eye corners (the normaliser's ends)."""

    name: str
    annotated: tuple[int, ...]
    ibug: tuple[int, ...]
    outer_eye_corners: tuple[int, int]

    def __post_init__(self) -> None:
        if len(self.annotated) != len(self.ibug):
            raise ValueError(f"{self.name}: {len(self.annotated)} annotated points for {len(self.ibug)}")


#: a dataset annotated in dlib's own markup (the synthetic set's projected points): the 3D subnet's 48
IBUG_68 = PointCorrespondence("ibug_68", LANDMARKS_48, LANDMARKS_48, (36, 45))

_FGNET_PAIRS = (
    (27, 36),  # right eye (image left): outer corner
    (29, 39),  # inner corner
    (34, 42),  # left eye: inner corner
    (32, 45),  # outer corner
    (21, 17),  # right eyebrow: outer end
    (24, 21),  # inner end
    (18, 22),  # left eyebrow: inner end
    (15, 26),  # outer end
    (67, 30),  # nose tip
    (41, 33),  # base of the nose between the nostrils
    *((i, i) for i in range(48, 60)),  # outer lip contour: corners, upper and lower lip, same order
)

#: FG-NET's 68-point markup (``points/*.pts``)
FGNET_68 = PointCorrespondence(
    "fgnet_68",
    tuple(a for a, _ in _FGNET_PAIRS),
    tuple(b for _, b in _FGNET_PAIRS),
    (27, 32),
)

#: the markup of each dataset's annotated ``landmarks``, by the face index's ``dataset``; others: iBUG's
SCHEMES = {"fgnet": FGNET_68}


def correspondence_for(dataset: str) -> PointCorrespondence:
    return SCHEMES.get(dataset, IBUG_68)
