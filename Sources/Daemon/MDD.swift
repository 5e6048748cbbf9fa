import ArgumentParser
import Engine

/// `mdd`: the rendering daemon and its one-shot tools.
@main
struct MDD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mdd",
        abstract: "MobileDiffusion batch rendering daemon.",
        subcommands: [ServeCommand.self, RenderCommand.self, BenchCommand.self, BenchQueueCommand.self])

    static let version = "0.1.0"
}

/// Exits with a clear message for engine errors instead of a stack of Swift types.
func runOrExit<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as EngineError {
        throw ValidationErrorLike(message: e.description)
    }
}

/// An error whose description is shown as-is by ArgumentParser.
struct ValidationErrorLike: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
