"""Networks, one module per family (timm's way): ``alexnet`` (backbone and appearance subnet)."""

from agelab.models.alexnet import AlexNetBackbone, AppearanceSubnet, appearance_subnet

__all__ = ["AlexNetBackbone", "AppearanceSubnet", "appearance_subnet"]
