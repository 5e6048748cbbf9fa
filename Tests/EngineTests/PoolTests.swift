import CKernels
@testable import Engine
import Foundation
import Synchronization
import XCTest

/// The engine's worker pool (`ckernels_pool_run`) and the GEMM split that runs on it.
final class PoolTests: XCTestCase {
    /// Runs `body` through the pool (`Parallel.forEach`, the engine's own entry point) on `threads` threads.
    private func run(threads: Int, count: Int, _ body: (Int) -> Void) {
        Parallel.forEach(count, threads: threads, body)
    }

    /// Tens of thousands of back-to-back jobs of every size from 0 to 40: each index runs exactly once per job, and the job
    /// has finished (every write visible) when `ckernels_pool_run` returns.
    func testEveryIndexRunsExactlyOncePerJob() {
        for threads in [2, 3, 4] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            defer { hits.deallocate() }
            for job in 0..<20000 {
                let count = job % 41
                hits.initialize(repeating: 0, count: 64)
                run(threads: threads, count: count) { hits[$0] += 1 }
                for i in 0..<64 where hits[i] != (i < count ? 1 : 0) {
                    return XCTFail("threads \(threads), job \(job) (\(count) indices): index \(i) ran \(hits[i]) times")
                }
            }
            XCTAssertEqual(Int(ckernels_pool_helpers()), threads - 1)
        }
        ckernels_pool_shutdown()
        XCTAssertEqual(ckernels_pool_helpers(), 0)
    }

    /// Two indices that can only finish together: index 0 waits for index 1 to start, so a pool that ran them one
    /// after the other on one thread would never return (the wait gives up after 10 s and the test fails).
    func testHelpersRunConcurrently() {
        final class Flag: Sendable { let raised = Atomic<Bool>(false) }
        let started = Flag()
        var sawPartner = false
        run(threads: 2, count: 2) { i in
            if i == 1 { return started.raised.store(true, ordering: .releasing) }
            let deadline = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
            while !started.raised.load(ordering: .acquiring) && DispatchTime.now().uptimeNanoseconds < deadline { sched_yield() }
            sawPartner = started.raised.load(ordering: .acquiring)
        }
        XCTAssertTrue(sawPartner, "index 0 never saw index 1 start: the pool ran the job on one thread")
    }

    /// A kernel that splits again from inside a job runs its inner job serially on the thread it is on.
    func testNestedJobsRunSeriallyOnTheirThread() {
        let inner = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 8)
        inner.initialize(repeating: 0, count: 32)
        defer { inner.deallocate() }
        run(threads: 2, count: 4) { outer in
            let me = pthread_self()
            var order: [Int] = []
            self.run(threads: 2, count: 8) { i in
                precondition(pthread_equal(pthread_self(), me) != 0, "nested index ran on another thread")
                order.append(i)
            }
            for (k, i) in order.enumerated() { inner[outer * 8 + k] = i + 1 }
        }
        for outer in 0..<4 { XCTAssertEqual((0..<8).map { inner[outer * 8 + $0] }, Array(1...8), "outer index \(outer)") }
    }

    /// GEMMs split in row blocks (m ≥ n) or column blocks, transposed or not, match the naive product, and are bit
    /// for bit the same on 1, 2, 3 and 4 threads: the blocks depend on the shape alone (`GEMM.blocks`), since
    /// OpenBLAS picks its small-matrix and "direct" kernels by a call's size. With every product split (threshold 1)
    /// and with the engine's threshold, where these shapes fall on both sides of it. (With one block per thread,
    /// the last three shapes — attention-sized, few rows and columns, long k — differed on 2 or 3 threads.)
    func testSplitGEMMMatchesNaiveAndIsBitIdenticalAcrossThreadCounts() throws {
        let blas = try BLAS.get()
        let (savedThreads, savedSplit) = (blas.threads, blas.splitFromFlops)
        defer { (blas.threads, blas.splitFromFlops) = (savedThreads, savedSplit) }
        var rng = SplitMix(seed: 5)
        for splitFrom in [1, savedSplit] {
            blas.splitFromFlops = splitFrom
            for (m, n, k) in [(300, 20, 17), (40, 200, 33), (33, 35, 9), (1, 100, 9), (257, 256, 64), (16, 48, 1), (512, 64, 96),
                              (256, 320, 64), (1024, 96, 160), (40, 64, 576), (77, 64, 576), (40, 128, 576)] {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    let a = (0..<(m * k)).map { _ in rng.nextFloat() * 2 - 1 }, b = (0..<(k * n)).map { _ in rng.nextFloat() * 2 - 1 }
                    let c0 = (0..<(m * n)).map { _ in rng.nextFloat() * 2 - 1 }
                    let lda = ta ? m : k, ldb = tb ? k : n
                    func product(threads: Int, naive: Bool = false) -> [Float] {
                        blas.threads = threads
                        var c = c0
                        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                            if naive {
                                GEMM.naive(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda,
                                           b: bp.baseAddress!, ldb: ldb, beta: 0.25, c: cp.baseAddress!, ldc: n)
                            } else {
                                GEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda,
                                           b: bp.baseAddress!, ldb: ldb, beta: 0.25, c: cp.baseAddress!, ldc: n)
                            }
                        } } }
                        return c
                    }
                    let one = product(threads: 1), reference = product(threads: 1, naive: true)
                    let name = "\(m)x\(n)x\(k) tA=\(ta) tB=\(tb), split from \(splitFrom)"
                    XCTAssertLessThan(zip(one, reference).map { abs($0 - $1) }.max() ?? 0, 1e-4, name)
                    for threads in [2, 3, 4] {
                        XCTAssertEqual(product(threads: threads), one, "\(name): \(threads) threads differ from 1")
                    }
                }
            }
        }
    }

    /// The block counts: none below the threshold, then 2, 4, 8 as the product grows 8× and 64×, never a block
    /// under 16 rows/columns.
    func testGEMMBlocksDependOnTheShapeOnly() {
        let split = 1 << 20
        XCTAssertEqual(GEMM.blocks(m: 256, n: 128, k: 15, splitFromFlops: split), 1)  // 983,040 FLOPs
        XCTAssertEqual(GEMM.blocks(m: 256, n: 128, k: 16, splitFromFlops: split), 2)  // 2^20
        XCTAssertEqual(GEMM.blocks(m: 256, n: 128, k: 128, splitFromFlops: split), 4)  // 2^23
        XCTAssertEqual(GEMM.blocks(m: 256, n: 256, k: 512, splitFromFlops: split), 8)  // 2^26
        XCTAssertEqual(GEMM.blocks(m: 48, n: 40, k: 100_000, splitFromFlops: split), 3)  // 48 / 16
        XCTAssertEqual(GEMM.blocks(m: 8, n: 8, k: 1 << 20, splitFromFlops: split), 1)
    }
}
