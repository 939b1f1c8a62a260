using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>What <see cref="OpenFileLimit.RaiseToHard"/> found and did: the soft limit before and
/// after, the hard limit, and the errno when raising failed (0: it worked, or there was nothing to do).</summary>
public readonly record struct OpenFileLimits(long Before, long Soft, long Hard, int Errno);

/// <summary>
/// The process's open file limit (<c>RLIMIT_NOFILE</c>). A daemon whose guests' flows are each a
/// socket needs more than the 1024 most shells and units start with; the hard limit is the most
/// it may ask for without privilege (setrlimit(2)). glibc's select() is the reason the soft
/// default stays low, and .NET does not use select(), so raising it is safe.
/// </summary>
public static class OpenFileLimit
{
    /// <summary>macOS refuses a soft limit above OPEN_MAX (10240) however high the hard limit is.</summary>
    private const ulong MacOpenMax = 10240;

    /// <summary>Raises the soft limit to the hard one (on macOS at most OPEN_MAX). Never throws:
    /// the daemon runs on with what it has, and the caller logs what happened.</summary>
    public static OpenFileLimits RaiseToHard()
    {
        if (OperatingSystem.IsWindows()) return new(0, 0, 0, 0);
        if (Interop.Libc.GetRLimit(Interop.Libc.RLIMIT_NOFILE, out var limit) != 0) return new(0, 0, 0, Marshal.GetLastPInvokeError());
        ulong target = limit.Maximum;
        if (OperatingSystem.IsMacOS()) target = Math.Min(target, MacOpenMax);
        long before = Clamp(limit.Current);
        if (limit.Current >= target) return new(before, before, Clamp(limit.Maximum), 0);
        var raised = new Interop.Libc.RLimit { Current = target, Maximum = limit.Maximum };
        if (Interop.Libc.SetRLimit(Interop.Libc.RLIMIT_NOFILE, raised) != 0)
            return new(before, before, Clamp(limit.Maximum), Marshal.GetLastPInvokeError());
        return new(before, Clamp(target), Clamp(limit.Maximum), 0);
    }

    /// <summary>The soft limit now (0 when it cannot be read).</summary>
    public static long Current()
    {
        if (OperatingSystem.IsWindows() || Interop.Libc.GetRLimit(Interop.Libc.RLIMIT_NOFILE, out var limit) != 0) return 0;
        return Clamp(limit.Current);
    }

    private static long Clamp(ulong value) => value >= (ulong)long.MaxValue ? long.MaxValue : (long)value;
}
