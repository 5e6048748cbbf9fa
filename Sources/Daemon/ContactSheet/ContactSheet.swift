import Engine
import Foundation
import Queue
import Wire

/// A batch's images tiled into one PNG: a header (batch, count, date, model), then a grid of thumbnails with the
/// job's index and seed under each. The prompts travel in a `prompts` text chunk (JSON) and in the reply's info,
/// which mdctl writes as a sidecar JSON. `mdctl contact-sheet` and the page's `contact-sheet.png` both come here.
struct ContactSheet {
    /// The sheet's raw RGB may not exceed this, so that its PNG (even incompressible, base64 in a reply) fits in one
    /// control-protocol frame (`WireProtocol.maxMessageBytes`, 32 MiB).
    static let maxRawBytes = 20 << 20
    static let background: RGBCanvas.Color = (28, 28, 30)
    static let ink: RGBCanvas.Color = (225, 225, 225)
    static let dimInk: RGBCanvas.Color = (150, 150, 155)
    static let missing: RGBCanvas.Color = (80, 30, 30)
    static let margin = 8
    /// Below each tile: index and seed, one line each.
    static let labelHeight = 2 * (BitmapFont.glyphHeight + 3) + 2
    static let headerHeight = margin + 2 * BitmapFont.glyphHeight + 6 + BitmapFont.glyphHeight + 8

    let request: ContactSheetRequest
    let model: String

    /// Selects the jobs, lays them out, draws and encodes the sheet.
    func make(store: any JobQueue) throws -> ContactSheetReply {
        let state = try validate()
        guard let batch = try store.status().batches.first(where: { $0.name == request.batch }) else {
            throw QueueError.unknownBatch(request.batch)
        }
        let matching = Self.count(batch.counts, state)
        // Succeeded jobs never leave that state, so their count names the set: the same request gives the same sheet.
        let key = state == .succeeded ? "\(request.batch)|\(request.columns ?? 0)|\(request.size)|\(request.limit)|\(matching)|\(model)" : nil
        if let key, let cached = Self.cache.reply(for: key) { return cached }
        let jobs = try Self.select(store: store, batch: request.batch, state: state, limit: request.limit)
        let info = layout(jobs, batch: batch, matching: matching)
        guard info.width * info.height * 3 <= Self.maxRawBytes else {
            throw WireError(.invalid, "a \(info.width)×\(info.height) sheet is too large to send; use a smaller --size or a lower --limit")
        }
        let canvas = draw(info)
        let png = try PNGCodec.encode(rgb: canvas.pixels, width: canvas.width, height: canvas.height, text: textChunks(info), compression: 6)
        let reply = ContactSheetReply(png: Data(png), info: info)
        if let key { Self.cache.store(reply, for: key) }
        return reply
    }

    /// The last sheet made: a sheet of 256 tiles costs about a second of CPU, and a page's link or a repeated
    /// `mdctl contact-sheet` asks for the same one again.
    static let cache = LastSheet()

    final class LastSheet: @unchecked Sendable {
        private let lock = NSLock()
        private var last: (key: String, reply: ContactSheetReply)?

        func reply(for key: String) -> ContactSheetReply? { lock.withLock { last?.key == key ? last?.reply : nil } }
        func store(_ reply: ContactSheetReply, for key: String) { lock.withLock { last = (key, reply) } }
    }

    private func validate() throws -> JobState {
        let state = try JobState(named: request.state)
        guard (16...1024).contains(request.size) else { throw WireError(.invalid, "--size must be 16…1024 pixels, got \(request.size)") }
        if let c = request.columns, !(1...200).contains(c) { throw WireError(.invalid, "--columns must be 1…200, got \(c)") }
        guard (1...10_000).contains(request.limit) else { throw WireError(.invalid, "--limit must be 1…10000, got \(request.limit)") }
        return state
    }

    /// The first `limit` jobs of the batch in `state`, with their 0-based position in the batch (submission order).
    static func select(store: any JobQueue, batch: String, state: JobState, limit: Int) throws -> [(index: Int, job: Job)] {
        let jobs = try store.list(JobFilter(batch: batch, state: state, limit: limit))
        let indexes = try BatchOrdinals.shared.indexes(of: jobs, batch: batch, store: store)
        return jobs.map { (indexes[$0.id] ?? -1, $0) }
    }

    static func count(_ c: StateCounts, _ state: JobState) -> Int {
        switch state {
        case .pending: return c.pending
        case .running: return c.running
        case .succeeded: return c.succeeded
        case .failed: return c.failed
        case .canceled: return c.canceled
        }
    }

