using System.Net.Sockets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>Unix socket files the daemon binds for VMs.</summary>
internal static class UnixSocketPaths
{
    /// <summary>Binds <paramref name="path"/> (listening for streams). A leftover socket file no
    /// socket is bound to is replaced; a file a live process has any socket bound to (stream,
    /// datagram, listening or not: see <see cref="UnixSocketProbe"/>), or any other file, is an
    /// error: unlinking it would silently cut that process off from its clients.</summary>
    public static Socket Listen(string path, SocketType type)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            if (!Switchyard.Platform.FileKind.IsSocket(full)) throw new IOException($"{full} exists and is not a socket");
            switch (UnixSocketProbe.Probe(full, out var detail))
            {
                case UnixSocketState.Stale: File.Delete(full); break;
                case UnixSocketState.Absent: break;
                default: throw new IOException($"{full} is in use: {detail}; stop that process or choose another path");
            }
        }
        // The directory must exist: the daemon creates no directories where a request says.
        if (!Directory.Exists(Path.GetDirectoryName(full))) throw new IOException($"directory {Path.GetDirectoryName(full)} does not exist");
        var socket = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(full));
            if (type == SocketType.Stream) socket.Listen(4);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static void Remove(string path)
    {
        try { if (Switchyard.Platform.FileKind.IsSocket(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
