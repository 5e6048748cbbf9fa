"""mdiff: the PyTorch reference of the MobileDiffusion-style UNet that the Swift engine mirrors.

Keeps diffusers' UNet2DConditionModel key names and config style; MobileDiffusion options are extra `md_*`
config keys (see unet.py and docs/models.md, "MobileDiffusion options").
"""
from .unet import MDUNet2DConditionModel, load_unet_config  # noqa: F401
