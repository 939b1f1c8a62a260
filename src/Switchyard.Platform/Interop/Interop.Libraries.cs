namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libraries
    {
        // glibc and musl both answer to "libc" through the runtime's probing (libc.so.6 / libc.so);
        // on macOS "libc" resolves to libSystem. Only Linux code paths actually call into it.
        internal const string Libc = "libc";
    }
}
