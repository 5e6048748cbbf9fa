import XCTest
@testable import Engine

/// Malformed model folders fail with errors that name the file and the tensor or field.
final class BadInputTests: XCTestCase {
    /// A copy of a fixture model in a temp dir, to damage.
    func copyModel(_ name: String) throws -> String {
        let dir = try Fixtures.tempDir(self) + "/" + name
        try FileManager.default.copyItem(atPath: Fixtures.path("models/\(name)"), toPath: dir)
        return dir
    }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            let text = "\(e)"
            print("[error] \(text)")
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testTruncatedSafetensors() throws {
        let dir = try copyModel("sd-tiny")
        let path = dir + "/unet/diffusion_pytorch_model.safetensors"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        assertError(try TextToImage(folder: dir), contains: [path, "truncated"])
        try data.prefix(4).write(to: URL(fileURLWithPath: path))
        assertError(try SafetensorsFile(path: path), contains: [path, "8-byte"])
    }

    func testGarbageHeader() throws {
        let path = try Fixtures.tempDir(self) + "/x.safetensors"
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = 5
        try Data(bytes + Array("nope!".utf8)).write(to: URL(fileURLWithPath: path))
        assertError(try SafetensorsFile(path: path), contains: [path, "JSON"])
    }

    func testWrongDTypeAndShape() throws {
        let path = try Fixtures.tempDir(self) + "/t.safetensors"
        try writeSafetensors(path, ["a": ("I32", [2], [UInt8](repeating: 1, count: 8)), "b": ("F32", [3], [UInt8](repeating: 0, count: 12))])
        let w = try WeightStore(path: path)
        assertError(try w.tensor("a", shape: [2]), contains: [path, "'a'", "I32"])
        assertError(try w.tensor("b", shape: [4]), contains: [path, "'b'", "[3]", "[4]"])
        assertError(try w.tensor("c", shape: [1]), contains: [path, "missing tensor 'c'"])
    }

    func testMissingTensor() throws {
        let dir = try copyModel("taesd-tiny")
        let path = dir + "/unet/diffusion_pytorch_model.safetensors"
        let f = try SafetensorsFile(path: path)
        var tensors: [String: (String, [Int], [UInt8])] = [:]
        for (k, e) in f.entries where k != "conv_out.bias" {
            tensors[k] = ("F32", e.shape, try f.floats(k).withUnsafeBytes { Array($0) })
        }
        try writeSafetensors(path, tensors)
        assertError(try TextToImage(folder: dir), contains: [path, "missing tensor 'conv_out.bias'"])
    }

    func testUnexpectedTensor() throws {
        let dir = try copyModel("taesd-tiny")
        let path = dir + "/text_encoder/model.safetensors"
        let f = try SafetensorsFile(path: path)
        var tensors: [String: (String, [Int], [UInt8])] = [:]
        for (k, e) in f.entries { tensors[k] = ("F32", e.shape, try f.floats(k).withUnsafeBytes { Array($0) }) }
        tensors["text_model.encoder.layers.9.mystery.weight"] = ("F32", [1], [0, 0, 0, 0])
        try writeSafetensors(path, tensors)
        assertError(try TextToImage(folder: dir), contains: [path, "unexpected", "layers.9.mystery"])
    }

    func testBadConfigValues() throws {
        let dir = try copyModel("sd-tiny")
        let cfg = dir + "/unet/config.json"
        let original = try String(contentsOfFile: cfg, encoding: .utf8)
        try original.replacingOccurrences(of: "\"CrossAttnDownBlock2D\"", with: "\"SimpleCrossAttnDownBlock2D\"").write(toFile: cfg, atomically: true, encoding: .utf8)
        assertError(try TextToImage(folder: dir), contains: [cfg, "down_block_types", "SimpleCrossAttnDownBlock2D"])
        try original.replacingOccurrences(of: "\"norm_num_groups\": 8", with: "\"norm_num_groups\": \"eight\"").write(toFile: cfg, atomically: true, encoding: .utf8)
        assertError(try TextToImage(folder: dir), contains: [cfg, "norm_num_groups", "integer"])
        try original.replacingOccurrences(of: "\"norm_num_groups\": 8", with: "\"norm_num_groups\": 8, \"md_position_bands\": 40")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        assertError(try TextToImage(folder: dir), contains: [cfg, "md_position_bands", "40"])
        try original.replacingOccurrences(of: "\"norm_num_groups\": 8", with: "\"norm_num_groups\": 8, \"md_position_bands\": 2")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        assertError(try TextToImage(folder: dir), contains: ["diffusion_pytorch_model.safetensors", "missing tensor", "pos_proj.weight"])
        try "{ not json".write(toFile: cfg, atomically: true, encoding: .utf8)
        assertError(try TextToImage(folder: dir), contains: [cfg, "invalid JSON"])
        try FileManager.default.removeItem(atPath: cfg)
        assertError(try TextToImage(folder: dir), contains: [cfg, "cannot read"])
    }

    func testMissingFolder() {
        assertError(try TextToImage(folder: "/nonexistent/model"), contains: ["/nonexistent/model", "does not exist"])
    }

    /// Writes a safetensors file from (dtype, shape, raw bytes) entries.
    func writeSafetensors(_ path: String, _ tensors: [String: (String, [Int], [UInt8])]) throws {
        var header: [String: Any] = [:], body: [UInt8] = []
        for (k, t) in tensors.sorted(by: { $0.key < $1.key }) {
            header[k] = ["dtype": t.0, "shape": t.1, "data_offsets": [body.count, body.count + t.2.count]]
            body += t.2
        }
        var json = try JSONSerialization.data(withJSONObject: header)
        while json.count % 8 != 0 { json.append(0x20) }
        var len = UInt64(json.count).littleEndian
        var out = Data(bytes: &len, count: 8)
        out.append(json)
        out.append(contentsOf: body)
        try out.write(to: URL(fileURLWithPath: path))
    }
}
