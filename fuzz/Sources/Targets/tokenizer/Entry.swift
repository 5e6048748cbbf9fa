import FuzzEntries

/// SwiftPM links an executable's main as `FuzzTokenizer_main` (-parse-as-library leaves none): libFuzzer's driver on `tokenizer`.
@_cdecl("FuzzTokenizer_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.tokenizer)
}
