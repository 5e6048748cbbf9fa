// mdd-queue-helper: drives a JobStore from a separate process for the queue's multi-process and crash tests.
//   mdd-queue-helper submit DB BATCH COUNT CHUNK      submit COUNT prompts in calls of CHUNK (keys line:N)
//   mdd-queue-helper work DB WORKER [MAX]             claim → complete until the queue is empty (or MAX jobs);
//                                                     prints one "done <id>" line per completed job
// DB is an SQLite path or a postgresql:// URL (the same contract, `JobQueue`).
// Exit codes: 0 done, 2 usage, 3 queue error.
import Foundation
import Queue

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

let args = CommandLine.arguments
guard args.count >= 4 else { fail("usage: mdd-queue-helper submit DB BATCH COUNT CHUNK | work DB WORKER [MAX]", code: 2) }
setvbuf(stdout, nil, _IOLBF, 0)

do {
    var options = QueueOptions()
    options.verifyOnOpen = false
    let store: any JobQueue = args[2].hasPrefix("postgresql://")
        ? try PostgresJobStore(url: args[2], options: options) : try JobStore(path: args[2], options: options)
    switch args[1] {
    case "submit":
        guard args.count == 6, let count = Int(args[4]), let chunk = Int(args[5]) else { fail("submit DB BATCH COUNT CHUNK", code: 2) }
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            let jobs = (0..<n).map { JobSpec(prompt: "prompt \(start + $0 + 1)") }
            let r = try store.submit(batch: BatchSpec(name: args[3], baseSeed: 1000), jobs: jobs, startIndex: start)
            print("submitted \(start) \(r.enqueued)")
            start += n
        }
    case "work":
        let limit = args.count > 4 ? Int(args[4]) ?? Int.max : Int.max
        var done = 0
        var lease = try store.claim(worker: args[3])
        while let l = lease, done < limit {
            let output = JobOutput(path: "/out/\(l.job.id).png", sha256: String(repeating: "0", count: 64),
                                   timings: JobTimings(textMs: 1, unetMs: 2, decodeMs: 3, pngMs: 4, totalMs: 10))
            lease = try store.complete(l, output: output, thenClaimFor: args[3])
            print("done \(l.job.id)")
            done += 1
        }
        if let l = lease { try store.release(l) }
    default:
        fail("unknown command \(args[1])", code: 2)
    }
} catch {
    fail("\(error)", code: 3)
}
