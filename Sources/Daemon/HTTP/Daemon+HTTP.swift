import Foundation

extension Daemon {
    /// The HTTP listener's settings when `http` is configured (the token file is read and checked here).
    static func httpSettings(_ c: DaemonConfiguration) throws -> HTTPSettings? {
        guard let address = c.http else {
            if c.httpTokenFile != nil { throw HTTPError.tokenFile(path: c.httpTokenFile ?? "", reason: "given without --http") }
            return nil
        }
        return try HTTPSettings(address: address, tokenFile: c.httpTokenFile)
    }

    /// Records the build's identity in the metrics and starts the listener when configured.
    func startHTTP(_ settings: HTTPSettings?, context: DaemonContext) throws -> HTTPListener? {
        let metrics = DaemonMetrics.shared
        metrics.setBuildInfo(version: MDD.version, model: context.engine.modelName, modelSHA256: context.engine.weightsSHA256,
                             precision: context.engine.precision.rawValue)
        guard let settings else { return nil }
        let files = ImageFiles(outputDir: context.configuration.outputDir, stateDir: context.configuration.stateDir)
        let routes = HTTPRoutes(context: context, settings: settings, metrics: metrics, files: files)
        let listener = try HTTPListener(settings: settings, routes: routes, log: context.log)
        try listener.start()
        return listener
    }
}
