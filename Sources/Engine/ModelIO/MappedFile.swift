import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole file; unmapped when the last reference goes.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    let base: UnsafeRawPointer

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.file(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EngineError.file(path: path, reason: String(cString: strerror(errno))) }
        size = Int(st.st_size)
        self.path = path
        guard size > 0 else { throw EngineError.file(path: path, reason: "file is empty") }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw EngineError.file(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// Drops the whole pages inside [offset, offset+count) from this process's resident set (they stay in the page
    /// cache; a later read faults them back in). Called once a tensor has been converted into its own array, so
    /// loading an N-byte model peaks near N bytes of arrays, not N of arrays plus N of mapped file.
    func release(_ offset: Int, _ count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page, end = (offset + count) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// SHA-256 of the whole file, hex, read in 64 MiB chunks that are released as it goes (a multi-GB model's hash
    /// would otherwise leave the whole file in the resident set).
    func sha256Hex(chunk: Int = 64 << 20) -> String {
        var h = SHA256(), offset = 0
        while offset < size {
            let n = min(chunk, size - offset)
            h.update(bytes(offset, n))
            release(offset, n)
            offset += n
        }
        return h.finalizeHex()
    }

    /// Bytes [offset, offset+count) as a buffer valid while `self` lives.
    func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + offset, count: count)
    }
}
