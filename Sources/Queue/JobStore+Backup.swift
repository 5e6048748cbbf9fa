import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension JobStore {
    /// Writes a consistent copy of the queue to `path` with SQLite's online backup API while the store stays in
    /// use: the copy goes to `path.partial`, is synced, then linked into place, so `path` is either absent or complete.
    /// Refuses an existing `path`. Returns the size of the copy in bytes.
    public func backup(to path: String) throws -> Int {
        guard !FileManager.default.fileExists(atPath: path) else { throw QueueError.backup(path: path, reason: "the file exists; choose a new name") }
        let partial = path + ".partial"
        unlink(partial)
        do {
            // Under the lock: this process's writes wait for the copy (one step of every page, milliseconds for a
            // million jobs), and other processes' writes cannot tear it (the step holds a read transaction).
            try locked { try db.backup(to: partial) }
            try Self.syncAndRename(partial, to: path)
        } catch {
            unlink(partial)
            throw error
        }
        return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    private static func syncAndRename(_ from: String, to path: String) throws {
        func failure(_ what: String) -> QueueError { .backup(path: path, reason: "\(what): \(String(cString: strerror(errno)))") }
        let fd = open(from, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync") }
        // link, not rename: it fails instead of replacing a file created at `path` meanwhile.
        guard link(from, path) == 0 else { throw failure("link") }
        unlink(from)
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); Glibc.close(dir) }
    }
}

extension SQLiteConnection {
    /// Copies the whole main database into a new file at `path` in one backup step.
    func backup(to path: String) throws {
        let source = try handle("sqlite3_backup")
        var dest: OpaquePointer?
        defer { sqlite3_close_v2(dest) }
        guard sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let dest else {
            throw QueueError.backup(path: path, reason: dest.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open")
        }
        guard let b = sqlite3_backup_init(dest, "main", source, "main") else {
            throw QueueError.backup(path: path, reason: String(cString: sqlite3_errmsg(dest)))
        }
        let step = sqlite3_backup_step(b, -1)
        let finish = sqlite3_backup_finish(b)
        guard step == SQLITE_DONE, finish == SQLITE_OK else {
            throw QueueError.backup(path: path, reason: "SQLite \(step == SQLITE_DONE ? finish : step): \(String(cString: sqlite3_errmsg(dest)))")
        }
    }
}
