/// diffusers' DDIMScheduler (diffusers/schedulers/scheduling_ddim.py) with η = 0. One step at t = 999
/// ("trailing" spacing, set_alpha_to_one) is the UFOGen/MobileDiffusion x0 formula.
public struct DDIMScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    let schedule: NoiseSchedule
    let stepRatio: Int
    let finalAlphaCumprod: Float
    let clipRange: Float?

    init(_ s: NoiseSchedule, config c: ConfigReader, steps: Int) throws {
        try c.require("thresholding", in: [nil, "false"])
        schedule = s
        timesteps = s.spacedTimesteps(steps, roundLinspace: true).map { Float($0) }
        stepRatio = s.trainTimesteps / steps
        finalAlphaCumprod = try c.bool("set_alpha_to_one", default: true) ? 1 : s.alphasCumprod[0]
        clipRange = try c.bool("clip_sample", default: true) ? Float(try c.double("clip_sample_range", default: 1)) : nil
        if let bad = timesteps.first(where: { $0 < 0 || Int($0) >= s.trainTimesteps }) {
            throw EngineError.config(path: c.path, field: "steps_offset", reason: "timestep \(Int(bad)) falls outside 0..<\(s.trainTimesteps)")
        }
    }

    public func scaleModelInput(_ x: Tensor, step i: Int) -> Tensor { x }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, generator: inout TorchGenerator) -> Tensor {
        let t = Int(timesteps[i]), prev = t - stepRatio
        let a = schedule.alphasCumprod[t], aPrev = prev >= 0 ? schedule.alphasCumprod[prev] : finalAlphaCumprod
        var out = sample
        for j in 0..<out.count {
            let x = sample.data[j], e = modelOutput.data[j]
            var x0 = predictX0(schedule.prediction, output: e, sample: x, alphaProd: a)
            let eps: Float
            switch schedule.prediction {
            case .epsilon: eps = e
            case .vPrediction: eps = a.squareRoot() * e + (1 - a).squareRoot() * x
            case .sample: eps = (x - a.squareRoot() * x0) / (1 - a).squareRoot()
            }
            if let r = clipRange { x0 = min(max(x0, -r), r) }
            out.data[j] = aPrev.squareRoot() * x0 + (1 - aPrev).squareRoot() * eps
        }
        return out
    }
}
