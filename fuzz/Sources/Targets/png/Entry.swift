import FuzzEntries

/// libFuzzer's per-input callback.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    FuzzEntries.png(UnsafeBufferPointer(start: data, count: count))
    return 0
}

/// SwiftPM links an executable's main as `FuzzPng_main` (with -parse-as-library there is none): define it and
/// hand over to libFuzzer's driver.
@_cdecl("FuzzPng_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzEntries.runDriver(argc, argv, fuzz)
}
