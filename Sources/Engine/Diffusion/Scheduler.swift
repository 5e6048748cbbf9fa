import Foundation

/// What the model's output means (diffusers' `prediction_type`).
public enum PredictionType: String, Sendable {
    case epsilon, vPrediction = "v_prediction", sample
}

/// A diffusers scheduler for a fixed number of steps: timesteps to feed the UNet and the update rule.
public protocol Scheduler: Sendable {
    /// Timesteps given to the UNet, one per step.
    var timesteps: [Float] { get }
    /// Multiplier applied to the initial noise.
    var initNoiseSigma: Float { get }
    /// The UNet input at step `i` for latents `x`.
    func scaleModelInput(_ x: Tensor, step i: Int) -> Tensor
    /// One update from the model output at step `i`; may draw noise from `generator` (ancestral/LCM).
    func step(_ modelOutput: Tensor, step i: Int, sample: Tensor, generator: inout TorchGenerator) -> Tensor
}

/// The training noise schedule shared by every scheduler: betas → alphas_cumprod, float32 like torch.
public struct NoiseSchedule: Sendable {
    public let trainTimesteps: Int
    /// ᾱ_t for t = 0 ..< trainTimesteps.
    public let alphasCumprod: [Float]
    public let prediction: PredictionType
    public let spacing: String
    public let stepsOffset: Int

    public init(_ c: ConfigReader) throws {
        trainTimesteps = try c.int("num_train_timesteps", default: 1000)
        // Bounded before anything is allocated per timestep (a hostile config asked for 2^63 of them).
        guard (1...100_000).contains(trainTimesteps) else {
            throw EngineError.config(path: c.path, field: "num_train_timesteps", reason: "\(trainTimesteps) is outside 1…100000")
        }
        let start = try c.double("beta_start", default: 0.0001), end = try c.double("beta_end", default: 0.02)
        let betas: [Float]
        if c.has("trained_betas") {
            guard let tb = c.json["trained_betas"] as? [NSNumber], tb.count == trainTimesteps else {
                throw EngineError.config(path: c.path, field: "trained_betas", reason: "expected \(trainTimesteps) numbers")
            }
            betas = tb.map(\.floatValue)
        } else {
            switch try c.string("beta_schedule", default: "linear") {
            case "linear": betas = Self.linspace(Float(start), Float(end), trainTimesteps)
            case "scaled_linear": betas = Self.linspace(Float(start.squareRoot()), Float(end.squareRoot()), trainTimesteps).map { $0 * $0 }
            case "squaredcos_cap_v2": betas = Self.cosineBetas(trainTimesteps)
            case let s: throw EngineError.config(path: c.path, field: "beta_schedule", reason: "'\(s)' is not supported (linear, scaled_linear, squaredcos_cap_v2)")
            }
        }
        try c.require("rescale_betas_zero_snr", in: [nil, "false"])
        // torch.cumprod on CPU accumulates float32 inputs in double and rounds each output.
        var acc = 1.0
        alphasCumprod = betas.map { acc *= Double(1 - $0); return Float(acc) }
        let p = try c.string("prediction_type", default: "epsilon")
        guard let pt = PredictionType(rawValue: p) else {
            throw EngineError.config(path: c.path, field: "prediction_type", reason: "'\(p)' is not supported (epsilon, v_prediction, sample)")
        }
        prediction = pt
        spacing = try c.string("timestep_spacing", default: "leading")
        guard ["linspace", "leading", "trailing"].contains(spacing) else {
            throw EngineError.config(path: c.path, field: "timestep_spacing", reason: "'\(spacing)' is not supported (linspace, leading, trailing)")
        }
        stepsOffset = try c.int("steps_offset", default: 0)
    }

    /// torch.linspace in float32 (scalar formula: the first half from start, the second from end).
    static func linspace(_ start: Float, _ end: Float, _ n: Int) -> [Float] {
        let step = (end - start) / Float(n - 1)
        return (0..<n).map { i in i < n / 2 ? start + step * Float(i) : end - step * Float(n - i - 1) }
    }

    /// diffusers' betas_for_alpha_bar with the cosine transform, max beta 0.999.
    static func cosineBetas(_ n: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double { pow(cos((t + 0.008) / 1.008 * Double.pi / 2), 2) }
        return (0..<n).map { i in Float(min(1 - alphaBar(Double(i + 1) / Double(n)) / alphaBar(Double(i) / Double(n)), 0.999)) }
    }

    /// Discrete timesteps for `steps` steps under this spacing (DDIM/Euler `set_timesteps`), as Doubles.
    func spacedTimesteps(_ steps: Int, roundLinspace: Bool) -> [Double] {
        let n = Double(trainTimesteps)
        switch spacing {
        case "linspace":
            return (0..<steps).reversed().map { i in
                let v = steps == 1 ? 0 : Double(i) * ((n - 1) / Double(steps - 1))  // numpy: arange * step
                return roundLinspace ? v.rounded(.toNearestOrEven) : Double(Float(v))
            }
        case "leading":
            let ratio = trainTimesteps / steps
            return (0..<steps).reversed().map { Double($0 * ratio + stepsOffset) }
        default:  // trailing
            let ratio = n / Double(steps)
            return (0..<steps).map { (n - Double($0) * ratio).rounded(.toNearestOrEven) - 1 }
        }
    }

    /// σ_t = √((1 − ᾱ_t)/ᾱ_t) in float32, as the Euler schedulers compute it.
    var sigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }

    /// np.interp of σ at fractional timesteps.
    func interpolatedSigma(_ t: Double) -> Float {
        let s = sigmas
        let lo = max(0, min(Int(t.rounded(.down)), s.count - 1)), hi = min(lo + 1, s.count - 1)
        let frac = t - Double(lo)
        return Float(Double(s[lo]) + (Double(s[hi]) - Double(s[lo])) * frac)
    }
}

/// x0 from the model output at ᾱ_t (DDIM/LCM form), all in float32.
@inline(__always)
func predictX0(_ prediction: PredictionType, output e: Float, sample x: Float, alphaProd a: Float) -> Float {
    switch prediction {
    case .epsilon: return (x - (1 - a).squareRoot() * e) / a.squareRoot()
    case .vPrediction: return a.squareRoot() * x - (1 - a).squareRoot() * e
    case .sample: return e
    }
}

/// Builds the scheduler named by `scheduler_config.json`'s `_class_name` for `steps` steps.
public func makeScheduler(configPath: String, steps: Int) throws -> Scheduler {
    let c = try ConfigReader(path: configPath)
    let schedule = try NoiseSchedule(c)
    guard steps >= 1 && steps <= schedule.trainTimesteps else { throw EngineError.invalidRequest("steps must be in 1...\(schedule.trainTimesteps), got \(steps)") }
    switch try c.string("_class_name", default: "EulerDiscreteScheduler") {
    case "EulerDiscreteScheduler": return try EulerScheduler(schedule, config: c, steps: steps, ancestral: false)
    case "EulerAncestralDiscreteScheduler": return try EulerScheduler(schedule, config: c, steps: steps, ancestral: true)
    case "DDIMScheduler": return try DDIMScheduler(schedule, config: c, steps: steps)
    case "LCMScheduler": return try LCMScheduler(schedule, config: c, steps: steps)
    case let other:
        throw EngineError.config(path: c.path, field: "_class_name", reason: "'\(other)' is not supported (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, DDIMScheduler, LCMScheduler)")
    }
}
