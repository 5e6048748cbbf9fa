import XCTest
@testable import Engine

final class TokenizerTests: XCTestCase {
    func testRealCLIPVocabularyMatchesTransformers() throws {
        let tok = try CLIPTokenizer.load(folder: Fixtures.path("tokenizer-clip"))
        XCTAssertEqual(tok.vocab.count, 49408)
        let cases = try Fixtures.json("tokenizer_cases.json")["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        var mismatches = 0
        for c in cases {
            let text = c["text"] as! String, expected = (c["ids"] as! [Int]).map(Int32.init)
            let ids = tok.encode(text)
            if ids != expected { mismatches += 1 }
            XCTAssertEqual(ids, expected, "ids differ for \(text.debugDescription)")
        }
        print("[tokenizer] \(cases.count - mismatches)/\(cases.count) prompts identical to transformers.CLIPTokenizer")
    }

    func testTokenizerJSONFormatMatchesVocabMerges() throws {
        // md8-tiny ships only tokenizer.json (what transformers ≥ 5 writes); sd-tiny ships vocab.json + merges.txt.
        for model in ["md8-tiny", "sd-tiny"] {
            let tok = try CLIPTokenizer.load(folder: Fixtures.path("models/\(model)/tokenizer"))
            let ref = try Fixtures.json("models/\(model)/reference.json")
            XCTAssertEqual(tok.encode(ref["prompt"] as! String), (ref["ids"] as! [Int]).map(Int32.init), model)
        }
    }

    func testTruncatesAtMaxLengthKeepingEOS() throws {
        let tok = try CLIPTokenizer.load(folder: Fixtures.path("tokenizer-clip"))
        let ids = tok.encode(String(repeating: "word ", count: 200))
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, tok.bosId)
        XCTAssertEqual(ids.last, tok.eosId)
    }

    func testUnknownSymbolsMapToUnknownToken() throws {
        // A vocabulary without byte fallbacks: unseen characters must not crash, they become <|endoftext|>.
        let vocab: [String: Int32] = ["a</w>": 0, "<|startoftext|>": 1, "<|endoftext|>": 2]
        let tok = try CLIPTokenizer(vocab: vocab, merges: [], maxLength: 5)
        XCTAssertEqual(tok.encode("a zz"), [1, 0, 2, 2, 2])
    }

    func testMissingFilesAreReported() throws {
        let dir = try Fixtures.tempDir(self)
        XCTAssertThrowsError(try CLIPTokenizer.load(folder: dir)) { error in
            XCTAssertTrue("\(error)".contains("vocab.json"), "\(error)")
        }
    }
}
