/// An 8-bit RGB image in memory ([height, width, 3], rows top to bottom) that contact sheets and thumbnails are
/// drawn on: solid rectangles, images scaled into a box, and bitmap-font text. Everything is clipped to the canvas.
struct RGBCanvas {
    typealias Color = (r: UInt8, g: UInt8, b: UInt8)

    let width: Int
    let height: Int
    private(set) var pixels: [UInt8]

    init(width: Int, height: Int, background: Color) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    /// Fills a rectangle (clipped).
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ color: Color) {
        let x0 = max(0, x), x1 = min(width, x + w), y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            var i = (row * width + x0) * 3
            for _ in x0..<x1 {
                pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b
                i += 3
            }
        }
    }

    /// Draws an RGB image scaled to fit a `box`×`box` square at (x, y), keeping its aspect ratio and centred.
    /// Downscaling averages each destination pixel's source area (a box filter: no aliasing on photos);
    /// upscaling repeats pixels.
    mutating func draw(rgb: [UInt8], width sw: Int, height sh: Int, x: Int, y: Int, box: Int) {
        guard sw > 0, sh > 0, rgb.count >= sw * sh * 3 else { return }
        let scale = Double(box) / Double(max(sw, sh))
        let dw = max(1, Int((Double(sw) * scale).rounded())), dh = max(1, Int((Double(sh) * scale).rounded()))
        let ox = x + (box - dw) / 2, oy = y + (box - dh) / 2
        for dy in 0..<dh {
            let sy0 = dy * sh / dh, sy1 = max(sy0 + 1, (dy + 1) * sh / dh)
            for dx in 0..<dw {
                let sx0 = dx * sw / dw, sx1 = max(sx0 + 1, (dx + 1) * sw / dw)
                set(ox + dx, oy + dy, Self.average(rgb, width: sw, x: sx0..<sx1, y: sy0..<sy1))
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`; stops at `maxWidth`.
    mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, maxWidth: Int? = nil, _ color: Color) {
        let limit = x + (maxWidth ?? width)
        for (i, c) in text.enumerated() {
            let gx = x + i * BitmapFont.advance * scale
            guard gx + BitmapFont.glyphWidth * scale <= limit else { return }
            for fy in 0..<BitmapFont.glyphHeight {
                for fx in 0..<BitmapFont.glyphWidth where BitmapFont.isSet(c, x: fx, y: fy) {
                    fill(x: gx + fx * scale, y: y + fy * scale, width: scale, height: scale, color)
                }
            }
        }
    }

    private mutating func set(_ x: Int, _ y: Int, _ c: Color) {
        guard (0..<width).contains(x), (0..<height).contains(y) else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    /// Mean colour of a source rectangle.
    private static func average(_ rgb: [UInt8], width: Int, x: Range<Int>, y: Range<Int>) -> Color {
        var r = 0, g = 0, b = 0
        for row in y {
            var i = (row * width + x.lowerBound) * 3
            for _ in x {
                r += Int(rgb[i]); g += Int(rgb[i + 1]); b += Int(rgb[i + 2])
                i += 3
            }
        }
        let n = x.count * y.count
        return (UInt8((r + n / 2) / n), UInt8((g + n / 2) / n), UInt8((b + n / 2) / n))
    }
}
