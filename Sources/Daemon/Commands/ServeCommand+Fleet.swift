import ArgumentParser

extension ServeCommand {
    /// `--queue`, `--output-dir` and `--node` over the config file, checked before anything starts.
    func applyFleetOptions(_ c: inout DaemonConfiguration) throws {
        if let queue { c.queue = queue }
        if let outputDir { c.outputDir = outputDir }
        if let node { c.node = node }
        if let queueStatementTimeout {
            guard queueStatementTimeout >= 0 else { throw ValidationError("--queue-statement-timeout must be ≥ 0 (0: no limit)") }
            c.queueStatementTimeout = queueStatementTimeout
        }
        do {
            _ = try QueueSetting.parse(c.queue, stateDir: c.stateDir)
            try QueueSetting.validateNode(c.node)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
