import Foundation
import Prometheus
import Wire

/// The cluster's nodes in `/metrics`: gauges labelled `node`, set at each scrape from the nodes table (the rows
/// `mdctl workers` lists, this node's own live), so that any one node's scrape shows the whole fleet.
///
/// The `node` label is bounded by the fleet: node names are the operators' `--node` names, and the series of a
/// node that left the table (forgotten by `mdctl prune --finished-before`, see `forgetNodes`) are removed from the
/// registry at the next scrape rather than kept at their last value. On an SQLite queue the table holds this node.
final class ClusterMetrics: @unchecked Sendable {
    private let registry: PrometheusCollectorRegistry
    private let up: MetricNameDescriptor
    private let rate: MetricNameDescriptor
    private let heartbeatAge: MetricNameDescriptor
    private let workers: MetricNameDescriptor
    private let lock = NSLock()
    /// The gauges made for each node, to unregister when the node leaves the table.
    private var series: [String: [Gauge]] = [:]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        up = Self.name("node_up", "", "1 while the node heartbeats and has not stopped; 0 when stopped or lost (no heartbeat for a lease).")
        rate = Self.name("node_images_per_second", "", "Images per second of the node, all its workers, over its last heartbeat interval.")
        heartbeatAge = Self.name("node_heartbeat_age", "seconds", "Seconds since the node's last heartbeat, by the database's clock.")
        workers = Self.name("node_workers", "", "Render workers of the node by state.")
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mdd", metricName: metric, unitName: unit, helpText: help)
    }

    /// Sets every node's gauges and removes those of nodes no longer listed.
    func update(_ nodes: [NodeInfo]) {
        lock.withLock {
            var listed = Set<String>()
            for n in nodes {
                listed.insert(n.name)
                series[n.name] = set(n)
            }
            for (name, gauges) in series where !listed.contains(name) {
                gauges.forEach(registry.unregisterGauge)
                series[name] = nil
            }
        }
    }

    /// Makes (or finds: the registry returns the gauge already made for a name and labels) and sets one node's
    /// gauges; returns them.
    private func set(_ n: NodeInfo) -> [Gauge] {
        let node = [("node", n.name)]
        let isUp = !n.lost && n.state != "stopped"
        var made: [(Gauge, Double)] = [
            (registry.makeGauge(descriptor: up, labels: node), isUp ? 1 : 0),
            (registry.makeGauge(descriptor: rate, labels: node), n.imagesPerSecond),
            (registry.makeGauge(descriptor: heartbeatAge, labels: node), n.heartbeatAgeSeconds),
        ]
        var byState = Dictionary(uniqueKeysWithValues: DaemonMetrics.workerStates.map { ($0, 0) })
        for w in n.workers { byState[DaemonMetrics.workerStates.contains(w.state) ? w.state : "other", default: 0] += 1 }
        for state in DaemonMetrics.workerStates {
            made.append((registry.makeGauge(descriptor: workers, labels: node + [("state", state)]), Double(byState[state] ?? 0)))
        }
        for (gauge, value) in made { gauge.set(to: value) }
        return made.map(\.0)
    }
}
