import Engine
import Foundation
import Queue

/// The files the HTTP listener may serve: rendered PNGs inside the output folder (nothing else, however the path
/// is spelled or linked) and thumbnails, made once per job and size and cached under the state folder.
struct ImageFiles: Sendable {
    /// The output folder with symlinks resolved.
    let outputRoot: String
    let thumbnailRoot: String

    init(outputDir: String, stateDir: String) {
        outputRoot = Self.realPath(outputDir) ?? outputDir
        thumbnailRoot = stateDir + "/thumbnails"
    }

    /// The file a `/images/<relative>` URL names, only when it is a regular file inside the output folder after
    /// resolving `..` and symlinks; nil for anything else (the caller answers 404 either way, saying nothing of
    /// what exists outside).
    func resolve(relative: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." }), !relative.contains("\0"), !relative.contains("\\") else {
            return nil
        }
        return contained(outputRoot + "/" + parts.joined(separator: "/"))
    }

    /// `path` resolved, if it is a regular file inside the output folder.
    func contained(_ path: String) -> String? {
        guard let real = Self.realPath(path), real.hasPrefix(outputRoot + "/") else { return nil }
        var st = stat()
        guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return real
    }

    /// URL path of a job's image, `/images/<batch>/<file>`, if its file is inside the output folder.
    func url(for job: Job) -> String? {
        guard let p = job.outputPath, let real = contained(p) else { return nil }
        return "/images/" + real.dropFirst(outputRoot.count + 1).split(separator: "/").map { HTML.component(String($0)) }.joined(separator: "/")
    }

    /// The text chunks of a job's PNG (empty when it has none or the file is gone).
    func recordedText(of job: Job) -> [String: String] {
        guard let p = job.outputPath, let real = contained(p), let data = FileManager.default.contents(atPath: real) else { return [:] }
        return Dictionary(PNGCodec.textChunks([UInt8](data)), uniquingKeysWith: { a, _ in a })
    }

    /// A `size`-pixel thumbnail of the job's image: read from the cache, or made (box-filtered) and cached.
    func thumbnail(for job: Job, size: Int) throws -> [UInt8]? {
        guard let p = job.outputPath, let source = contained(p) else { return nil }
        let cached = "\(thumbnailRoot)/\(job.batch)/\(job.id)-\(size).png"
        if let data = FileManager.default.contents(atPath: cached) { return [UInt8](data) }
        guard let data = FileManager.default.contents(atPath: source) else { return nil }
        let image = try PNGCodec.decode([UInt8](data))
        var canvas = RGBCanvas(width: size, height: size, background: (238, 238, 238))
        canvas.draw(rgb: image.rgb, width: image.width, height: image.height, x: 0, y: 0, box: size)
        let png = try PNGCodec.encode(rgb: canvas.pixels, width: size, height: size, text: [("source", source)])
        try Self.writeCache(png, to: cached)
        return png
    }

    /// Temp file and rename: a concurrent reader sees the old state or the whole thumbnail. No fsync: a lost
    /// thumbnail is made again.
    private static func writeCache(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let tmp = path + ".tmp-\(UUID().uuidString.prefix(8))"
        try Data(bytes).write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw HTTPError.thumbnail(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
