import Foundation

/// The CPU's vendor and ISA flags as Linux reports them in /proc/cpuinfo.
public struct CPUFeatures: Sendable {
    public let vendor: String
    public let modelName: String
    public let flags: Set<String>

    /// Reads the first processor's entry of /proc/cpuinfo; empty on systems without it.
    public static func current() -> CPUFeatures {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return parse(cpuinfo: text)
    }

    /// Parses the text of /proc/cpuinfo (only the first processor block is read).
    public static func parse(cpuinfo: String) -> CPUFeatures {
        var vendor = "", model = "", flags = Set<String>()
        for line in cpuinfo.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "vendor_id" where vendor.isEmpty: vendor = value
            case "model name" where model.isEmpty: model = value
            case "flags" where flags.isEmpty: flags = Set(value.split(separator: " ").map(String.init))
            default: break
            }
        }
        return CPUFeatures(vendor: vendor, modelName: model, flags: flags)
    }

    /// The OpenBLAS kernel that suits these features, or nil to let OpenBLAS detect.
    ///
    /// OpenBLAS 0.3.21 (Debian 12) does not know recent Intel models and falls back to "Prescott" (SSE3),
    /// 5x slower than its AVX-512 kernels. A kernel is only named when every ISA it needs is present:
    /// naming SkylakeX on an AVX2-only CPU dies with SIGILL.
    public var preferredOpenBLASCore: String? {
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains)
        if avx512 && flags.contains("avx512_bf16") { return "COOPERLAKE" }
        if avx512 { return "SKYLAKEX" }
        guard flags.contains("avx2") && flags.contains("fma") else { return nil }
        return vendor == "AuthenticAMD" || vendor == "HygonGenuine" ? "ZEN" : "HASWELL"
    }
}
