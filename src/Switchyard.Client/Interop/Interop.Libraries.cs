namespace Switchyard.Client;

internal static partial class Interop
{
    internal static class Libraries
    {
        // glibc and musl answer to "libc" through the runtime's probing (libc.so.6 / libc.so); on macOS "libc"
        // resolves to libSystem. The client's only native calls are POSIX ones both systems have.
        internal const string Libc = "libc";
    }
}
