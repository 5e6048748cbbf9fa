import CKernels
import Foundation

/// Direct 3×3 stride-1 padding-1 convolution for layers with few channels (`ckernels_conv3x3`: AVX2 + FMA when the
/// CPU has them). Below ~32 channels im2col's products have K = 9·cin and Winograd's K = cin: tiny matrix products,
/// and Winograd's tile transforms cost more than the multiplies they save. Its naive twin is `Conv2d.naive`.
struct DirectConvPlan: Sendable {
    /// Weights repacked in blocks of four output channels (see `ckernels_pack3x3`).
    let packed: [Float]
    let cin: Int, cout: Int

    /// On unless `MDD_DIRECT_CONV=0`.
    static let enabledByDefault = ProcessInfo.processInfo.environment["MDD_DIRECT_CONV"] != "0"

    /// Layers this kernel may take: 3×3, stride 1, padding 1, ungrouped, at most 64 channels in and out.
    static func applies(kernel: Int, stride: Int, padding: Int, groups: Int, cin: Int, cout: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && groups == 1 && max(cin, cout) <= 64
    }

    /// Where it beats Winograd and im2col, measured (`mdd bench`, 2 threads): up to 32 channels at any size (the
    /// default model's decoder 20.7 → 14.6 ms), 64 channels only up to 64×64 (its 16×16 and 32×32 layers: → 12.0
    /// ms; at 512×512 Winograd stays ahead: mobilediffusion-512's decoder took 2.55 s with Winograd there and 2.91 s with
    /// this kernel).
    func pays(h: Int, w: Int) -> Bool { max(cin, cout) <= 32 || h * w <= 64 * 64 }

    init(weight: [Float], cout: Int, cin: Int) {
        self.cin = cin
        self.cout = cout
        packed = [Float](unsafeUninitializedCapacity: ckernels_packed3x3_count(Int32(cout), Int32(cin))) { buf, n in
            weight.withUnsafeBufferPointer { ckernels_pack3x3($0.baseAddress!, Int32(cout), Int32(cin), buf.baseAddress!) }
            n = buf.count
        }
    }

    /// src: [cin, h, w] → dst: [cout, h, w] (+ bias). Rows are split over the engine's threads.
    func convolve(_ src: UnsafePointer<Float>, h: Int, w: Int, bias: [Float]?, _ dst: UnsafeMutablePointer<Float>) {
        let wp = w + 2 + 16, planeP = (h + 2) * wp
        Scratch.with(cin * planeP) { padded in
            // Each plane: a zero row above and below; each row: a zero, the input row, then zeros for the right
            // border and the 16 spare columns the vector loads may touch. Every float is written once.
            for c in 0..<cin {
                let plane = padded + c * planeP
                plane.update(repeating: 0, count: wp)
                (plane + (h + 1) * wp).update(repeating: 0, count: wp)
                for y in 0..<h {
                    let row = plane + (y + 1) * wp
                    row[0] = 0
                    (row + 1).update(from: src + (c * h + y) * w, count: w)
                    (row + 1 + w).update(repeating: 0, count: wp - 1 - w)
                }
            }
            packed.withUnsafeBufferPointer { pk in
                let run = { (rows: Range<Int>, b: UnsafePointer<Float>?) in
                    ckernels_conv3x3(padded, Int32(cin), Int32(h), Int32(w), pk.baseAddress!, Int32(cout), b, dst,
                                     Int32(rows.lowerBound), Int32(rows.upperBound))
                }
                if let bias {
                    bias.withUnsafeBufferPointer { bp in
                        Parallel.forSlices(h, work: 2 * 9 * cin * cout * h * w) { run($0, bp.baseAddress!) }
                    }
                } else {
                    Parallel.forSlices(h, work: 2 * 9 * cin * cout * h * w) { run($0, nil) }
                }
            }
        }
        GEMM.count(flops: 2 * 9 * cin * cout * h * w)
    }
}
