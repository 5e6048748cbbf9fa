import Foundation

extension TextToImage {
    /// Renders one image; the same request on the same build and machine gives the same bytes. A render whose
    /// `cancellation` is canceled stops at its next check with `EngineError.canceled` (see `RenderCancellation`).
    public func render(_ r: RenderRequest, cancellation: RenderCancellation? = nil) throws -> RenderedImage {
        lock.lock()
        defer { lock.unlock() }
        return try BF16.with(precision) { try renderLocked(r, cancellation) }
    }

    private func renderLocked(_ r: RenderRequest, _ cancellation: RenderCancellation?) throws -> RenderedImage {
        let (width, height) = try validate(r)
        func check(_ stage: @autoclosure () -> String) throws { try cancellation?.check(at: stage()) }
        var clock = Stopwatch()
        var t = StageTimings()
        var work = StageWork()
        var flops = GEMM.flops, gemmNs = GEMM.nanoseconds
        func gemmMs() -> Double {
            defer { gemmNs = GEMM.nanoseconds }
            return Double(GEMM.nanoseconds &- gemmNs) / 1e6
        }
        let cfg = r.guidance > 1

        // 1. Tokenize: [negative, positive] when guiding, as the pipeline batches them.
        var ids = [tokenizer.encode(r.prompt)]
        if cfg { ids.insert(tokenizer.encode(r.negativePrompt ?? ""), at: 0) }
        t.tokenizeMs = clock.lap()
        try check("the text encoder")

        // 2. Text encoder → context [B, L, D], one prompt at a time through the embedding cache (a batch of two
        //    would give the same values; encoding rows alone makes cache hits bit-identical to misses).
        let context = Tensor.concat(first: try ids.map { row in try embeddings.context(for: row, precision: precision) { try textEncoder([row]) } })
        t.textEncoderMs = clock.lap()
        work.textEncoderFlops = GEMM.flops - flops
        work.textEncoderGemmMs = gemmMs()
        flops = GEMM.flops

        // 3. Initial latents from the job's seed: randn(1, C, H/f, W/f) · init_noise_sigma.
        let scheduler = try makeScheduler(configPath: schedulerConfigPath, steps: r.steps)
        var generator = TorchGenerator(seed: r.seed)
        var latents = generator.randn([1, unet.config.inChannels, height / vae.scaleFactor, width / vae.scaleFactor])
        Elementwise.scale(&latents, scheduler.initNoiseSigma)

        // 4. Denoise: one UNet call per step on the (doubled, if guiding) batch.
        let steps = scheduler.timesteps.count
        for (i, timestep) in scheduler.timesteps.enumerated() {
            let input = scheduler.scaleModelInput(latents, step: i)
            let batch = cfg ? Tensor.concat(first: [input, input]) : input
            var noise = try unet(batch, timesteps: [Float](repeating: timestep, count: batch.n), context: context) {
                try check("denoising step \(i + 1) of \(steps)")
            }
            if cfg { noise = guide(noise, scale: r.guidance) }
            latents = scheduler.step(noise, step: i, sample: latents, generator: &generator)
        }
        t.unetMs = clock.lap()
        work.unetFlops = GEMM.flops - flops
        work.unetGemmMs = gemmMs()
        flops = GEMM.flops

        // 5. Decode latents / scaling_factor (+ shift_factor) and quantise like VaeImageProcessor.
        var z = latents
        for i in 0..<z.count { z.data[i] = z.data[i] / vae.scalingFactor + vae.shiftFactor }
        let rgb = imageToRGB8(try vae.decode(z) { try check("the VAE decoder") })
        t.decodeMs = clock.lap()
        work.decodeFlops = GEMM.flops - flops
        work.decodeGemmMs = gemmMs()

        // 6. PNG with everything needed to re-render.
        let meta = metadata(r, width: width, height: height)
        let png = try PNGCodec.encode(rgb: rgb, width: width, height: height, text: meta, compression: pngCompression)
        t.pngMs = clock.lap()
        t.totalMs = t.tokenizeMs + t.textEncoderMs + t.unetMs + t.decodeMs + t.pngMs
        return RenderedImage(width: width, height: height, rgb: rgb, png: png, timings: t, work: work, metadata: meta)
    }

