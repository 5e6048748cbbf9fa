import ArgumentParser
import Engine
import Wire

/// `mdd`: the rendering daemon and its one-shot tools.
@main
struct MDD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mdd",
        abstract: "MobileDiffusion batch rendering daemon.",
        version: MDDVersion.current,
        subcommands: [ServeCommand.self, RenderCommand.self, BenchCommand.self, BenchQueueCommand.self, TuneCommand.self])

    static let version = MDDVersion.current
}

/// Runs engine calls so that their errors reach the user as their own message (file, tensor, field).
func reportingEngineErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as EngineError {
        throw CommandFailure(message: e.description)
    }
}

/// A command's failure, shown by ArgumentParser as its message alone.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
