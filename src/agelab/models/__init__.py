"""Networks, one module per family (timm's way): ``alexnet`` (backbone and appearance subnet),
``recon3d`` (the 3D face reconstruction subnet), ``dla`` / ``centernet`` (the FOSS face detector),
``tresnet`` (its age network), ``multitask`` (HPS, SPS) and ``foss`` (the joined multi-person model)."""

from agelab.models.alexnet import AlexNetBackbone, AppearanceSubnet, appearance_subnet
from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.foss import FossNet
from agelab.models.multitask import hps_net, sps_net
from agelab.models.recon3d import Recon3DSubnet, recon3d_subnet

__all__ = [
    "AlexNetBackbone",
    "AppearanceSubnet",
    "CenterNetFaceDetector",
    "FossNet",
    "Recon3DSubnet",
    "appearance_subnet",
    "hps_net",
    "recon3d_subnet",
    "sps_net",
]
