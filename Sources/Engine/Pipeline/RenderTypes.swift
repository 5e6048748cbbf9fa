/// One image to render: everything that determines its pixels.
public struct RenderRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String?
    public var seed: UInt64
    public var steps: Int
    /// Classifier-free guidance scale; ≤ 1 disables guidance (one-step models).
    public var guidance: Float
    /// Output size in pixels; nil means the model's default (unet sample_size × VAE factor).
    public var width: Int?
    public var height: Int?

    public init(prompt: String, negativePrompt: String? = nil, seed: UInt64, steps: Int = 1, guidance: Float = 0,
                width: Int? = nil, height: Int? = nil) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.steps = steps
        self.guidance = guidance
        self.width = width
        self.height = height
    }
}

/// Wall-clock milliseconds spent in each stage of one render.
public struct StageTimings: Sendable, Codable, Equatable {
    public var tokenizeMs = 0.0
    public var textEncoderMs = 0.0
    public var unetMs = 0.0
    public var decodeMs = 0.0
    public var pngMs = 0.0
    public var totalMs = 0.0
    public init() {}
}

/// Matrix-product FLOPs (2·m·n·k through the GEMM entry point) spent in each stage of one render.
public struct StageWork: Sendable, Equatable {
    public var textEncoderFlops = 0
    public var unetFlops = 0
    public var decodeFlops = 0
    /// Milliseconds of each stage spent inside sgemm.
    public var textEncoderGemmMs = 0.0
    public var unetGemmMs = 0.0
    public var decodeGemmMs = 0.0
}

/// A rendered image with its PNG encoding and the timings that produced it.
public struct RenderedImage: Sendable {
    public let width: Int, height: Int
    /// Interleaved 8-bit RGB, [height, width, 3].
    public let rgb: [UInt8]
    /// The PNG file bytes, text chunks included.
    public let png: [UInt8]
    public let timings: StageTimings
    public let work: StageWork
    /// The PNG's text chunks, in order.
    public let metadata: [(String, String)]
}

/// Monotonic stopwatch in milliseconds.
struct Stopwatch {
    private var start = DispatchTimeShim.now()
    mutating func lap() -> Double {
        let now = DispatchTimeShim.now()
        defer { start = now }
        return Double(now - start) / 1e6
    }
}

import Foundation
enum DispatchTimeShim {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
