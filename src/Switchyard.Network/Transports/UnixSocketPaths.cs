using System.Net.Sockets;

namespace Switchyard.Network.Transports;

/// <summary>Unix socket files the daemon binds for VMs.</summary>
internal static class UnixSocketPaths
{
    /// <summary>Binds <paramref name="path"/> (listening for streams). A leftover socket file
    /// nobody answers on is replaced; a live one, or any other file, is an error.</summary>
    public static Socket Listen(string path, SocketType type)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            if (!Switchyard.Platform.FileKind.IsSocket(full)) throw new IOException($"{full} exists and is not a socket");
            if (type == SocketType.Stream && Answers(full)) throw new IOException($"something is already listening on {full}");
            File.Delete(full);
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

    private static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { probe.Connect(new UnixDomainSocketEndPoint(path)); return true; }
        catch (SocketException) { return false; }
    }
}
