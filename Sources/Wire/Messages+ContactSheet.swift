import Foundation

/// `contact_sheet`: a batch's finished images tiled into one PNG, labelled with index and seed.
public struct ContactSheetRequest: Codable, Sendable, Equatable {
    public var batch: String
    /// Tiles per row; nil: about square.
    public var columns: Int?
    /// Longest side of a tile in pixels.
    public var size: Int
    /// Which jobs: "succeeded" (the default), or any job state (failed and canceled jobs show as empty tiles).
    public var state: String
    /// At most this many tiles, the first in submission order (the default 256 at the default size fits the
    /// daemon's cap on a sheet's pixels).
    public var limit: Int

    public init(batch: String, columns: Int? = nil, size: Int = 128, state: String = "succeeded", limit: Int = 256) {
        self.batch = batch
        self.columns = columns
        self.size = size
        self.state = state
        self.limit = limit
    }
}

/// One tile of a sheet: which job, where, and what it was asked for.
public struct ContactSheetTile: Codable, Sendable, Equatable {
    /// 0-based position of the job in its batch (submission order).
    public var index: Int
    public var jobId: Int64
    public var seed: Int64
    public var prompt: String
    public var path: String?
    public var column: Int
    public var row: Int

    public init(index: Int, jobId: Int64, seed: Int64, prompt: String, path: String?, column: Int, row: Int) {
        self.index = index
        self.jobId = jobId
        self.seed = seed
        self.prompt = prompt
        self.path = path
        self.column = column
        self.row = row
    }
}

/// What a sheet shows; also its sidecar JSON and, as `prompts`, a PNG text chunk.
public struct ContactSheetInfo: Codable, Sendable, Equatable {
    public var batch: String
    public var model: String
    /// When the batch was created (Unix seconds).
    public var createdAt: Double
    public var state: String
    public var columns: Int
    public var rows: Int
    public var tileSize: Int
    public var width: Int
    public var height: Int
    /// Jobs in the batch in `state`; more than `tiles.count` when `limit` cut the sheet short.
    public var matching: Int
    public var tiles: [ContactSheetTile]

    public init(batch: String, model: String, createdAt: Double, state: String, columns: Int, rows: Int, tileSize: Int,
                width: Int, height: Int, matching: Int, tiles: [ContactSheetTile]) {
        self.batch = batch
        self.model = model
        self.createdAt = createdAt
        self.state = state
        self.columns = columns
        self.rows = rows
        self.tileSize = tileSize
        self.width = width
        self.height = height
        self.matching = matching
        self.tiles = tiles
    }
}

public struct ContactSheetReply: Codable, Sendable, Equatable {
    /// The sheet's PNG bytes (base64 in JSON).
    public var png: Data
    public var info: ContactSheetInfo
    public init(png: Data, info: ContactSheetInfo) {
        self.png = png
        self.info = info
    }
}
