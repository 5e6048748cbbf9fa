import Foundation
import Queue
import Wire

/// The server-rendered pages: `/` (batches, throughput, workers), `/batches/NAME` (thumbnails, failures) and
/// `/jobs/ID` (one image and how to render it again). Pages re-load themselves every few seconds while work runs.
struct StatusPages {
    let context: DaemonContext
    let files: ImageFiles
    let history: CompletionHistory
    let batchRates: BatchThroughput
    static let refreshSeconds = 5
    /// Thumbnails per batch page; later ones are reached by keyset pagination (`after=ID`), so a page of a
    /// million-job batch costs one indexed query.
    static let pageSize = 60

    /// `/`: every batch (newest first) with progress, counts, rate and ETA; a throughput plot; the cluster's nodes
    /// and workers. Everything here is the queue's counters and nodes table (small queries) and the daemon's
    /// memory, so the page stays cheap however long the history.
    func index() throws -> String {
        let status = try context.store.status()
        let nodes = try WorkersHandler.nodes(context)
        let now = Date().timeIntervalSince1970
        // The batches with work left: a batch that just finished still has a recent rate but no ETA to share.
        let rate = status.batches.filter { $0.counts.remaining > 0 }.reduce(0) { $0 + batchRates.rate(batch: $1.name, now: now) }
        let remaining = status.counts.remaining
        let eta: Double? = remaining == 0 ? 0 : rate > 0 ? Double(remaining) / rate : nil
        var body = "<h1>mdd</h1><p>model <b>\(HTML.escape(context.engine.modelName))</b> (\(HTML.escape(context.engine.precision.rawValue))), "
        body += "\(workerSummary(nodes))\(status.paused ? ", <b>queue paused</b>" : ""). "
        body += "<span id=\"rate\">\(String(format: "%.2f", rate))</span> images/s, ETA <span id=\"eta\">\(HTML.duration(eta))</span>.</p>"
        body += "<h2>Images per minute, last hour</h2>" + HTML.throughputPlot(history.perMinute(now: now))
        body += "<h2>Batches</h2>" + batchTable(status.batches, now: now)
        body += cluster(nodes)
        return HTML.page(title: "mdd", refresh: remaining > 0 ? Self.refreshSeconds : nil, body: body)
    }

    private func batchTable(_ batches: [BatchStatus], now: Double) -> String {
        var rows = ""
        for b in batches.reversed() {
            let c = b.counts, total = c.total, remaining = c.remaining
            let rate = batchRates.rate(batch: b.name, now: now)
            let eta = remaining == 0 ? nil : rate > 0 ? Double(remaining) / rate : nil
            rows += "<tr data-batch=\"\(HTML.escape(b.name))\"><td><a href=\"/batches/\(HTML.component(b.name))\">\(HTML.escape(b.name))</a>\(b.paused ? " <b>paused</b>" : "")</td>"
            rows += "<td>\(HTML.bar(done: c.succeeded + c.failed + c.canceled, total: total))</td>"
            rows += "<td class=\"pending\">\(c.pending)</td><td class=\"running\">\(c.running)</td><td class=\"succeeded\">\(c.succeeded)</td>"
            rows += "<td class=\"failed\">\(c.failed)</td><td class=\"canceled\">\(c.canceled)</td>"
            rows += "<td>\(remaining == 0 ? "–" : String(format: "%.2f", rate))</td><td>\(HTML.duration(eta))</td></tr>"
        }
        return "<table><tr><th>batch</th><th>progress</th><th>pending</th><th>running</th><th>succeeded</th><th>failed</th>"
            + "<th>canceled</th><th>images/s</th><th>ETA</th></tr>\(rows)</table>"
    }

    /// `/batches/NAME?state=S&after=ID`: one page of thumbnails (index and seed under each, the prompt on hover)
    /// or, for failed jobs, their errors. nil: no such batch.
    func batch(_ name: String, state: JobState, after: Int64) throws -> String? {
        guard let b = try context.store.status().batches.first(where: { $0.name == name }) else { return nil }
        let jobs = try context.store.list(JobFilter(batch: name, state: state, afterId: after, limit: Self.pageSize))
        let indexes = try BatchOrdinals.shared.indexes(of: jobs, batch: name, store: context.store, wait: false)
        let c = b.counts
        var body = "<h1>batch \(HTML.escape(name))</h1><p>\(HTML.bar(done: c.succeeded + c.failed + c.canceled, total: c.total))"
        body += " · <a href=\"/batches/\(HTML.component(name))/contact-sheet.png\">contact sheet</a></p><nav>"
        for s in JobState.allCases {
            let label = "\(s.rawValue) (\(ContactSheet.count(c, s)))"
            body += s == state ? "<b>\(label)</b> " : "<a href=\"?state=\(s.rawValue)\">\(label)</a> "
        }
        body += "</nav>"
        body += state == .failed ? failureTable(jobs) : thumbnailGrid(jobs, indexes: indexes, state: state)
        if jobs.count == Self.pageSize, let last = jobs.last {
            body += "<p><a rel=\"next\" href=\"?state=\(state.rawValue)&amp;after=\(last.id)\">next page</a></p>"
        }
        return HTML.page(title: "batch \(name)", refresh: c.remaining > 0 ? Self.refreshSeconds : nil, body: body)
    }

    private func thumbnailGrid(_ jobs: [Job], indexes: [Int64: Int], state: JobState) -> String {
        let tiles = jobs.map { j -> String in
            let index = indexes[j.id].map { "#\($0)" } ?? "job \(j.id)"
            let img = state == .succeeded ? "<img src=\"/thumbs/\(j.id).png\" alt=\"\(HTML.escape(j.prompt))\" title=\"\(HTML.escape(j.prompt))\" loading=\"lazy\">" : ""
            return "<div class=\"tile\"><a href=\"/jobs/\(j.id)\" title=\"\(HTML.escape(j.prompt))\">\(img)<br>\(index) · seed \(j.seed)</a></div>"
        }
        return tiles.isEmpty ? "<p class=\"muted\">no jobs in this state</p>" : "<div class=\"grid\">\(tiles.joined())</div>"
    }

    private func failureTable(_ jobs: [Job]) -> String {
        let rows = jobs.map { j in
            "<tr><td><a href=\"/jobs/\(j.id)\">\(j.id)</a></td><td>\(j.seed)</td><td>\(HTML.escape(j.prompt))</td><td class=\"err\">\(HTML.escape(j.error ?? ""))</td></tr>"
        }.joined()
        return "<table><tr><th>job</th><th>seed</th><th>prompt</th><th>error</th></tr>\(rows)</table>"
    }
}
