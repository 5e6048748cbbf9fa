import Foundation
import Queue
import Wire

/// The index page's view of the cluster: every node of the nodes table (this one live) with its state, images/s
/// and last heartbeat, and every node's workers — the rows `mdctl workers` prints, through any node's page.
extension StatusPages {
    /// "3 node(s) up, 6 worker(s)" for the cluster; this daemon's worker count before its first heartbeat.
    func workerSummary(_ nodes: [NodeInfo]?) -> String {
        guard let nodes else { return "\(context.workers.count) worker(s)" }
        let up = nodes.filter { !$0.lost && $0.state != NodeState.stopped.rawValue }
        return "\(up.count) node(s) up, \(up.map(\.workers.count).reduce(0, +)) worker(s)"
    }

    /// The nodes and workers tables; before this daemon's first heartbeat (nil), its own workers only.
    func cluster(_ nodes: [NodeInfo]?) -> String {
        guard let nodes else { return "<h2>Workers</h2>" + localWorkerTable() }
        return "<h2>Nodes</h2>" + nodeTable(nodes) + "<h2>Workers</h2>" + workerTable(nodes)
    }

    /// One row per node; a lost node (no heartbeat for a lease although it did not stop) is marked LOST.
    private func nodeTable(_ nodes: [NodeInfo]) -> String {
        let rows = nodes.map { n -> String in
            let state = n.lost ? "<b class=\"err\">LOST</b> (\(HTML.escape(n.state)))" : HTML.escape(n.state)
            return "<tr data-node=\"\(HTML.escape(n.name))\"><td>\(HTML.escape(n.name))</td><td>\(HTML.escape(n.host)) pid \(n.pid)</td>"
                + "<td class=\"state\">\(state)</td><td class=\"rate\">\(String(format: "%.2f", n.imagesPerSecond))</td>"
                + "<td class=\"heartbeat\">\(HTML.duration(n.heartbeatAgeSeconds)) ago</td><td>\(HTML.duration(n.uptimeSeconds))</td>"
                + "<td class=\"workers\">\(n.workers.count)</td></tr>"
        }.joined()
        return "<table><tr><th>node</th><th>host</th><th>state</th><th>images/s</th><th>last heartbeat</th><th>up</th><th>workers</th></tr>\(rows)</table>"
    }

    /// Every node's workers, by node.
    private func workerTable(_ nodes: [NodeInfo]) -> String {
        let rows = nodes.flatMap { n in
            n.workers.map { w in
                workerRow(node: n.name, id: w.id, state: w.state, jobId: w.jobId, completed: w.completed, failed: w.failed,
                          rate: w.imagesPerSecond, since: w.sinceSeconds)
            }
        }.joined()
        return workerTable(rows: rows)
    }

    /// This daemon's workers from memory (before its node row exists).
    private func localWorkerTable() -> String {
        let rows = context.workers.map { w -> String in
            let s = w.snapshot
            return workerRow(node: context.configuration.node, id: w.id, state: s.state, jobId: s.jobId, completed: s.completed,
                             failed: s.failed, rate: nil, since: Date().timeIntervalSince(s.since))
        }.joined()
        return workerTable(rows: rows)
    }

    private func workerTable(rows: String) -> String {
        "<table><tr><th>node</th><th>worker</th><th>state</th><th>rendering</th><th>done</th><th>failed</th><th>images/s</th>"
            + "<th>in state for</th></tr>\(rows)</table>"
    }

    private func workerRow(node: String, id: String, state: String, jobId: Int64?, completed: Int, failed: Int, rate: Double?, since: Double) -> String {
        let job = jobId.map { "<a href=\"/jobs/\($0)\">job \($0)</a>" } ?? ""
        return "<tr data-worker=\"\(HTML.escape(id))\"><td>\(HTML.escape(node))</td><td>\(HTML.escape(id))</td><td class=\"state\">\(HTML.escape(state))</td>"
            + "<td>\(job)</td><td class=\"done\">\(completed)</td><td class=\"failed\">\(failed)</td>"
            + "<td>\(rate.map { String(format: "%.2f", $0) } ?? "–")</td><td>\(HTML.duration(since))</td></tr>"
    }
}
