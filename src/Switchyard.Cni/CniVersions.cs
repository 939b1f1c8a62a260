namespace Switchyard.Cni;

/// <summary>The spec versions this plugin speaks. 0.3.x and 0.4.0 results differ from 1.0.0 only
/// in the ips' "version" field; CHECK exists from 0.4.0; STATUS and GC from 1.1.0.</summary>
internal static class CniVersions
{
    public const string Latest = "1.1.0";
    public static readonly string[] Supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    public static bool IsSupported(string? version) => version is not null && Supported.Contains(version);

    /// <summary>Results before 1.0.0 name each IP's family ("version": "4").</summary>
    public static bool HasIpVersionField(string version) => version.StartsWith("0.", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="version"/> is at least <paramref name="minimum"/> (both supported versions).</summary>
    public static bool AtLeast(string version, string minimum) => Array.IndexOf(Supported, version) >= Array.IndexOf(Supported, minimum);
}
