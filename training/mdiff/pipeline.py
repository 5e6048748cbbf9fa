"""A minimal text-to-image loop over diffusers components, mirroring StableDiffusionPipeline.__call__, for UNets
(like MDUNet2DConditionModel) that diffusers' pipeline cannot host. Same noise, scheduler calls and postprocess."""
import numpy as np
import torch


@torch.no_grad()
def denoise(unet, scheduler, latents, context, steps, guidance, generator=None):
    """The sampling loop: latents [B, C, h, w] (already × init_noise_sigma) through `steps` scheduler steps. With
    guidance > 1, context is [2B, L, D], the negative (or empty) prompts' rows first, and the two predictions are
    mixed classifier-free; otherwise context is [B, L, D]. Returns the final latents."""
    scheduler.set_timesteps(steps)
    cfg = guidance > 1
    for t in scheduler.timesteps:
        inp = torch.cat([latents] * 2) if cfg else latents
        inp = scheduler.scale_model_input(inp, t)
        out = unet(inp, t.float().reshape(1), context)
        if cfg:
            uncond, cond = out.chunk(2)
            out = uncond + guidance * (cond - uncond)
        latents = scheduler.step(out, t, latents, generator=generator, return_dict=False)[0]
    return latents


@torch.no_grad()
def generate(tokenizer, text_encoder, unet, vae, scheduler, prompt, seed, steps=1, guidance=0.0, negative_prompt=None,
             width=None, height=None):
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    size = unet.config["sample_size"] * factor
    width, height = width or size, height or size
    cfg = guidance > 1
    texts = ([negative_prompt or ""] if cfg else []) + [prompt]
    ids = tokenizer(texts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids
    context = text_encoder(ids)[0]
    g = torch.Generator("cpu").manual_seed(seed)
    latents = torch.randn((1, unet.config["in_channels"], height // factor, width // factor), generator=g) * scheduler.init_noise_sigma
    latents = denoise(unet, scheduler, latents, context, steps, guidance, generator=g)
    image = vae.decode(latents / vae.config.scaling_factor).sample
    image = (image / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0).float().numpy()
    return (image * 255).round().astype(np.uint8)
