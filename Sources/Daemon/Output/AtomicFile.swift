import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over the target,
/// fsync the directory. A crash at any point leaves either the old file (or none) or the complete new one.
/// The temp name is fixed per target (`.<name>.tmp`, or `.<name>.<tag>.tmp` per writer for `publish`), so a retry
/// after a crash reuses and removes the leftover.
enum AtomicFile {
    struct Failure: Error, CustomStringConvertible {
        let path: String, operation: String, code: Int32
        var description: String { "\(path): \(operation) failed: \(String(cString: strerror(code)))" }
    }

    /// `tag` names the writer in the temp file's name when several hosts may write the same target (see `publish`).
    static func write(_ bytes: [UInt8], to path: String, tag: String? = nil, mode: mode_t = 0o644) throws {
        let (dir, tmp) = try writeTemp(bytes, for: path, tag: tag, mode: mode)
        do {
            _ = try retry("rename", path) { rename(tmp, path) }
        } catch {
            unlink(tmp)
            throw error
        }
        try syncDirectory(dir)
    }

    /// Like `write`, but never replaces a file that is there: the temp file (`.<name>.<tag>.tmp`, one per writer,
    /// so two hosts writing the same target never share one) is hard-linked to the target, which fails with EEXIST
    /// instead of replacing it, and then removed. Returns false, leaving the existing file untouched, if the target
    /// exists. link(2) is atomic on local file systems and on NFS, where it is the classic exclusive-create.
    /// A file system without hard links (EPERM, ENOTSUP) falls back to rename, which replaces.
    static func publish(_ bytes: [UInt8], to path: String, tag: String, mode: mode_t = 0o644) throws -> Bool {
        let (dir, tmp) = try writeTemp(bytes, for: path, tag: tag, mode: mode)
        defer { unlink(tmp) }
        var linked: Int32
        repeat { linked = link(tmp, path) } while linked != 0 && errno == EINTR
        if linked != 0 {
            switch errno {
            case EEXIST: return false
            case EPERM, ENOTSUP: _ = try retry("rename", path) { rename(tmp, path) }
            default: throw Failure(path: path, operation: "link", code: errno)
            }
        }
        try syncDirectory(dir)
        return true
    }

    /// The temp file beside `path`: `.<name>.tmp`, or `.<name>.<tag>.tmp` for a tagged writer.
    static func tempPath(for path: String, tag: String?) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return "\(parent.isEmpty ? "." : parent)/.\((path as NSString).lastPathComponent)\(tag.map { ".\($0)" } ?? "").tmp"
    }

    /// Writes and fsyncs the temp file beside `path`; returns the directory and the temp file's path.
    private static func writeTemp(_ bytes: [UInt8], for path: String, tag: String?, mode: mode_t) throws -> (String, String) {
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        let tmp = tempPath(for: path, tag: tag)
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
        return (dir, tmp)
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
