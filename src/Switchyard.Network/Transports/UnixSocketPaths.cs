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
            if ((File.GetAttributes(full) & FileAttributes.Directory) != 0 || !IsSocketFile(full))
                throw new IOException($"{full} exists and is not a socket");
            if (type == SocketType.Stream && Answers(full)) throw new IOException($"something is already listening on {full}");
            File.Delete(full);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
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
        try { if (IsSocketFile(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>.NET exposes no file type, but a socket file always has length 0; a regular file
    /// with content is never taken for one.</summary>
    private static bool IsSocketFile(string path)
    {
        try { return File.Exists(path) && new FileInfo(path).Length == 0; }
        catch (IOException) { return false; }
    }

    private static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { probe.Connect(new UnixDomainSocketEndPoint(path)); return true; }
        catch (SocketException) { return false; }
    }
}
