public enum WireVersion { public static let current = 1 }
