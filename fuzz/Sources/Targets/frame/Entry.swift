import FuzzEntries

/// SwiftPM links an executable's main as `FuzzFrame_main` (-parse-as-library leaves none): libFuzzer's driver on `frame`.
@_cdecl("FuzzFrame_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.frame)
}