    /// Grid geometry: about square unless `columns` is given; wide enough for the header.
    private func layout(_ jobs: [(index: Int, job: Job)], batch: BatchStatus, matching: Int) -> ContactSheetInfo {
        let g = Self.geometry(tiles: jobs.count, columns: request.columns, size: request.size)
        let tiles = jobs.enumerated().map { i, j in
            ContactSheetTile(index: j.index, jobId: j.job.id, seed: j.job.seed, prompt: j.job.prompt, path: j.job.outputPath,
                             column: i % g.columns, row: i / g.columns)
        }
        return ContactSheetInfo(batch: batch.name, model: model, createdAt: batch.createdAt, state: request.state, columns: g.columns,
                                rows: g.rows, tileSize: request.size, width: g.width, height: g.height, matching: matching, tiles: tiles)
    }

    /// Grid and pixel size of a sheet of `tiles` tiles: about square unless `columns` is given; wide enough for
    /// the header.
    static func geometry(tiles: Int, columns: Int?, size: Int) -> (columns: Int, rows: Int, width: Int, height: Int) {
        let n = max(tiles, 1)
        let c = min(columns ?? Int(Double(n).squareRoot().rounded(.up)), n)
        let rows = (n + c - 1) / c
        return (c, rows, max(c * (size + margin) + margin, 360), headerHeight + rows * (size + labelHeight + margin) + margin)
    }

    private func draw(_ info: ContactSheetInfo) -> RGBCanvas {
        var canvas = RGBCanvas(width: info.width, height: info.height, background: Self.background)
        canvas.text(info.batch, x: Self.margin, y: Self.margin, scale: 2, maxWidth: info.width - 2 * Self.margin, Self.ink)
        canvas.text(subtitle(info), x: Self.margin, y: Self.margin + 2 * BitmapFont.glyphHeight + 6,
                    maxWidth: info.width - 2 * Self.margin, Self.dimInk)
        for tile in info.tiles { drawTile(tile, on: &canvas) }
        return canvas
    }

    /// "12 OF 40 SUCCEEDED - 2026-12-02 02:45 UTC - MODEL MD8-TINY"
    private func subtitle(_ info: ContactSheetInfo) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        let shown = info.tiles.count == info.matching ? "\(info.matching)" : "\(info.tiles.count) of \(info.matching)"
        return "\(shown) \(info.state) - \(f.string(from: Date(timeIntervalSince1970: info.createdAt))) - model \(info.model)"
    }

    private func drawTile(_ tile: ContactSheetTile, on canvas: inout RGBCanvas) {
        let size = request.size
        let x = Self.margin + tile.column * (size + Self.margin)
        let y = Self.headerHeight + tile.row * (size + Self.labelHeight + Self.margin)
        if let path = tile.path, let data = FileManager.default.contents(atPath: path), let image = try? PNGCodec.decode([UInt8](data)) {
            canvas.draw(rgb: image.rgb, width: image.width, height: image.height, x: x, y: y, box: size)
        } else {
            canvas.fill(x: x, y: y, width: size, height: size, Self.missing)
            canvas.text("no image", x: x + 4, y: y + 4, maxWidth: size - 8, Self.ink)
        }
        canvas.text("#\(tile.index)", x: x, y: y + size + 3, maxWidth: size, Self.ink)
        canvas.text("\(tile.seed)", x: x, y: y + size + 3 + BitmapFont.glyphHeight + 3, maxWidth: size, Self.dimInk)
    }

    /// Text chunks: what the sheet is, and every tile's prompt as JSON (index, job id, seed, prompt).
    private func textChunks(_ info: ContactSheetInfo) -> [(String, String)] {
        struct Entry: Encodable { let index: Int, jobId: Int64, seed: Int64, prompt: String }
        let entries = info.tiles.map { Entry(index: $0.index, jobId: $0.jobId, seed: $0.seed, prompt: $0.prompt) }
        let prompts = (try? WireCoding.encoder().encode(entries)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return [("Title", "mdd contact sheet: \(info.batch)"), ("batch", info.batch), ("model", info.model),
                ("state", info.state), ("prompts", prompts)]
    }
}

extension JobState {
    /// A state named in a request; an unknown name is the caller's mistake, listed with the known ones.
    init(named name: String) throws {
        guard let state = JobState(rawValue: name) else {
            throw WireError(.invalid, "unknown state '\(name)' (\(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = state
    }
}
