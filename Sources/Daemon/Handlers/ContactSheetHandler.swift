import Wire

/// `contact_sheet`: a batch's images as one PNG grid (see `ContactSheet`).
enum ContactSheetHandler {
    static func handle(_ r: ContactSheetRequest, _ c: DaemonContext) throws -> ContactSheetReply {
        try ContactSheet(request: r, model: c.engine.modelName).make(store: c.store)
    }
}
