import Foundation

/// Explicit token positions for a transformer (the reference's `md_position_bands`, training/mdiff/unet.py
/// `fourier_positions`): fixed Fourier features of each token's normalised centre, projected by a learned
/// `pos_proj` Linear(4·bands, C) and added to the tokens after proj_in. Convolutions only learn where they are from
/// zero padding; the default model had not learned position words that way.
struct FourierPositions {
    let bands: Int
    /// weight [C, 4·bands], bias [C]
    let proj: Linear

    /// [H·W, 4·bands], tokens row-major (as Resample.toTokens orders them). For the token at (y, x), with
    /// u = (x + 0.5) / W and v = (y + 0.5) / H: sin(2^k·π·u) for k < bands, then cos(2^k·π·u), sin(2^k·π·v), cos(2^k·π·v).
    static func features(h: Int, w: Int, bands: Int) -> Tensor {
        let width = 4 * bands
        var out = Tensor(zeros: [h * w, width])
        // Float arithmetic in PyTorch's order: freq = 2^k · π (float32), u = (x + 0.5) / w, angle = u · freq.
        let freqs = (0..<bands).map { Float(1 << $0) * Float.pi }
        for y in 0..<h {
            let v = (Float(y) + 0.5) / Float(h)
            for x in 0..<w {
                let u = (Float(x) + 0.5) / Float(w)
                let row = (y * w + x) * width
                for k in 0..<bands {
                    let au = u * freqs[k], av = v * freqs[k]
                    out.data[row + k] = sin(au)
                    out.data[row + bands + k] = cos(au)
                    out.data[row + 2 * bands + k] = sin(av)
                    out.data[row + 3 * bands + k] = cos(av)
                }
            }
        }
        return out
    }

    /// [H·W, C]: what every image's tokens get added.
    func embedding(h: Int, w: Int) -> Tensor {
        proj(Self.features(h: h, w: w, bands: bands))
    }

    /// tokens: [N, H·W, C] += embedding, the same for each of the N images.
    func add(to tokens: inout Tensor, h: Int, w: Int) {
        let e = embedding(h: h, w: w)
        let per = e.count
        precondition(tokens.count % per == 0, "tokens \(tokens.shape) do not hold whole \(h)x\(w) maps of \(e.shape[1]) channels")
        tokens.data.withUnsafeMutableBufferPointer { t in
            e.data.withUnsafeBufferPointer { p in
                for n in 0..<(t.count / per) {
                    let base = n * per
                    for i in 0..<per { t[base + i] += p[i] }
                }
            }
        }
    }
}
