import Foundation

/// Duplicate keys in a JSON object. Foundation's JSONSerialization keeps the last of two equal keys without a
/// word, so `{"prompt": "a red circle", "prompt": "a blue square"}` would render the blue square; prompt files
/// refuse such a record instead.
enum JSONObjectKeys {
    /// The first key that appears twice at the top level of `text`, which must already parse as a JSON object.
    /// Keys are compared decoded ("seed" and "se\u0065d" are the same key).
    static func firstDuplicate(in text: String) -> String? {
        let b = Array(text.utf8)
        var seen = Set<String>(), depth = 0, expectKey = false, i = 0
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "\""):
                let start = i
                i = endOfString(b, from: i)
                if depth == 1 && expectKey {
                    let key = decode(b[start...min(i, b.count - 1)])
                    if !seen.insert(key).inserted { return key }
                    expectKey = false
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ",") where depth == 1:
                expectKey = true
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// The index of the quote closing the string that opens at `start` (escapes skipped).
    private static func endOfString(_ b: [UInt8], from start: Int) -> Int {
        var i = start + 1
        while i < b.count && b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
        return i
    }

    private static func decode(_ token: ArraySlice<UInt8>) -> String {
        let raw = String(decoding: token, as: UTF8.self)
        return (try? JSONSerialization.jsonObject(with: Data(token), options: .fragmentsAllowed)) as? String ?? raw
    }
}
