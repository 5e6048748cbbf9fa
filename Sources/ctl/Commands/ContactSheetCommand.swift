import ArgumentParser
import Foundation
import Wire

/// `mdctl contact-sheet`: the daemon tiles a batch's images into one PNG; mdctl writes it and a sidecar JSON.
struct ContactSheetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact-sheet",
        abstract: "Write a batch's images as one PNG grid with index and seed under each.",
        discussion: """
            The prompts go in the PNG's 'prompts' text chunk and in a sidecar JSON (FILE.png → FILE.json).

            Example: mdctl contact-sheet --batch cats -o cats.png --columns 8 --size 96
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Batch to show.") var batch: String
    @Option(name: [.customShort("o"), .long], help: "PNG file to write.") var output: String
    @Option(help: "Tiles per row (default: about square).") var columns: Int?
    @Option(help: "Longest side of a tile in pixels (16…1024).") var size = 128
    @Option(help: "Jobs in this state (failed and canceled jobs show as empty tiles).") var state = "succeeded"
    @Option(help: "At most this many tiles, the first in submission order.") var limit = 256

    func validate() throws {
        guard output.hasSuffix(".png") else { throw ValidationError("-o must name a .png file (the sidecar JSON goes beside it)") }
    }

    func run() throws {
        let request = ContactSheetRequest(batch: batch, columns: columns, size: size, state: state, limit: limit)
        let reply = try global.call(.contactSheet, request, as: ContactSheetReply.self)
        let sidecar = String(output.dropLast(".png".count)) + ".json"
        let enc = WireCoding.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try reply.png.write(to: URL(fileURLWithPath: output))
            try enc.encode(reply.info).write(to: URL(fileURLWithPath: sidecar))
        } catch {
            throw CtlFailure(.failure, "cannot write \(output): \(error.localizedDescription)")
        }
        if global.json { return try global.printJSON(reply.info) }
        print("\(output): \(reply.info.tiles.count) of \(reply.info.matching) \(reply.info.state) jobs, \(reply.info.width)×\(reply.info.height); prompts in \(sidecar)")
    }
}
