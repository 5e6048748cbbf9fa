/// A dense float32 tensor in row-major (PyTorch "contiguous") order, e.g. [N, C, H, W].
///
/// Value semantics over a Swift array: copies are cheap until written (copy-on-write).
public struct Tensor: Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not match \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` whose elements were dropped: a layer that keeps only its bf16 copy (`BF16Copy`) holds
    /// one in place of its fp32 weights. `count` is 0; `isPlaceholder` tells it apart.
    init(placeholder shape: [Int]) {
        self.shape = shape
        self.data = []
    }

    /// Whether this is a `placeholder` (shape only, no elements).
    var isPlaceholder: Bool { data.isEmpty && shape.reduce(1, *) > 0 }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Uninitialised storage for an output that the caller overwrites completely before reading it (every kernel
    /// that makes one writes each element: a GEMM with beta 0 or a pre-filled bias, a copy, a transform). Skipping
    /// the zero fill saves a full write pass per layer output (tens of MB at 512² in a decoder).
    public init(empty shape: [Int]) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// A view of the same elements with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// [N, C, H, W] accessors for convolution-style code.
    public var n: Int { shape[0] }
    public var c: Int { shape[1] }
    public var h: Int { shape[2] }
    public var w: Int { shape[3] }

    /// Element-wise maximum absolute difference, for parity checks.
    public func maxAbsDiff(_ other: Tensor) -> Float {
        precondition(count == other.count)
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }

    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }

    /// Rows [start, start+length) along the first dimension.
    public func slice(first start: Int, _ length: Int) -> Tensor {
        let inner = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [length] + shape.dropFirst(), data: Array(data[start * inner..<(start + length) * inner]))
    }

    /// Concatenates along the first dimension.
    public static func concat(first parts: [Tensor]) -> Tensor {
        let inner = Array(parts[0].shape.dropFirst())
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { precondition(Array(p.shape.dropFirst()) == inner); data += p.data }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + inner, data: data)
    }
}
