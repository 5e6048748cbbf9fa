import Engine
import Foundation

/// What `mdd serve` measured about this machine and model, kept in `<state-dir>/engine-choice.json` so that a
/// restart renders the rest of a batch with the same numerics: the fp32 backend (OpenBLAS or oneDNN) and, for
/// `--precision auto`, the precision. Measurements near a tie could otherwise flip between starts (the default
/// model's fp32 and bf16 differ by ~15 %). Valid only for the CPU and model it names; delete it to measure again.
struct EngineChoiceFile: Codable, Equatable {
    /// CPU model name and a digest of its flags, and oneDNN's ISA.
    var cpu: String
    var fp32Backend: String
    var fp32BackendReason: String
    /// The model folder and its weight files' sizes and modification times; nil until a precision was measured.
    var model: String?
    var precision: String?
    var precisionReason: String?

    static func path(stateDir: String) -> String { stateDir + "/engine-choice.json" }

    /// This machine's signature: the CPU as Linux reports it and the instruction set oneDNN chose.
    static var cpuSignature: String {
        let cpu = CPUFeatures.current()
        return "\(cpu.modelName) | flags \(SHA256.hex(Array(cpu.flags.sorted().joined(separator: " ").utf8)).prefix(16)) | oneDNN \(OneDNN.isa)"
    }

    /// The model as files: folder, and each weight file's size and modification time (cheap, unlike hashing GBs).
    static func modelSignature(folder: String) -> String {
        let files = ["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"]
        return ([folder] + files.map { f -> String in
            let a = try? FileManager.default.attributesOfItem(atPath: folder + "/" + f)
            let size = (a?[.size] as? NSNumber)?.intValue ?? -1
            let mtime = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(f):\(size):\(Int(mtime))"
        }).joined(separator: " ")
    }

    /// The file at `path` if it is readable and describes this CPU; nil otherwise.
    static func load(_ path: String) -> EngineChoiceFile? {
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(EngineChoiceFile.self, from: data), file.cpu == cpuSignature else { return nil }
        return file
    }

    /// Written atomically (a crash leaves the old file or the new one).
    func save(_ path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try enc.encode(self)), to: path)
    }
}
