using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>Replaces the current process with another program, like socket_vmnet_client does, so
/// a descriptor can be handed to it at a fixed number (QEMU's <c>local.str=3</c>).</summary>
public static class ProcessExec
{
    /// <summary>Moves <paramref name="fd"/> to <paramref name="targetFd"/> (without close-on-exec)
    /// and execs <paramref name="file"/> (searched in PATH) with <paramref name="args"/>. Returns
    /// only on failure, with the reason. Whatever the runtime had at <paramref name="targetFd"/> is
    /// replaced: nothing of this process runs after the exec.</summary>
    public static PlatformException Exec(SafeHandle fd, int targetFd, string file, IReadOnlyList<string> args)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("exec needs a POSIX system");
        // The handle is left open on purpose: on success this process is gone; on failure the caller disposes it.
        int number = (int)fd.DangerousGetHandle();
        if (number != targetFd && Interop.Libc.Dup2(number, targetFd) < 0)
            return new PlatformException($"dup2({number}, {targetFd})", Marshal.GetLastPInvokeError());
        var argv = new string?[args.Count + 2];
        argv[0] = file;
        for (int i = 0; i < args.Count; i++) argv[i + 1] = args[i];
        Interop.Libc.ExecVp(file, argv);
        return new PlatformException($"execvp({file})", Marshal.GetLastPInvokeError());
    }
}
