using System.Runtime.Versioning;

namespace Switchyard.Platform;

/// <summary>Helpers for iproute2-style named network namespaces (/run/netns/NAME, /etc/netns/NAME).</summary>
[SupportedOSPlatform("linux")]
public static class NetworkNamespace
{
    /// <summary>Where `ip netns add` bind-mounts namespace files.</summary>
    public const string RunDirectory = "/run/netns";

    /// <summary>Per-namespace /etc overlay that `ip netns exec` bind-mounts over /etc.</summary>
    public const string EtcDirectory = "/etc/netns";

    /// <summary>The calling thread's own network namespace (per thread, unlike /proc/self/ns/net).</summary>
    internal const string CurrentThreadPath = "/proc/thread-self/ns/net";

    public static string PathForName(string name)
    {
        ValidateName(name);
        return Path.Combine(RunDirectory, name);
    }

    /// <summary>True when the namespace file exists (it can be setns()'d if it is an nsfs bind mount).</summary>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return File.Exists(path);
    }

    /// <summary>
    /// Writes /etc/netns/NAME/resolv.conf, which `ip netns exec NAME` bind-mounts over /etc/resolv.conf.
    /// Written to a temporary file and renamed so a concurrent reader never sees a partial file.
    /// </summary>
    public static void WriteResolvConf(string nsName, string content) =>
        WriteResolvConf(EtcDirectory, nsName, content);

    internal static void WriteResolvConf(string etcDirectory, string nsName, string content)
    {
        ValidateName(nsName);
        ArgumentNullException.ThrowIfNull(content);
        var dir = Path.Combine(etcDirectory, nsName);
        Directory.CreateDirectory(dir);
        var target = Path.Combine(dir, "resolv.conf");
        var temp = Path.Combine(dir, $".resolv.conf.{Environment.ProcessId}.tmp");
        File.WriteAllText(temp, content);
        File.Move(temp, target, overwrite: true);
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        // The name becomes a path component under /run/netns and /etc/netns: no traversal, no separators.
        if (name is "." or ".." || name.Contains('/') || name.Contains('\0') || name.Length > 255)
        {
            throw new ArgumentException($"Invalid network namespace name '{name}'.", nameof(name));
        }
    }
}
