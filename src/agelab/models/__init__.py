"""Networks, one module per family (timm's way): ``alexnet`` (backbone and appearance subnet),
``recon3d`` (the 3D face reconstruction subnet)."""

from agelab.models.alexnet import AlexNetBackbone, AppearanceSubnet, appearance_subnet
from agelab.models.recon3d import Recon3DSubnet, recon3d_subnet

__all__ = ["AlexNetBackbone", "AppearanceSubnet", "Recon3DSubnet", "appearance_subnet", "recon3d_subnet"]
