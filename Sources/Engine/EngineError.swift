/// Every failure the engine reports, each naming what was wrong and where (file, tensor, config field).
public enum EngineError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A model file could not be read or parsed: path and reason.
    case file(path: String, reason: String)
    /// A safetensors header or tensor is malformed.
    case safetensors(path: String, reason: String)
    /// A tensor the model needs is absent.
    case missingTensor(path: String, key: String)
    /// Tensors present in the file that no module consumes.
    case unexpectedTensors(path: String, keys: [String])
    /// A tensor has the wrong shape.
    case shapeMismatch(path: String, key: String, expected: [Int], actual: [Int])
    /// A tensor is stored in a dtype the engine cannot read.
    case unsupportedDType(path: String, key: String, dtype: String)
    /// A config file has a missing, mistyped or unsupported value.
    case config(path: String, field: String, reason: String)
    /// The tokenizer files are inconsistent.
    case tokenizer(path: String, reason: String)
    /// A render request is invalid (size, steps, guidance).
    case invalidRequest(String)
    /// OpenBLAS could not be loaded.
    case blas(String)
    /// PNG encoding or writing failed.
    case image(String)
    /// The render was stopped through its `RenderCancellation`: why, and at which stage.
    case canceled(reason: String, stage: String)

    public var description: String {
        switch self {
        case let .file(path, reason): return "\(path): \(reason)"
        case let .safetensors(path, reason): return "\(path): invalid safetensors: \(reason)"
        case let .missingTensor(path, key): return "\(path): missing tensor '\(key)'"
        case let .unexpectedTensors(path, keys):
            let shown = keys.prefix(5).joined(separator: "', '")
            return "\(path): \(keys.count) unexpected tensor(s): '\(shown)'\(keys.count > 5 ? ", …" : "")"
        case let .shapeMismatch(path, key, expected, actual):
            return "\(path): tensor '\(key)' has shape \(actual), expected \(expected)"
        case let .unsupportedDType(path, key, dtype):
            return "\(path): tensor '\(key)' has unsupported dtype \(dtype) (supported: F32, F16, BF16)"
        case let .config(path, field, reason): return "\(path): field '\(field)': \(reason)"
        case let .tokenizer(path, reason): return "\(path): tokenizer: \(reason)"
        case let .invalidRequest(reason): return "invalid request: \(reason)"
        case let .blas(reason): return "BLAS: \(reason)"
        case let .image(reason): return "image: \(reason)"
        case let .canceled(reason, stage): return "render canceled at \(stage): \(reason)"
        }
    }
}
