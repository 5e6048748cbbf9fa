import CKernels
import Foundation

extension Winograd {
    /// What one tile-row group's V and M may take at most: 2^19 floats (2 MiB), a core's L2 here (AMD EPYC, 2 MiB
    /// per core), so the 36 products read V and the output transform reads M from cache instead of memory.
    static let groupFloats = 1 << 19

    /// Tile rows per group, from the layer's shape alone (never the thread count, so a render is bit-identical on any
    /// number of threads): at least 16 tiles (the products' columns), as long as V and M stay within `groupFloats`.
    /// One tile row may exceed it (a 256-channel layer at 256×256: 4.7 MB); it still stays in the shared L3, where
    /// whole-image bands did not. mobilediffusion-512's fp32 decoder, best of 3–4 interleaved runs in two rounds on a
    /// busy VM: 782 / 763 ms with ≥ 16 tiles, 830 / 810 ms with ≥ 64; a 2 MiB limit was slower (931 ms).
    static func groupRows(cin: Int, cout: Int, tilesW: Int, tilesH: Int) -> Int {
        var rows = max(1, (16 + tilesW - 1) / tilesW)
        while rows > 1 && 36 * (cin + cout) * rows * tilesW > groupFloats { rows -= 1 }
        // At least four groups where the image has four tile rows, so that a small layer still splits over threads.
        return max(1, min(rows, tilesH / 4))
    }
}

/// One Winograd convolution run as groups of tile rows, each carried through all three phases by one thread — input
/// transform into V, the 36 products into M, output transform into dst — while V and M are still in its cache.
/// (Phase by phase over whole-image bands, V and M went through memory: mobilediffusion-512's decoder took 1,270 ms
/// in fp32 that way against 1,034 ms with one tile row per band, AMD EPYC, 2 threads.) Groups go to the engine's
/// threads in contiguous runs, each thread with its own V and M; the products are single-threaded library calls on
/// a shape that depends on the layer only, so the result does not depend on the thread count.
struct WinogradGroups {
    /// fp32 products; bf16 operands natively (oneDNN) or emulated (operands rounded, fp32 products).
    enum Operands { case fp32, nativeBF16, emulatedBF16 }

    let src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>
    let cin: Int, cout: Int, h: Int, w: Int
    let prologue: UnsafePointer<ckernels_prologue>?
    let bias: UnsafePointer<Float>?
    let operands: Operands
    let tilesW: Int, tilesH: Int, rowsPerGroup: Int

    init(src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>, cin: Int, cout: Int, h: Int, w: Int,
         prologue: UnsafePointer<ckernels_prologue>?, bias: UnsafePointer<Float>?, operands: Operands) {
        (self.src, self.dst, self.cin, self.cout, self.h, self.w) = (src, dst, cin, cout, h, w)
        (self.prologue, self.bias, self.operands) = (prologue, bias, operands)
        tilesW = (w + 3) / 4
        tilesH = (h + 3) / 4
        rowsPerGroup = Winograd.groupRows(cin: cin, cout: cout, tilesW: tilesW, tilesH: tilesH)
    }

    var groups: Int { (tilesH + rowsPerGroup - 1) / rowsPerGroup }

    /// Floats one thread needs for a group's V (bf16 halves when native) and M ([36, cout, tiles] fp32).
    var floatsPerThread: Int {
        let tiles = rowsPerGroup * tilesW
        let v = operands == .nativeBF16 ? (36 * cin * tiles + 1) / 2 : 36 * cin * tiles
        return (v + 36 * cout * tiles + 15) / 16 * 16
    }

    /// Runs every group over `threads` threads, thread i with `work + i · floatsPerThread`. `u` is U in fp32 (fp32
    /// and emulated operands, rounded for the latter) and `uh` in bf16 (native). The products' wall time (each
    /// thread's, averaged) goes to `GEMM.nanoseconds`.
    func run(threads: Int, u: UnsafePointer<Float>?, uh: UnsafePointer<UInt16>?, work: UnsafeMutablePointer<Float>) {
        let n = groups
        let nanos = UnsafeMutablePointer<UInt64>.allocate(capacity: threads)
        nanos.initialize(repeating: 0, count: threads)
        defer { nanos.deallocate() }
        Parallel.forEach(threads) { i in
            let scratch = work + i * floatsPerThread
            for g in (n * i / threads)..<(n * (i + 1) / threads) {
                let t0 = g * rowsPerGroup
                nanos[i] += group(tileRow0: t0, rows: min(rowsPerGroup, tilesH - t0), u: u, uh: uh, scratch: scratch)
            }
        }
        GEMM.count(nanoseconds: (0..<threads).reduce(0) { $0 + nanos[$1] } / UInt64(max(threads, 1)))
    }

    /// One group through the three phases on the calling thread; returns the nanoseconds its products took.
    private func group(tileRow0 t0: Int, rows: Int, u: UnsafePointer<Float>?, uh: UnsafePointer<UInt16>?,
                       scratch: UnsafeMutablePointer<Float>) -> UInt64 {
        let tiles = rows * tilesW
        let vFloats = operands == .nativeBF16 ? (36 * cin * tiles + 1) / 2 : 36 * cin * tiles
        let v = scratch, m = scratch + vFloats
        var start: UInt64 = 0
        if operands == .nativeBF16, let uh {
            v.withMemoryRebound(to: UInt16.self, capacity: 36 * cin * tiles) { vh in
                Winograd.transformInputBF16(src, channels: 0..<cin, cin: cin, h: h, w: w, tileRow0: t0, rows: rows,
                                            tilesW: tilesW, prologue: prologue, v: vh)
                start = DispatchTime.now().uptimeNanoseconds
                for k in 0..<36 {
                    GEMM.serialBF16Product(m: cout, n: tiles, k: cin, a: uh + k * cout * cin, lda: cin, b: vh + k * cin * tiles,
                                           ldb: tiles, c: m + k * cout * tiles, ldc: tiles)
                }
            }
        } else if let u {
            if ckernels_winograd_input(src, 0, Int32(cin), Int32(cin), Int32(h), Int32(w), Int32(t0), Int32(rows),
                                       Int32(tilesW), prologue, v) != 0 {
                Winograd.transformInput(src, channels: 0..<cin, cin: cin, h: h, w: w, tileRow0: t0, rows: rows,
                                        tilesW: tilesW, prologue: prologue, v: v)
            }
            if operands == .emulatedBF16 { BF16.round(v, v, count: 36 * cin * tiles) }
            start = DispatchTime.now().uptimeNanoseconds
            for k in 0..<36 {
                GEMM.serialProduct(m: cout, n: tiles, k: cin, a: u + k * cout * cin, lda: cin, b: v + k * cin * tiles,
                                   ldb: tiles, c: m + k * cout * tiles, ldc: tiles)
            }
        }
        let products = DispatchTime.now().uptimeNanoseconds &- start
        if ckernels_winograd_output(m, 0, Int32(cout), Int32(cout), Int32(h), Int32(w), Int32(t0), Int32(rows),
                                    Int32(tilesW), bias, dst) != 0 {
            Winograd.transformOutput(m, outputs: 0..<cout, cout: cout, h: h, w: w, tileRow0: t0, rows: rows,
                                     tilesW: tilesW, bias: bias.map { Array(UnsafeBufferPointer(start: $0, count: cout)) },
                                     dst: dst)
        }
        return products
    }
}
