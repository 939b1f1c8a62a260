using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static Switchyard.Platform.Interop.Libc;

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

    /// <summary>
    /// Runs <paramref name="action"/> inside the network namespace at <paramref name="netnsPath"/> (null: the
    /// daemon's own) and returns its result; what it opens there (a tun fd, a socket) stays bound to that namespace.
    /// setns() switches only the calling OS thread. A thread-pool thread would carry the foreign namespace into
    /// unrelated work if anything went wrong, so the action runs on a throwaway thread that switches back before
    /// it ends; if the kernel refuses to let it back, the result is disposed and that failure is thrown.
    /// </summary>
    internal static T RunInside<T>(string? netnsPath, string threadName, Func<T> action)
        where T : class, IDisposable
    {
        T? result = null;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = netnsPath is null ? action() : RunInsideOnCurrentThread(netnsPath, action);
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        })
        {
            IsBackground = true,
            Name = threadName,
        };
        thread.Start();
        thread.Join();

        failure?.Throw();
        return result!;
    }

    private static T RunInsideOnCurrentThread<T>(string netnsPath, Func<T> action)
        where T : class, IDisposable
    {
        // Remember where this thread came from. /proc/thread-self, not /proc/self: the latter is the main thread's.
        using var own = SafeFileDescriptorHandle.Open(CurrentThreadPath, O_RDONLY | O_CLOEXEC);
        using var target = SafeFileDescriptorHandle.Open(netnsPath, O_RDONLY | O_CLOEXEC);

        if (SetNs(target, CLONE_NEWNET) < 0)
        {
            throw PlatformException.FromLastError($"setns(CLONE_NEWNET) to {netnsPath}");
        }

        T? result = null;
        try
        {
            result = action();
        }
        finally
        {
            if (SetNs(own, CLONE_NEWNET) < 0)
            {
                // The thread ends right after this, so the namespace cannot leak into other work; still fail loudly,
                // since the kernel refusing to let us back is a sign something is badly wrong.
                var errno = Marshal.GetLastPInvokeError();
                result?.Dispose();
                throw new PlatformException($"setns(CLONE_NEWNET) back to own namespace from {netnsPath}", errno);
            }
        }

        return result;
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
