/// Fully connected layer as in torch.nn.Linear: y = x · Wᵀ + b.
public struct Linear: Sendable {
    /// weight: [out, in] (PyTorch layout), bias: [out] or nil.
    public let weight: Tensor
    public let bias: [Float]?
    /// The weights in bf16, made on the first bf16 product (see `BF16Copy`).
    let weightBF16 = BF16Copy()
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(weight: Tensor, bias: [Float]?) {
        self.weight = weight
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
        x.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    if let bias {
                        for r in 0..<rows { for j in 0..<n { op[r * n + j] = bias[j] } }
                    }
                    GEMM.sgemm(transB: true, m: rows, n: n, k: k, a: xp.baseAddress!, lda: k,
                               b: wp.baseAddress!, ldb: k, beta: bias == nil ? 0 : 1, c: op.baseAddress!, ldc: n,
                               constB: weightBF16)
                }
            }
        }
    }
}
