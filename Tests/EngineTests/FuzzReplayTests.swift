import Foundation
import FuzzCorpus
import XCTest
@testable import Engine

/// Replays the committed fuzz corpora (`fuzz/corpus/<target>/`, seeds from `fuzz/corpus/make_seeds.py` plus
/// inputs libFuzzer found, see `scripts/fuzz.sh`) through the engine's parsers of untrusted files: every input
/// must parse or throw an `EngineError` — never trap, never hang. Deterministic and fast, so CI runs it.
final class FuzzReplayTests: XCTestCase {
    /// Runs `body` on every input of `target`, failing on any error that is not an `EngineError` or on a slow input.
    private func replay(_ target: String, _ body: (Data) throws -> Void) throws {
        for (name, data) in try FuzzCorpus.load(target) {
            let start = Date()
            do { try body(data) } catch is EngineError {} catch {
                XCTFail("\(target)/\(name): untyped error \(type(of: error)): \(error)")
            }
            let seconds = Date().timeIntervalSince(start)
            XCTAssertLessThan(seconds, 5, "\(target)/\(name) took \(seconds) s")
        }
    }

    func testSafetensorsCorpus() throws {
        let path = try Fixtures.tempDir(self) + "/model.safetensors"
        try replay("safetensors") { data in
            try data.write(to: URL(fileURLWithPath: path))
            let file = try SafetensorsFile(path: path)
            for key in file.entries.keys.sorted() {
                do { _ = try file.floats(key) } catch is EngineError {}
            }
        }
    }

    /// Each config goes through every reader of a model folder's JSON: UNet, CLIP text encoder, noise schedule
    /// and scheduler.
    func testModelConfigCorpus() throws {
        let path = try Fixtures.tempDir(self) + "/config.json"
        try replay("config") { data in
            try data.write(to: URL(fileURLWithPath: path))
            let c = try ConfigReader(path: path)
            let readers: [() throws -> Void] = [
                { _ = try UNetConfig(c) }, { _ = try CLIPTextModel.Config(c) }, { _ = try NoiseSchedule(c) },
                { _ = try makeScheduler(configPath: path, steps: 2) },
            ]
            for read in readers { do { try read() } catch is EngineError {} }
        }
    }

    func testTokenizerCorpus() throws {
        let tokenizers = [try CLIPTokenizer.load(folder: Fixtures.path("tokenizer-clip")), try CLIPTokenizer.byteLevel()]
        try replay("tokenizer") { data in
            let text = String(decoding: data, as: UTF8.self)
            for t in tokenizers {
                let ids = t.encode(text)
                XCTAssertEqual(ids.count, t.maxLength)
                XCTAssertTrue(ids.allSatisfy { $0 >= 0 && Int($0) < t.vocab.count + 16 }, "ids out of range")
            }
        }
    }

    /// The PNG reader used when reusing outputs left by a crash: text chunks (never throws) and full decode.
    func testPNGCorpus() throws {
        try replay("png") { data in
            let bytes = [UInt8](data)
            _ = PNGCodec.textChunks(bytes)
            let image = try PNGCodec.decode(bytes)
            XCTAssertEqual(image.rgb.count, image.width * image.height * 3)
        }
    }
}

/// The inputs that trapped before the corpora were replayed, each now refused with a typed error naming the field.
final class FuzzFindingsTests: XCTestCase {
    private func input(_ target: String, _ name: String) throws -> Data {
        try XCTUnwrap(FuzzCorpus.load(target).first { $0.name == name }?.data, "\(target)/\(name)")
    }

    private func assertRefused(_ target: String, _ name: String, _ fragment: String, _ read: (String) throws -> Void) throws {
        let path = try Fixtures.tempDir(self) + "/input.\(target == "safetensors" ? "safetensors" : "json")"
        try input(target, name).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try read(path), "\(target)/\(name)") { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(target)/\(name): \(error)")
        }
    }

    func testSafetensorsHeaderLengthWithTopBitIsRefused() throws {
        try assertRefused("safetensors", "length-top-bit", "header length") { _ = try SafetensorsFile(path: $0) }
    }

    func testSafetensorsShapeOverflowAndNegativeDimensionsAreRefused() throws {
        for name in ["shape-overflow", "shape-negative"] {
            try assertRefused("safetensors", name, "negative dimension or overflows") { _ = try SafetensorsFile(path: $0) }
        }
    }

    func testHugeTrainTimestepsAreRefusedBeforeAllocating() throws {
        try assertRefused("config", "huge-timesteps", "num_train_timesteps") { _ = try NoiseSchedule(ConfigReader(path: $0)) }
    }

    /// An 84-byte PNG whose tEXt chunk claims 2^31−1 bytes: refused before libpng allocates that much.
    func testPNGChunkLongerThanTheFileIsRefusedQuickly() throws {
        let bytes = [UInt8](try input("png", "found-timeout-7ecf05a8"))
        let start = Date()
        XCTAssertThrowsError(try PNGCodec.decode(bytes)) { XCTAssertTrue("\($0)".contains("claims 2147483647 bytes"), "\($0)") }
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5)
    }

    func testZeroAttentionHeadsAreRefused() throws {
        try assertRefused("config", "zero-heads", "num_attention_heads") { _ = try CLIPTextModel.Config(ConfigReader(path: $0)) }
        // The UNet's heads (libFuzzer, config target): a remainder by zero trapped before.
        try assertRefused("config", "found-unet-heads-zero", "block 0: 0 must be ≥ 1") { _ = try UNetConfig(ConfigReader(path: $0)) }
    }
}