    /// Checks the request against the model and returns the output size.
    public func validate(_ r: RenderRequest) throws -> (Int, Int) {
        let width = r.width ?? defaultSize, height = r.height ?? defaultSize
        // The UNet halves the latent once per down block but the last; skips must line up.
        let multiple = vae.scaleFactor << (unet.config.blockOutChannels.count - 1)
        for (name, v) in [("width", width), ("height", height)] {
            guard v > 0, v <= 4096, v % multiple == 0 else {
                throw EngineError.invalidRequest("\(name) \(v) must be a positive multiple of \(multiple) up to 4096 for this model")
            }
        }
        if bf16Weights && !(precision == .bf16 && GEMM.nativeBF16) {
            throw EngineError.invalidRequest("this engine holds bf16 weights only (loaded with precision bf16); it cannot render \(precision.rawValue)")
        }
        guard (1...50).contains(r.steps) else { throw EngineError.invalidRequest("steps \(r.steps) must be in 1...50") }
        guard r.guidance.isFinite, r.guidance >= 0, r.guidance <= 50 else { throw EngineError.invalidRequest("guidance \(r.guidance) must be in 0...50") }
        return (width, height)
    }

    /// noise: [2, C, h, w] as [uncond, cond] → uncond + s·(cond − uncond), [1, C, h, w].
    private func guide(_ noise: Tensor, scale s: Float) -> Tensor {
        let half = noise.count / 2
        var out = noise.slice(first: 0, 1)
        for i in 0..<half { out.data[i] = noise.data[i] + s * (noise.data[half + i] - noise.data[i]) }
        return out
    }

    /// PNG text chunks: the request, the model and the engine.
    func metadata(_ r: RenderRequest, width: Int, height: Int) -> [(String, String)] {
        var m: [(String, String)] = [("prompt", r.prompt)]
        if let n = r.negativePrompt { m.append(("negative_prompt", n)) }
        m += [("seed", String(r.seed)), ("steps", String(r.steps)), ("guidance", String(r.guidance)),
              ("width", String(width)), ("height", String(height)), ("scheduler", schedulerName),
              ("model", modelName), ("model_sha256", weightsSHA256), ("engine", Self.engineVersion)]
        if precision != .fp32 { m.append(("precision", precision.rawValue)) }
        if precision == .bf16 && !Winograd.bf16Products { m.append(("winograd", "fp32")) }  // MDD_WINOGRAD_BF16=0
        // bf16 renders have fp32 products too (Winograd convolutions, the emulation), so both record the backend.
        if GEMM.fp32Backend == .onednn { m.append(("fp32_backend", GEMM.FP32Backend.onednn.rawValue)) }
        m.append(("parameters", a1111Parameters(r, width: width, height: height)))
        return m
    }

    /// The `parameters` chunk as AUTOMATIC1111 writes it (prompt, `Negative prompt: …`, then one line of settings),
    /// so A1111's PNG Info, ComfyUI's and InvokeAI's importers and exiftool show how the image was made.
    /// "Model hash" is the first 10 hex digits of the weights' SHA-256, as A1111's short hash.
    func a1111Parameters(_ r: RenderRequest, width: Int, height: Int) -> String {
        let samplers = ["DDIMScheduler": "DDIM", "EulerDiscreteScheduler": "Euler", "EulerAncestralDiscreteScheduler": "Euler a",
                        "LCMScheduler": "LCM"]
        let sampler = samplers[schedulerName] ?? schedulerName.replacingOccurrences(of: "Scheduler", with: "")
        var text = r.prompt
        if let n = r.negativePrompt, !n.isEmpty { text += "\nNegative prompt: \(n)" }
        text += "\nSteps: \(r.steps), Sampler: \(sampler), CFG scale: \(String(format: "%g", r.guidance)), Seed: \(r.seed), "
            + "Size: \(width)x\(height), Model hash: \(weightsSHA256.prefix(10)), Model: \(modelName)"
        return text
    }
}
