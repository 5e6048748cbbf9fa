import Foundation

/// A per-thread scratch buffer for kernels' temporaries (im2col columns, attention scores), grown on demand and
/// kept across calls so that large temporaries are not re-faulted from the kernel on every layer.
final class Scratch {
    private var storage: [Float] = []

    /// What a banded kernel (im2col columns, a native bf16 1×1 convolution's activations) asks for at most: 4M
    /// floats (16 MiB). Each render thread keeps its largest request for the process's life, so the cap is resident
    /// memory; 16M floats cost 48 MiB more at the same speed (mobilediffusion-512, `mdd bench`).
    static let bandFloats = 1 << 22

    /// Runs `body` with at least `count` floats of uninitialised-in-spirit scratch space.
    static func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let key = "mdd.engine.scratch"
        let scratch: Scratch
        if let s = Thread.current.threadDictionary[key] as? Scratch {
            scratch = s
        } else {
            scratch = Scratch()
            Thread.current.threadDictionary[key] = scratch
        }
        if scratch.storage.count < count { scratch.storage = [Float](repeating: 0, count: count) }
        return scratch.storage.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

/// Keeps freed blocks of up to 32 MiB inside malloc's heap instead of returning them to the kernel, so the next
/// layer's tensors reuse warm pages (glibc's default dynamic threshold keeps re-faulting them).
enum MemoryTuning {
    typealias MalloptFn = @convention(c) (Int32, Int32) -> Int32

    /// glibc's mallopt (looked up at run time: Swift's Glibc module does not export <malloc.h>).
    static let applied: Bool = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(sym, to: MalloptFn.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3, mmapMax: Int32 = -4  // M_TRIM_THRESHOLD, …
        _ = mallopt(mmapThreshold, 32 << 20)
        _ = mallopt(trimThreshold, Int32.max)
        _ = mallopt(mmapMax, 0)
        return true
    }()
}
