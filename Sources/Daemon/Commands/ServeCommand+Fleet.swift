import ArgumentParser

extension ServeCommand {
    /// `--queue`, `--output-dir` and `--node` over the config file, checked before anything starts.
    func applyFleetOptions(_ c: inout DaemonConfiguration) throws {
        if let queue { c.queue = queue }
        if let outputDir { c.outputDir = outputDir }
        if let node { c.node = node }
        do {
            _ = try QueueSetting.parse(c.queue, stateDir: c.stateDir)
            try QueueSetting.validateNode(c.node)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
