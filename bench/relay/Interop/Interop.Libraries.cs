namespace Switchyard.BenchRelay;

/// <summary>
/// The relay's own native calls (sendmmsg, recvmmsg, writev, poll on a socket). They live here rather than in
/// Switchyard.Platform/Interop because the relay is a bench tool and Platform's batched socket calls belong to the
/// transports' own work (issue 15, sockfast); one file per call as there.
/// </summary>
internal static partial class Interop
{
    internal static partial class Libraries
    {
        internal const string Libc = "libc";
    }

    /// <summary>Linux errno values the relay branches on (asm-generic numbers, x86_64 and arm64).</summary>
    internal static class Errno
    {
        internal const int EINTR = 4;
        internal const int EAGAIN = 11;
        internal const int ECONNREFUSED = 111;
    }
}
