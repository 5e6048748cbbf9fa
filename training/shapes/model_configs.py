"""Architecture of the embedded default model ("shapes-md"): a small MobileDiffusion-style UNet on 16x16x8
latents, a small CLIP text encoder, the VAE of train_vae.py, and a one-step DDIM scheduler (v-prediction, cosine)."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from clip_vocab import clip_bpe  # noqa: E402

TOKENIZER_MERGES = 3000  # the first CLIP merges: common English subwords; anything else falls back to bytes

# Prompts of this domain take at most 31 tokens with these merges (measured over 20,000 prompts), so the text
# encoder is 40 positions long, not CLIP's 77: the text encoder and every cross-attention cost ~half as much.
TOKEN_LENGTH = 40

TEXT_CONFIG = dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
                   max_position_embeddings=TOKEN_LENGTH, hidden_act="quick_gelu", projection_dim=256)

# Sized for CPU training (measured, 2 threads, batch 64, fwd+bwd with the text encoder): this config 41 img/s,
# 10.1 M; with layers_per_block [1, 1, 2] and full 3x3 convs at 16x16 it was 13.7 M and 25 img/s.
UNET_CONFIG = dict(
    sample_size=16, in_channels=8, out_channels=8, block_out_channels=[64, 128, 256], layers_per_block=[1, 1, 1],
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    attention_head_dim=[2, 4, 8], transformer_layers_per_block=[1, 1, 1], cross_attention_dim=256,
    use_linear_projection=True, norm_num_groups=32,
    md_separable_conv=[True, True, True], md_self_attention=[False, False, True], md_mid_block_layers=2,
    md_shared_kv=True, md_ff_activation="swiglu", md_ff_mult=4, md_attention_activation="softmax",
    md_position_bands=4,  # explicit token positions in the transformers (mdiff.unet.fourier_positions)
)

# The variant with text at the 16x16 level too: cross-attention only there (MobileDiffusion keeps self-attention off
# the highest resolution). Without it, text reaches a small object (22 px, ~3 latent cells) only through the 8x8 and
# 4x4 levels, where it covers 1-2 cells; the teachers drew small held-out squares as circle/square blends.
HIRES_TEXT_BLOCKS = ("down_blocks.0.attentions.", "up_blocks.2.attentions.")
UNET_CONFIG_HIRES_TEXT = {**UNET_CONFIG, "down_block_types": ["CrossAttnDownBlock2D"] * 3,
                          "up_block_types": ["CrossAttnUpBlock2D"] * 3}


def unet_config_of(state):
    """The UNet config whose modules a state dict holds: UNET_CONFIG_HIRES_TEXT when it has 16x16 attention."""
    return UNET_CONFIG_HIRES_TEXT if any(k.startswith(HIRES_TEXT_BLOCKS) for k in state) else UNET_CONFIG


SCHEDULER_CONFIG = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction",
                        timestep_spacing="trailing", clip_sample=False, set_alpha_to_one=True, steps_offset=0)


def tokenizer_vocab():
    return clip_bpe(max_merges=TOKENIZER_MERGES)


def alphas_cumprod():
    """ᾱ_t for t = 0..999 of SCHEDULER_CONFIG (diffusers' "squaredcos_cap_v2": β_t = min(1 − ā(t+1)/ā(t), 0.999) with
    ā(u) = cos²((u/T + 0.008)/1.008 · π/2)), without importing diffusers (the GPU training machine has none).
    [1000] float32; shapes.gpu_train --check-encoder compares it with DDIMScheduler's."""
    import torch

    T = SCHEDULER_CONFIG["num_train_timesteps"]
    abar = lambda u: math.cos((u / T + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    betas = torch.tensor([min(1 - abar(i + 1) / abar(i), 0.999) for i in range(T)], dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0)
