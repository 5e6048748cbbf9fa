import Foundation

/// diffusers' EulerDiscreteScheduler and EulerAncestralDiscreteScheduler
/// (diffusers/schedulers/scheduling_euler_discrete.py, scheduling_euler_ancestral_discrete.py) with linear
/// σ interpolation, no churn, final σ = 0.
public struct EulerScheduler: Scheduler {
    public let timesteps: [Float]
    /// σ per step plus the final 0.
    public let sigmas: [Float]
    public let initNoiseSigma: Float
    let prediction: PredictionType
    let ancestral: Bool

    init(_ s: NoiseSchedule, config c: ConfigReader, steps: Int, ancestral: Bool) throws {
        try c.require("interpolation_type", in: [nil, "linear"])
        for key in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"] { try c.require(key, in: [nil, "false"]) }
        try c.require("timestep_type", in: [nil, "discrete"])
        try c.require("final_sigmas_type", in: [nil, "zero"])
        let ts = s.spacedTimesteps(steps, roundLinspace: false).map { Float($0) }
        timesteps = ts
        sigmas = ts.map { s.interpolatedSigma(Double($0)) } + [0]
        let maxSigma = sigmas.max() ?? 0
        // "linspace"/"trailing" start at σ_max; "leading" at √(σ_max² + 1).
        initNoiseSigma = s.spacing == "leading" ? (maxSigma * maxSigma + 1).squareRoot() : maxSigma
        prediction = s.prediction
        self.ancestral = ancestral
    }

    public func scaleModelInput(_ x: Tensor, step i: Int) -> Tensor {
        var out = x
        Elementwise.scale(&out, 1 / (sigmas[i] * sigmas[i] + 1).squareRoot())
        return out
    }

    public func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, generator: inout TorchGenerator) -> Tensor {
        let sigma = sigmas[i], next = sigmas[i + 1]
        // Ancestral: split the move to σ_next into a deterministic part (σ_down) and fresh noise (σ_up).
        let up: Float = ancestral ? (next * next * (sigma * sigma - next * next) / (sigma * sigma)).squareRoot() : 0
        let target: Float = ancestral ? (next * next - up * up).squareRoot() : next
        let dt = target - sigma
        var out = sample
        let vScale = -sigma / (sigma * sigma + 1).squareRoot(), vDiv = sigma * sigma + 1
        for j in 0..<out.count {
            let x = sample.data[j], e = modelOutput.data[j]
            let x0: Float
            switch prediction {
            case .epsilon: x0 = x - sigma * e
            case .vPrediction: x0 = e * vScale + x / vDiv
            case .sample: x0 = e
            }
            out.data[j] = x + (x - x0) / sigma * dt
        }
        if ancestral {
            let noise = generator.randn(modelOutput.shape)
            for j in 0..<out.count { out.data[j] += noise.data[j] * up }
        }
        return out
    }
}
