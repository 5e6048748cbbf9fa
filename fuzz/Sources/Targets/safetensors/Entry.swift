import FuzzEntries

/// SwiftPM links an executable's main as `FuzzSafetensors_main` (-parse-as-library leaves none): libFuzzer's driver on `safetensors`.
@_cdecl("FuzzSafetensors_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.run(argc, argv, FuzzEntries.safetensors)
}
