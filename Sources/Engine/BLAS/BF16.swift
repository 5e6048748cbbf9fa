import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Numeric precision of a render's matrix products.
///
/// `bf16` gives every product that goes through `GEMM` — linear layers, 1×1 and dense 3×3 convolutions (im2col),
/// attention's QKᵀ and ·V — bfloat16 operands, weights and activations rounded to nearest-even bf16,
/// with fp32 accumulation and output; normalisation, softmax, activations, the scheduler and every sum stay fp32.
/// Few-channel 3×3 convolutions (the direct kernel) and depthwise convolutions stay fp32 in both modes: they are
/// memory-bound, so bf16 operands would cost accuracy and gain nothing. Winograd convolutions (the VAE decoder's
/// large layers) take bf16 operands too unless `MDD_WINOGRAD_BF16=0`: their transforms amplify operand rounding
/// (43.7 dB from fp32 on mobilediffusion-512 against 54.9 dB with fp32 Winograd products; diffusers' bf16 autocast
/// is 44.2 dB) for ~20 % of the decoder's time.
///
/// Where the CPU multiplies bf16 natively (AVX512-BF16 or AMX, `OneDNN.nativeBF16`) the products run through
/// oneDNN's bf16 kernels. Elsewhere (AVX2-only or AVX-512 without BF16) the mode is emulated: operands are rounded
/// the same way and multiplied in fp32 — the same products, slower than fp32 — so that quality can be measured
/// anywhere (`benchmarks/precision.py`). Both give the same operands; only the order of the fp32 sums differs.
public enum Precision: String, Sendable, CaseIterable {
    case fp32, bf16
}

/// Round-to-nearest-even conversion to bfloat16 (kept in fp32 storage), and the per-thread switch that makes
/// `GEMM.sgemm` and the depthwise convolution round their operands.
public enum BF16 {
    /// x rounded to the nearest bfloat16 (ties to even); NaN stays NaN, ±inf stay, overflow rounds to ±inf.
    @inline(__always)
    public static func round(_ x: Float) -> Float {
        let bits = x.bitPattern
        if x.isNaN { return Float(bitPattern: bits | 0x0040_0000) }  // quiet NaN, payload kept
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }

    /// Scalar twin of `round` for tests: the nearest bf16 found by comparing the two candidates in Double.
    public static func roundReference(_ x: Float) -> Float {
        if x.isNaN || x.isInfinite { return x.isNaN ? .nan : x }
        let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
        let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)  // next bf16 away from zero
        let upValue = up.isInfinite ? (x < 0 ? -0x1p128 : 0x1p128) : Double(up)  // the bf16 grid continues past max
        let dDown = abs(Double(x) - Double(down)), dUp = abs(Double(x) - upValue)
        if dDown != dUp { return dDown < dUp ? down : up }
        return (down.bitPattern >> 16) & 1 == 0 ? down : up  // tie: even mantissa
    }

    /// Rounds `count` floats from `src` to `dst` (may be the same buffer).
    public static func round(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        typealias U = SIMD8<UInt32>
        var i = 0
        let src8 = UnsafeRawPointer(src), dst8 = UnsafeMutableRawPointer(dst)
        while i + 8 <= count {
            let bits = src8.loadUnaligned(fromByteOffset: 4 * i, as: U.self)
            let exponentAll = bits & U(repeating: 0x7F80_0000)
            if any(exponentAll .== U(repeating: 0x7F80_0000)) {  // inf or NaN in this group: the scalar path
                for j in i..<(i + 8) { dst[j] = round(src[j]) }
            } else {
                let r = (bits &+ U(repeating: 0x7FFF) &+ ((bits &>> 16) & U(repeating: 1))) & U(repeating: 0xFFFF_0000)
                dst8.storeBytes(of: r, toByteOffset: 4 * i, as: U.self)
            }
            i += 8
        }
        while i < count { dst[i] = round(src[i]); i += 1 }
    }

    /// A copy of the rows × cols matrix at `src` (row stride `ld`), rounded and packed (row stride `cols`).
    static func roundedCopy(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * cols) { buf, n in
            for r in 0..<rows { round(src + r * ld, buf.baseAddress! + r * cols, count: cols) }
            n = rows * cols
        }
    }

    // MARK: the per-thread switch

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// Whether the calling thread is inside `with(.bf16)` (every GEMM of the engine runs on the rendering thread).
    @inline(__always)
    static var isActive: Bool { pthread_getspecific(key) != nil }

    /// Runs `body` with the switch off (the rounded product itself).
    static func without<T>(_ body: () throws -> T) rethrows -> T {
        pthread_setspecific(key, nil)
        defer { pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1)) }
        return try body()
    }

    /// Runs `body` with fp32 products on this thread whatever the mode, then restores the mode (layers that stay
    /// fp32 in bf16 renders: Winograd convolutions).
    static func fp32<T>(_ body: () throws -> T) rethrows -> T {
        guard isActive else { return try body() }
        pthread_setspecific(key, nil)
        defer { pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1)) }
        return try body()
    }

    /// Runs `body` with bf16 operands for the products on this thread when `precision` is `.bf16`.
    public static func with<T>(_ precision: Precision, _ body: () throws -> T) rethrows -> T {
        guard precision == .bf16, !isActive else { return try body() }
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, nil) }
        return try body()
    }
}

/// The precision a command or config asks for: `auto` picks bf16 where the CPU multiplies bf16 natively
/// (AVX512-BF16 or AMX, `OneDNN.nativeBF16`) and fp32 elsewhere; `fp32` and `bf16` are taken as given (`bf16`
/// without native support is the emulation: same numerics, slower than fp32).
public enum PrecisionSetting: String, Sendable, CaseIterable {
    case auto, fp32, bf16

    /// The precision this setting means on this CPU (`auto` by the rule above; `mdd serve` measures instead).
    public var resolved: Precision {
        switch self {
        case .auto: return GEMM.nativeBF16 ? .bf16 : .fp32
        case .fp32: return .fp32
        case .bf16: return .bf16
        }
    }

    /// Whether bf16 products run natively here (reports and logs).
    public static var nativeBF16: Bool { GEMM.nativeBF16 }

    /// Whether a bf16 render runs Winograd convolutions' products in bf16 (the default; `MDD_WINOGRAD_BF16=0` keeps
    /// them fp32, and such a render records `winograd: fp32`). Set before rendering, like `GEMM.fp32Backend`.
    public static var winogradBF16: Bool {
        get { Winograd.bf16Products }
        set { Winograd.bf16Products = newValue }
    }
}
