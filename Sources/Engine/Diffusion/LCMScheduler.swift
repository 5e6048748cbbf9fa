/// diffusers' LCMScheduler (diffusers/schedulers/scheduling_lcm.py): consistency-model boundary scalings, fresh
/// noise between steps, the denoised sample after the last.
public struct LCMScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    let schedule: NoiseSchedule
    let finalAlphaCumprod: Float
    let timestepScaling: Float
    let clipRange: Float?

    init(_ s: NoiseSchedule, config c: ConfigReader, steps: Int) throws {
        try c.require("thresholding", in: [nil, "false"])
        schedule = s
        let original = try c.int("original_inference_steps", default: 50)
        let k = s.trainTimesteps / original
        let origin = (1...original).map { $0 * k - 1 }.reversed().map { $0 }
        guard steps <= original else {
            throw EngineError.invalidRequest("LCMScheduler runs at most original_inference_steps = \(original) steps, got \(steps)")
        }
        // np.floor(np.linspace(0, len, num=steps, endpoint=False))
        timesteps = (0..<steps).map { i in Float(origin[Int((Double(i) * (Double(origin.count) / Double(steps))).rounded(.down))]) }
        finalAlphaCumprod = try c.bool("set_alpha_to_one", default: true) ? 1 : s.alphasCumprod[0]
        timestepScaling = Float(try c.double("timestep_scaling", default: 10))
        clipRange = try c.bool("clip_sample", default: false) ? Float(try c.double("clip_sample_range", default: 1)) : nil
    }

    public func scaleModelInput(_ x: Tensor, step i: Int) -> Tensor { x }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, generator: inout TorchGenerator) -> Tensor {
        let t = Int(timesteps[i])
        let last = i == timesteps.count - 1
        let prevT = last ? t : Int(timesteps[i + 1])
        let a = schedule.alphasCumprod[t], aPrev = prevT >= 0 ? schedule.alphasCumprod[prevT] : finalAlphaCumprod
        let scaled = Float(t) * timestepScaling, sigmaData: Float = 0.5
        let cSkip = sigmaData * sigmaData / (scaled * scaled + sigmaData * sigmaData)
        let cOut = scaled / (scaled * scaled + sigmaData * sigmaData).squareRoot()
        var denoised = sample
        for j in 0..<denoised.count {
            var x0 = predictX0(schedule.prediction, output: modelOutput.data[j], sample: sample.data[j], alphaProd: a)
            if let r = clipRange { x0 = min(max(x0, -r), r) }
            denoised.data[j] = cOut * x0 + cSkip * sample.data[j]
        }
        guard !last else { return denoised }
        let noise = generator.randn(modelOutput.shape)
        for j in 0..<denoised.count { denoised.data[j] = aPrev.squareRoot() * denoised.data[j] + (1 - aPrev).squareRoot() * noise.data[j] }
        return denoised
    }
}
