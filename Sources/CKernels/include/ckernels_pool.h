// ckernels_pool: the engine's own worker threads, one small pool per rendering thread.
//
// Why not GCD or OpenBLAS's threads: a 128×128 one-step render is ~300 kernels of 10–500 µs each. Waking a parked
// thread costs 20–100 µs on a virtual machine (an inter-processor interrupt per wake-up), so a pool that parks
// between kernels (GCD) cannot split them, and OpenBLAS's own threads spin in sched_yield between its calls, taking
// the second core from every non-GEMM kernel. These helpers spin on a generation counter between jobs — the next
// kernel starts within a microsecond — and park only after ~2 ms without work, so an idle daemon uses no CPU.
#ifndef CKERNELS_POOL_H
#define CKERNELS_POOL_H

/// One job's body: called once per index in [0, count), each index on exactly one thread.
typedef void (*ckernels_task_fn)(void *context, long index);

/// Runs body(context, i) for every i in [0, count) on the calling thread and `threads - 1` helper threads, and
/// returns when all are done. The helpers belong to the calling thread (created on its first call, replaced when
/// `threads` changes, stopped when it exits). Called from inside a job, or with threads <= 1 or count <= 1, it runs
/// every index on the calling thread, in order; so it does for count > 65535 (the engine's jobs have one index per
/// thread).
void ckernels_pool_run(int threads, long count, ckernels_task_fn body, void *context);

/// Helper threads the calling thread's pool has now (0 before its first parallel job).
int ckernels_pool_helpers(void);

/// Stops and joins the calling thread's helpers (they are also stopped when the thread exits).
void ckernels_pool_shutdown(void);
#endif
