import FuzzEntries

/// SwiftPM links an executable's main as `FuzzPrompt_main` (-parse-as-library leaves none): libFuzzer's driver on `prompt`.
@_cdecl("FuzzPrompt_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.prompt)
}
