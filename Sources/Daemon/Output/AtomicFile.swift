import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over the target,
/// fsync the directory. A crash at any point leaves either the old file (or none) or the complete new one.
/// The temp name is fixed per target (`.<name>.tmp`), so a retry after a crash reuses and removes the leftover.
enum AtomicFile {
    struct Failure: Error, CustomStringConvertible {
        let path: String, operation: String, code: Int32
        var description: String { "\(path): \(operation) failed: \(String(cString: strerror(code)))" }
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let tmp = "\(dir)/.\((path as NSString).lastPathComponent).tmp"
        let fd = try retry("open", tmp) { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        do {
            try writeAll(fd, bytes, path: tmp)
            _ = try retry("fsync", tmp) { fsync(fd) }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        do {
            _ = try retry("rename", path) { rename(tmp, path) }
        } catch {
            unlink(tmp)
            throw error
        }
        try syncDirectory(dir)
    }

    static func syncDirectory(_ dir: String) throws {
        let dfd = try retry("open", dir) { open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(dfd) }
        _ = try retry("fsync", dir) { fsync(dfd) }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = try retry("write", path) { Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
                offset += n
            }
        }
    }

    /// Runs a syscall, retrying on EINTR; throws `Failure` with errno otherwise.
    @discardableResult
    static func retry<T: BinaryInteger>(_ op: String, _ path: String, _ call: () -> T) throws -> T {
        while true {
            let r = call()
            if r >= 0 { return r }
            if errno == EINTR { continue }
            throw Failure(path: path, operation: op, code: errno)
        }
    }
}
