import FuzzEntries

/// SwiftPM links an executable's main as `FuzzRequest_main` (-parse-as-library leaves none): libFuzzer's driver on `request`.
@_cdecl("FuzzRequest_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.request)
}
