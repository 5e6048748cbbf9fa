/// Fully connected layer as in torch.nn.Linear: y = x · Wᵀ + b.
public struct Linear: Sendable {
    /// weight: [out, in] (PyTorch layout), bias: [out] or nil. A placeholder (shape only) in a bf16-only layer.
    public let weight: Tensor
    public let bias: [Float]?
    /// The weights in bf16: made on the first bf16 product, or at load for a bf16-only layer (see `BF16Copy`).
    let weightBF16: BF16Copy
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `bf16Only`: keep the weights in bf16 alone (half the memory); the layer then serves native bf16 products
    /// only (`GEMM.nativeBF16` inside `BF16.with(.bf16)`), which the caller guarantees.
    public init(weight: Tensor, bias: [Float]?, bf16Only: Bool = false) {
        self.weight = bf16Only ? Tensor(placeholder: weight.shape) : weight
        weightBF16 = bf16Only ? BF16Copy(of: weight.data) : BF16Copy()
        self.bias = bias
    }

    /// x: [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let rows = x.count / inFeatures
        var out = Tensor(empty: Array(x.shape.dropLast()) + [outFeatures])
        apply(rows: rows, x.data, into: &out.data)
        return out
    }

    /// Writes `rows` rows of x·Wᵀ+b into `out` ([rows, out]).
    public func apply(rows: Int, _ x: [Float], into out: inout [Float]) {
        let n = outFeatures, k = inFeatures
        precondition(!weight.isPlaceholder || (BF16.isActive && GEMM.nativeBF16), "a bf16-only layer in an fp32 product")
        OpProfile.measure("linear") { x.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    if let bias {
                        bias.withUnsafeBufferPointer { bp in
                            Parallel.forSlices(rows, work: rows * n) { slice in
                                for r in slice { (op.baseAddress! + r * n).update(from: bp.baseAddress!, count: n) }
                            }
                        }
                    }
                    GEMM.sgemm(transB: true, m: rows, n: n, k: k, a: xp.baseAddress!, lda: k,
                               b: wp.baseAddress!, ldb: k, beta: bias == nil ? 0 : 1, c: op.baseAddress!, ldc: n,
                               constB: weightBF16)
                }
            }
        } }
    }
}
