import FuzzEntries

/// SwiftPM links an executable's main as `FuzzPng_main` (-parse-as-library leaves none): libFuzzer's driver on `png`.
@_cdecl("FuzzPng_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.png)
}
