import FuzzEntries

/// SwiftPM links an executable's main as `FuzzConfig_main` (-parse-as-library leaves none): libFuzzer's driver on `config`.
@_cdecl("FuzzConfig_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.config)
}
