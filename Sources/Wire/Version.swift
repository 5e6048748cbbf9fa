/// The version of mdd and mdctl: what `mdd --version`, `mdctl --version` and `mdctl health` print (one place for
/// both programs, which share only this module).
public enum MDDVersion {
    public static let current = "0.1.0"
}
